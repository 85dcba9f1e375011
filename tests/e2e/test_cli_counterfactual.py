"""--without I,J,...: the counterfactual run beside the real one in --export-data, and one-line errors."""

import numpy as np


def test_without_exports_the_counterfactual_beside_the_run(tmp_path, run_here):
    out = tmp_path / "run.npz"
    result = run_here(
        "--preset", "clusters", "--epochs", "60", "--without", "5,2,5", "--export-data", str(out)
    )
    assert result.returncode == 0, result.stderr
    data = np.load(out)
    assert data["counterfactual/removed"].tolist() == [2, 5]
    assert np.array_equal(data["counterfactual/epochs"], data["epochs"])  # every epoch, as the real run's
    assert data["counterfactual/layers.0.weight"].shape == data["layers.0.weight"].shape
    assert data["counterfactual/params"].shape == (61, 37)
    assert bool(data["counterfactual/reproduced"])
    assert np.array_equal(data["counterfactual/params"][0, :8], data["layers.0.weight"][0].ravel())
    assert not np.array_equal(data["counterfactual/layers.0.weight"][-1], data["layers.0.weight"][-1])
    assert int(data["counterfactual/start_epoch"]) == 0 and int(data["counterfactual/end_epoch"]) == 60
    assert data["counterfactual/change/layer1"].shape == data["counterfactual/predicted/layer1"].shape == (4,)
    assert np.isfinite(data["counterfactual/rank_correlation"])


def test_without_refuses_bad_indices_in_one_line(tmp_path, run_here):
    out = str(tmp_path / "x.npz")
    for value, words in (("3,x", "give sample indices"), ("-1", "give sample indices"), ("", "give sample"),
                         ("2,150", "no sample 150")):  # fmt: skip
        result = run_here("--preset", "clusters", "--epochs", "5", "--without", value, "--export-data", out)
        assert result.returncode == 2 and words in result.stderr
        assert result.stderr.count("\n") == 1
    result = run_here("--preset", "clusters", "--without", "3", "--export-data", out)  # nothing trained
    assert result.returncode == 2 and "--without: Train first" in result.stderr
