"""The article's claims as numbers (issue #22): how focused each first-layer neuron's influence is, how close
the trained network's lines come to the interpretable network's, and how both extrapolate far from the data.

Definitions (the README's "The article's claims, measured" says the same for readers of --export-data):

- **Focus** of a neuron: the samples are grouped by the interpretable network's subconcepts; a group's share
  is the sum of its samples' influence on the neuron divided by the neuron's total influence; the focus is
  the sum of the two largest shares, 1 when all the influence comes from at most two subconcepts (as for a
  differentia line, which separates exactly two). The network's focus is the plain mean over its first-layer
  neurons that have any influence (a neuron counts once, however strongly it is pushed). The chance focus is
  what a neuron would get with every sample equally influential: the two largest subconcepts' share of the
  samples.
- **Role match** of a trained first-layer line: the distance to the nearest differentia line, the Hausdorff
  distance between the two lines' segments inside the data's frame divided by the frame's diagonal (0 for
  the same line, at most 1 when both lines cross the frame), and the undirected angle between them.
- **Far field**: the share of 720 points evenly spaced on a circle 10 (and 100) data extents from the data's
  centre where a network gives the class of the nearest training sample.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from app.core.dataset import SampleSet
from app.core.essence import Predictor, far_agreement, nearest_sample_predictor
from app.core.geometry import Rect, clip_line
from app.core.history import TrainingHistory
from app.core.influence import BATCH_FLOATS, influence
from app.core.network import NetworkSpec, predict_classes, split_params

if TYPE_CHECKING:
    from app.core.essence import EssenceNetwork

TOP = 2  # focus counts the two most contributing subconcepts: a differentia line separates two
FAR_EXTENTS = (10.0, 100.0)  # the far-field circles' radii, in data extents
FAR_POINTS = 720  # points on each circle, as in the comparison table
PLOT_EPOCHS = 300  # at most this many epochs in focus over epochs
GROWTH = 1.01  # a frame grown for lines that miss it reaches 1% past the farther line


# ------------------------------------------------------------------------------------------------- focus


def _group_index(groups: np.ndarray, n_samples: int) -> tuple[np.ndarray, int]:
    """Group ids (any integers) as 0..G-1, and G."""
    groups = np.asarray(groups).reshape(-1)
    if len(groups) != n_samples:
        raise ValueError(f"{len(groups)} group ids for {n_samples} samples")
    if groups.size and not np.issubdtype(groups.dtype, np.integer):
        raise ValueError(f"group ids must be integers, not {groups.dtype}")
    unique, index = np.unique(groups, return_inverse=True)
    return index.reshape(-1), len(unique)


def _top_share(group_sums: np.ndarray, top: int) -> np.ndarray:
    """For sums (..., G) >= 0: the share of the `top` largest in the total, NaN where the total is 0."""
    total = group_sums.sum(axis=-1)
    largest = np.sort(group_sums, axis=-1)[..., ::-1][..., :top].sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0.0, largest / np.where(total > 0.0, total, 1.0), np.nan)


def _check_top(top: int) -> int:
    if int(top) != top or top < 1:
        raise ValueError(f"top must be a whole number of at least 1, not {top!r}")
    return int(top)


def focus(influence: np.ndarray, groups: np.ndarray, top: int = TOP) -> np.ndarray:
    """Per neuron, the share of its total influence that comes from its `top` most contributing groups:
    influence (n_samples, n_neurons) >= 0, groups (n_samples,) integer ids (the interpretable network's
    subconcepts). 1.0: all of it from at most `top` groups; NaN for a neuron without any. (n_neurons,)"""
    top = _check_top(top)
    values = np.asarray(influence, dtype=np.float64)
    if values.ndim != 2:
        raise ValueError(f"influence must have shape (n_samples, n_neurons), not {values.shape}")
    if (values < 0).any():
        raise ValueError("influence must not be negative")
    index, n_groups = _group_index(groups, len(values))
    sums = np.zeros((n_groups, values.shape[1]))
    np.add.at(sums, index, values)
    return _top_share(sums.T, top)


def network_focus(per_neuron: np.ndarray) -> float | np.ndarray:
    """The mean focus over the neurons (last axis) that have one; NaN where none has."""
    values = np.asarray(per_neuron, dtype=np.float64)
    valid = np.isfinite(values)
    count = valid.sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(valid, values, 0.0).sum(axis=-1) / count
    return float(mean) if np.ndim(mean) == 0 else mean


def chance_focus(groups: np.ndarray, top: int = TOP) -> float:
    """The focus of a neuron that every sample influences equally: the `top` largest groups' share of the
    samples (NaN without samples). A focus near it says nothing beyond the groups' sizes."""
    top = _check_top(top)
    index, n_groups = _group_index(groups, len(np.asarray(groups).reshape(-1)))
    return float(_top_share(np.bincount(index, minlength=n_groups).astype(np.float64), top))


