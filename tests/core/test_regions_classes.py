"""Activation regions of networks with more than two classes: per region the affine logit of every class,
and the exact boundary polylines where the top two classes tie, checked against the network itself; two
classes keep today's arrays."""

import numpy as np
import pytest

from app.core.geometry import Rect
from app.core.network import NetworkSpec, pre_activations
from app.core.region_polygons import class_lines, polygon_lines
from app.core.regions import affine_text, local_affine, network_regions
from app.core.torch_model import init_params

RECT = Rect(-3.0, 3.0, -2.0, 2.0)
CASES = [(widths, activation, classes) for widths in [(4,), (6, 6), (5, 5, 5)]
         for activation in ["relu", "leaky_relu"] for classes in [3, 4]]  # fmt: skip


def random_network(widths, activation, classes, seed):
    spec = NetworkSpec(widths, activation, classes)
    return spec, np.random.default_rng(seed).normal(size=spec.n_params)


def output(spec, params, points):
    return pre_activations(spec, params, points)[-1]


def face_polygon(regions, f):
    return regions.vertices[regions.face_vertices[regions.face_offsets[f] : regions.face_offsets[f + 1]]]


def sample_points(polygon):
    """The centroid of a convex polygon and points from it towards each vertex (half and 90% of the way)."""
    centre = polygon.mean(axis=0)
    return np.vstack([centre[None], centre + 0.5 * (polygon - centre), centre + 0.9 * (polygon - centre)])


def finite(curve):
    return curve[np.isfinite(curve[:, 0])]


def segments(curve):
    """The NaN-separated two-point pieces of a polyline: (s, 2, 2)."""
    pieces = np.split(curve, np.flatnonzero(np.isnan(curve[:, 0])))
    pieces = [p[np.isfinite(p[:, 0])] for p in pieces]
    return np.array([p for p in pieces if len(p)])


def distance_to_segments(points, segs):
    a, b = segs[:, 0], segs[:, 1]
    ab = b - a
    t = np.einsum("psk,sk->ps", points[:, None] - a[None], ab) / np.maximum((ab * ab).sum(1), 1e-300)
    nearest = a[None] + np.clip(t, 0, 1)[..., None] * ab[None]
    return np.linalg.norm(points[:, None] - nearest, axis=2).min(axis=1)


@pytest.mark.parametrize(("widths", "activation", "classes"), CASES)
def test_per_region_logits_are_the_networks_logits(widths, activation, classes):
    for seed in range(3):
        spec, params = random_network(widths, activation, classes, seed)
        regions = network_regions(spec, params, RECT)
        assert regions.exact and regions.complete
        assert regions.gradients.shape == (regions.count, classes, 2)
        assert regions.offsets.shape == (regions.count, classes)
        for f in range(regions.count):
            points = sample_points(face_polygon(regions, f))
            affine = points @ regions.gradients[f].T + regions.offsets[f]
            actual = output(spec, params, points)
            np.testing.assert_allclose(affine, actual, rtol=1e-9, atol=1e-9 * max(1.0, np.abs(actual).max()))
            # the hover's function at the region's centroid is the region's own
            _, gradient, offset = local_affine(spec, params, points[0])
            np.testing.assert_allclose(gradient, regions.gradients[f], rtol=1e-9, atol=1e-12)
            np.testing.assert_allclose(offset, regions.offsets[f], rtol=1e-9, atol=1e-9)


def class_changes(spec, params):
    """Midpoints of neighbouring points of a dense grid whose predicted classes differ, and the grid step."""
    xs, ys = np.linspace(RECT.xmin, RECT.xmax, 301), np.linspace(RECT.ymin, RECT.ymax, 201)
    gx, gy = np.meshgrid(xs, ys)
    winner = np.argmax(output(spec, params, np.column_stack([gx.ravel(), gy.ravel()])), axis=1)
    winner = winner.reshape(gx.shape)
    changes = []
    for axis in (0, 1):
        step = np.diff(winner, axis=axis) != 0
        n = gx.shape[axis]
        mid_x = (np.take(gx, range(1, n), axis) + np.take(gx, range(n - 1), axis)) / 2
        mid_y = (np.take(gy, range(1, n), axis) + np.take(gy, range(n - 1), axis)) / 2
        changes.append(np.column_stack([mid_x[step], mid_y[step]]))
    return np.vstack(changes), max(xs[1] - xs[0], ys[1] - ys[0])


