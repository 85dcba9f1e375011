"""The network's activation-pattern regions over a rectangle: network_regions(spec, params, rect) -> Regions.

A region is a connected part of the plane where every hidden neuron keeps the sign of its pre-activation.
With ReLU or leaky ReLU the network is linear on each region, so the regions are exact convex polygons,
found by splitting the rectangle layer by layer along each neuron's line (its pre-activation is affine on a
region of the layers before it). With tanh or sigmoid the boundaries are curves: the regions are the
connected sign-pattern cells of a fine grid ("sign-pattern regions", not linear pieces).

The splitting works in coordinates normalised to the rectangle ([-1, 1] on both axes), so that a view far
out or far in keeps full float64 precision. The package `regioncam` computes the same partitions for
piecewise linear networks (in float32, over a square); the benchmark compares the two.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from app.core.fields import class_ties, layer_field
from app.core.geometry import Rect, grid_centres, level_curves
from app.core.network import LEAKY_SLOPE, NetworkSpec, split_params
from app.core.region_polygons import class_lines, jit, polygon_lines, split_layer
from app.core.samples import default_class_names

PIECEWISE_LINEAR = ("relu", "leaky_relu")
MAX_REGIONS = 50_000  # beyond this the partition stops and says so: zoom in
SAMPLED_PIXELS = 200  # grid of the sign-pattern regions of smooth activations, per side
SNAP = 1e-12  # a vertex this close to a line (relative to the line's scale) lies on it


@dataclass(frozen=True)
class Regions:
    """The partition of `rect`. Exact (piecewise linear network): face k is the convex polygon
    vertices[face_vertices[face_offsets[k]:face_offsets[k + 1]]], counter-clockwise, and the output logit on
    it is gradients[k] . (x, y) + offsets[k] (two classes; with k > 2 classes, class c's logit is
    gradients[k, c] . (x, y) + offsets[k, c]). Sampled (tanh, sigmoid): labels[iy, ix] is the region of grid
    point (xs[ix], ys[iy]); there are no polygons, and gradients/offsets are NaN.
    patterns[k] holds the signs (True: positive) of every hidden neuron, layer after layer."""

    rect: Rect
    widths: tuple[int, ...]
    exact: bool
    complete: bool  # False when the partition stopped at MAX_REGIONS regions
    patterns: np.ndarray  # (F, sum(widths)) bool
    vertices: np.ndarray  # (V, 2)
    face_offsets: np.ndarray  # (F + 1,)
    face_vertices: np.ndarray  # (face_offsets[-1],)
    gradients: np.ndarray  # (F, 2) for two classes, (F, k, 2) for k > 2
    offsets: np.ndarray  # (F,) for two classes, (F, k) for k > 2
    boundary: np.ndarray  # the decision boundary (top two classes tie), NaN-separated (m, 2) points
    edges: np.ndarray  # every region's outline (exact) or every neuron's zero curve (sampled), NaN-separated
    labels: np.ndarray | None = None
    xs: np.ndarray | None = None
    ys: np.ndarray | None = None

    @property
    def count(self) -> int:
        return len(self.patterns)

    def flat_faces(self) -> np.ndarray:
        """Faces as one int64 array: for each face its vertex count, then its vertex indices."""
        counts = np.diff(self.face_offsets)
        flat = np.empty(len(counts) + len(self.face_vertices), dtype=np.int64)
        starts = self.face_offsets[:-1] + np.arange(len(counts))
        flat[starts] = counts
        mask = np.ones(len(flat), bool)
        mask[starts] = False
        flat[mask] = self.face_vertices
        return flat

    def kind(self) -> str:
        return "linear regions" if self.exact else "sign-pattern regions"


def pattern_text(pattern: np.ndarray, widths: tuple[int, ...]) -> str:
    """'L1 1011 · L2 0110': each layer's neurons, 1 where the pre-activation is positive."""
    parts, start = [], 0
    for k, width in enumerate(widths):
        bits = "".join("1" if on else "0" for on in pattern[start : start + width])
        parts.append(f"L{k + 1} {bits}")
        start += width
    return " · ".join(parts)


