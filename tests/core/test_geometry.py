"""Line clipping, level curves and the prediction field, checked against the geometry they describe."""

import numpy as np
import pytest

from app.core.fields import prediction_field
from app.core.geometry import Rect, clip_line, grid_centres, level_curves
from app.core.network import NetworkSpec, predict_proba
from app.core.torch_model import init_params


def random_rect(rng: np.random.Generator, centre: float = 0.0, size: float = 10.0) -> Rect:
    x0, y0 = rng.uniform(centre - size, centre + size, size=2)
    width, height = rng.uniform(0.01 * size, size, size=2)
    return Rect(x0, x0 + width, y0, y0 + height)


def check_segment(segment: np.ndarray, w: np.ndarray, b: float, rect: Rect) -> None:
    """Both ends lie on the line, on the rectangle's boundary, and inside it."""
    assert segment.shape == (2, 2)
    extent = max(abs(rect.xmin), abs(rect.xmax), abs(rect.ymin), abs(rect.ymax), rect.width, rect.height)
    line_tol = 1e-9 * (np.linalg.norm(w) * extent + abs(b))
    edge_tol = 1e-9 * extent
    for x, y in segment:
        assert abs(w[0] * x + w[1] * y + b) < line_tol
        assert rect.contains(x, y, tolerance=edge_tol)
        distance_to_edge = min(abs(x - rect.xmin), abs(x - rect.xmax), abs(y - rect.ymin), abs(y - rect.ymax))
        assert distance_to_edge < edge_tol


def line_through(point: np.ndarray, w: np.ndarray) -> float:
    """The bias b that puts `point` on the line w.x + b = 0."""
    return float(-w @ point)


@pytest.mark.parametrize(("centre", "size"), [(0.0, 10.0), (1e6, 1e6), (0.0, 1e-3)])
def test_clip_line_random_lines_through_random_rectangles(centre, size):
    rng = np.random.default_rng(0)
    n_segments = 0
    for _ in range(500):
        rect = random_rect(rng, centre, size)
        w = rng.normal(size=2) * 10.0 ** rng.uniform(-3, 3)
        # a point around the rectangle, so that some lines cross it and some miss it
        point = np.array([rng.uniform(rect.xmin, rect.xmax), rng.uniform(rect.ymin, rect.ymax)])
        point += rng.normal(size=2) * 0.3 * max(rect.width, rect.height)
        b = line_through(point, w)
        segment = clip_line(w, b, rect)
        if segment is not None:
            n_segments += 1
            check_segment(segment, w, b, rect)
            assert np.linalg.norm(segment[1] - segment[0]) > 0
    assert 200 < n_segments < 500  # both outcomes were exercised


def test_clip_line_through_the_centre_always_hits():
    rng = np.random.default_rng(1)
    for _ in range(200):
        rect = random_rect(rng)
        w = rng.normal(size=2)
        centre = np.array([(rect.xmin + rect.xmax) / 2, (rect.ymin + rect.ymax) / 2])
        b = line_through(centre, w)
        segment = clip_line(w, b, rect)
        assert segment is not None
        check_segment(segment, w, b, rect)
        np.testing.assert_allclose(segment.mean(axis=0), centre, atol=1e-9)  # symmetric about the centre


def test_clip_line_that_misses_returns_none():
    rng = np.random.default_rng(2)
    for _ in range(200):
        rect = random_rect(rng)
        w = rng.normal(size=2)
        centre = np.array([(rect.xmin + rect.xmax) / 2, (rect.ymin + rect.ymax) / 2])
        half_diagonal = np.hypot(rect.width, rect.height) / 2
        # the line's distance from the centre exceeds the half-diagonal, so it passes the rectangle by
        point = centre + rng.choice([-1, 1]) * 1.01 * half_diagonal * w / np.linalg.norm(w)
        assert clip_line(w, line_through(point, w), rect) is None


