"""Influence: the closed form against finite differences and torch autograd, over a stack of epochs, and
accumulated over a training history (with and without thinning) against the brute-force sum."""

import numpy as np
import pytest
import torch

from app.core.history import TrainingHistory
from app.core.influence import AccumulatedInfluence, influence
from app.core.network import ACTIVATIONS, LEAKY_SLOPE, NetworkSpec, logits, split_params
from app.core.torch_model import build_module, init_params
from app.core.training import EpochChunk, TrainConfig, Trainer

SHAPES = [(4,), (4, 4), (3, 5, 2), (8, 8)]


def random_problem(
    spec: NetworkSpec, n: int = 25, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Parameters scaled up from torch's init (so deeper deltas are not tiny), points and 0/1 labels."""
    rng = np.random.default_rng(seed)
    params = 2.0 * init_params(spec, seed)
    return params, rng.normal(size=(n, 2)), rng.integers(0, 2, n)


def sample_losses(spec: NetworkSpec, params: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    z = logits(spec, params, x)
    return np.logaddexp(0.0, z) - y * z  # softplus(z) - y z, each sample's own loss


def finite_difference_influence(spec, params, x, y, include_bias, eps=1e-6) -> list[np.ndarray]:
    """Central differences of every sample's loss w.r.t. every parameter, then the norm per neuron."""
    grads = np.empty((len(x), spec.n_params))
    for k in range(spec.n_params):
        up, down = params.copy(), params.copy()
        up[k] += eps
        down[k] -= eps
        grads[:, k] = (sample_losses(spec, up, x, y) - sample_losses(spec, down, x, y)) / (2 * eps)
    index = split_params(spec, np.arange(spec.n_params))  # flat positions of each W and b
    maps = []
    for w_index, b_index in index[:-1]:
        columns = np.concatenate([w_index, b_index[:, None]], axis=1) if include_bias else w_index
        maps.append(np.linalg.norm(grads[:, columns], axis=2))  # (n, width)
    return maps


@pytest.mark.parametrize("include_bias", [True, False])
@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("widths", SHAPES)
def test_influence_equals_finite_differences(widths, activation, include_bias):
    spec = NetworkSpec(widths, activation)
    params, x, y = random_problem(spec)
    got = influence(spec, params, x, y, include_bias)
    expected = finite_difference_influence(spec, params, x, y, include_bias)
    assert [g.shape for g in got] == [(len(x), w) for w in widths]
    for g, e in zip(got, expected, strict=True):
        assert e.max() > 1e-3  # a real check, not zeros against zeros
        np.testing.assert_allclose(g, e, rtol=1e-4, atol=1e-10)


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("widths", SHAPES)
def test_closed_form_with_autograd_deltas(widths, activation):
    """|delta| * sqrt(h . h + 1) with delta = d loss_i / d z taken by torch autograd, in every hidden layer
    (the first: h = x)."""
    spec = NetworkSpec(widths, activation)
    params, x, y = random_problem(spec, seed=1)
    module = build_module(spec, params=params)
    h = torch.tensor(x)
    inputs, zs = [], []
    for layer in module.layers[:-1]:
        inputs.append(h.detach().numpy())
        z = layer(h)
        z.retain_grad()
        zs.append(z)
        h = module.activation(z)
    logit = module.layers[-1](h).squeeze(-1)
    torch.nn.functional.binary_cross_entropy_with_logits(
        logit, torch.tensor(y, dtype=torch.float64), reduction="sum"
    ).backward()
    got = influence(spec, params, x, y)
    for g, z, h_in in zip(got, zs, inputs, strict=True):
        expected = np.abs(z.grad.numpy()) * np.sqrt(np.sum(h_in * h_in, axis=1) + 1.0)[:, None]
        np.testing.assert_allclose(g, expected, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(
        got[0], np.abs(zs[0].grad.numpy()) * np.sqrt(np.sum(x * x, axis=1) + 1.0)[:, None], rtol=1e-12
    )


def test_kinks_follow_torch():
    """At z = 0 exactly, ReLU's slope is 0 and leaky ReLU's is the leak, as torch's autograd has them."""
    spec = NetworkSpec((2,), "relu")
    params = np.array([1.0, 0.0, 0.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0])  # W1 = I, b1 = 0, w_out = (1, 1)
    x = np.array([[0.0, 2.0], [-1.0, 0.0]])
    y = np.array([1, 0])
    for activation, slope in [("relu", 0.0), ("leaky_relu", LEAKY_SLOPE)]:
        spec = NetworkSpec((2,), activation)
        module = build_module(spec, params=params)
        xt = torch.tensor(x, requires_grad=False)
        z = module.layers[0](xt)
        z.retain_grad()
        logit = module.layers[1](module.activation(z)).squeeze(-1)
        torch.nn.functional.binary_cross_entropy_with_logits(
            logit, torch.tensor(y, dtype=torch.float64), reduction="sum"
        ).backward()
        expected = np.abs(z.grad.numpy()) * np.sqrt(np.sum(x * x, axis=1) + 1.0)[:, None]
        got = influence(spec, params, x, y)[0]
        np.testing.assert_allclose(got, expected, rtol=1e-12)
        assert (got[0, 0] == 0.0) == (slope == 0.0)  # sample 0 sits on neuron 0's kink


def test_no_samples():
    spec = NetworkSpec((3, 5, 2))
    params = init_params(spec, 0)
    maps = influence(spec, params, np.empty((0, 2)), np.empty(0))
    assert [m.shape for m in maps] == [(0, 3), (0, 5), (0, 2)]
    stacked = influence(spec, np.stack([params, params]), np.empty((0, 2)), np.empty(0), True)
    assert [m.shape for m in stacked] == [(2, 0, 3), (2, 0, 5), (2, 0, 2)]


@pytest.mark.parametrize("include_bias", [True, False])
def test_a_stack_of_epochs_matches_each_row(include_bias):
    spec = NetworkSpec((3, 5, 2), "sigmoid")
    rng = np.random.default_rng(3)
    rows = rng.normal(size=(6, spec.n_params))
    x, y = rng.normal(size=(30, 2)), rng.integers(0, 2, 30)
    stacked = influence(spec, rows, x, y, include_bias)
    assert [s.shape for s in stacked] == [(6, 30, 3), (6, 30, 5), (6, 30, 2)]
    for e, row in enumerate(rows):
        for s, single in zip(stacked, influence(spec, row, x, y, include_bias), strict=True):
            np.testing.assert_allclose(s[e], single, rtol=1e-13, atol=1e-300)


# --- accumulated over training ----------------------------------------------------------------------------


def brute_force(history: TrainingHistory, x, y, epoch: int, include_bias=True) -> list[np.ndarray]:
    """sqrt(sum over kept rows k at or before `epoch` of weight_k * I_k ** 2), one row at a time."""
    epochs = history.epochs
    weights = np.diff(epochs, prepend=-1)
    last = history.index_of(epoch)
    total = None
    for k in range(last + 1):
        squares = [weights[k] * m**2 for m in influence(history.spec, history.params[k], x, y, include_bias)]
        total = squares if total is None else [t + s for t, s in zip(total, squares, strict=True)]
    return [np.sqrt(t) for t in total]


def brute_force_all(history: TrainingHistory, x, y) -> list[np.ndarray]:
    """The same at every kept row at once: per layer (rows, n, width), from a running sum row by row."""
    weights = np.diff(history.epochs, prepend=-1)
    running, out = None, []
    for k in range(len(history)):
        squares = [weights[k] * m**2 for m in influence(history.spec, history.params[k], x, y)]
        running = squares if running is None else [t + s for t, s in zip(running, squares, strict=True)]
        out.append([np.sqrt(t) for t in running])
    return [np.stack(layer) for layer in zip(*out, strict=True)]


def assert_same(got, expected):
    for g, e in zip(got, expected, strict=True):
        np.testing.assert_allclose(g, e, rtol=1e-9, atol=1e-300)


def trained_history(spec: NetworkSpec, x, y, epochs: int) -> TrainingHistory:
    from app.core.dataset import SampleSet

    samples = SampleSet(x, y)
    trainer = Trainer(spec, TrainConfig("adam", 0.03), backend="torch")
    history = TrainingHistory(spec, trainer.params.copy(), 0.7, 0.5)
    while trainer.epoch < epochs:
        first = trainer.epoch + 1
        params, loss, accuracy, _ = trainer.run(samples, 50)
        history.append(EpochChunk(first, params, loss, accuracy, 0))
    return history


def random_walk_chunk(rng, spec: NetworkSpec, first: int, n: int, start: np.ndarray) -> EpochChunk:
    params = start + np.cumsum(0.02 * rng.normal(size=(n, spec.n_params)), axis=0)
    return EpochChunk(first, params, np.zeros(n), np.zeros(n), 0)


@pytest.mark.parametrize("every", [1, 8, 64])
def test_accumulated_equals_brute_force_while_history_grows(every):
    spec = NetworkSpec((4, 3), "tanh")
    rng = np.random.default_rng(4)
    x, y = rng.normal(size=(20, 2)), rng.integers(0, 2, 20)
    history = trained_history(spec, x, y, 300)
    accumulated = AccumulatedInfluence(spec, every=every)
    for epoch in [300, 0, 17, 250, 64, 63, 65, 128, 299, 1, 17]:
        maps = accumulated.at(history, x, y, epoch)
        assert [m.shape for m in maps] == [(20, 4), (20, 3)]
        assert_same(maps, brute_force(history, x, y, epoch))
    assert_same(accumulated.at(history, x, y, 0), influence(spec, history.params[0], x, y))  # epoch 0 alone
    history.append(random_walk_chunk(rng, spec, 301, 150, history.params[-1]))  # the history grows
    for epoch in [450, 301, 300, 200, 390]:
        assert_same(accumulated.at(history, x, y, epoch), brute_force(history, x, y, epoch))


def test_accumulated_without_bias_and_for_other_samples():
    spec = NetworkSpec((3, 5, 2), "leaky_relu")
    rng = np.random.default_rng(5)
    x, y = rng.normal(size=(15, 2)), rng.integers(0, 2, 15)
    history = TrainingHistory(spec, init_params(spec, 0), 0.7, 0.5)
    history.append(random_walk_chunk(rng, spec, 1, 200, history.params[0]))
    accumulated = AccumulatedInfluence(spec, include_bias=False, every=16)
    assert_same(accumulated.at(history, x, y, 150), brute_force(history, x, y, 150, include_bias=False))
    x2, y2 = x.copy(), y.copy()
    x2[3] += 0.5  # one sample moved: the cache must follow the values
    assert_same(accumulated.at(history, x2, y2, 150), brute_force(history, x2, y2, 150, include_bias=False))
    x3, y3 = x[:9], 1 - y[:9]
    assert_same(accumulated.at(history, x3, y3, 90), brute_force(history, x3, y3, 90, include_bias=False))
    assert [m.shape for m in accumulated.at(history, x[:0], y[:0], 90)] == [(0, 3), (0, 5), (0, 2)]
    other = TrainingHistory(spec, history.params[5], 0.7, 0.5)  # another history: its own sums
    other.append(random_walk_chunk(rng, spec, 1, 40, other.params[0]))
    assert_same(accumulated.at(other, x, y, 40), brute_force(other, x, y, 40, include_bias=False))
    accumulated.reset()
    assert_same(accumulated.at(history, x, y, 199), brute_force(history, x, y, 199, include_bias=False))


def test_accumulated_after_thinning_weighs_rows_by_the_epochs_they_stand_for():
    spec = NetworkSpec((3,), "relu")
    rng = np.random.default_rng(6)
    x, y = rng.normal(size=(12, 2)), rng.integers(0, 2, 12)
    history = TrainingHistory(spec, init_params(spec, 0), 0.7, 0.5, budget_bytes=1)  # 512 rows at most
    accumulated = AccumulatedInfluence(spec, every=32)
    for first in range(1, 481, 60):
        history.append(random_walk_chunk(rng, spec, first, 60, history.params[-1]))
    assert history.thinnings == 0
    assert_same(accumulated.at(history, x, y, 400), brute_force(history, x, y, 400))
    for first in range(481, 1501, 60):
        history.append(random_walk_chunk(rng, spec, first, 60, history.params[-1]))
    assert history.thinnings > 0 and len(history) < 1500
    assert np.diff(history.epochs).max() > 1  # rows stand for several epochs now
    for epoch in rng.permutation(1501)[:8].tolist() + [400, 1500, 0]:
        assert_same(accumulated.at(history, x, y, epoch), brute_force(history, x, y, epoch))


def test_accumulated_follows_a_history_of_another_network():
    """A new network (the user changed the layers) comes with a new history: the cache takes its spec."""
    rng = np.random.default_rng(8)
    x, y = rng.normal(size=(6, 2)), rng.integers(0, 2, 6)
    accumulated = AccumulatedInfluence(NetworkSpec((4, 4)))
    for spec in [NetworkSpec((4, 4)), NetworkSpec((3,), "relu")]:
        history = TrainingHistory(spec, init_params(spec, 0), 0.7, 0.5)
        history.append(random_walk_chunk(rng, spec, 1, 30, history.params[0]))
        maps = accumulated.at(history, x, y, 20)
        assert [m.shape for m in maps] == [(6, w) for w in spec.widths]
        assert_same(maps, brute_force(history, x, y, 20))


def test_accumulated_while_dragging_and_after_prepare():
    """Consecutive epochs both ways (each call starts from the previous result), jumps, and prepared
    checkpoints, all against the brute force."""
    spec = NetworkSpec((4, 4), "tanh")
    rng = np.random.default_rng(7)
    x, y = rng.normal(size=(10, 2)), rng.integers(0, 2, 10)
    history = TrainingHistory(spec, init_params(spec, 0), 0.7, 0.5)
    history.append(random_walk_chunk(rng, spec, 1, 400, history.params[0]))
    expected = brute_force_all(history, x, y)
    accumulated = AccumulatedInfluence(spec, every=32)
    path = list(range(100, 180)) + list(range(180, 20, -3)) + [399, 5, 398, 200, 201, 199]
    for epoch in path:
        assert_same(accumulated.at(history, x, y, epoch), [e[epoch] for e in expected])
    accumulated.reset()  # drops the history's sums: the next reader builds them anew
    fresh = AccumulatedInfluence(spec, every=32)
    while not fresh.prepare(history, x, y, seconds=0.001):
        pass
    assert (fresh._sums.levels[:10] == 400 // 32).all()  # noqa: SLF001 - every checkpoint the history holds, for the 10 samples
    for epoch in rng.permutation(401)[:20].tolist():
        assert_same(fresh.at(history, x, y, epoch), [e[epoch] for e in expected])
    result = fresh.at(history, x, y, 300)
    assert fresh.at(history, x, y, 300) is result and not result[0].flags.writeable  # a repeat is free
