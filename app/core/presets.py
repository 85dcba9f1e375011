"""The built-in sample sets: two-class presets (the window's menu) and presets of three or more classes,
each a function of a seed that gives the same samples for the same seed."""

from __future__ import annotations

import numpy as np

from app.core.samples import BLUE, RED, SampleSet, default_class_names


def _gaussian_clusters(
    seed: int, centres: list[tuple[float, float]], labels: list[int], std: float, per_cluster: int
) -> SampleSet:
    rng = np.random.default_rng(seed)
    points = np.concatenate([rng.normal(c, std, size=(per_cluster, 2)) for c in centres])
    return SampleSet(points, np.repeat(labels, per_cluster))


def _clusters(seed: int) -> SampleSet:
    # A zig-zag of alternating columns: no straight line separates it, a 2-4-4-1 network can.
    centres = [(-2.0, -1.0), (0.0, 1.5), (2.0, -1.0), (-2.0, 1.5), (0.0, -1.0), (2.0, 1.5)]
    return _gaussian_clusters(seed, centres, [RED] * 3 + [BLUE] * 3, std=0.28, per_cluster=25)


def _xor(seed: int) -> SampleSet:
    centres = [(sx * 1.5, sy * 1.5) for sx in (-1, 1) for sy in (-1, 1)]
    labels = [BLUE if cx * cy > 0 else RED for cx, cy in centres]
    return _gaussian_clusters(seed, centres, labels, std=0.4, per_cluster=40)


# scikit-learn is imported where a preset needs it: it takes a second, which every start would pay.
def _circles(seed: int) -> SampleSet:
    from sklearn.datasets import make_circles

    points, labels = make_circles(n_samples=200, noise=0.08, factor=0.5, random_state=seed)
    return SampleSet(points * 2.5, labels)


def _moons(seed: int) -> SampleSet:
    from sklearn.datasets import make_moons

    points, labels = make_moons(n_samples=200, noise=0.1, random_state=seed)
    return SampleSet((points - (0.5, 0.25)) * 1.5, labels)


def _spirals(seed: int) -> SampleSet:
    rng = np.random.default_rng(seed)
    t = np.linspace(0.0, 1.0, 100)
    radius, angle = 0.3 + 2.5 * t, 3.0 * np.pi * t
    arm = np.column_stack([radius * np.cos(angle), radius * np.sin(angle)])
    points = np.concatenate([arm, -arm]) + rng.normal(0.0, 0.08, size=(200, 2))  # -arm: turned by 180 degrees
    return SampleSet(points, np.repeat([RED, BLUE], 100))


def _blobs(seed: int) -> SampleSet:
    from sklearn.datasets import make_blobs

    points, labels = make_blobs(
        n_samples=200, centers=[(-1.0, -1.0), (1.0, 1.0)], cluster_std=0.8, random_state=seed
    )
    return SampleSet(points, labels)


def _blobs_of(classes: int, per_class: int):
    """k Gaussian blobs, their centres evenly on a circle: class j's at 90 + 360 j / k degrees."""

    def blobs(seed: int) -> SampleSet:
        angles = np.pi / 2 + 2 * np.pi * np.arange(classes) / classes
        centres = [(1.8 * np.cos(a), 1.8 * np.sin(a)) for a in angles]
        rng = np.random.default_rng(seed)
        points = np.concatenate([rng.normal(c, 0.45, size=(per_class, 2)) for c in centres])
        return SampleSet(points, np.repeat(np.arange(classes), per_class), 0, default_class_names(classes))

    return blobs


def blobs_of_classes(classes: int, per_class: int = 20, seed: int = 0) -> SampleSet:
    """`classes` Gaussian blobs of `per_class` samples each, as the blobs3 and blobs5 presets (the soak starts
    sequences on these, 2 to 8 classes)."""
    return _blobs_of(classes, per_class)(seed)


def _spirals3(seed: int) -> SampleSet:
    """Three arms, each the spirals preset's arm turned by 120 degrees more than the one before."""
    rng = np.random.default_rng(seed)
    t = np.linspace(0.0, 1.0, 70)
    radius, angle = 0.3 + 2.5 * t, 3.0 * np.pi * t
    arms = [np.column_stack([radius * np.cos(angle + turn), radius * np.sin(angle + turn)])
            for turn in 2 * np.pi * np.arange(3) / 3]  # fmt: skip
    points = np.concatenate(arms) + rng.normal(0.0, 0.08, size=(210, 2))
    return SampleSet(points, np.repeat([0, 1, 2], 70), 0, default_class_names(3))


def _wedges6(seed: int) -> SampleSet:
    """Six wedges of a disc of radius 2.5, 40 samples each, uniform over its area: class j between 60 j and
    60 (j + 1) degrees; all six meet in the middle."""
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(6), 40)
    angles = np.deg2rad(60.0 * (labels + rng.uniform(0.04, 0.96, size=len(labels))))
    radii = 2.5 * np.sqrt(rng.uniform(0.02, 1.0, size=len(labels)))
    points = np.column_stack([radii * np.cos(angles), radii * np.sin(angles)])
    return SampleSet(points, labels, 0, default_class_names(6))


# Two classes: what the window lists (Data > Presets) and what two-class code (the interpretable network,
# bench/thesis) goes through.
PRESETS = dict(clusters=_clusters, xor=_xor, circles=_circles, moons=_moons, spirals=_spirals, blobs=_blobs)
# Three classes or more: Data > Presets lists them after the two-class ones.
MULTICLASS_PRESETS = dict(
    blobs3=_blobs_of(3, 50), blobs5=_blobs_of(5, 40), spirals3=_spirals3, wedges6=_wedges6
)
PRESET_LABELS = dict(clusters="Clusters", xor="XOR", circles="Circles", moons="Moons", spirals="Spirals",
                     blobs="Gaussian blobs", blobs3="3 Gaussian blobs", blobs5="5 Gaussian blobs",
                     spirals3="3-arm spiral", wedges6="6 wedges of a disc")  # fmt: skip
# Each set's classes.
PRESET_CLASSES = {name: 2 for name in PRESETS} | dict(blobs3=3, blobs5=5, spirals3=3, wedges6=6)
DEFAULT_PRESET = "clusters"


def make_preset(name: str, seed: int = 0) -> SampleSet:
    generator = PRESETS.get(name) or MULTICLASS_PRESETS.get(name)
    if generator is None:
        raise ValueError(f"unknown preset {name!r}; choose from {', '.join(PRESET_CLASSES)}")
    return generator(seed)