def local_affine(
    spec: NetworkSpec, params: np.ndarray, point: np.ndarray
) -> tuple[np.ndarray, np.ndarray, float | np.ndarray]:
    """At one point: the activation pattern (sum(widths),) bool, and the output logit's affine function
    there, (gradient (2,), offset) with logit(x) = gradient . x + offset on the point's region; with k > 2
    classes one per class, (gradients (k, 2), offsets (k,)). For smooth activations it is the tangent plane
    at the point (exact only at the point)."""
    layers = split_params(spec, params)
    x = np.asarray(point, dtype=np.float64)
    jacobian, value = np.eye(2), x.copy()  # of the current layer's input with respect to the point
    pattern = []
    for k, (w, b) in enumerate(layers):
        z = w @ value + b
        dz = w @ jacobian
        if k == len(layers) - 1:
            if spec.classes > 2:
                return np.array(pattern, dtype=bool), dz, z - dz @ x
            gradient = dz[0]
            return np.array(pattern, dtype=bool), gradient, float(z[0] - gradient @ x)
        pattern.extend(z > 0)
        if spec.activation == "relu":
            slope = (z > 0).astype(np.float64)
            value = np.maximum(z, 0)
        elif spec.activation == "leaky_relu":
            slope = np.where(z > 0, 1.0, LEAKY_SLOPE)
            value = z * slope
        elif spec.activation == "tanh":
            value = np.tanh(z)
            slope = 1 - value**2
        else:
            value = 1 / (1 + np.exp(-z))
            slope = value * (1 - value)
        jacobian = slope[:, None] * dz
    raise AssertionError("unreachable: the last layer returns")


def _hash_patterns(signs: np.ndarray) -> np.ndarray:
    """One 64-bit code per pattern row: a fixed random odd weight per neuron, summed where it is on
    (wrapping). Equal patterns get equal codes; different ones collide with negligible probability."""
    weights = np.random.default_rng(0).integers(1, 2**62, size=signs.shape[-1], dtype=np.uint64) * 2 + 1
    return (signs.astype(np.uint64) * weights).sum(axis=-1, dtype=np.uint64)