# -------------------------------------------------------------------------------------------- role match


def line_angle(w1: np.ndarray, w2: np.ndarray) -> float:
    """The undirected angle between the lines with normals w1 and w2, in degrees from 0 to 90 (NaN for a
    zero normal)."""
    (a, b), (c, d) = np.asarray(w1, dtype=np.float64), np.asarray(w2, dtype=np.float64)
    if a == b == 0.0 or c == d == 0.0:
        return math.nan
    return math.degrees(math.atan2(abs(a * d - b * c), abs(a * c + b * d)))


def _covering(rect: Rect, lines: Sequence[tuple[np.ndarray, float]]) -> Rect:
    """rect itself if every line crosses it, else rect grown about its centre until they all do (GROWTH past
    the farthest): a line crosses a rectangle when its distance from the centre is below the rectangle's
    half-extent along the line's normal."""
    cx, cy = (rect.xmin + rect.xmax) / 2.0, (rect.ymin + rect.ymax) / 2.0
    hw, hh = rect.width / 2.0, rect.height / 2.0
    ratio = 0.0
    for w, b in lines:
        norm = math.hypot(w[0], w[1])
        reach = (hw * abs(w[0]) + hh * abs(w[1])) / norm
        ratio = max(ratio, abs(w[0] * cx + w[1] * cy + b) / norm / reach)
    if ratio < 1.0:
        return rect
    s = ratio * GROWTH
    return Rect(cx - s * hw, cx + s * hw, cy - s * hh, cy + s * hh)


def _point_to_segment(p: np.ndarray, segment: np.ndarray) -> float:
    a, b = segment
    ab = b - a
    length2 = float(ab @ ab)
    t = 0.0 if length2 == 0.0 else min(1.0, max(0.0, float((p - a) @ ab) / length2))
    return float(np.hypot(*(p - (a + t * ab))))


def _hausdorff(s1: np.ndarray, s2: np.ndarray) -> float:
    """The Hausdorff distance between two segments: distance to a segment is convex, so its largest value
    over the other segment lies at an end."""
    return max(max(_point_to_segment(p, s2) for p in s1), max(_point_to_segment(p, s1) for p in s2))


def line_distance(w1: np.ndarray, b1: float, w2: np.ndarray, b2: float, rect: Rect) -> float:
    """How far apart the lines w1.x + b1 = 0 and w2.x + b2 = 0 are within rect: the Hausdorff distance between
    their segments inside it, divided by its diagonal. 0 for the same line (whatever nonzero factor scales w
    and b), symmetric, at most 1 when both lines cross rect. Where one misses rect, both are clipped to rect
    grown about its centre until they cross it (see _covering), still divided by rect's own diagonal, so a
    far line is far (above 1). NaN for a line with a zero or non-finite normal."""
    lines = [(np.asarray(w1, dtype=np.float64), float(b1)), (np.asarray(w2, dtype=np.float64), float(b2))]
    for w, b in lines:
        if not (np.isfinite(w).all() and math.isfinite(b)) or (w == 0.0).all():
            return math.nan
    frame = _covering(rect, lines)
    s1, s2 = clip_line(*lines[0], frame), clip_line(*lines[1], frame)
    if s1 is None or s2 is None:
        return math.nan
    return _hausdorff(s1, s2) / math.hypot(rect.width, rect.height)


