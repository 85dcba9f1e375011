"""A hidden layer's space, as the hidden-space view draws it: the samples at their activations on a plane of
the layer (two of its neurons, or its first two principal components), the input plane's grid carried
through the layers (a warped grid), and the next layer's neurons, which are affine in this space.

Principal components are fitted once, at one epoch (the caller's reference, the newest when the view sets
up), and then kept for every epoch shown, so the picture moves only as the network does. With two neurons
shown of a wider layer, and for the principal plane of a layer of three or more neurons, the next layer's
pre-activation depends on directions the plane leaves out: they are held at the samples' mean (exact for a
layer of two neurons)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from app.core.geometry import Rect, grid_centres
from app.core.network import NetworkSpec, activate, split_params

GRID_LINES = 11  # horizontal and vertical lines over the data frame
GRID_POINTS = 101  # points per grid line
PLANE_PIXELS = 200  # raster of the output over the view's plane (the last hidden layer's view)


@dataclass(frozen=True, eq=False)
class HiddenAxes:
    """The plane of hidden layer `layer` (0-based) a view shows: coordinates c = (h - origin) @ basis.T of the
    layer's activations h. Two neurons (i, j): origin 0, basis rows e_i, e_j. Principal components: origin the
    samples' mean activation and basis the first two principal directions (orthonormal) at epoch
    `fitted_at`, with the fraction of the variance each explains. A layer of one neuron: its activation, 0."""

    layer: int
    neurons: tuple[int, int] | None  # None: principal components
    origin: np.ndarray  # (width,)
    basis: np.ndarray  # (2, width)
    fitted_at: int | None = None
    explained: tuple[float, float] | None = None
    decisive: int = 0  # the first basis rows that span the output's decision directions (last hidden layer)

    @property
    def width(self) -> int:
        return len(self.origin)

    def labels(self) -> tuple[str, str]:
        """What the horizontal and vertical axes are, e.g. "L1 N1 activation", "L2 principal component 1"."""
        name = f"L{self.layer + 1}"
        if self.width == 1:
            return f"{name} N1 activation", f"(layer {self.layer + 1} has one neuron)"
        if self.neurons is not None:
            return tuple(f"{name} N{k + 1} activation" for k in self.neurons)
        shares = self.explained or (np.nan, np.nan)
        kinds = ["direction the output decides by"] * self.decisive
        kinds += [f"principal component {k + 1}" for k in range(2 - self.decisive)]
        pairs = zip(kinds, shares, strict=True)
        return tuple(f"{name} {kind} ({100 * s:.0f}% of variance)" for kind, s in pairs)

    def exact(self) -> bool:
        """Whether the plane holds every activation of the layer (the next layer's lines are then exact)."""
        return self.width <= 2

    def exact_at_fit(self) -> bool:
        """Whether the plane holds the output's decision directions at the epoch it was fitted: the drawn
        boundary then puts every sample on its predicted side there."""
        return self.decisive > 0


def layer_activations(spec: NetworkSpec, params: np.ndarray, x: np.ndarray, layer: int) -> np.ndarray:
    """The activations (n, width) of hidden layer `layer` (0-based) at input points x (n, 2)."""
    h = np.asarray(x, dtype=np.float64).reshape(-1, 2)
    for w, b in split_params(spec, np.asarray(params, dtype=np.float64))[: layer + 1]:
        h = activate(spec.activation, h @ w.T + b)
    return h


def neuron_axes(spec: NetworkSpec, layer: int, neurons: tuple[int, int]) -> HiddenAxes:
    """The plane of neurons (i, j) (0-based, distinct) of hidden layer `layer`; ValueError if none."""
    width = _width(spec, layer)
    i, j = neurons
    if width == 1:
        return _single_neuron_axes(layer)
    if not (0 <= i < width and 0 <= j < width) or i == j:
        raise ValueError(f"layer {layer + 1} has neurons 1 to {width}: choose two different ones, "
                         f"not {i + 1},{j + 1}")  # fmt: skip
    basis = np.zeros((2, width))
    basis[0, i] = basis[1, j] = 1.0
    return HiddenAxes(layer, (int(i), int(j)), np.zeros(width), basis)


def principal_axes(spec: NetworkSpec, params: np.ndarray, points: np.ndarray, layer: int,
                   epoch: int) -> HiddenAxes:  # fmt: skip
    """The first two principal components of the layer's activations at input points (n, 2), n >= 2 (see
    fit_points), under `params` (epoch `epoch`). Each direction's sign is set so that its largest entry is
    positive: the same axes every time."""
    width = _width(spec, layer)
    if width == 1:
        return _single_neuron_axes(layer)
    if len(points) < 2:
        raise ValueError("principal components need at least two points")
    h = layer_activations(spec, params, points, layer)
    origin = h.mean(axis=0)
    centred = h - origin
    decisive = _decision_directions(spec, params, layer)  # (d, width) orthonormal, d <= 2
    rest = centred - centred @ decisive.T @ decisive
    _, _, vt = np.linalg.svd(rest, full_matrices=False)
    basis = np.vstack([decisive, vt[: 2 - len(decisive)]])
    largest = np.argmax(np.abs(basis), axis=1)
    basis *= np.where(basis[np.arange(2), largest] < 0, -1.0, 1.0)[:, None]
    if len(decisive) and spec.classes == 2:  # the first axis points toward blue
        basis[0] *= np.sign(split_params(spec, params)[-1][0][0] @ basis[0]) or 1.0
    total = float(np.sum(centred**2))
    explained = tuple(float(np.sum((centred @ row) ** 2) / total) if total > 0 else 0.0 for row in basis)
    return HiddenAxes(layer, None, origin, basis, int(epoch), explained, len(decisive))


def _decision_directions(spec: NetworkSpec, params: np.ndarray, layer: int) -> np.ndarray:
    """For the last hidden layer of a network of two or three classes, an orthonormal basis (d, width) of the
    directions its decision depends on (two classes: the output weights; three: the differences of the
    classes' weights), so that a plane holding them draws the boundary exactly; else none (0, width)."""
    width = spec.widths[layer]
    if layer != len(spec.widths) - 1 or spec.classes > 3:
        return np.empty((0, width))
    w = split_params(spec, np.asarray(params, dtype=np.float64))[-1][0]
    directions = w if spec.classes == 2 else w[1:] - w[0]
    if len(directions) >= width:  # the plane is the whole layer anyway
        return np.empty((0, width))
    q, r = np.linalg.qr(directions.T)
    keep = np.abs(np.diag(r)) > 1e-12 * max(np.abs(r).max(), 1e-300)
    return q.T[keep]


def fit_points(points: np.ndarray, frame: Rect) -> np.ndarray:
    """The points principal components are fitted to: the samples, or with fewer than two of them the grid
    of the data frame."""
    return points if len(points) >= 2 else grid_lines(frame).reshape(-1, 2)


def project(axes: HiddenAxes, h: np.ndarray) -> np.ndarray:
    """Coordinates (n, 2) of activations h (n, width) on the axes' plane."""
    return (h - axes.origin) @ axes.basis.T


def grid_lines(rect: Rect, lines: int = GRID_LINES, points: int = GRID_POINTS) -> np.ndarray:
    """The input plane's grid over rect: `lines` horizontal then `lines` vertical lines of `points` points
    each, as (2 * lines, points, 2)."""
    xs, ys = np.linspace(rect.xmin, rect.xmax, lines), np.linspace(rect.ymin, rect.ymax, lines)
    along_x, along_y = np.linspace(rect.xmin, rect.xmax, points), np.linspace(rect.ymin, rect.ymax, points)
    horizontal = np.stack([np.broadcast_to(along_x, (lines, points)), np.repeat(ys[:, None], points, 1)], -1)
    vertical = np.stack([np.repeat(xs[:, None], points, 1), np.broadcast_to(along_y, (lines, points))], -1)
    return np.concatenate([horizontal, vertical])


def with_gaps(lines: np.ndarray) -> np.ndarray:
    """Lines (m, p, 2) as one (m * (p + 1) - 1, 2) array, each line ended by a NaN row (connect="finite")."""
    m, p, _ = lines.shape
    out = np.full((m, p + 1, 2), np.nan)
    out[:, :p] = lines
    return out.reshape(-1, 2)[:-1]


@dataclass(frozen=True)
class HiddenPicture:
    """What the hidden-space view draws at one epoch, all in the plane's coordinates."""

    coords: np.ndarray  # (n, 2) the samples
    grid: np.ndarray  # (lines, points, 2) the input grid's lines carried through the layers
    next_weights: np.ndarray  # (k, 2) the next layer's pre-activation z = next_weights @ c + next_bias
    next_bias: np.ndarray  # (k,)
    next_is_output: bool  # the next layer is the output (its logits), not a hidden layer
    held: np.ndarray  # (width,) the activation the plane's coordinates are added to (off-plane: the mean)


def hidden_picture(spec: NetworkSpec, params: np.ndarray, axes: HiddenAxes, points: np.ndarray,
                   frame: Rect) -> HiddenPicture:  # fmt: skip
    """The samples (input points (n, 2)), the grid of `frame` and the next layer, on the axes' plane under
    `params`. The next layer sees h = held + c @ basis: the plane's point plus, off the plane, the samples'
    mean activation (the origin when there are none)."""
    h = layer_activations(spec, params, points, axes.layer)
    grid = grid_lines(frame)
    warped = project(axes, layer_activations(spec, params, grid.reshape(-1, 2), axes.layer))
    mean = h.mean(axis=0) if len(h) else axes.origin
    off_plane = (mean - axes.origin) - ((mean - axes.origin) @ axes.basis.T) @ axes.basis
    held = axes.origin + off_plane
    w, b = split_params(spec, np.asarray(params, dtype=np.float64))[axes.layer + 1]
    return HiddenPicture(project(axes, h), warped.reshape(grid.shape), w @ axes.basis.T, w @ held + b,
                         axes.layer + 1 == len(spec.widths), held)  # fmt: skip


def plane_logits(picture: HiddenPicture, rect: Rect, nx: int = PLANE_PIXELS,
                 ny: int = PLANE_PIXELS) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
    """The next layer's pre-activations at the pixel centres of rect in the plane: (xs, ys, z (ny, nx, k))."""
    xs, ys = grid_centres(rect, nx, ny)
    a = picture.next_weights
    z = xs[None, :, None] * a[:, 0] + ys[:, None, None] * a[:, 1] + picture.next_bias
    return xs, ys, z


def _width(spec: NetworkSpec, layer: int) -> int:
    if not 0 <= layer < len(spec.widths):
        raise ValueError(f"the network has hidden layers 1 to {len(spec.widths)}, not {layer + 1}")
    return spec.widths[layer]


def _single_neuron_axes(layer: int) -> HiddenAxes:
    return HiddenAxes(layer, None, np.zeros(1), np.array([[1.0], [0.0]]))
