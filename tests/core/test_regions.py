"""Activation-pattern regions: exact polygons for ReLU/leaky ReLU, checked against the network itself (and
against the regioncam package); sampled sign-pattern regions for tanh/sigmoid."""

import numpy as np
import pytest

from app.core.geometry import Rect
from app.core.network import NetworkSpec, logits, pre_activations
from app.core.regions import local_affine, network_regions, pattern_text
from app.core.torch_model import init_params

SHAPES = [(3,), (4, 4), (8, 8, 8), (16, 16)]
RECT = Rect(-3.0, 3.0, -2.0, 2.0)


def signs_at(spec, params, points):
    return np.hstack([z > 0 for z in pre_activations(spec, params, points)[:-1]])


def face_polygon(regions, k):
    """Region k's outline: its vertices in order."""
    return regions.vertices[regions.face_vertices[regions.face_offsets[k] : regions.face_offsets[k + 1]]]


def interior_points(polygon, rng, count=5):
    """Random convex combinations of a convex polygon's vertices, pulled towards its centroid."""
    weights = rng.dirichlet(np.ones(len(polygon)), size=count)
    centre = polygon.mean(axis=0)
    return centre + 0.9 * (weights @ polygon - centre)


def polygon_area(polygon):
    x, y = polygon[:, 0], polygon[:, 1]
    return 0.5 * (x @ np.roll(y, -1) - y @ np.roll(x, -1))


@pytest.mark.parametrize("activation", ["relu", "leaky_relu"])
@pytest.mark.parametrize("widths", SHAPES)
def test_exact_regions_are_the_linear_pieces(widths, activation):
    rng = np.random.default_rng(1)
    for seed in range(3):
        spec = NetworkSpec(widths, activation)
        params = init_params(spec, seed)
        regions = network_regions(spec, params, RECT)
        assert regions.exact and regions.complete
        areas = np.array([polygon_area(face_polygon(regions, k)) for k in range(regions.count)])
        assert np.all(areas > 0)  # counter-clockwise, non-degenerate
        assert areas.sum() == pytest.approx(RECT.width * RECT.height, rel=1e-9)  # they tile the rectangle
        for k in range(regions.count):
            points = interior_points(face_polygon(regions, k), rng)
            assert (signs_at(spec, params, points) == regions.patterns[k]).all()
            affine = points @ regions.gradients[k] + regions.offsets[k]
            actual = logits(spec, params, points)
            assert np.allclose(affine, actual, rtol=1e-6, atol=1e-9 * np.abs(actual).max())


@pytest.mark.parametrize("widths", SHAPES)
def test_region_count_covers_every_pattern_seen_on_a_dense_grid(widths):
    spec = NetworkSpec(widths, "relu")
    params = init_params(spec, 4)
    regions = network_regions(spec, params, RECT)
    xs, ys = np.meshgrid(np.linspace(RECT.xmin, RECT.xmax, 300), np.linspace(RECT.ymin, RECT.ymax, 200))
    grid = np.unique(signs_at(spec, params, np.column_stack([xs.ravel(), ys.ravel()])), axis=0)
    known = {row.tobytes() for row in regions.patterns}
    assert regions.count >= len(grid)
    assert all(row.tobytes() in known for row in grid)
    assert len(known) == regions.count  # ReLU pattern sets are convex: one region per pattern


def test_decision_boundary_points_have_logit_zero():
    for seed in range(4):
        spec = NetworkSpec((8, 8), "relu")
        params = init_params(spec, seed)
        regions = network_regions(spec, params, RECT)
        points = regions.boundary[np.isfinite(regions.boundary[:, 0])]
        if len(points) == 0:
            continue
        scale = np.abs(logits(spec, params, np.array([[RECT.xmin, RECT.ymin], [RECT.xmax, RECT.ymax]]))).max()
        assert np.abs(logits(spec, params, points)).max() < 1e-9 * max(scale, 1.0)
        assert all(RECT.contains(x, y, tolerance=1e-9) for x, y in points)


@pytest.mark.parametrize("rect", [Rect(-1e6, 1e6, -1e6, 1e6), Rect(0.1, 0.1 + 1e-4, -0.2, -0.2 + 1e-4),
                                  Rect(1e5, 1e5 + 1.0, 1e5, 1e5 + 1.0)])  # fmt: skip