def test_axis_parallel_lines():
    rect = Rect(-2.0, 3.0, -1.0, 4.0)
    vertical = clip_line(np.array([1.0, 0.0]), -0.5, rect)  # x = 0.5
    np.testing.assert_allclose(sorted(map(tuple, vertical)), [(0.5, -1.0), (0.5, 4.0)])
    horizontal = clip_line(np.array([0.0, 2.0]), -2.0, rect)  # y = 1
    np.testing.assert_allclose(sorted(map(tuple, horizontal)), [(-2.0, 1.0), (3.0, 1.0)])
    assert clip_line(np.array([1.0, 0.0]), -3.5, rect) is None  # x = 3.5, right of the rectangle
    assert clip_line(np.array([0.0, 1.0]), 1.5, rect) is None  # y = -1.5, below it


def test_clip_line_with_no_direction_returns_none():
    rect = Rect(-1.0, 1.0, -1.0, 1.0)
    assert clip_line(np.array([0.0, 0.0]), 0.0, rect) is None
    assert clip_line(np.array([0.0, 0.0]), 1.0, rect) is None
    assert clip_line(np.array([np.inf, 1.0]), 0.0, rect) is None


def test_clip_line_with_huge_coordinates():
    rect = Rect(0.5e6, 1.5e6, 0.5e6, 1.5e6)
    w = np.array([1.0, 1.0])
    b = line_through(np.array([1e6, 1e6]), w)  # the anti-diagonal through the centre
    segment = clip_line(w, b, rect)
    check_segment(segment, w, b, rect)
    np.testing.assert_allclose(sorted(map(tuple, segment)), [(0.5e6, 1.5e6), (1.5e6, 0.5e6)])


@pytest.mark.parametrize(
    "bounds", [(0, 0, 0, 1), (0, 1, 2, 2), (1, 0, 0, 1), (0, 1, 1, 0), (np.nan, 1, 0, 1)]
)
def test_rect_rejects_an_empty_rectangle(bounds):
    with pytest.raises(ValueError):
        Rect(*bounds)


def test_rect_around_grows_an_extent_by_a_margin_of_its_longer_side():
    # 4 wide, 2 high: 10% of the width (0.4) on every side, the height's side too
    assert Rect.around((1.0, 5.0, -1.0, 1.0)) == Rect(0.6, 5.4, -1.4, 1.4)
    assert Rect.around((0.0, 1.0, 0.0, 3.0), margin=0.5) == Rect(-1.5, 2.5, -1.5, 4.5)
    assert Rect.around((-2.0, 2.0, -2.0, 2.0), margin=0.0) == Rect(-2.0, 2.0, -2.0, 2.0)
    # the frame export_data and the window use: the data's extent with a 10% margin
    points = np.array([[0.3, -7.0], [2.9, 1.5], [1.0, 0.0]])
    xmin, xmax, ymin, ymax = points[:, 0].min(), points[:, 0].max(), points[:, 1].min(), points[:, 1].max()
    margin = 0.1 * max(xmax - xmin, ymax - ymin)
    assert Rect.around((xmin, xmax, ymin, ymax)) == Rect(
        xmin - margin, xmax + margin, ymin - margin, ymax + margin
    )


def test_grid_centres_are_pixel_centres():
    xs, ys = grid_centres(Rect(-1.0, 3.0, 10.0, 11.0), 8, 4)
    np.testing.assert_allclose(xs, -1.0 + 0.5 * (np.arange(8) + 0.5))
    np.testing.assert_allclose(ys, 10.0 + 0.25 * (np.arange(4) + 0.5))


# --- level curves ----------------------------------------------------------------------------------------


def test_level_curve_of_the_unit_circle():
    xs = ys = np.linspace(-2.0, 2.0, 81)
    gx, gy = np.meshgrid(xs, ys)
    curve = level_curves(xs, ys, gx**2 + gy**2 - 1.0, 0.0)
    assert curve.ndim == 2 and curve.shape[1] == 2 and len(curve) > 50
    assert not np.isnan(curve).any()  # one closed piece
    radius = np.hypot(curve[:, 0], curve[:, 1])
    spacing = xs[1] - xs[0]
    assert np.abs(radius - 1.0).max() < spacing
    angles = np.sort(np.arctan2(curve[:, 1], curve[:, 0]))
    assert np.diff(angles).max() < 2 * spacing  # goes all the way round


