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

from app.core.engine import AVAILABLE
from app.core.fields import layer_field
from app.core.geometry import Rect, grid_centres, level_curves
from app.core.network import LEAKY_SLOPE, NetworkSpec, split_params

try:
    from numba import njit
except ImportError:  # pragma: no cover - pure Python, slow but the same
    njit = None

PIECEWISE_LINEAR = ("relu", "leaky_relu")
MAX_REGIONS = 50_000  # beyond this the partition stops and says so: zoom in
SAMPLED_PIXELS = 200  # grid of the sign-pattern regions of smooth activations, per side
SNAP = 1e-12  # a vertex this close to a line (relative to the line's scale) lies on it


def _jit(fn):
    return njit(nogil=True, cache=True)(fn) if AVAILABLE and njit is not None else fn


@dataclass(frozen=True)
class Regions:
    """The partition of `rect`. Exact (piecewise linear network): face k is the convex polygon
    vertices[face_vertices[face_offsets[k]:face_offsets[k + 1]]], counter-clockwise, and the output logit on
    it is gradients[k] . (x, y) + offsets[k]. Sampled (tanh, sigmoid): labels[iy, ix] is the region of grid
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
    gradients: np.ndarray  # (F, 2)
    offsets: np.ndarray  # (F,)
    boundary: np.ndarray  # the decision boundary (logit 0), NaN-separated (m, 2) points
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
) -> tuple[np.ndarray, np.ndarray, float]:
    """At one point: the activation pattern (sum(widths),) bool, and the output logit's affine function
    there, (gradient (2,), offset) with logit(x) = gradient . x + offset on the point's region. For smooth
    activations it is the tangent plane at the point (exact only at the point)."""
    layers = split_params(spec, params)
    x = np.asarray(point, dtype=np.float64)
    jacobian, value = np.eye(2), x.copy()  # of the current layer's input with respect to the point
    pattern = []
    for k, (w, b) in enumerate(layers):
        z = w @ value + b
        dz = w @ jacobian
        if k == len(layers) - 1:
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


def affine_text(gradient: np.ndarray, offset: float) -> str:
    return f"logit = {gradient[0]:+.3g}·x {gradient[1]:+.3g}·y {offset:+.3g}".replace("= +", "= ")


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
        vx, vy, offs, parent, bits = _split_layer(vx, vy, offs, g_m, g_c, SNAP)
        on = ((bits[:, None] >> np.arange(len(b), dtype=np.uint64)) & np.uint64(1)).astype(bool)
        patterns = np.hstack([patterns[parent], on])
        slope = np.where(on, 1.0, leak)
        map_m, map_c = slope[:, :, None] * g_m[parent], slope * g_c[parent]
        if len(parent) > max_regions:
            complete = False
            break
    w, b = layers[-1]
    if complete:
        grad_u = _apply(w, map_m)[:, 0, :]
        off_u = map_c @ w[0] + b[0]
    else:  # the logit is not affine on these coarser regions: no boundary, no functions
        grad_u = np.full((len(patterns), 2), np.nan)
        off_u = np.full(len(patterns), np.nan)
    boundary_u = np.empty((0, 2))
    if complete:
        boundary_u = _polygon_lines(vx, vy, offs, grad_u[:, 0], grad_u[:, 1], off_u)
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


@_jit
def _grow(a, need):
    """`a`, or a copy with room for `need` items (doubling), for the splitter's growing buffers."""
    if need <= a.shape[0]:
        return a
    b = np.empty(max(need, 2 * a.shape[0]), a.dtype)
    b[: a.shape[0]] = a
    return b