@dataclass(frozen=True)
class RoleMatch:
    """For each trained first-layer neuron: the nearest interpretable (differentia) line, -1 if none, its
    line_distance and its angle in degrees."""

    index: np.ndarray  # (n_neurons,) int64
    distance: np.ndarray  # (n_neurons,)
    angle: np.ndarray  # (n_neurons,)

    @property
    def median_distance(self) -> float:
        """The network's role match: the median over its neurons of the distance to the nearest line."""
        finite = self.distance[np.isfinite(self.distance)]
        return float(np.median(finite)) if finite.size else math.nan


BOUND_SLACK = 1e-9  # role_match measures every line whose lower bound is within this of the nearest


def _distance_bounds(w: np.ndarray, b: float, enn_w: np.ndarray, enn_b: np.ndarray, rect: Rect) -> np.ndarray:
    """A lower bound of line_distance(w, b, enn_w[k], enn_b[k], rect) for each k, NaN where there is none:
    the line's segment inside rect is part of its segment in the frame line_distance clips to (rect or a
    larger one), and a point's distance to the other segment is at least its distance to the other line, so
    the larger distance of that segment's two ends to line k, over rect's diagonal, is one."""
    segment = clip_line(w, b, rect) if math.isfinite(b) else None
    if segment is None or not np.isfinite(segment).all():
        return np.full(len(enn_b), np.nan)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        reach = np.abs(segment @ enn_w.T + enn_b).max(axis=0, initial=0.0)
        return reach / np.hypot(enn_w[:, 0], enn_w[:, 1]) / math.hypot(rect.width, rect.height)


def role_match(
    mlp_w: np.ndarray, mlp_b: np.ndarray, enn_w: np.ndarray, enn_b: np.ndarray, rect: Rect
) -> RoleMatch:
    """Each line mlp_w[i].x + mlp_b[i] = 0 matched with the nearest of the lines enn_w[k].x + enn_b[k] = 0 by
    line_distance within rect (ties: the lower k). Only the lines that can be the nearest are measured: a
    lower bound of every distance (_distance_bounds) rules the others out, the result is the same."""
    mlp_w, enn_w = np.asarray(mlp_w, dtype=np.float64), np.asarray(enn_w, dtype=np.float64)
    mlp_b, enn_b = np.asarray(mlp_b, dtype=np.float64), np.asarray(enn_b, dtype=np.float64)
    n = len(mlp_w)
    index, distance, angle = np.full(n, -1, dtype=np.int64), np.full(n, np.nan), np.full(n, np.nan)
    for i in range(n):
        bound = _distance_bounds(mlp_w[i], mlp_b[i], enn_w.reshape(-1, 2), enn_b, rect)
        d, best = np.full(len(enn_b), np.nan), math.inf
        unbounded = np.flatnonzero(~np.isfinite(bound))
        for k in (*unbounded, *np.argsort(np.where(np.isfinite(bound), bound, np.inf), kind="stable")):
            if math.isfinite(bound[k]) and bound[k] > best * (1.0 + BOUND_SLACK) + BOUND_SLACK:
                break  # the rest are farther (ascending bounds); a tie would be measured
            if math.isnan(d[k]):
                d[k] = line_distance(mlp_w[i], mlp_b[i], enn_w[k], enn_b[k], rect)
                best = min(best, d[k]) if math.isfinite(d[k]) else best
        if np.isfinite(d).any():
            k = int(np.nanargmin(d))
            index[i], distance[i], angle[i] = k, d[k], line_angle(mlp_w[i], enn_w[k])
    return RoleMatch(index, distance, angle)


# --------------------------------------------------------------------------------------------- far field


def far_field(
    predict: Predictor, samples: SampleSet, extents: Sequence[float] = FAR_EXTENTS, n: int = FAR_POINTS
) -> tuple[float, ...]:
    """Per radius in `extents` (data extents: the longer side of the samples' bounding box), the share of n
    points evenly spaced on the circle around the box's centre where predict (points (m, 2) -> classes (m,))
    gives the class of the nearest sample; the circle of the comparison table (comparison.compare_models)."""
    xmin, xmax, ymin, ymax = samples.extent()
    centre = ((xmin + xmax) / 2.0, (ymin + ymax) / 2.0)
    size = max(xmax - xmin, ymax - ymin)
    nearest = nearest_sample_predictor(samples)
    return tuple(far_agreement(predict, nearest, centre, float(r) * size, n) for r in extents)


