"""--off L1N3,L2N1: the network trained, then those neurons switched off at the shown epoch (one edit, as the
window's), so the exports show the edited network and --export-data records them in `ablated`."""

import numpy as np

from app.core.network import NetworkSpec, loss_and_accuracy
from app.core.surgery import is_off


def flat(data, row: int) -> np.ndarray:
    """Row `row`'s parameter vector from the exported tensors (weights then bias, layer after layer)."""
    parts = [(data[f"layers.{k}.weight"][row].ravel(), data[f"layers.{k}.bias"][row]) for k in range(3)]
    return np.concatenate([np.concatenate(pair) for pair in parts])


def test_off_switches_the_neurons_off_after_training_and_records_them(tmp_path, run_here):
    out, png = tmp_path / "run.npz", tmp_path / "run.png"
    result = run_here("--preset", "xor", "--layers", "4,3", "--epochs", "30", "--off", "l2n1,L1N3,L1N3",
                      "--export-data", str(out), "--export-view", "canvas", str(png))  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert png.stat().st_size > 0
    data = np.load(out)
    assert data["ablated"].tolist() == [[1, 3], [2, 1]] and data["ablated"].dtype == np.int64
    assert data["epochs"].tolist() == list(range(32))  # the edit is the epoch after the last trained
    assert int(data["influence_epoch"]) == 31
    spec = NetworkSpec((4, 3))
    last, trained = (flat(data, -1), flat(data, -2))
    assert is_off(spec, last, 0, 2) and is_off(spec, last, 1, 0) and not is_off(spec, trained, 0, 2)
    assert np.array_equal(data["layers.0.weight"][-1], data["layers.0.weight"][-2])  # their own lines stay
    loss, accuracy = loss_and_accuracy(spec, last, data["points"], data["labels"])
    assert np.isclose(data["loss"][-1], loss) and np.isclose(data["accuracy"][-1], accuracy)


def test_without_off_there_is_no_ablated_array(tmp_path, run_here):
    out = tmp_path / "plain.npz"
    assert run_here("--preset", "xor", "--epochs", "3", "--export-data", str(out)).returncode == 0
    assert "ablated" not in np.load(out)


def test_off_refuses_bad_names_in_one_line(tmp_path, run_here):
    out = str(tmp_path / "x.npz")
    for value, words in (("L1", "name hidden neurons as L<layer>N<neuron>"), ("L0N1", "from 1"),
                         ("L1N2,x", "e.g. L1N3,L2N1"), ("", "L<layer>N<neuron>"), ("L１N1", "from 1"),
                         ("L3N1", "no hidden neuron L3N1"), ("L2N5", "no hidden neuron L2N5")):  # fmt: skip
        result = run_here("--preset", "xor", "--layers", "4,4", "--epochs", "2", "--off", value,
                          "--export-data", out)  # fmt: skip
        assert result.returncode == 2 and words in result.stderr, (value, result.stderr)
        assert result.stderr.count("\n") == 1
    result = run_here("--preset", "xor", "--epochs", "2", "--off", "L1N1", "--without", "3",
                      "--export-data", out)  # fmt: skip
    assert result.returncode == 2 and "cannot be combined" in result.stderr