def test_level_curves_separate_pieces_with_nan_rows():
    xs = np.linspace(-3.0, 3.0, 121)
    ys = np.linspace(-2.0, 2.0, 81)
    gx, gy = np.meshgrid(xs, ys)
    values = np.minimum(np.hypot(gx + 1.5, gy), np.hypot(gx - 1.5, gy)) - 0.5  # two circles of radius 0.5
    curve = level_curves(xs, ys, values, 0.0)
    gaps = np.flatnonzero(np.isnan(curve[:, 0]))
    assert len(gaps) == 1 and np.isnan(curve[gaps[0]]).all()
    for piece in (curve[: gaps[0]], curve[gaps[0] + 1 :]):
        centre_x = -1.5 if piece[0, 0] < 0 else 1.5
        radius = np.hypot(piece[:, 0] - centre_x, piece[:, 1])
        assert np.abs(radius - 0.5).max() < xs[1] - xs[0]


def test_level_curves_of_a_field_without_that_level_are_empty():
    xs = ys = np.linspace(0.0, 1.0, 11)
    assert level_curves(xs, ys, np.ones((11, 11)), 0.5).shape == (0, 2)


def test_level_curves_draw_nothing_visible_at_nan_pixels():
    xs = ys = np.linspace(0.0, 1.0, 11)
    for fill in (0.0, 1.0):
        values = np.full((11, 11), fill)
        values[3, 4] = np.nan
        curve = level_curves(xs, ys, values, 0.5)
        # at most a zero-length piece where the NaN pixel was read as the level itself
        assert np.all(np.isfinite(curve))
        assert np.all(curve == curve[:1]) and (len(curve) == 0 or tuple(curve[0]) == (xs[4], ys[3]))


# --- prediction field ------------------------------------------------------------------------------------


@pytest.mark.parametrize("rect", [Rect(-3.0, 3.0, -2.0, 2.0), Rect(0.5e6, 1.5e6, -2e6, 1e6)])
def test_prediction_field_samples_the_network_at_pixel_centres(rect):
    spec = NetworkSpec((4, 4), "tanh")
    params = init_params(spec, 3) * 3
    nx, ny = 37, 23
    field = prediction_field(spec, params, rect, nx, ny)
    assert field.values.shape == (ny, nx) and field.rect == rect
    np.testing.assert_allclose(field.xs, rect.xmin + (np.arange(nx) + 0.5) * rect.width / nx)
    np.testing.assert_allclose(field.ys, rect.ymin + (np.arange(ny) + 0.5) * rect.height / ny)
    rng = np.random.default_rng(4)
    ix, iy = rng.integers(0, nx, size=50), rng.integers(0, ny, size=50)
    expected = predict_proba(spec, params, np.column_stack([field.xs[ix], field.ys[iy]]))
    np.testing.assert_allclose(field.values[iy, ix], expected, rtol=1e-6, atol=1e-7)  # values are float32
    assert np.all((field.values >= 0) & (field.values <= 1))


def test_decision_curve_of_a_linear_network_is_its_line():
    # relu net with one neuron that passes x - y through: the prediction is 0.5 on the line y = x (x > 0)
    spec = NetworkSpec((1,), "leaky_relu")
    params = np.array([1.0, -1.0, 0.0, 1.0, 0.0])
    field = prediction_field(spec, params, Rect(-1.0, 1.0, -1.0, 1.0), 64, 64)
    curve = field.decision_curve()
    points = curve[~np.isnan(curve[:, 0])]
    assert len(points) > 10
    np.testing.assert_allclose(points[:, 0], points[:, 1], atol=1e-6)