def pattern_codes(spec: NetworkSpec, params: np.ndarray, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """A 64-bit code of the whole activation pattern at each grid point (xs[ix], ys[iy]): (ny, nx) uint64,
    equal where the patterns are equal (for colouring regions)."""
    signs = [layer_field(spec, params, xs, ys, k) > 0 for k in range(len(spec.widths))]
    return _hash_patterns(np.concatenate(signs, axis=-1))


def affine_text(gradient: np.ndarray, offset: float | np.ndarray, names: tuple[str, ...] = ()) -> str:
    """'logit = 1.2·x -0.5·y +0.3'; with k > 2 classes (gradient (k, 2)) a line per class, named by `names`
    ('cat: ...'), else by their default names ('red: ...', 'blue: ...', 'class 3: ...')."""
    if np.ndim(gradient) == 1:
        return f"logit = {gradient[0]:+.3g}·x {gradient[1]:+.3g}·y {offset:+.3g}".replace("= +", "= ")
    names = names if len(names) == len(gradient) else default_class_names(len(gradient))
    return "\n".join(
        f"{name}: {g[0]:+.3g}·x {g[1]:+.3g}·y {o:+.3g}".replace(": +", ": ")
        for name, g, o in zip(names, gradient, offset, strict=True)
    )


def network_regions(
    spec: NetworkSpec,
    params: np.ndarray,
    rect: Rect,
    max_regions: int = MAX_REGIONS,
    pixels: int = SAMPLED_PIXELS,
) -> Regions:
    """The regions over rect: exact polygons for piecewise linear networks (stopping, flagged incomplete,
    beyond max_regions), sign-pattern cells of a grid `pixels` wide for smooth ones."""
    if spec.activation in PIECEWISE_LINEAR:
        return _exact_regions(spec, params, rect, max_regions)
    return _sampled_regions(spec, params, rect, pixels)


class RegionCountSeries:
    """How many regions the network has in `rect` at recorded epochs of `history`, computed a little at a
    time for the region-count plot: at most COUNT_POINTS epochs spread evenly over the history."""

    COUNT_POINTS = 200
    COUNT_PIXELS = 120  # grid of the sign-pattern regions when counting (smooth activations)

    def __init__(self, spec: NetworkSpec, rect: Rect, history) -> None:
        self.spec, self.rect, self.history = spec, rect, history
        self.counts: dict[int, int] = {}

    def fits(self, spec: NetworkSpec, rect: Rect, history) -> bool:
        return spec == self.spec and rect == self.rect and history is self.history

    def update(self, seconds: float) -> bool:
        """Counts more epochs for about `seconds` (at least one if any is missing); True if any was added."""
        latest = self.history.latest_epoch
        spread = np.unique(np.linspace(0, latest, min(latest + 1, self.COUNT_POINTS)).round().astype(int))
        missing = [e for e in dict.fromkeys(self.history.recorded_epoch(int(e)) for e in spread)
                   if e not in self.counts]  # fmt: skip
        if latest not in self.counts:
            missing.insert(0, latest)
        deadline = time.perf_counter() + seconds
        for epoch in missing:
            params = self.history.params_at(epoch)
            self.counts[epoch] = network_regions(self.spec, params, self.rect, pixels=self.COUNT_PIXELS).count
            if time.perf_counter() > deadline:
                break
        return bool(missing)

    def series(self) -> tuple[np.ndarray, np.ndarray]:
        epochs = np.array(sorted(self.counts), dtype=np.int64)
        return epochs, np.array([self.counts[e] for e in epochs], dtype=np.int64)


# --- piecewise linear: exact polygons -----------------------------------------------------------------------
def _exact_regions(spec: NetworkSpec, params: np.ndarray, rect: Rect, max_regions: int) -> Regions:
    layers = split_params(spec, params)
    centre = np.array([(rect.xmin + rect.xmax) / 2, (rect.ymin + rect.ymax) / 2])
    half = np.array([rect.width / 2, rect.height / 2])
    # Each region's layer input is map_m @ u + map_c for normalised coordinates u in [-1, 1]^2.
    vx, vy = np.array([-1.0, 1.0, 1.0, -1.0]), np.array([-1.0, -1.0, 1.0, 1.0])
    offs = np.array([0, 4], dtype=np.int64)
    map_m, map_c = np.diag(half)[None], centre[None]
    patterns = np.zeros((1, 0), dtype=bool)
    leak = LEAKY_SLOPE if spec.activation == "leaky_relu" else 0.0
    complete = True
    for w, b in layers[:-1]:
        g_m = _apply(w, map_m)
        g_c = map_c @ w.T + b
        vx, vy, offs, parent, bits = split_layer(vx, vy, offs, g_m, g_c, SNAP)
        on = ((bits[:, None] >> np.arange(len(b), dtype=np.uint64)) & np.uint64(1)).astype(bool)
        patterns = np.hstack([patterns[parent], on])
        slope = np.where(on, 1.0, leak)
        map_m, map_c = slope[:, :, None] * g_m[parent], slope * g_c[parent]
        if len(parent) > max_regions:
            complete = False
            break
    w, b = layers[-1]
    per_class = () if spec.classes == 2 else (spec.classes,)
    if not complete:  # the logits are not affine on these coarser regions: no boundary, no functions
        grad_u = np.full((len(patterns), *per_class, 2), np.nan)
        off_u = np.full((len(patterns), *per_class), np.nan)
        boundary_u = np.empty((0, 2))
    elif spec.classes == 2:
        grad_u = _apply(w, map_m)[:, 0, :]
        off_u = map_c @ w[0] + b[0]
        boundary_u = polygon_lines(vx, vy, offs, grad_u[:, 0], grad_u[:, 1], off_u)
    else:
        grad_u = _apply(w, map_m)
        off_u = map_c @ w.T + b
        boundary_u = class_lines(vx, vy, offs, grad_u, off_u)
    vertices = np.column_stack([vx, vy]) * half + centre
    gradients = grad_u / half
    offsets = off_u - gradients @ centre
    return Regions(
        rect, tuple(spec.widths), True, complete, patterns, vertices, offs,
        np.arange(len(vx), dtype=np.int64), gradients, offsets, boundary_u * half + centre,
        _outlines(vertices, offs),
    )  # fmt: skip


def _apply(w: np.ndarray, maps: np.ndarray) -> np.ndarray:
    """w (o, i) applied to every region's map (r, i, 2): (r, o, 2), as one matrix product."""
    r, i, _ = maps.shape
    product = w @ maps.transpose(1, 0, 2).reshape(i, 2 * r)
    return np.ascontiguousarray(product.reshape(-1, r, 2).transpose(1, 0, 2))


def _outlines(vertices: np.ndarray, offs: np.ndarray) -> np.ndarray:
    """Every polygon closed and NaN-separated, for one polyline item."""
    n_faces = len(offs) - 1
    counts = np.diff(offs)
    out = np.full((len(vertices) + 2 * n_faces, 2), np.nan)
    # face k occupies rows offs[k] + 2k .. offs[k+1] + 2k: its vertices, the first again, then NaN
    shift = np.repeat(2 * np.arange(n_faces), counts)
    out[np.arange(len(vertices)) + shift] = vertices
    firsts = offs[:-1] + 2 * np.arange(n_faces) + counts
    out[firsts] = vertices[offs[:-1]]
    return out


# --- smooth activations: sign-pattern cells of a grid -------------------------------------------------------
def _sampled_regions(spec: NetworkSpec, params: np.ndarray, rect: Rect, pixels: int) -> Regions:
    aspect = rect.height / rect.width if rect.width > 0 else 1.0
    nx = pixels
    ny = int(np.clip(round(pixels * aspect), 16, 4 * pixels))
    xs, ys = grid_centres(rect, nx, ny)
    n_layers = len(spec.widths)
    z = [layer_field(spec, params, xs, ys, k) for k in range(n_layers + 1)]  # (ny, nx, width) each
    signs = np.concatenate([layer > 0 for layer in z[:-1]], axis=-1).reshape(ny * nx, -1)
    codes = np.unique(_hash_patterns(signs), return_inverse=True)[1].reshape(ny, nx).astype(np.int64)
    labels, count = _label_equal(codes)
    first = np.full(count, -1, dtype=np.int64)
    flat_labels = labels.ravel()
    first[flat_labels[::-1]] = np.arange(len(flat_labels))[::-1]  # first pixel of each region
    patterns = signs[first]
    edges = [level_curves(xs, ys, layer[..., j], 0.0) for layer in z[:-1] for j in range(layer.shape[-1])]
    edges = [e for e in edges if len(e)]
    joined = np.vstack([np.vstack([e, [[np.nan, np.nan]]]) for e in edges]) if edges else np.empty((0, 2))
    if spec.classes == 2:
        boundary = level_curves(xs, ys, z[-1][..., 0], 0.0)
    else:
        boundary = class_ties(xs, ys, z[-1])
    per_class = () if spec.classes == 2 else (spec.classes,)
    empty_i = np.zeros(1, dtype=np.int64)
    return Regions(
        rect, tuple(spec.widths), False, True, patterns, np.empty((0, 2)), np.zeros(count + 1, np.int64),
        empty_i[:0], np.full((count, *per_class, 2), np.nan), np.full((count, *per_class), np.nan), boundary,
        joined, labels, xs, ys,
    )  # fmt: skip


@jit
def _label_equal(codes):
    """Components of equal codes, points up to two grid steps apart counting as neighbours: (labels like
    codes, number of components). A strip thinner than the grid (two zero curves running close together)
    crosses the grid points only here and there; this keeps its pieces one region, as it is."""
    ny, nx = codes.shape
    labels = np.full((ny, nx), -1, np.int64)
    stack = np.empty(ny * nx, np.int64)
    count = 0
    for start in range(ny * nx):
        sy, sx = start // nx, start % nx
        if labels[sy, sx] >= 0:
            continue
        code = codes[sy, sx]
        labels[sy, sx] = count
        top = 0
        stack[top] = start
        top += 1
        while top > 0:
            top -= 1
            p = stack[top]
            py, px = p // nx, p % nx
            for qy in range(max(py - 2, 0), min(py + 3, ny)):
                for qx in range(max(px - 2, 0), min(px + 3, nx)):
                    if labels[qy, qx] < 0 and codes[qy, qx] == code:
                        labels[qy, qx] = count
                        stack[top] = qy * nx + qx
                        top += 1
        count += 1
    return labels, count
