"""The hidden-space view's numbers, against the network's own forward pass."""

import numpy as np
import pytest

from app.core.geometry import Rect
from app.core.hidden_space import (
    GRID_LINES,
    GRID_POINTS,
    fit_points,
    grid_lines,
    hidden_picture,
    layer_activations,
    neuron_axes,
    plane_logits,
    principal_axes,
    project,
    with_gaps,
)
from app.core.network import NetworkSpec, activate, pre_activations

FRAME = Rect(-2.0, 2.0, -1.5, 1.5)


def network(widths=(4, 3), activation="tanh", classes=2, seed=0):
    spec = NetworkSpec(widths, activation, classes)
    rng = np.random.default_rng(seed)
    return spec, rng.normal(size=spec.n_params), rng.uniform(-1.5, 1.5, size=(40, 2))


@pytest.mark.parametrize("activation", ["tanh", "relu", "sigmoid", "leaky_relu"])
def test_the_samples_sit_at_their_activations(activation):
    spec, params, points = network((4, 3, 5), activation)
    zs = pre_activations(spec, params, points)
    for layer, (i, j) in ((0, (0, 2)), (1, (2, 1)), (2, (4, 0))):
        expected = activate(activation, zs[layer])
        np.testing.assert_allclose(layer_activations(spec, params, points, layer), expected, atol=1e-12)
        picture = hidden_picture(spec, params, neuron_axes(spec, layer, (i, j)), points, FRAME)
        np.testing.assert_allclose(picture.coords, expected[:, [i, j]], atol=1e-12)


def test_a_warped_grid_line_is_the_forward_pass_of_the_input_line():
    spec, params, points = network((4, 3))
    lines = grid_lines(FRAME)
    assert lines.shape == (2 * GRID_LINES, GRID_POINTS, 2)
    np.testing.assert_allclose(lines[0, :, 1], FRAME.ymin)  # the first horizontal line, left to right
    np.testing.assert_allclose(lines[0, [0, -1], 0], [FRAME.xmin, FRAME.xmax])
    np.testing.assert_allclose(lines[GRID_LINES + 3, :, 0], FRAME.xmin + 3 * FRAME.width / 10)  # a vertical
    axes = neuron_axes(spec, 1, (0, 2))
    picture = hidden_picture(spec, params, axes, points, FRAME)
    for k in (0, 5, GRID_LINES + 3):
        h = activate("tanh", pre_activations(spec, params, lines[k])[1])
        np.testing.assert_allclose(picture.grid[k], h[:, [0, 2]], atol=1e-12)
    gapped = with_gaps(picture.grid)
    assert gapped.shape == (2 * GRID_LINES * (GRID_POINTS + 1) - 1, 2)
    assert np.isnan(gapped[GRID_POINTS]).all() and np.isfinite(gapped[:GRID_POINTS]).all()


def test_principal_axes_are_orthonormal_and_fixed_across_epochs():
    spec, params, points = network((5, 3))
    later = params + 0.3 * np.random.default_rng(1).normal(size=params.shape)
    axes = principal_axes(spec, later, points, 0, epoch=700)
    np.testing.assert_allclose(axes.basis @ axes.basis.T, np.eye(2), atol=1e-12)
    assert axes.fitted_at == 700 and axes.neurons is None
    h = layer_activations(spec, later, points, 0)
    np.testing.assert_allclose(axes.origin, h.mean(axis=0), atol=1e-12)
    coords = project(axes, h)
    assert np.var(coords[:, 0]) >= np.var(coords[:, 1]) > 0
    np.testing.assert_allclose(coords.mean(axis=0), 0.0, atol=1e-12)
    total = np.sum(np.var(h, axis=0))
    np.testing.assert_allclose(np.var(coords, axis=0) / total, axes.explained, atol=1e-12)
    # the same basis draws every epoch: an earlier epoch's samples are projected on it, not refitted
    early = hidden_picture(spec, params, axes, points, FRAME)
    np.testing.assert_allclose(early.coords, project(axes, layer_activations(spec, params, points, 0)))
    again = principal_axes(spec, later, points, 0, epoch=700)
    np.testing.assert_array_equal(again.basis, axes.basis)  # deterministic signs
    assert "principal component 1" in axes.labels()[0] and "%" in axes.labels()[1]


def test_principal_axes_of_too_few_samples_fit_the_frames_grid():
    assert len(fit_points(np.zeros((1, 2)), FRAME)) == 2 * GRID_LINES * GRID_POINTS
    spec, params, _ = network()
    with pytest.raises(ValueError, match="two points"):
        principal_axes(spec, params, np.zeros((1, 2)), 0, 0)