@pytest.mark.parametrize(("widths", "activation", "classes"), CASES)
def test_exact_boundary_is_where_the_top_two_tie(widths, activation, classes):
    seen = 0
    for seed in range(5):
        spec, params = random_network(widths, activation, classes, seed)
        regions = network_regions(spec, params, RECT)
        segs = segments(regions.boundary)
        changes, pixel = class_changes(spec, params)
        if len(changes) == 0:
            continue
        seen += 1
        t = np.linspace(0.0, 1.0, 7)[None, :, None]
        along = (segs[:, :1] + t * (segs[:, 1:] - segs[:, :1])).reshape(-1, 2)
        assert all(RECT.contains(x, y, tolerance=1e-9) for x, y in along)
        z = np.sort(output(spec, params, along), axis=1)[:, ::-1]
        scale = 1.0 + np.abs(z).max(axis=1)
        assert np.all(z[:, 0] - z[:, 1] <= 1e-7 * scale)  # the two largest tie: they are the top two
        # every change of the predicted class between neighbours of the dense grid lies near a piece
        assert distance_to_segments(changes, segs).max() <= pixel
    assert seen >= 2


def test_class_lines_of_two_classes_are_the_two_class_boundary():
    # logits (0, z) tie exactly where the two-class logit z is 0: the general clip gives today's segments
    checked = 0
    for seed in range(20):
        spec, params = random_network((8, 8), "relu", 2, seed)
        regions = network_regions(spec, params, RECT)
        if len(regions.boundary) == 0:
            continue
        checked += 1
        vx, vy = regions.vertices[:, 0].copy(), regions.vertices[:, 1].copy()
        g = np.stack([np.zeros_like(regions.gradients), regions.gradients], axis=1)
        o = np.stack([np.zeros_like(regions.offsets), regions.offsets], axis=1)
        general = segments(class_lines(vx, vy, regions.face_offsets, g, o))
        two = segments(polygon_lines(vx, vy, regions.face_offsets, g[:, 1, 0].copy(), g[:, 1, 1].copy(),
                                     o[:, 1].copy()))  # fmt: skip
        assert len(general) == len(two) > 0

        def canonical(segs):
            ordered = np.sort(segs.view([("x", float), ("y", float)]), axis=1).view(float).reshape(-1, 4)
            return ordered[np.lexsort(np.round(ordered, 6).T[::-1])]

        np.testing.assert_allclose(canonical(general), canonical(two), atol=1e-12)
        np.testing.assert_allclose(canonical(two), canonical(segments(regions.boundary)), atol=1e-9)
    assert checked >= 3


@pytest.mark.parametrize("activation", ["relu", "leaky_relu", "tanh"])
def test_two_classes_keep_todays_shapes_and_text(activation):
    spec = NetworkSpec((4, 4), activation)
    params = init_params(spec, 1)
    regions = network_regions(spec, params, RECT)
    assert regions.gradients.shape == (regions.count, 2) and regions.offsets.shape == (regions.count,)
    _, gradient, offset = local_affine(spec, params, np.array([0.3, -0.2]))
    assert gradient.shape == (2,) and isinstance(offset, float)
    assert affine_text(np.array([1.5, -0.25]), 0.125) == "logit = 1.5·x -0.25·y +0.125"


def test_hover_text_says_each_class():
    text = affine_text(np.array([[1.5, -0.25], [-2.0, 0.0], [0.5, 3.0]]), np.array([0.125, -1.0, 0.0]))
    assert text.splitlines() == [
        "red: 1.5·x -0.25·y +0.125", "blue: -2·x +0·y -1", "class 3: 0.5·x +3·y +0",
    ]  # fmt: skip
    named = affine_text(np.zeros((3, 2)), np.zeros(3), ("cat", "dog", "emu"))
    assert [line.split(":")[0] for line in named.splitlines()] == ["cat", "dog", "emu"]


@pytest.mark.parametrize("activation", ["tanh", "sigmoid"])
def test_sign_pattern_regions_of_more_classes(activation):
    seed = next(s for s in range(20) if len(class_changes(*random_network((4, 4), activation, 3, s))[0]))
    spec, params = random_network((4, 4), activation, 3, seed)
    regions = network_regions(spec, params, RECT)
    assert not regions.exact
    assert regions.gradients.shape == (regions.count, 3, 2) and np.isnan(regions.gradients).all()
    assert regions.offsets.shape == (regions.count, 3) and np.isnan(regions.offsets).all()
    points = finite(regions.boundary)
    assert len(points) > 0
    z = np.sort(output(spec, params, points), axis=1)[:, ::-1]
    pixel = RECT.width / len(regions.xs)
    slope = np.abs(np.stack([local_affine(spec, params, p)[1] for p in points])).sum(axis=(1, 2)).max()
    assert np.all(z[:, 0] - z[:, 1] <= 2 * slope * pixel)  # on the tie, to within a grid step


def test_incomplete_partition_of_more_classes_has_no_functions():
    spec, params = random_network((16, 16, 16), "relu", 4, 0)
    regions = network_regions(spec, params, RECT, max_regions=50)
    assert not regions.complete
    assert regions.gradients.shape == (regions.count, 4, 2) and np.isnan(regions.gradients).all()
    assert regions.offsets.shape == (regions.count, 4) and len(regions.boundary) == 0
