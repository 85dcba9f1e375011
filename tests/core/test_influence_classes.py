"""Influence for k > 2 classes (issue 23): the softmax cross-entropy's closed form against finite differences
and torch autograd, two classes bit for bit as before, accumulated over a history, and in the export."""

import numpy as np
import pytest
import torch

from app.core.dataset import make_preset
from app.core.export_npz import export_data
from app.core.history import TrainingHistory
from app.core.influence import AccumulatedInfluence, influence
from app.core.network import (
    ACTIVATIONS,
    NetworkSpec,
    activate,
    class_probabilities,
    loss_and_accuracy,
    named_params,
    pre_activations,
    split_params,
)
from app.core.thesis import mlp_predictor
from app.core.torch_model import build_module, init_params
from app.core.training import EpochChunk

SHAPES = [(4,), (3, 5, 2)]


def random_problem(
    spec: NetworkSpec, n: int = 20, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Parameters scaled up from torch's init (so deeper deltas are not tiny), points, labels 0 to k - 1."""
    rng = np.random.default_rng(seed)
    params = 2.0 * init_params(spec, seed)
    return params, rng.normal(size=(n, 2)), rng.integers(0, spec.classes, n)


def sample_losses(spec: NetworkSpec, params: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Each sample's own softmax cross-entropy, -log p_i[y_i]."""
    z = pre_activations(spec, params, x)[-1]
    log_p = z - np.logaddexp.reduce(z, axis=1, keepdims=True)
    return -log_p[np.arange(len(y)), y]


def finite_difference_influence(spec, params, x, y, include_bias, eps=1e-5) -> list[np.ndarray]:
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
@pytest.mark.parametrize("classes", [3, 5])
@pytest.mark.parametrize("widths", SHAPES)
def test_influence_equals_finite_differences_of_the_softmax_loss(widths, classes, activation, include_bias):
    spec = NetworkSpec(widths, activation, classes)
    params, x, y = random_problem(spec)  # (seed 0: no layer dead in any case)
    got = influence(spec, params, x, y, include_bias)
    expected = finite_difference_influence(spec, params, x, y, include_bias)
    assert [g.shape for g in got] == [(len(x), w) for w in widths]
    for g, e in zip(got, expected, strict=True):
        assert e.max() > 1e-3  # a real check, not zeros against zeros
        np.testing.assert_allclose(g, e, rtol=1e-6, atol=1e-9 * e.max())


@pytest.mark.parametrize("include_bias", [True, False])
@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("classes", [3, 5])
def test_closed_form_with_autograd_deltas(classes, activation, include_bias):
    """|delta| * sqrt(h . h (+ 1)) with delta = d loss_i / d z taken by torch autograd through the k-class
    module and its cross-entropy, in every hidden layer."""
    spec = NetworkSpec((3, 5, 2), activation, classes)
    params, x, y = random_problem(spec, seed=10 + classes)
    module = build_module(spec, params=params)
    h = torch.tensor(x)
    inputs, zs = [], []
    for layer in module.layers[:-1]:
        inputs.append(h.detach().numpy())
        z = layer(h)
        z.retain_grad()
        zs.append(z)
        h = module.activation(z)
    out = module.layers[-1](h)
    torch.nn.functional.cross_entropy(out, torch.tensor(y), reduction="sum").backward()
    got = influence(spec, params, x, y, include_bias)
    for g, z, h_in in zip(got, zs, inputs, strict=True):
        q = np.sum(h_in * h_in, axis=1) + float(include_bias)
        np.testing.assert_allclose(g, np.abs(z.grad.numpy()) * np.sqrt(q)[:, None], rtol=1e-12, atol=1e-15)


def two_class_influence_as_before(spec, params, x, y, include_bias) -> list[np.ndarray]:
    """The two-class closed form as app.core.influence had it before issue 23, line for line."""
    from app.core.influence import _derivative

    y = np.asarray(y, dtype=np.float64).reshape(-1)
    p = named_params(spec, np.asarray(params, dtype=np.float64))
    n_layers = len(spec.layer_sizes) - 1
    weights = [p[f"layers.{i}.weight"] for i in range(n_layers)]
    biases = [p[f"layers.{i}.bias"] for i in range(n_layers)]
    h, inputs, slopes = x, [], []
    for w, b in zip(weights[:-1], biases[:-1], strict=True):
        inputs.append(h)
        z = h @ np.swapaxes(w, -1, -2) + b[..., None, :]
        h = activate(spec.activation, z)
        slopes.append(_derivative(spec.activation, z, h))
    logit = (h @ np.swapaxes(weights[-1], -1, -2))[..., 0] + biases[-1]
    grad = (0.5 * (1.0 + np.tanh(0.5 * logit)) - y)[..., None] * weights[-1]
    out = []
    for i in reversed(range(n_layers - 1)):
        delta = grad * slopes[i]
        out.append((delta, np.einsum("...i,...i->...", inputs[i], inputs[i]) + float(include_bias)))
        if i:
            grad = delta @ weights[i]
    return [np.abs(d) * np.sqrt(q)[..., None] for d, q in out[::-1]]


@pytest.mark.parametrize("include_bias", [True, False])
@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("widths", [(4,), (4, 4), (3, 5, 2), (8, 8)])
def test_two_classes_bit_for_bit_as_before(widths, activation, include_bias):
    spec = NetworkSpec(widths, activation)
    for seed in range(3):
        params, x, y = random_problem(spec, n=40, seed=seed)
        stack = params + 0.1 * np.random.default_rng(seed).normal(size=(5, spec.n_params))
        for p in (params, stack):
            got = influence(spec, p, x, y, include_bias)
            expected = two_class_influence_as_before(spec, p, x, y, include_bias)
            for g, e in zip(got, expected, strict=True):
                np.testing.assert_array_equal(g, e)


def test_a_stack_of_epochs_equals_each_epoch_alone():
    spec = NetworkSpec((4, 3), "tanh", 4)
    params, x, y = random_problem(spec)
    stack = params + 0.3 * np.random.default_rng(0).normal(size=(6, spec.n_params))
    stacked = influence(spec, stack, x, y)
    for e in range(len(stack)):
        for s, alone in zip(stacked, influence(spec, stack[e], x, y), strict=True):
            np.testing.assert_allclose(s[e], alone, rtol=1e-13, atol=1e-300)


def test_labels_outside_the_classes_are_refused():
    spec = NetworkSpec((3,), "relu", 3)
    params, x, _ = random_problem(spec, n=2)
    with pytest.raises(ValueError, match="classes 0 to 2"):
        influence(spec, params, x, np.array([0, 3]))
    assert [m.shape for m in influence(spec, params, np.empty((0, 2)), np.empty(0))] == [(0, 3)]


@pytest.mark.parametrize("include_bias", [True, False])
def test_accumulated_influence_for_three_classes_is_the_plain_sum(include_bias):
    spec = NetworkSpec((4, 3), "relu", 3)
    rng = np.random.default_rng(7)
    x, y = rng.normal(size=(9, 2)), rng.integers(0, 3, 9).astype(float)
    history = TrainingHistory(spec, 2 * init_params(spec, 0), 1.1, 0.3)
    first = 1
    for n in (40, 3, 70, 25):
        start = history.params_at(history.latest_epoch)
        params = start + np.cumsum(0.05 * rng.normal(size=(n, spec.n_params)), axis=0)
        history.append(EpochChunk(first, params, np.zeros(n), np.zeros(n), 0))
        first += n
    reader = AccumulatedInfluence(spec, include_bias, every=16)
    for epoch in (0, 15, 16, 57, 100, history.latest_epoch):
        squares = [np.zeros((len(x), w)) for w in spec.widths]
        for e in range(epoch + 1):  # no thinning: every epoch is a row of weight 1
            for s, m in zip(squares, influence(spec, history.params_at(e), x, y, include_bias), strict=True):
                s += m**2
        got = reader.at(history, x, y, epoch)
        for g, s in zip(got, squares, strict=True):
            np.testing.assert_allclose(g, np.sqrt(s), rtol=1e-12, atol=0)


def test_the_export_holds_three_class_influence(tmp_path):
    samples = make_preset("blobs3")
    assert samples.classes == 3
    spec = NetworkSpec((4, 3), "tanh", 3)
    params = init_params(spec, 2)
    history = TrainingHistory(spec, params, *loss_and_accuracy(spec, params, samples.points, samples.labels))
    path = tmp_path / "three.npz"
    export_data(str(path), samples, history, 0)
    expected = influence(spec, params, samples.points, samples.labels)
    with np.load(path, allow_pickle=False) as data:
        assert int(data["influence_epoch"]) == 0
        assert sorted(set(data["labels"].tolist())) == [0, 1, 2]
        for k, e in enumerate(expected):
            got = data[f"influence/layer{k + 1}"]
            assert got.shape == (samples.n, spec.widths[k]) and e.max() > 0
            np.testing.assert_array_equal(got, e)


def test_the_thesis_predictor_takes_any_number_of_classes():
    spec = NetworkSpec((5,), "relu", 3)
    params, x, _ = random_problem(spec, n=50, seed=2)
    x = 3.0 * x  # wide enough to meet all three classes
    predicted = mlp_predictor(spec, params)(x)
    np.testing.assert_array_equal(predicted, np.argmax(class_probabilities(spec, params, x), axis=1))
    assert predicted.dtype == np.int64 and len(set(predicted.tolist())) > 1
