"""NetworkSpec validation, width parsing, the flat parameter layout, and the numpy forward pass, init and
loss held to the torch module they mirror."""

import math
import warnings

import numpy as np
import pytest
import torch

from app.core import network
from app.core.network import ACTIVATIONS, NetworkSpec, parse_widths
from app.core.torch_model import build_module, init_params, module_params

ARCHITECTURES = [(4, 4), (3,), (8, 5, 2)]


def random_points(n: int = 200, scale: float = 3.0, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(scale=scale, size=(n, 2))


# --- NetworkSpec and parse_widths ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [
        {"widths": ()},
        {"widths": (4,) * 9},
        {"widths": (4, 0)},
        {"widths": (65,)},
        {"widths": (4,), "activation": "softplus"},
    ],
)
def test_spec_rejects_invalid_shapes_and_activations(kwargs):
    with pytest.raises(ValueError):
        NetworkSpec(**kwargs)


def test_spec_accepts_the_limits():
    assert NetworkSpec((1,) * 8).widths == (1,) * 8
    assert NetworkSpec((64,)).layer_sizes == (2, 64, 1)
    for activation in ACTIVATIONS:
        assert NetworkSpec((4,), activation).activation == activation


@pytest.mark.parametrize("classes", [1, 9, 0, -2, True, 2.0, "3"])
def test_spec_refuses_numbers_of_classes_outside_2_to_8(classes):
    with pytest.raises(ValueError, match="number of classes must be"):
        NetworkSpec((4,), "tanh", classes)


def test_spec_classes_set_the_output_layer():
    assert NetworkSpec((4, 4)) == NetworkSpec((4, 4), "tanh", 2)
    assert NetworkSpec((4, 4)).classes == 2 and NetworkSpec((4, 4)).layer_sizes == (2, 4, 4, 1)
    for classes in range(3, 9):
        spec = NetworkSpec((4, 4), "relu", np.int64(classes))
        assert spec.classes == classes and type(spec.classes) is int
        assert spec.layer_sizes == (2, 4, 4, classes)
        assert spec.n_params == 12 + 20 + 5 * classes
    with pytest.raises(ValueError, match="number of classes must be 2 to 8, not 9"):
        NetworkSpec((4,), classes=9)


@pytest.mark.parametrize(
    "spec", [NetworkSpec(), NetworkSpec((3, 5), "relu", 3), NetworkSpec((8,), "sigmoid", 8)]
)
def test_spec_json_round_trip(spec):
    fields = spec.to_json()
    assert NetworkSpec.from_json(fields) == spec
    assert ("classes" in fields) == (spec.classes != 2)  # two-class files stay as before the field existed
    assert NetworkSpec.from_json({"widths": [4, 4], "activation": "tanh"}) == NetworkSpec()


@pytest.mark.parametrize(("text", "expected"), [("4,4", (4, 4)), (" 8 , 2 ", (8, 2)), ("64", (64,))])
def test_parse_widths_accepts(text, expected):
    assert parse_widths(text) == expected


@pytest.mark.parametrize("text", ["a,b", "", " , ", "4,0", "4,65", "1,2,3,4,5,6,7,8,9", "4.5"])
def test_parse_widths_rejects(text):
    with pytest.raises(ValueError):
        parse_widths(text)


# --- parameter layout ------------------------------------------------------------------------------------


@pytest.mark.parametrize("widths", ARCHITECTURES)
def test_param_shapes_follow_torch_names_and_count(widths):
    spec = NetworkSpec(widths)
    module = build_module(spec, seed=0)
    torch_shapes = [(name, tuple(p.shape)) for name, p in module.named_parameters()]
    assert spec.param_shapes == torch_shapes
    assert spec.param_shapes[0] == ("layers.0.weight", (widths[0], 2))
    assert spec.param_shapes[1] == ("layers.0.bias", (widths[0],))
    assert spec.param_shapes[-2] == (f"layers.{len(widths)}.weight", (1, widths[-1]))
    assert spec.n_params == sum(p.numel() for p in module.parameters())


def test_two_class_layout_is_one_output_logit_as_before():
    spec = NetworkSpec((4, 4))
    assert spec.n_params == 37
    assert spec.param_shapes == [
        ("layers.0.weight", (4, 2)), ("layers.0.bias", (4,)), ("layers.1.weight", (4, 4)),
        ("layers.1.bias", (4,)), ("layers.2.weight", (1, 4)), ("layers.2.bias", (1,)),
    ]  # fmt: skip


@pytest.mark.parametrize("classes", [3, 5, 8])
def test_k_class_layout_follows_torch(classes):
    spec = NetworkSpec((3, 2), "tanh", classes)
    module = build_module(spec, seed=0)
    assert spec.param_shapes == [(name, tuple(p.shape)) for name, p in module.named_parameters()]
    assert spec.param_shapes[-2:] == [("layers.2.weight", (classes, 2)), ("layers.2.bias", (classes,))]
    w, b = network.split_params(spec, np.arange(spec.n_params, dtype=np.float64))[-1]
    assert w.shape == (classes, 2) and b.shape == (classes,) and b[-1] == spec.n_params - 1


