"""The k-class prediction field: predicted class and its probability on a grid, and the decision boundary
where the top two classes tie; for two classes exactly today's 0.5 contour."""

import numpy as np
import pytest

from app.core.fields import class_field, class_ties, prediction_field
from app.core.geometry import Rect
from app.core.network import NetworkSpec, class_probabilities, pre_activations, predict_classes
from app.core.regions import local_affine

RECT = Rect(-3.0, 3.0, -2.0, 2.0)


def random_network(widths, activation, classes, seed):
    spec = NetworkSpec(widths, activation, classes)
    return spec, np.random.default_rng(seed).normal(size=spec.n_params)


def grid_points(field):
    gx, gy = np.meshgrid(field.xs, field.ys)
    return np.column_stack([gx.ravel(), gy.ravel()])


@pytest.mark.parametrize("classes", [2, 3, 4, 6])
@pytest.mark.parametrize("activation", ["tanh", "relu", "leaky_relu", "sigmoid"])
def test_class_field_is_the_networks_prediction(activation, classes):
    spec, params = random_network((5, 5), activation, classes, 7)
    field = class_field(spec, params, RECT, 61, 43)
    assert field.classes.shape == field.probability.shape == (43, 61)
    assert field.probability.dtype == np.float32 and field.classes.dtype == np.int64
    points = grid_points(field)
    assert np.array_equal(field.classes.ravel(), predict_classes(spec, params, points))
    expected = class_probabilities(spec, params, points).max(axis=1)
    np.testing.assert_allclose(field.probability.ravel(), expected, rtol=1e-6, atol=1e-7)  # float32
    assert np.all(field.probability >= 1.0 / classes - 1e-6)


@pytest.mark.parametrize("activation", ["tanh", "relu", "leaky_relu", "sigmoid"])
def test_two_classes_give_todays_contour_bit_for_bit(activation):
    for seed in range(4):
        spec, params = random_network((4, 4), activation, 2, seed)
        today = prediction_field(spec, params, RECT, 97, 61)
        field = class_field(spec, params, RECT, 97, 61)
        assert np.array_equal(field.decision_curve(), today.decision_curve(), equal_nan=True)
        blue = np.where(field.classes == 1, field.probability, 1.0 - field.probability)
        np.testing.assert_allclose(blue, today.values, atol=1e-7)


@pytest.mark.parametrize("classes", [3, 4])
@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_boundary_points_tie(activation, classes):
    checked = 0
    for seed in range(10):
        spec, params = random_network((6, 6), activation, classes, seed)
        field = class_field(spec, params, RECT, 240, 160)
        if len(np.unique(field.classes)) < 2:
            continue
        checked += 1
        curve = field.decision_curve()
        points = curve[np.isfinite(curve[:, 0])]
        assert len(points) > 0
        z = np.sort(pre_activations(spec, params, points)[-1], axis=1)[:, ::-1]
        slopes = np.array([np.abs(local_affine(spec, params, p)[1]).sum() for p in points])
        pixel = RECT.width / 240
        assert np.all(z[:, 0] - z[:, 1] <= 2 * slopes * pixel)  # on the tie, to within a grid step
        # and the curve follows every change of the predicted class along the grid's rows
        change = np.diff(field.classes, axis=1) != 0
        iy, ix = np.nonzero(change)
        mids = np.column_stack([(field.xs[ix] + field.xs[ix + 1]) / 2, field.ys[iy]])
        far = np.min(np.linalg.norm(mids[:, None] - points[None], axis=2), axis=1)
        assert np.all(far <= 2 * pixel)
    assert checked >= 2


def test_class_ties_of_straight_lines():
    # z = (x, y, 0): x and y tie on y = x for x > 0; x and 0 on x = 0 for y < 0; y and 0 on y = 0, x < 0
    xs, ys = np.linspace(-1, 1, 40), np.linspace(-1.013, 0.987, 40)
    gx, gy = np.meshgrid(xs, ys)
    curve = class_ties(xs, ys, np.stack([gx, gy, np.zeros_like(gx)], axis=-1))
    points = curve[np.isfinite(curve[:, 0])]
    step = xs[1] - xs[0]  # near the point where all three meet, a piece may run on for up to a square
    on_diagonal = np.isclose(points[:, 0], points[:, 1], atol=1e-12) & (points[:, 0] >= -step)
    on_x_axis = np.isclose(points[:, 1], 0.0, atol=1e-12) & (points[:, 0] <= step)
    on_y_axis = np.isclose(points[:, 0], 0.0, atol=1e-12) & (points[:, 1] <= step)
    assert np.all(on_diagonal | on_x_axis | on_y_axis)
    assert on_diagonal.sum() > 10 and on_x_axis.sum() > 10 and on_y_axis.sum() > 10
    for ends in (points.min(axis=0), points.max(axis=0)):  # they reach the frame
        assert np.all(np.abs(ends) >= 0.97)


@pytest.mark.parametrize("activation", ["tanh", "relu", "sigmoid", "leaky_relu"])
@pytest.mark.parametrize("classes", [2, 5])
def test_drawing_a_wide_network_in_float32_stays_within_float32_rounding(activation, classes):
    """#24: the canvas draws wide networks' backgrounds by float32 matrix products; the small network, and
    every field not for drawing (regions, influence), stays float64."""
    from app.core import engine

    engine.warm_up()
    spec, params = random_network((32, 32, 32, 32), activation, classes, seed=3)
    params *= 0.3
    exact = class_field(spec, params, RECT, 61, 43)
    drawn = class_field(spec, params, RECT, 61, 43, drawing=True)
    scale = np.abs(exact.logits).max()
    assert 0 < np.abs(drawn.logits - exact.logits).max() <= 2e-6 * max(scale, 1.0)
    assert np.mean(drawn.classes == exact.classes) > 0.999
    small, small_params = random_network((4, 4), activation, classes, seed=3)
    np.testing.assert_array_equal(
        class_field(small, small_params, RECT, 61, 43, drawing=True).logits,
        class_field(small, small_params, RECT, 61, 43).logits,
    )
    if classes == 2:
        wide_blue = prediction_field(spec, params, RECT, 61, 43, drawing=True).values
        np.testing.assert_allclose(wide_blue, prediction_field(spec, params, RECT, 61, 43).values, atol=1e-6)
