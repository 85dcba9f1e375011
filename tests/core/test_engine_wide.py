"""The engine's wide loop (matrix products per mini-batch) against torch: in float64 to the per-sample loop's
tolerances, in float32 against torch in float32 to float32 tolerances; and how the Trainer picks it."""

import numpy as np
import pytest
import torch

from app.core import engine, engine_wide
from app.core.dataset import SampleSet
from app.core.network import ACTIVATIONS, NetworkSpec
from app.core.torch_model import (
    MLP,
    build_module,
    init_params,
    load_params,
    make_optimizer,
    train_epochs_torch,
)
from app.core.training import TrainConfig, Trainer

OPTIMIZERS = ("sgd", "adam")
LEARNING_RATES = {"sgd": 0.1, "adam": 0.01}
NO_TEST = (np.empty((0, 2)), np.empty(0))


def make_data(n: int, classes: int = 2, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Points in a square; two classes split by a curve, more by angle sectors about the origin."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-2, 2, size=(n, 2))
    if classes == 2:
        return x, (x[:, 1] > np.sin(2 * x[:, 0])).astype(np.float64)
    turn = np.arctan2(x[:, 1], x[:, 0]) / (2 * np.pi) % 1.0
    return x, np.floor(turn * classes)


def random_perms(n_epochs: int, n: int, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.array([rng.permutation(n) for _ in range(n_epochs)], dtype=np.int64)


def run_engine(spec, optimizer, lr, l2, x, y, perms, batch, float32, test=NO_TEST, seed=0):
    params = init_params(spec, seed)
    if float32:
        params = params.astype(np.float32).astype(np.float64)
    return engine.train_epochs(
        params, np.zeros_like(params), np.zeros_like(params), 0, x, y, *test, perms, batch, lr, l2, optimizer,
        spec.activation, spec.layer_sizes, float32,
    )  # fmt: skip


def torch_float32(spec, optimizer, lr, l2, x, y, perms, batch, test=NO_TEST, seed=0):
    """torch's own float32 training on the same orders: per-epoch params, loss, accuracy, test loss and
    test accuracy, as train_epochs_torch gives them in float64."""
    module = MLP(spec).float()
    load_params(module, init_params(spec, seed).astype(np.float32))
    optim = make_optimizer(module, optimizer, lr, l2)
    binary = spec.layer_sizes[-1] == 1
    loss_fn = torch.nn.BCEWithLogitsLoss() if binary else torch.nn.CrossEntropyLoss()

    def tensors(points, labels):
        labels = torch.tensor(np.asarray(labels, dtype=np.float32))
        return torch.tensor(points, dtype=torch.float32), labels if binary else labels.long()

    def metrics(xt, yt):
        if len(xt) == 0:
            return np.nan, np.nan
        z = module(xt)
        right = (z > 0) == (yt > 0.5) if binary else torch.argmax(z, dim=1) == yt
        return float(loss_fn(z, yt)), float(right.double().mean())

    xt, yt = tensors(x, y)
    test_xt, test_yt = tensors(*test)
    records = []
    for order in perms:
        for start in range(0, len(x), batch):
            idx = torch.as_tensor(order[start : start + batch])
            optim.zero_grad()
            loss_fn(module(xt[idx]), yt[idx]).backward()
            optim.step()
        with torch.no_grad():
            flat = torch.cat([p.reshape(-1) for p in module.parameters()]).double().numpy().copy()
            records.append((flat, *metrics(xt, yt), *metrics(test_xt, test_yt)))
    return tuple(np.array(column) for column in zip(*records, strict=True))


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_wide_float64_matches_torch_with_batches_split_into_blocks(activation, optimizer):
    """Width 64 keeps blocks to 48 rows (below OpenBLAS's threading threshold): a full batch of 300
    samples is 7 blocks whose gradients add up."""
    spec = NetworkSpec((64, 64), activation)
    assert engine.uses_wide_loop(spec.layer_sizes)
    x, y = make_data(300)
    test = make_data(30, seed=5)
    for perms, batch in ((np.arange(300)[None, :], 300), (random_perms(5, 300), 100)):
        p, loss, acc, test_loss, test_acc, _ = run_engine(
            spec, optimizer, LEARNING_RATES[optimizer], 0.01, x, y, perms, batch, False, test
        )
        module = build_module(spec, params=init_params(spec, 0))
        optim = make_optimizer(module, optimizer, LEARNING_RATES[optimizer], 0.01)
        theirs = train_epochs_torch(module, optim, x, y, *test, perms, batch)
        np.testing.assert_allclose(p, theirs[0], rtol=0, atol=1e-6)
        np.testing.assert_allclose(loss, theirs[1], rtol=0, atol=1e-6)
        np.testing.assert_allclose(acc, theirs[2], rtol=0, atol=1e-12)
        np.testing.assert_allclose(test_loss, theirs[3], rtol=0, atol=1e-6)
        np.testing.assert_allclose(test_acc, theirs[4], rtol=0, atol=1e-12)


@pytest.mark.parametrize("l2", [0.0, 0.01])
@pytest.mark.parametrize("optimizer", OPTIMIZERS)
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_one_float32_step_matches_torch_in_float32(activation, optimizer, l2):
    spec = NetworkSpec((32, 32, 32), activation)
    x, y = make_data(64)
    test = make_data(17, seed=9)
    perms = np.arange(64)[None, :]
    ours = run_engine(spec, optimizer, 0.1, l2, x, y, perms, 64, True, test)
    theirs = torch_float32(spec, optimizer, 0.1, l2, x, y, perms, 64, test)
    start = init_params(spec, 0).astype(np.float32)
    assert np.abs(ours[0][0] - start).max() > 5e-5  # the step moved the parameters (sigmoid: least)
    np.testing.assert_array_equal(ours[0], ours[0].astype(np.float32))  # float32 values, kept as float64
    # Adam's step divides by the gradient's size: its float32 rounding comes out relative to the step
    np.testing.assert_allclose(ours[0], theirs[0], rtol=0, atol=2e-6 if optimizer == "sgd" else 1e-5)
    for mine, torch_s in zip(ours[1:5:2], theirs[1:5:2], strict=True):  # training and test loss
        np.testing.assert_allclose(mine, torch_s, rtol=2e-6, atol=2e-6)
    for mine, torch_s in zip(ours[2:5:2], theirs[2:5:2], strict=True):  # accuracies: one sample either way
        np.testing.assert_allclose(mine, torch_s, rtol=0, atol=1 / 16)


@pytest.mark.parametrize("classes", [2, 5])
@pytest.mark.parametrize("optimizer", OPTIMIZERS)
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_40_float32_minibatch_epochs_follow_torch_in_float32(activation, optimizer, classes):
    spec = NetworkSpec((32, 32, 32, 32), activation, classes)
    x, y = make_data(120, classes)
    perms = random_perms(40, 120)
    lr = LEARNING_RATES[optimizer] / 3
    p, loss, acc, _, _, step = run_engine(spec, optimizer, lr, 0.001, x, y, perms, 16, True)
    theirs = torch_float32(spec, optimizer, lr, 0.001, x, y, perms, 16)
    assert step == 40 * 8 and len(loss) == 40
    assert loss[-1] < loss[0] or activation == "sigmoid"  # it learns (four sigmoid layers hardly move)
    np.testing.assert_allclose(p, theirs[0], rtol=0, atol=3e-4)
    np.testing.assert_allclose(loss, theirs[1], rtol=1e-4, atol=1e-5)
    assert np.abs(acc - theirs[2]).max() <= 2 / 120


def test_float32_keeps_the_given_arrays_and_resumes_exactly():
    """Two calls of 3 epochs give what one call of 6 does: the float64 arrays carry the float32 state."""
    spec = NetworkSpec((24, 24), "tanh")
    x, y = make_data(90)
    perms = random_perms(6, 90)
    start = init_params(spec, 0).astype(np.float32).astype(np.float64)

    def train(orders, params, m, v, step):
        return engine.train_epochs(
            params, m, v, step, x, y, *NO_TEST, orders, 10, 0.01, 0.0, "adam", "tanh", spec.layer_sizes, True
        )

    whole = start.copy(), np.zeros_like(start), np.zeros_like(start)
    one = train(perms, *whole, 0)
    parts = start.copy(), np.zeros_like(start), np.zeros_like(start)
    step = train(perms[:3], *parts, 0)[-1]
    two = train(perms[3:], *parts, step)
    np.testing.assert_array_equal(one[0][3:], two[0])
    np.testing.assert_array_equal(one[1][3:], two[1])
    for a, b in zip(whole, parts, strict=True):
        assert a.dtype == np.float64
        np.testing.assert_array_equal(a, b)


def test_float32_stops_before_a_diverging_epoch():
    spec = NetworkSpec((32, 32), "relu")
    x, y = make_data(64)
    p, loss, _, _, _, _ = run_engine(spec, "sgd", 1e30, 0.0, x * 1e20, y, random_perms(5, 64), 8, True)
    assert len(loss) < 5 and np.isfinite(loss).all() and np.isfinite(p).all()


def test_the_trainer_trains_wide_networks_in_float32_and_the_default_in_float64():
    samples = SampleSet(*make_data(80))
    config = TrainConfig("sgd", 0.05, batch_size=16)
    assert engine.prefers_float32((2, 32, 32, 1)) and not engine.prefers_float32(NetworkSpec().layer_sizes)
    wide = Trainer(NetworkSpec((32, 32), "tanh"), config, backend="engine")
    params, *_ = wide.run(samples, 3)
    np.testing.assert_array_equal(params, params.astype(np.float32))
    small = Trainer(NetworkSpec(), config, backend="engine")
    params, *_ = small.run(samples, 3)
    assert not np.array_equal(params, params.astype(np.float32))


def test_warm_up_compiles_the_wide_loop_in_both_precisions():
    engine.warm_up()
    assert engine.is_compiled()
    spec = NetworkSpec((32, 32), "relu")
    x, y = make_data(40)
    for float32 in (False, True):
        run_engine(spec, "sgd", 0.1, 0.0, x, y, random_perms(2, 40), 8, float32, make_data(5, seed=3))
    assert len(engine_wide.train_wide.signatures) == 2  # noqa: SLF001 - numba's compiled variants of the loop


def test_fast_tanh_is_within_float32_rounding():
    z = np.concatenate([np.linspace(-12, 12, 200_001), 10.0 ** np.linspace(-8, 1, 10_001)]).astype(np.float32)
    got = np.array([engine_wide._tanh_fast(v) for v in z[::37]])  # noqa: SLF001
    want = np.tanh(z[::37].astype(np.float64))
    assert np.all(np.abs(got - want) <= 8 * np.spacing(np.abs(want).astype(np.float32)))
