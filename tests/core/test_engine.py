"""The compiled engine against torch autograd: same initial parameters, same sample orders, same numbers."""

import numpy as np
import pytest

from app.core import engine
from app.core.network import ACTIVATIONS, NetworkSpec, bce_loss_and_accuracy
from app.core.torch_model import build_module, init_params, make_optimizer, train_epochs_torch

OPTIMIZERS = ("sgd", "adam")
LEARNING_RATES = {"sgd": 0.1, "adam": 0.01}


def make_data(n: int = 40, scale: float = 1.0, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Points in a square, labelled by a curved boundary so training has something to do."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-2, 2, size=(n, 2))
    y = (x[:, 1] > np.sin(2 * x[:, 0])).astype(np.float64)
    return x * scale, y


NO_TEST = (np.empty((0, 2)), np.empty(0))


def random_perms(n_epochs: int, n: int, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.array([rng.permutation(n) for _ in range(n_epochs)], dtype=np.int64)


def run_both(spec, optimizer, lr, l2, x, y, perms, batch_size, seed=0, test=NO_TEST):
    """Trains from init_params(spec, seed) with the engine and with torch on (x, y), evaluating the held-out
    test = (x_test, y_test) after every epoch; returns both results."""
    start = init_params(spec, seed)
    params = start.copy()
    ours = engine.train_epochs(
        params, np.zeros_like(params), np.zeros_like(params), 0, x, y, *test, perms, batch_size,
        lr, l2, optimizer, spec.activation, spec.layer_sizes,
    )  # fmt: skip
    module = build_module(spec, params=start.copy())
    optim = make_optimizer(module, optimizer, lr, l2)
    theirs = train_epochs_torch(module, optim, x, y, *test, perms, batch_size)
    return ours, theirs


@pytest.mark.parametrize("l2", [0.0, 0.01])
@pytest.mark.parametrize("optimizer", OPTIMIZERS)
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_one_full_batch_step_matches_torch(activation, optimizer, l2):
    spec = NetworkSpec((4, 4), activation)
    x, y = make_data()
    test = make_data(n=17, seed=9)
    perms = np.arange(len(x))[None, :]
    (p, loss, acc, test_loss, test_acc, step), (tp, tloss, tacc, ttest_loss, ttest_acc) = run_both(
        spec, optimizer, 0.1, l2, x, y, perms, len(x), test=test
    )
    assert step == 1
    assert p.shape == tp.shape == (1, spec.n_params)
    # the step really moved the parameters, so the comparison is not of two unchanged copies
    assert np.abs(p[0] - init_params(spec, 0)).max() > 1e-4
    np.testing.assert_allclose(p, tp, rtol=0, atol=1e-6)
    np.testing.assert_allclose(loss, tloss, rtol=0, atol=1e-6)
    np.testing.assert_allclose(
        acc, tacc, rtol=0, atol=1e-12
    )  # correct/n vs a float mean: last-bit differences
    assert test_loss.shape == test_acc.shape == (1,) and np.all(np.isfinite(test_loss))
    np.testing.assert_allclose(test_loss, ttest_loss, rtol=0, atol=1e-6)
    np.testing.assert_allclose(test_acc, ttest_acc, rtol=0, atol=1e-12)
    # the test metrics are those of the recorded parameters on the held-out points
    np.testing.assert_allclose(
        (test_loss[0], test_acc[0]), bce_loss_and_accuracy(spec, p[0], *test), rtol=0, atol=1e-12
    )


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_200_minibatch_epochs_match_torch(activation, optimizer):
    spec = NetworkSpec((4, 4), activation)
    x, y = make_data()
    test = make_data(n=25, seed=7)
    perms = random_perms(200, len(x))
    lr = LEARNING_RATES[optimizer]
    (p, loss, acc, test_loss, test_acc, step), (tp, tloss, tacc, ttest_loss, ttest_acc) = run_both(
        spec, optimizer, lr, 0.001, x, y, perms, 10, test=test
    )
    assert step == 200 * 4
    assert len(loss) == len(tloss) == len(test_loss) == len(ttest_loss) == 200
    assert loss[-1] < loss[0] and test_loss[-1] < test_loss[0]  # it learned something that generalises
    np.testing.assert_allclose(loss, tloss, rtol=0, atol=1e-4)
    np.testing.assert_allclose(test_loss, ttest_loss, rtol=0, atol=1e-4)
    np.testing.assert_allclose(p[-1], tp[-1], rtol=0, atol=1e-3)
    assert np.mean(np.abs(acc - tacc) < 1e-12) > 0.95
    assert np.mean(np.abs(test_acc - ttest_acc) < 1e-12) > 0.95


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_deep_wide_net_matches_torch(optimizer):
    spec = NetworkSpec((16, 16, 16), "tanh")
    x, y = make_data(n=50, seed=5)
    test = make_data(n=300, seed=8)  # more test samples than a batch: evaluated in several blocks
    perms = random_perms(30, len(x), seed=6)
    lr = LEARNING_RATES[optimizer]
    (p, loss, _, test_loss, test_acc, _), (tp, tloss, _, ttest_loss, ttest_acc) = run_both(
        spec, optimizer, lr, 0.0, x, y, perms, 10, seed=3, test=test
    )
    assert len(loss) == 30
    np.testing.assert_allclose(loss, tloss, rtol=0, atol=1e-6)
    np.testing.assert_allclose(p, tp, rtol=0, atol=1e-6)
    np.testing.assert_allclose(test_loss, ttest_loss, rtol=0, atol=1e-6)
    np.testing.assert_allclose(test_acc, ttest_acc, rtol=0, atol=1e-12)
    for epoch in (0, 29):
        np.testing.assert_allclose(
            (test_loss[epoch], test_acc[epoch]), bce_loss_and_accuracy(spec, p[epoch], *test), atol=1e-9
        )


def test_uneven_last_batch_matches_torch():
    spec = NetworkSpec((5,), "relu")
    x, y = make_data(n=23)
    perms = random_perms(20, len(x))
    (p, loss, _, test_loss, test_acc, step), (tp, tloss, _, ttest_loss, ttest_acc) = run_both(
        spec, "adam", 0.02, 0.0, x, y, perms, 7
    )
    assert step == 20 * 4
    assert np.all(np.isnan(test_loss)) and np.all(np.isnan(test_acc)) and test_loss.shape == (20,)
    assert np.all(np.isnan(ttest_loss)) and np.all(np.isnan(ttest_acc)) and ttest_loss.shape == (20,)
    np.testing.assert_allclose(loss, tloss, rtol=0, atol=1e-6)
    np.testing.assert_allclose(p, tp, rtol=0, atol=1e-6)


def test_train_epochs_updates_state_in_place_and_continues():
    spec = NetworkSpec((4,), "tanh")
    x, y = make_data()
    perms = random_perms(6, len(x))
    params = init_params(spec, 0)
    m, v = np.zeros_like(params), np.zeros_like(params)
    out, _, _, _, _, step = engine.train_epochs(
        params, m, v, 0, x, y, *NO_TEST, perms[:3], 10, 0.01, 0.0, "adam", "tanh", (2, 4, 1)
    )
    np.testing.assert_array_equal(params, out[-1])
    assert step == 12 and np.any(m != 0) and np.all(v >= 0)
    out2, _, _, _, _, step = engine.train_epochs(
        params, m, v, step, x, y, *NO_TEST, perms[3:], 10, 0.01, 0.0, "adam", "tanh", (2, 4, 1)
    )
    assert step == 24
    params_all = init_params(spec, 0)
    z = np.zeros_like(params_all)
    out_all, _, _, _, _, _ = engine.train_epochs(
        params_all, z, z.copy(), 0, x, y, *NO_TEST, perms, 10, 0.01, 0.0, "adam", "tanh", (2, 4, 1)
    )
    np.testing.assert_allclose(np.vstack([out, out2]), out_all, rtol=0, atol=1e-12)


@pytest.mark.parametrize("batch_size", [10, 40])
def test_huge_learning_rate_stops_early_with_finite_rows(batch_size):
    # leaky ReLU never goes flat, so each SGD step multiplies the weights up until the logits overflow
    spec = NetworkSpec((4, 4), "leaky_relu")
    x, y = make_data(scale=1e3)
    test = make_data(n=5, seed=2)
    perms = random_perms(50, len(x))
    params = init_params(spec, 0)
    p, loss, acc, test_loss, test_acc, _ = engine.train_epochs(
        params, np.zeros_like(params), np.zeros_like(params), 0, x, y, *test, perms, batch_size,
        1e6, 0.0, "sgd", spec.activation, spec.layer_sizes,
    )  # fmt: skip
    assert len(loss) < 50
    assert p.shape == (len(loss), spec.n_params) and acc.shape == loss.shape
    assert test_loss.shape == test_acc.shape == loss.shape and not np.any(np.isnan(test_acc))
    assert np.all(np.isfinite(p)) and np.all(np.isfinite(loss)) and np.all(np.isfinite(acc))
    if batch_size == len(x):
        assert len(loss) > 0  # full batch survives a few epochs before it overflows


def test_warm_up_compiles():
    engine.warm_up()
    assert engine.is_compiled()


def test_real_calls_use_the_one_signature_warm_up_compiled():
    engine.warm_up()
    spec = NetworkSpec((3,), "tanh")
    x, y = make_data(n=10)
    for test in (NO_TEST, make_data(n=4, seed=2), (np.empty(0), [])):  # with, without, as plain sequences
        params = init_params(spec, 0)
        engine.train_epochs(
            params, np.zeros_like(params), np.zeros_like(params), 0, x, y.astype(np.int64), *test,
            random_perms(2, 10).astype(np.int32), 5, 0.01, 0.0, "sgd", "tanh", spec.layer_sizes,
        )  # fmt: skip
    assert len(engine._train.signatures) == 1  # noqa: SLF001 - numba's compiled variants of the loop


@pytest.mark.parametrize("shape", [(3, 3), (4,), (2, 2, 2)])
def test_test_points_of_the_wrong_shape_are_rejected(shape):
    params = np.zeros(5)
    with pytest.raises(ValueError, match="test points"):
        engine.train_epochs(
            params, params.copy(), params.copy(), 0, np.zeros((2, 2)), np.array([0.0, 1.0]),
            np.zeros(shape), np.zeros(shape[0]), np.array([[0, 1]]), 2, 0.1, 0.0, "adam", "tanh", (2, 1, 1),
        )  # fmt: skip


def test_held_out_samples_only_get_evaluated():
    """The same training with and without a test set: identical params and training metrics."""
    spec = NetworkSpec((4,), "relu")
    x, y = make_data(n=30)
    test = make_data(n=12, seed=4)
    perms = random_perms(15, len(x))
    runs = []
    for held_out in (NO_TEST, test):
        params = init_params(spec, 1)
        runs.append(
            engine.train_epochs(
                params,
                np.zeros_like(params),
                np.zeros_like(params),
                0,
                x,
                y,
                *held_out,
                perms,
                8,
                0.05,
                0.0,
                "adam",
                spec.activation,
                spec.layer_sizes,
            )  # fmt: skip
        )
    (p, loss, acc, no_test_loss, _, step), (p2, loss2, acc2, test_loss, test_acc, step2) = runs
    np.testing.assert_array_equal(p, p2)
    np.testing.assert_array_equal(loss, loss2)
    np.testing.assert_array_equal(acc, acc2)
    assert step == step2 == 15 * 4
    assert np.all(np.isnan(no_test_loss)) and np.all(np.isfinite(test_loss))
    expected = np.array([bce_loss_and_accuracy(spec, row, *test) for row in p2])
    np.testing.assert_allclose(test_loss, expected[:, 0], rtol=0, atol=1e-9)
    np.testing.assert_allclose(test_acc, expected[:, 1], rtol=0, atol=1e-12)