@_jit
def _split_layer(vx, vy, offs, g_m, g_c, snap):
    """Splits every region (polygon offs[r]..offs[r+1] of vx, vy) by the zero lines of the layer's neurons,
    neuron j's pre-activation being g_m[r, j] . u + g_c[r, j] on region r. Returns the pieces' vertices,
    offsets, parent region and sign bits (bit j set: neuron j positive)."""
    n_regions = offs.shape[0] - 1
    n_out = g_c.shape[1]
    ox = np.empty(max(64, 4 * vx.shape[0]))
    oy = np.empty(ox.shape[0])
    ooffs = np.zeros(max(16, 4 * n_regions) + 1, np.int64)
    parent = np.empty(max(16, 4 * n_regions), np.int64)
    bits = np.empty(parent.shape[0], np.uint64)
    n_v = 0
    n_r = 0
    # two work lists of polygons for one region: a (current) and b (after one more neuron)
    ax = np.empty(256)
    ay = np.empty(256)
    ao = np.zeros(65, np.int64)
    ab = np.zeros(64, np.uint64)
    bx = np.empty(256)
    by = np.empty(256)
    bo = np.zeros(65, np.int64)
    bb = np.zeros(64, np.uint64)
    values = np.empty(64)
    for r in range(n_regions):
        start, end = offs[r], offs[r + 1]
        count = end - start
        ax = _grow(ax, count)
        ay = _grow(ay, count)
        ax[:count] = vx[start:end]
        ay[:count] = vy[start:end]
        ao[0] = 0
        ao[1] = count
        ab[0] = 0
        n_a = 1
        for j in range(n_out):
            a0 = g_m[r, j, 0]
            a1 = g_m[r, j, 1]
            c = g_c[r, j]
            tol = snap * (abs(a0) + abs(a1) + abs(c)) + 1e-300
            bit = np.uint64(1) << np.uint64(j)
            # Most lines miss the region: then every piece lies on one side, and nothing is copied.
            whole_pos = False
            whole_neg = False
            for i in range(count):
                v = a0 * vx[start + i] + a1 * vy[start + i] + c
                if v > tol:
                    whole_pos = True
                elif v < -tol:
                    whole_neg = True
            if not (whole_pos and whole_neg):
                if whole_pos or (not whole_neg and c > 0.0):
                    for q in range(n_a):
                        ab[q] |= bit
                continue
            n_b = 0
            bo[0] = 0
            for q in range(n_a):
                qs, qe = ao[q], ao[q + 1]
                m = qe - qs
                values = _grow(values, m)
                has_pos = False
                has_neg = False
                for i in range(m):
                    v = a0 * ax[qs + i] + a1 * ay[qs + i] + c
                    if abs(v) <= tol:
                        v = 0.0
                    values[i] = v
                    if v > 0.0:
                        has_pos = True
                    elif v < 0.0:
                        has_neg = True
                # room for both pieces: at most m + 2 vertices each
                need_v = bo[n_b] + 2 * m + 4
                bx = _grow(bx, need_v)
                by = _grow(by, need_v)
                bo = _grow(bo, n_b + 3)
                bb = _grow(bb, n_b + 2)
                if not (has_pos and has_neg):
                    positive = has_pos or (not has_neg and c > 0.0)
                    base = bo[n_b]
                    for i in range(m):
                        bx[base + i] = ax[qs + i]
                        by[base + i] = ay[qs + i]
                    bo[n_b + 1] = base + m
                    bb[n_b] = ab[q] | bit if positive else ab[q]
                    n_b += 1
                    continue
                for side in range(2):  # 0: positive piece, 1: negative piece
                    base = bo[n_b]
                    k = base
                    for i in range(m):
                        v = values[i]
                        w = values[(i + 1) % m]
                        keep = v >= 0.0 if side == 0 else v <= 0.0
                        if keep:
                            bx[k] = ax[qs + i]
                            by[k] = ay[qs + i]
                            k += 1
                        if (v > 0.0 and w < 0.0) or (v < 0.0 and w > 0.0):
                            t = v / (v - w)
                            i2 = (i + 1) % m
                            bx[k] = ax[qs + i] + t * (ax[qs + i2] - ax[qs + i])
                            by[k] = ay[qs + i] + t * (ay[qs + i2] - ay[qs + i])
                            k += 1
                    if k - base >= 3:
                        bo[n_b + 1] = k
                        bb[n_b] = ab[q] | bit if side == 0 else ab[q]
                        n_b += 1
            ax, bx = bx, ax
            ay, by = by, ay
            ao, bo = bo, ao
            ab, bb = bb, ab
            n_a = n_b
        for q in range(n_a):
            qs, qe = ao[q], ao[q + 1]
            m = qe - qs
            ox = _grow(ox, n_v + m)
            oy = _grow(oy, n_v + m)
            ooffs = _grow(ooffs, n_r + 2)
            parent = _grow(parent, n_r + 1)
            bits = _grow(bits, n_r + 1)
            ox[n_v : n_v + m] = ax[qs:qe]
            oy[n_v : n_v + m] = ay[qs:qe]
            n_v += m
            parent[n_r] = r
            bits[n_r] = ab[q]
            n_r += 1
            ooffs[n_r] = n_v
    return ox[:n_v].copy(), oy[:n_v].copy(), ooffs[: n_r + 1].copy(), parent[:n_r].copy(), bits[:n_r].copy()


@_jit
def _polygon_lines(vx, vy, offs, a0, a1, c):
    """Where a0[r] * x + a1[r] * y + c[r] = 0 crosses each convex polygon r: NaN-separated segments."""
    n_regions = offs.shape[0] - 1
    out = np.full((3 * n_regions, 2), np.nan)
    n = 0
    for r in range(n_regions):
        start, end = offs[r], offs[r + 1]
        m = end - start
        found = 0
        for i in range(m):
            i2 = (i + 1) % m
            v = a0[r] * vx[start + i] + a1[r] * vy[start + i] + c[r]
            w = a0[r] * vx[start + i2] + a1[r] * vy[start + i2] + c[r]
            if found < 2 and ((v >= 0.0 and w < 0.0) or (v < 0.0 and w >= 0.0)):
                t = v / (v - w)
                out[n, 0] = vx[start + i] + t * (vx[start + i2] - vx[start + i])
                out[n, 1] = vy[start + i] + t * (vy[start + i2] - vy[start + i])
                n += 1
                found += 1
        if found == 1:  # touched at a vertex only: nothing to draw
            n -= 1
            out[n, 0] = np.nan
            out[n, 1] = np.nan
        elif found == 2:
            n += 1  # leave a NaN row between segments
    return out[:n].copy()


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
    boundary = level_curves(xs, ys, z[-1][..., 0], 0.0)
    empty_i = np.zeros(1, dtype=np.int64)
    return Regions(
        rect, tuple(spec.widths), False, True, patterns, np.empty((0, 2)), np.zeros(count + 1, np.int64),
        empty_i[:0], np.full((count, 2), np.nan), np.full(count, np.nan), boundary, joined, labels, xs, ys,
    )  # fmt: skip


@_jit
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