def mlp_predictor(spec: NetworkSpec, params: np.ndarray) -> Predictor:
    """The trained network's class at points (m, 2): training's rule (two classes: 1 = blue where the logit
    is positive; more: the largest logit)."""
    return lambda points: predict_classes(spec, params, points)


# ------------------------------------------------------------------------------------------- over epochs


def focus_over_epochs(
    spec: NetworkSpec,
    history: TrainingHistory,
    samples: SampleSet,
    groups: np.ndarray,
    epochs: Sequence[int],
    top: int = TOP,
) -> np.ndarray:
    """The focus of every first-layer neuron of the trained network at each epoch (the recorded one at or
    before it), on these samples and groups: (len(epochs), width of the first hidden layer). The influence of
    many epochs is computed at once, in batches of bounded size."""
    top = _check_top(top)
    index, n_groups = _group_index(groups, samples.n)
    onehot = np.zeros((samples.n, n_groups))
    onehot[np.arange(samples.n), index] = 1.0
    rows = np.array([history.index_of(int(e)) for e in epochs], dtype=np.int64)
    out = np.empty((len(rows), spec.widths[0]))
    batch = max(1, BATCH_FLOATS // max(1, samples.n * max(spec.widths)))
    for start in range(0, len(rows), batch):
        params = history.params[rows[start : start + batch]]
        first = influence(spec, params, samples.points, samples.labels)[0]  # (E, n, width)
        sums = np.einsum("enw,ng->ewg", first, onehot)
        out[start : start + batch] = _top_share(sums, top)
    return out


def plot_epochs(history: TrainingHistory, last: int, count: int = PLOT_EPOCHS) -> np.ndarray:
    """Up to `count` recorded epochs from 0 to `last`, spaced evenly in the square root of the epoch (early
    training, where most happens, gets more of them), as the animation export spaces its frames."""
    targets = np.rint(np.linspace(0.0, math.sqrt(last), max(2, count)) ** 2).astype(np.int64)
    return np.unique([history.recorded_epoch(int(min(t, last))) for t in targets]).astype(np.int64)


# ------------------------------------------------------------------------------------------------ bundle


@dataclass(frozen=True)
class Thesis:
    """The measures of one network at one epoch: focus per first-layer neuron and for the network, the
    chance focus of the same groups, far-field agreement with the nearest sample at 10 and 100 extents, and
    (for the trained network) the role match of its lines."""

    focus: np.ndarray  # (n_first_layer_neurons,)
    network_focus: float
    chance_focus: float
    far10: float
    far100: float
    role_match: RoleMatch | None = None

    def to_arrays(self, prefix: str) -> dict[str, np.ndarray]:
        """The npz arrays `thesis/focus_<prefix>` (n,), `thesis/focus_<prefix>_network`,
        `thesis/focus_chance`, `thesis/far10_<prefix>`, `thesis/far100_<prefix>` (all ()), and with a role
        match `thesis/role_match_index`, `_distance`, `_angle` (n,) and `thesis/role_match_median` ()."""
        arrays = {
            f"thesis/focus_{prefix}": np.array(self.focus, dtype=np.float64),
            f"thesis/focus_{prefix}_network": np.array(self.network_focus),
            "thesis/focus_chance": np.array(self.chance_focus),
            f"thesis/far10_{prefix}": np.array(self.far10),
            f"thesis/far100_{prefix}": np.array(self.far100),
        }
        if self.role_match is not None:
            match = self.role_match
            arrays.update({"thesis/role_match_index": np.array(match.index),
                           "thesis/role_match_distance": np.array(match.distance),
                           "thesis/role_match_angle": np.array(match.angle),
                           "thesis/role_match_median": np.array(match.median_distance)})  # fmt: skip
        return arrays


def _check_enn_samples(enn: EssenceNetwork, samples: SampleSet) -> np.ndarray:
    groups = np.asarray(enn.sample_subconcept)
    if len(groups) != samples.n:
        raise ValueError(
            f"the interpretable network was built for {len(groups)} samples, not these {samples.n}: pass the "
            "training samples it was built for"
        )
    return groups


def data_frame(samples: SampleSet) -> Rect:
    """Where role match compares lines: the samples' extent with a 10% margin, as the regions export."""
    return Rect.around(samples.extent())


def mlp_focus(spec: NetworkSpec, params: np.ndarray, samples: SampleSet, enn: EssenceNetwork) -> np.ndarray:
    """The focus of each first-layer neuron of the trained network with parameters `params`, its samples
    grouped by the subconcepts of `enn` (built for these training `samples`)."""
    groups = _check_enn_samples(enn, samples)
    return focus(influence(spec, params, samples.points, samples.labels)[0], groups)


def mlp_role_match(
    spec: NetworkSpec, params: np.ndarray, samples: SampleSet, enn: EssenceNetwork
) -> RoleMatch:
    """The role match of the trained network's first-layer lines with the differentia lines of `enn` (built
    for these training `samples`), in the samples' frame."""
    _check_enn_samples(enn, samples)
    w, b = split_params(spec, np.asarray(params, dtype=np.float64))[0]
    return role_match(w, b, enn.differentia_w, enn.differentia_b, data_frame(samples))


def enn_focus(enn: EssenceNetwork, samples: SampleSet) -> np.ndarray:
    """The focus of each differentia neuron of `enn` on the training `samples` it was built for."""
    return focus(enn.differentia_influence(), _check_enn_samples(enn, samples))


def mlp_thesis(spec: NetworkSpec, params: np.ndarray, samples: SampleSet, enn: EssenceNetwork) -> Thesis:
    """The trained network's measures with parameters `params`, on the training `samples` the interpretable
    network `enn` was built for (its subconcepts group them, its differentia lines are the roles)."""
    groups = _check_enn_samples(enn, samples)
    per_neuron = mlp_focus(spec, params, samples, enn)
    far10, far100 = far_field(mlp_predictor(spec, params), samples)
    return Thesis(
        focus=per_neuron,
        network_focus=network_focus(per_neuron),
        chance_focus=chance_focus(groups),
        far10=far10,
        far100=far100,
        role_match=mlp_role_match(spec, params, samples, enn),
    )


def enn_thesis(enn: EssenceNetwork, samples: SampleSet) -> Thesis:
    """The interpretable network's measures on the training `samples` it was built for; a differentia
    neuron's influence is each sample's |SVM dual coefficient| (enn.differentia_influence())."""
    groups = _check_enn_samples(enn, samples)
    per_neuron = enn_focus(enn, samples)
    far10, far100 = far_field(enn.predict, samples)
    return Thesis(per_neuron, network_focus(per_neuron), chance_focus(groups), far10, far100)


def thesis_arrays(
    spec: NetworkSpec,
    history: TrainingHistory,
    epoch: int,
    samples: SampleSet,
    enn: EssenceNetwork,
    count: int = PLOT_EPOCHS,
) -> dict[str, np.ndarray]:
    """Every `thesis/...` array of the --export-data file: both networks' Thesis.to_arrays ("mlp" at `epoch`,
    "enn"), `thesis/epoch` (), and the trained network's focus over up to `count` recorded epochs up to
    `epoch` (plot_epochs): `thesis/focus_epochs` (E,), `thesis/focus_over_epochs` (E, first-layer width) and
    `thesis/focus_over_epochs_network` (E,). `samples`: the training part, which `enn` was built for."""
    groups = _check_enn_samples(enn, samples)
    arrays = mlp_thesis(spec, history.params_at(epoch), samples, enn).to_arrays("mlp")
    arrays.update(enn_thesis(enn, samples).to_arrays("enn"))
    epochs = plot_epochs(history, epoch, count)
    over = focus_over_epochs(spec, history, samples, groups, epochs)
    arrays.update({"thesis/epoch": np.array(int(epoch)), "thesis/focus_epochs": epochs,
                   "thesis/focus_over_epochs": over,
                   "thesis/focus_over_epochs_network": np.asarray(network_focus(over))})  # fmt: skip
    return arrays