def test_split_and_named_params_are_views_in_torch_order():
    spec = NetworkSpec((3, 2))
    flat = np.arange(spec.n_params, dtype=np.float64)
    (w0, b0), (w1, b1), (w2, b2) = network.split_params(spec, flat)
    np.testing.assert_array_equal(w0, np.arange(6).reshape(3, 2))
    np.testing.assert_array_equal(b0, [6, 7, 8])
    np.testing.assert_array_equal(w2, [[spec.n_params - 3, spec.n_params - 2]])
    np.testing.assert_array_equal(b2, [spec.n_params - 1])
    named = network.named_params(spec, flat)
    module = build_module(spec, params=flat)
    for name, p in module.named_parameters():
        np.testing.assert_array_equal(named[name], p.detach().numpy())
    stack = np.stack([flat, flat + 100])
    assert network.named_params(spec, stack)["layers.1.weight"].shape == (2, 2, 3)


# --- forward pass ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("widths", ARCHITECTURES)
def test_forward_matches_torch_module(widths, activation):
    spec = NetworkSpec(widths, activation)
    params = np.random.default_rng(1).normal(size=spec.n_params)
    x = random_points()
    module = build_module(spec, params=params)
    with torch.no_grad():
        expected = module(torch.as_tensor(x)).numpy()
    np.testing.assert_allclose(network.logits(spec, params, x), expected, rtol=0, atol=1e-10)
    np.testing.assert_allclose(
        network.predict_proba(spec, params, x), torch.sigmoid(torch.as_tensor(expected)).numpy(), atol=1e-12
    )
    zs = network.pre_activations(spec, params, x)
    assert [z.shape for z in zs] == [(len(x), w) for w in (*widths, 1)]


def test_predict_proba_saturates_without_overflow():
    spec = NetworkSpec((3,))
    params = np.random.default_rng(2).normal(size=spec.n_params)
    with np.errstate(all="raise"):
        p = network.predict_proba(spec, params, random_points(scale=1e6))
    assert np.all((p >= 0) & (p <= 1))


@pytest.mark.parametrize("scale", [1.0, 1e6])
@pytest.mark.parametrize("classes", [3, 5, 8])
def test_class_probabilities_are_torch_softmax_and_sum_to_1(classes, scale):
    spec = NetworkSpec((5, 3), "leaky_relu", classes)
    params = np.random.default_rng(classes).normal(size=spec.n_params)
    x = random_points(scale=scale)
    with torch.no_grad():
        z = build_module(spec, params=params)(torch.as_tensor(x))
    with np.errstate(over="raise", divide="raise", invalid="raise"):  # exp may underflow to 0, harmlessly
        p = network.class_probabilities(spec, params, x)
    assert p.shape == (len(x), classes) and np.all(p >= 0)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    np.testing.assert_allclose(p, torch.softmax(z, dim=1).numpy(), rtol=0, atol=1e-12)
    predicted = network.predict_classes(spec, params, x)
    np.testing.assert_array_equal(predicted, torch.argmax(z, dim=1).numpy())
    assert predicted.dtype == np.int64 and set(predicted) <= set(range(classes))


def test_two_class_probabilities_are_red_then_blue():
    spec = NetworkSpec((4,), "tanh")
    params = np.random.default_rng(5).normal(size=spec.n_params)
    x = random_points()
    p = network.class_probabilities(spec, params, x)
    blue = network.predict_proba(spec, params, x)
    np.testing.assert_array_equal(p[:, 1], blue)
    np.testing.assert_array_equal(p[:, 0], 1.0 - blue)
    np.testing.assert_array_equal(
        network.predict_classes(spec, params, x), network.logits(spec, params, x) > 0
    )


def test_k_class_networks_have_no_single_logit():
    spec = NetworkSpec((4,), "tanh", 3)
    params = np.zeros(spec.n_params)
    x, y = np.zeros((2, 2)), np.zeros(2)
    for binary_only in (
        lambda: network.logits(spec, params, x),
        lambda: network.predict_proba(spec, params, x),
        lambda: network.bce_loss_and_accuracy(spec, params, x, y),
    ):
        with pytest.raises(ValueError, match="3-class network has no single logit"):
            binary_only()


# --- initialisation --------------------------------------------------------------------------------------


@pytest.mark.parametrize("widths", ARCHITECTURES)
def test_init_params_is_torch_default_init_and_deterministic(widths):
    spec = NetworkSpec(widths)
    a = init_params(spec, 7)
    assert a.shape == (spec.n_params,) and a.dtype == np.float64
    np.testing.assert_array_equal(a, init_params(spec, 7))
    assert not np.array_equal(a, init_params(spec, 8))
    np.testing.assert_array_equal(a, module_params(build_module(spec, seed=7)))
    # torch's default nn.Linear init: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weights and biases
    for (w, b), fan_in in zip(network.split_params(spec, a), spec.layer_sizes[:-1], strict=True):
        bound = 1 / np.sqrt(fan_in)
        assert np.abs(w).max() <= bound and np.abs(b).max() <= bound