@pytest.mark.parametrize("principal", [False, True])
def test_the_next_layers_lines_are_exact_for_a_layer_of_two(principal):
    spec, params, points = network((2, 3))
    axes = principal_axes(spec, params, points, 0, 0) if principal else neuron_axes(spec, 0, (1, 0))
    assert axes.exact()
    picture = hidden_picture(spec, params, axes, points, FRAME)
    z_next = pre_activations(spec, params, points)[1]
    affine = picture.coords @ picture.next_weights.T + picture.next_bias
    np.testing.assert_allclose(affine, z_next, atol=1e-12)
    assert not picture.next_is_output


def test_a_wider_layers_next_lines_hold_the_rest_at_the_samples_mean():
    spec, params, points = network((4, 3))
    axes = neuron_axes(spec, 0, (0, 2))
    assert not axes.exact()
    picture = hidden_picture(spec, params, axes, points, FRAME)
    h = layer_activations(spec, params, points, 0)
    np.testing.assert_allclose(picture.held[[1, 3]], h.mean(axis=0)[[1, 3]], atol=1e-12)
    np.testing.assert_allclose(picture.held[[0, 2]], 0.0)
    # at the samples' mean point the next layer's value is the network's at the mean activation
    w2 = params[12 : 12 + 12].reshape(3, 4)
    b2 = params[24:27]
    mean_coords = h.mean(axis=0)[[0, 2]]
    np.testing.assert_allclose(picture.next_weights @ mean_coords + picture.next_bias,
                               w2 @ h.mean(axis=0) + b2, atol=1e-12)  # fmt: skip


@pytest.mark.parametrize("classes", [2, 4])
def test_the_last_hidden_layers_next_layer_is_the_output(classes):
    spec, params, points = network((3, 2), classes=classes)
    axes = neuron_axes(spec, 1, (0, 1))
    picture = hidden_picture(spec, params, axes, points, FRAME)
    assert picture.next_is_output and picture.next_weights.shape == (spec.output_units, 2)
    logits = pre_activations(spec, params, points)[-1]
    affine = picture.coords @ picture.next_weights.T + picture.next_bias
    np.testing.assert_allclose(affine, logits, atol=1e-12)
    xs, ys, z = plane_logits(picture, Rect(-1, 1, -1, 1), 8, 6)
    assert z.shape == (6, 8, spec.output_units)
    expected = np.array([xs[3], ys[2]]) @ picture.next_weights.T + picture.next_bias
    np.testing.assert_allclose(z[2, 3], expected, atol=1e-12)


def test_bad_axes_are_refused_and_a_layer_of_one_neuron_has_one_axis():
    spec, params, points = network((3, 1))
    with pytest.raises(ValueError, match="neurons 1 to 3"):
        neuron_axes(spec, 0, (0, 3))
    with pytest.raises(ValueError, match="two different"):
        neuron_axes(spec, 0, (1, 1))
    with pytest.raises(ValueError, match="hidden layers 1 to 2"):
        neuron_axes(spec, 2, (0, 1))
    single = principal_axes(spec, params, points, 1, 0)
    picture = hidden_picture(spec, params, single, points, FRAME)
    np.testing.assert_allclose(picture.coords[:, 0], layer_activations(spec, params, points, 1)[:, 0])
    np.testing.assert_allclose(picture.coords[:, 1], 0.0)
    assert single.labels() == ("L2 N1 activation", "(layer 2 has one neuron)")
    assert neuron_axes(spec, 0, (0, 2)).labels() == ("L1 N1 activation", "L1 N3 activation")


@pytest.mark.parametrize(("preset", "classes"), [("spirals", 2), ("spirals3", 3), ("blobs5", 5)])
def test_the_last_layers_principal_plane_holds_the_decision_directions(preset, classes):
    """On the last hidden layer of two or three classes the plane holds the output's decision directions at
    the fitted epoch: every sample's logits, evaluated at its point in the plane (the rest at the mean), give
    its predicted class; with more classes it is the plain principal plane."""
    from app.core.dataset import make_preset
    from app.core.hidden_space import principal_axes, project
    from app.core.network import predict_classes, split_params

    samples = make_preset(preset)
    spec = NetworkSpec((8, 8), "tanh", classes)
    params = np.random.default_rng(5).normal(size=spec.n_params)
    axes = principal_axes(spec, params, samples.points, 1, epoch=7)
    np.testing.assert_allclose(axes.basis @ axes.basis.T, np.eye(2), atol=1e-12)
    assert axes.decisive == (0 if classes > 3 else classes - 1) and axes.exact_at_fit() == (classes <= 3)
    h = layer_activations(spec, params, samples.points, 1)
    in_plane = axes.origin + project(axes, h) @ axes.basis
    w, b = split_params(spec, params)[-1]
    logits = in_plane @ w.T + b
    predicted = (logits[:, 0] > 0).astype(int) if classes == 2 else np.argmax(logits, axis=1)
    agree = np.mean(predicted == predict_classes(spec, params, samples.points))
    assert agree == 1.0 if classes <= 3 else agree < 1.0
    if classes == 2:
        assert axes.labels()[0].startswith("L2 direction the output decides by")
        assert (w[0] @ axes.basis[0]) > 0  # toward blue
