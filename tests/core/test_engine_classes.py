"""The compiled engine against torch for k > 2 classes (softmax and cross-entropy): the same initial
parameters, sample orders and numbers, to the tolerances of the two-class tests in test_engine.py."""

import numpy as np
import pytest

from app.core import engine
from app.core.network import ACTIVATIONS, NetworkSpec, loss_and_accuracy, pre_activations
from app.core.torch_model import build_module, init_params, make_optimizer, train_epochs_torch

OPTIMIZERS = ("sgd", "adam")
LEARNING_RATES = {"sgd": 0.1, "adam": 0.01}
NO_TEST = (np.empty((0, 2)), np.empty(0))


def make_data(n: int = 40, classes: int = 3, scale: float = 1.0, seed: int = 0):
    """Points in a square, labelled by angle sectors whose edges bend with the radius, so training has
    something to do; labels are class indices as float64, as the trainer passes them."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-2, 2, size=(n, 2))
    turn = (np.arctan2(x[:, 1], x[:, 0]) + np.hypot(x[:, 0], x[:, 1])) / (2 * np.pi)
    y = np.floor((turn % 1.0) * classes)
    return x * scale, y


def random_perms(n_epochs: int, n: int, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.array([rng.permutation(n) for _ in range(n_epochs)], dtype=np.int64)


def run_both(spec, optimizer, lr, l2, x, y, perms, batch_size, seed=0, test=NO_TEST):
    """Trains from init_params(spec, seed) with the engine and with torch; returns both results."""
    start = init_params(spec, seed)
    params = start.copy()
    ours = engine.train_epochs(
        params, np.zeros_like(params), np.zeros_like(params), 0, x, y, *test, perms, batch_size,
        lr, l2, optimizer, spec.activation, spec.layer_sizes,
    )  # fmt: skip
    module = build_module(spec, params=start.copy())
    theirs = train_epochs_torch(
        module, make_optimizer(module, optimizer, lr, l2), x, y, *test, perms, batch_size
    )
    return ours, theirs


@pytest.mark.parametrize("l2", [0.0, 0.01])
@pytest.mark.parametrize("optimizer", OPTIMIZERS)
@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("classes", [3, 5])
def test_one_full_batch_step_matches_torch(classes, activation, optimizer, l2):
    spec = NetworkSpec((4, 4), activation, classes)
    x, y = make_data(classes=classes)
    test = make_data(n=17, classes=classes, seed=9)
    assert set(y) == set(range(classes))  # every class is there to be learnt
    perms = np.arange(len(x))[None, :]
    (p, loss, acc, test_loss, test_acc, step), (tp, tloss, tacc, ttest_loss, ttest_acc) = run_both(
        spec, optimizer, 0.1, l2, x, y, perms, len(x), test=test
    )
    assert step == 1
    assert p.shape == tp.shape == (1, spec.n_params) == (1, 12 + 20 + 5 * classes)
    assert np.abs(p[0] - init_params(spec, 0)).max() > 1e-4  # the step moved the parameters
    np.testing.assert_allclose(p, tp, rtol=0, atol=1e-6)
    np.testing.assert_allclose(loss, tloss, rtol=0, atol=1e-6)
    np.testing.assert_allclose(acc, tacc, rtol=0, atol=1e-12)
    assert np.all(np.isfinite(test_loss))
    np.testing.assert_allclose(test_loss, ttest_loss, rtol=0, atol=1e-6)
    np.testing.assert_allclose(test_acc, ttest_acc, rtol=0, atol=1e-12)
    np.testing.assert_allclose((loss[0], acc[0]), loss_and_accuracy(spec, p[0], x, y), rtol=0, atol=1e-12)
    np.testing.assert_allclose(
        (test_loss[0], test_acc[0]), loss_and_accuracy(spec, p[0], *test), rtol=0, atol=1e-12
    )


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("classes", [3, 5])
def test_200_minibatch_epochs_match_torch(classes, activation, optimizer):
    spec = NetworkSpec((4, 4), activation, classes)
    x, y = make_data(classes=classes)
    test = make_data(n=25, classes=classes, seed=7)
    perms = random_perms(200, len(x))
    (p, loss, acc, test_loss, test_acc, step), (tp, tloss, tacc, ttest_loss, ttest_acc) = run_both(
        spec, optimizer, LEARNING_RATES[optimizer], 0.001, x, y, perms, 10, test=test
    )
    assert step == 200 * 4
    assert len(loss) == len(tloss) == len(test_loss) == len(ttest_loss) == 200
    assert loss[-1] < loss[0] and acc[-1] > acc[0]  # it learned something
    np.testing.assert_allclose(loss, tloss, rtol=0, atol=1e-4)
    np.testing.assert_allclose(test_loss, ttest_loss, rtol=0, atol=1e-4)
    np.testing.assert_allclose(p[-1], tp[-1], rtol=0, atol=1e-3)
    assert np.mean(np.abs(acc - tacc) < 1e-12) > 0.95
    assert np.mean(np.abs(test_acc - ttest_acc) < 1e-12) > 0.95


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_eight_classes_on_a_deep_wide_net_match_torch(optimizer):
    spec = NetworkSpec((16, 16, 16), "tanh", 8)
    x, y = make_data(n=50, classes=8, seed=5)
    test = make_data(n=300, classes=8, seed=8)  # more test samples than a batch: evaluated in several blocks
    perms = random_perms(30, len(x), seed=6)
    (p, loss, _, test_loss, test_acc, _), (tp, tloss, _, ttest_loss, ttest_acc) = run_both(
        spec, optimizer, LEARNING_RATES[optimizer], 0.0, x, y, perms, 10, seed=3, test=test
    )
    assert len(loss) == 30 and loss[-1] < loss[0]
    np.testing.assert_allclose(loss, tloss, rtol=0, atol=1e-6)
    np.testing.assert_allclose(p, tp, rtol=0, atol=1e-6)
    np.testing.assert_allclose(test_loss, ttest_loss, rtol=0, atol=1e-6)
    np.testing.assert_allclose(test_acc, ttest_acc, rtol=0, atol=1e-12)
    for epoch in (0, 29):
        np.testing.assert_allclose(
            (test_loss[epoch], test_acc[epoch]), loss_and_accuracy(spec, p[epoch], *test), atol=1e-9
        )


def test_uneven_last_batch_matches_torch():
    spec = NetworkSpec((5,), "relu", 4)
    x, y = make_data(n=23, classes=4)
    (p, loss, _, test_loss, _, step), (tp, tloss, _, _, _) = run_both(
        spec, "adam", 0.02, 0.0, x, y, random_perms(20, len(x)), 7
    )
    assert step == 20 * 4 and np.all(np.isnan(test_loss))
    np.testing.assert_allclose(loss, tloss, rtol=0, atol=1e-6)
    np.testing.assert_allclose(p, tp, rtol=0, atol=1e-6)


@pytest.mark.parametrize("batch_size", [10, 40])
def test_huge_learning_rate_stops_early_with_finite_rows(batch_size):
    spec = NetworkSpec((4, 4), "leaky_relu", 3)
    x, y = make_data(classes=3, scale=1e3)
    params = init_params(spec, 0)
    p, loss, acc, test_loss, _, _ = engine.train_epochs(
        params, np.zeros_like(params), np.zeros_like(params), 0, x, y, *make_data(n=5, classes=3, seed=2),
        random_perms(50, len(x)), batch_size, 1e6, 0.0, "sgd", spec.activation, spec.layer_sizes,
    )  # fmt: skip
    assert len(loss) < 50
    assert p.shape == (len(loss), spec.n_params) and acc.shape == test_loss.shape == loss.shape
    assert np.all(np.isfinite(p)) and np.all(np.isfinite(loss)) and np.all(np.isfinite(test_loss))


@pytest.mark.parametrize("where", ["training", "test"])
@pytest.mark.parametrize("label", [3.0, -1.0, 1.5, np.nan])
def test_labels_outside_the_classes_are_refused(where, label):
    """The compiled loop indexes the logits by label unchecked: a wrong label must never reach it."""
    spec = NetworkSpec((3,), "tanh", 3)
    x, y = make_data(n=6, classes=3)
    test = list(make_data(n=4, classes=3, seed=2))
    (y if where == "training" else test[1])[1] = label
    params = init_params(spec, 0)
    before = params.copy()
    with pytest.raises(ValueError, match="whole numbers 0 to 2"):
        engine.train_epochs(
            params, np.zeros_like(params), np.zeros_like(params), 0, x, y, *test, random_perms(1, 6), 6,
            0.1, 0.0, "sgd", "tanh", spec.layer_sizes,
        )  # fmt: skip
    np.testing.assert_array_equal(params, before)


def test_k_classes_use_the_one_signature_warm_up_compiled():
    engine.warm_up()
    spec = NetworkSpec((3,), "sigmoid", 6)
    x, y = make_data(n=12, classes=6)
    params = init_params(spec, 0)
    engine.train_epochs(
        params, np.zeros_like(params), np.zeros_like(params), 0, x, y.astype(np.int64), *NO_TEST,
        random_perms(2, 12), 5, 0.01, 0.0, "adam", spec.activation, spec.layer_sizes,
    )  # fmt: skip
    assert len(engine._train.signatures) == 1  # noqa: SLF001 - numba's compiled variants of the loop


def test_grid_pre_activations_of_the_output_layer_give_every_class_logit():
    spec = NetworkSpec((5, 4), "leaky_relu", 7)
    params = np.random.default_rng(2).normal(size=spec.n_params)
    xs, ys = np.linspace(-3, 3, 9), np.linspace(-2, 2, 5)
    z = engine.grid_pre_activations(params, spec.activation, spec.layer_sizes, 2, xs, ys)
    gx, gy = np.meshgrid(xs, ys)
    expected = pre_activations(spec, params, np.column_stack([gx.ravel(), gy.ravel()]))[-1]
    assert z.shape == (5, 9, 7)
    np.testing.assert_allclose(z.reshape(-1, 7), expected, rtol=0, atol=1e-12)