def test_far_and_near_views_keep_full_precision(rect):
    spec = NetworkSpec((8, 8), "relu")
    params = init_params(spec, 2)
    regions = network_regions(spec, params, rect)
    rng = np.random.default_rng(0)
    for k in range(regions.count):
        points = interior_points(face_polygon(regions, k), rng, 3)
        assert (signs_at(spec, params, points) == regions.patterns[k]).all()
        actual = logits(spec, params, points)
        assert np.allclose(points @ regions.gradients[k] + regions.offsets[k], actual, rtol=1e-6, atol=1e-9)
    assert sum(polygon_area(face_polygon(regions, k)) for k in range(regions.count)) == pytest.approx(
        rect.width * rect.height, rel=1e-6
    )


def test_same_partition_as_regioncam():
    regioncam = pytest.importorskip("regioncam")
    from app.core.network import split_params

    for widths, seed in [((4, 4), 0), ((8, 8, 8), 1), ((32, 32), 2)]:
        spec = NetworkSpec(widths, "relu")
        params = init_params(spec, seed)
        theirs = regioncam.Regioncam(size=1.5)
        for w, b in split_params(spec, params)[:-1]:
            theirs.linear(w.T.astype(np.float32), b.astype(np.float32))
            theirs.relu()
        assert network_regions(spec, params, Rect(-1.5, 1.5, -1.5, 1.5)).count == theirs.num_faces


def test_local_affine_names_the_pattern_and_the_function():
    spec = NetworkSpec((4, 4), "relu")
    params = init_params(spec, 0)
    point = np.array([0.3, -0.7])
    pattern, gradient, offset = local_affine(spec, params, point)
    assert (pattern == signs_at(spec, params, point[None])[0]).all()
    step = 1e-6
    for axis in range(2):  # the gradient is the logit's slope (finite differences, inside the region)
        moved = point.copy()
        moved[axis] += step
        slope = (logits(spec, params, moved[None])[0] - logits(spec, params, point[None])[0]) / step
        assert slope == pytest.approx(gradient[axis], rel=1e-5, abs=1e-8)
    assert gradient @ point + offset == pytest.approx(logits(spec, params, point[None])[0], rel=1e-12)
    assert pattern_text(np.array([1, 0, 1, 1, 0, 1, 1, 0], bool), (4, 4)) == "L1 1011 · L2 0110"


def test_flat_faces_lists_each_face_as_count_then_indices():
    spec = NetworkSpec((4, 4), "relu")
    regions = network_regions(spec, init_params(spec, 0), RECT)
    flat, k, faces = regions.flat_faces(), 0, []
    while k < len(flat):
        faces.append(flat[k + 1 : k + 1 + flat[k]])
        k += 1 + flat[k]
    assert len(faces) == regions.count
    for face, expected in zip(faces, range(regions.count), strict=True):
        assert np.array_equal(regions.vertices[face], face_polygon(regions, expected))


def test_too_many_regions_stop_with_a_flag():
    spec = NetworkSpec((32, 32, 32), "relu")
    regions = network_regions(spec, init_params(spec, 0), RECT, max_regions=100)
    assert not regions.complete and regions.count > 100
    assert np.isnan(regions.gradients).all() and len(regions.boundary) == 0


@pytest.mark.parametrize("activation", ["tanh", "sigmoid"])
def test_sign_pattern_regions_of_smooth_networks(activation):
    spec = NetworkSpec((4, 4), activation)
    params = init_params(spec, 3)
    regions = network_regions(spec, params, RECT)
    assert not regions.exact and regions.kind() == "sign-pattern regions"
    gx, gy = np.meshgrid(regions.xs, regions.ys)
    signs = signs_at(spec, params, np.column_stack([gx.ravel(), gy.ravel()]))
    # every grid point's pattern is its region's pattern, and every pattern seen is some region's
    assert (signs == regions.patterns[regions.labels.ravel()]).all()
    assert regions.count >= len(np.unique(signs, axis=0))
    rng = np.random.default_rng(0)
    for k in rng.choice(regions.count, size=min(10, regions.count), replace=False):
        iy, ix = np.argwhere(regions.labels == k)[rng.integers(np.sum(regions.labels == k))]
        point = np.array([[regions.xs[ix], regions.ys[iy]]])
        assert (signs_at(spec, params, point)[0] == regions.patterns[k]).all()
    boundary = regions.boundary[np.isfinite(regions.boundary[:, 0])]
    pixel = RECT.width / len(regions.xs)
    for point in boundary[:: max(1, len(boundary) // 50)]:  # on the curve, to within a pixel's step
        slope = np.linalg.norm(local_affine(spec, params, point)[1])
        assert abs(logits(spec, params, point[None])[0]) <= slope * pixel
