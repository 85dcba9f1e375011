"""The exact partition's polygon work, compiled: splitting convex polygons along lines (one hidden layer at a
time) and clipping lines to them (the decision boundary), in the view's normalised coordinates."""

from __future__ import annotations

import numpy as np

from app.core.engine import AVAILABLE

try:
    from numba import njit
except ImportError:  # pragma: no cover - pure Python, slow but the same
    njit = None


def jit(fn):
    return njit(nogil=True, cache=True)(fn) if AVAILABLE and njit is not None else fn


@jit
def grow(a, need):
    """`a`, or a copy with room for `need` items (doubling), for the splitter's growing buffers."""
    if need <= a.shape[0]:
        return a
    b = np.empty(max(need, 2 * a.shape[0]), a.dtype)
    b[: a.shape[0]] = a
    return b


@jit
def split_layer(vx, vy, offs, g_m, g_c, snap):
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
        ax = grow(ax, count)
        ay = grow(ay, count)
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
                values = grow(values, m)
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
                bx = grow(bx, need_v)
                by = grow(by, need_v)
                bo = grow(bo, n_b + 3)
                bb = grow(bb, n_b + 2)
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
            ox = grow(ox, n_v + m)
            oy = grow(oy, n_v + m)
            ooffs = grow(ooffs, n_r + 2)
            parent = grow(parent, n_r + 1)
            bits = grow(bits, n_r + 1)
            ox[n_v : n_v + m] = ax[qs:qe]
            oy[n_v : n_v + m] = ay[qs:qe]
            n_v += m
            parent[n_r] = r
            bits[n_r] = ab[q]
            n_r += 1
            ooffs[n_r] = n_v
    return ox[:n_v].copy(), oy[:n_v].copy(), ooffs[: n_r + 1].copy(), parent[:n_r].copy(), bits[:n_r].copy()


@jit
def polygon_lines(vx, vy, offs, a0, a1, c):
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


@jit
def class_lines(vx, vy, offs, g, o):
    """Where the top two of k affine logits tie inside each convex polygon r, logit c being
    g[r, c] . u + o[r, c] there: for each pair (i, j), the line z_i = z_j clipped to the polygon and to the
    half-planes where i beats every other class (on that line, j then does too). NaN-separated segments."""
    n_regions = offs.shape[0] - 1
    k = o.shape[1]
    ox = np.empty(256)
    oy = np.empty(256)
    px = np.zeros(2)
    py = np.zeros(2)
    n = 0
    for r in range(n_regions):
        start, end = offs[r], offs[r + 1]
        m = end - start
        for i in range(k):
            for j in range(i + 1, k):
                a0 = g[r, i, 0] - g[r, j, 0]
                a1 = g[r, i, 1] - g[r, j, 1]
                c = o[r, i] - o[r, j]
                if a0 == 0.0 and a1 == 0.0:
                    continue
                found = 0
                for e in range(m):
                    e2 = (e + 1) % m
                    v = a0 * vx[start + e] + a1 * vy[start + e] + c
                    w = a0 * vx[start + e2] + a1 * vy[start + e2] + c
                    if found < 2 and ((v >= 0.0 and w < 0.0) or (v < 0.0 and w >= 0.0)):
                        t = v / (v - w)
                        px[found] = vx[start + e] + t * (vx[start + e2] - vx[start + e])
                        py[found] = vy[start + e] + t * (vy[start + e2] - vy[start + e])
                        found += 1
                if found < 2:
                    continue
                low, high = 0.0, 1.0
                for q in range(k):
                    if q == i or q == j:
                        continue
                    b0 = g[r, i, 0] - g[r, q, 0]
                    b1 = g[r, i, 1] - g[r, q, 1]
                    bc = o[r, i] - o[r, q]
                    d0 = b0 * px[0] + b1 * py[0] + bc
                    d1 = b0 * px[1] + b1 * py[1] + bc
                    if d0 < 0.0 and d1 < 0.0:
                        high = -1.0
                        break
                    if d0 < 0.0:
                        low = max(low, d0 / (d0 - d1))
                    elif d1 < 0.0:
                        high = min(high, d0 / (d0 - d1))
                if high - low <= 1e-12:
                    continue
                ox = grow(ox, n + 3)
                oy = grow(oy, n + 3)
                ox[n] = px[0] + low * (px[1] - px[0])
                oy[n] = py[0] + low * (py[1] - py[0])
                ox[n + 1] = px[0] + high * (px[1] - px[0])
                oy[n + 1] = py[0] + high * (py[1] - py[0])
                ox[n + 2] = np.nan
                oy[n + 2] = np.nan
                n += 3
    n = max(n - 1, 0)  # no NaN row after the last segment
    out = np.empty((n, 2))
    out[:, 0] = ox[:n]
    out[:, 1] = oy[:n]
    return out