def test_init_params_leaves_the_global_torch_generator_alone():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    init_params(NetworkSpec(), 5)
    torch.testing.assert_close(torch.rand(3), expected)


# --- loss and accuracy -----------------------------------------------------------------------------------


def torch_bce(spec, params, x, y):
    module = build_module(spec, params=params)
    with torch.no_grad():
        z = module(torch.as_tensor(x))
        loss = torch.nn.BCEWithLogitsLoss()(z, torch.as_tensor(y, dtype=torch.float64))
        accuracy = ((z > 0) == (torch.as_tensor(y) > 0.5)).double().mean()
    return float(loss), float(accuracy)


@pytest.mark.parametrize("scale", [1.0, 5.0, 1e6])
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_bce_loss_and_accuracy_match_torch(activation, scale):
    spec = NetworkSpec((5, 3), activation)
    rng = np.random.default_rng(3)
    params = rng.normal(size=spec.n_params)
    x = random_points(scale=scale, seed=4)
    y = rng.integers(0, 2, size=len(x)).astype(np.float64)
    loss, accuracy = network.bce_loss_and_accuracy(spec, params, x, y)
    expected_loss, expected_accuracy = torch_bce(spec, params, x, y)
    assert np.isfinite(loss)
    assert loss == pytest.approx(expected_loss, rel=1e-12, abs=1e-12)
    assert accuracy == expected_accuracy


def test_bce_of_huge_logits_stays_finite_and_exact():
    # a linear net whose logit is x0: at 1e6 the loss of the wrong class is 1e6, of the right one 0
    spec = NetworkSpec((1,), "relu")
    params = np.array([1.0, 0.0, 0.0, 1.0, 0.0])  # W0=[1,0], b0=0, W1=[1], b1=0
    x = np.array([[1e6, 0.0], [1e6, 0.0]])
    loss, accuracy = network.bce_loss_and_accuracy(spec, params, x, np.array([0.0, 1.0]))
    assert loss == pytest.approx(0.5e6)
    assert accuracy == 0.5
    assert network.bce_loss_and_accuracy(spec, params, x, np.array([1.0, 1.0])) == (0.0, 1.0)


def test_bce_of_no_samples_is_nan_without_warnings():
    spec = NetworkSpec((3,), "tanh")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss, accuracy = network.bce_loss_and_accuracy(spec, np.ones(spec.n_params), np.empty((0, 2)), [])
    assert math.isnan(loss) and math.isnan(accuracy)


@pytest.mark.parametrize("scale", [1.0, 1e6])
@pytest.mark.parametrize("classes", [2, 3, 8])
def test_loss_and_accuracy_match_torch_cross_entropy(classes, scale):
    spec = NetworkSpec((5, 3), "tanh", classes)
    rng = np.random.default_rng(6)
    params = rng.normal(size=spec.n_params)
    x = random_points(scale=scale, seed=7)
    y = rng.integers(0, classes, size=len(x)).astype(np.float64)
    loss, accuracy = network.loss_and_accuracy(spec, params, x, y)
    if classes == 2:
        assert (loss, accuracy) == network.bce_loss_and_accuracy(spec, params, x, y)
        expected = torch_bce(spec, params, x, y)
    else:
        with torch.no_grad():
            z = build_module(spec, params=params)(torch.as_tensor(x))
            labels = torch.as_tensor(y).long()
            right = torch.argmax(z, dim=1) == labels
            expected = torch.nn.CrossEntropyLoss()(z, labels), right.double().mean()
    assert np.isfinite(loss)
    assert loss == pytest.approx(float(expected[0]), rel=1e-12, abs=1e-12)
    assert accuracy == float(expected[1])
    assert all(math.isnan(v) for v in network.loss_and_accuracy(spec, params, np.empty((0, 2)), []))


def test_confusion_counts_count_each_true_class_by_its_predicted_class():
    from app.core.dataset import make_preset
    from app.core.network import confusion_counts, loss_and_accuracy, predict_classes

    samples = make_preset("blobs5")
    spec = NetworkSpec((3,), "tanh", classes=5)
    params = np.random.default_rng(4).normal(size=spec.n_params)
    counts = confusion_counts(spec, params, samples.points, samples.labels)
    predicted = predict_classes(spec, params, samples.points)
    by_hand = [[np.sum((samples.labels == t) & (predicted == p)) for p in range(5)] for t in range(5)]
    np.testing.assert_array_equal(counts, by_hand)
    assert counts.sum() == samples.n and counts.sum(axis=1).tolist() == list(samples.class_counts)
    assert counts.trace() / samples.n == loss_and_accuracy(spec, params, samples.points, samples.labels)[1]
    two = NetworkSpec((3,))
    nothing = confusion_counts(two, np.zeros(two.n_params), np.empty((0, 2)), np.empty(0))
    assert nothing.tolist() == [[0, 0], [0, 0]]
