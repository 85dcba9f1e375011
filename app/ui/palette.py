"""Colours shared by every view: the two classes, one colour per neuron, the prediction colour map."""

from __future__ import annotations

import colorsys

import numpy as np

RED_RGB = (214, 39, 40)
BLUE_RGB = (31, 119, 180)
CLASS_RGB = (RED_RGB, BLUE_RGB)

# Distinct from the class colours and from each other; later neurons continue on the golden-angle wheel.
_NEURON_BASE = [
    (255, 127, 14),  # orange
    (44, 160, 44),  # green
    (148, 103, 189),  # purple
    (23, 190, 207),  # cyan
    (227, 119, 194),  # pink
    (140, 86, 75),  # brown
    (188, 189, 34),  # olive
    (0, 128, 128),  # teal
]


def neuron_rgb(layer: int, index: int, widths: tuple[int, ...]) -> tuple[int, int, int]:
    """Colour of neuron `index` of hidden layer `layer` (both 0-based), stable for an architecture."""
    k = sum(widths[:layer]) + index
    if k < len(_NEURON_BASE):
        return _NEURON_BASE[k]
    hue = (0.11 + 0.618034 * k) % 1.0
    r, g, b = colorsys.hls_to_rgb(hue, 0.42, 0.75)
    return int(r * 255), int(g * 255), int(b * 255)


def prediction_lut() -> np.ndarray:
    """256 x 3 uint8: pale red (p=0, red class) through white (0.5) to pale blue (p=1)."""
    t = np.linspace(-1.0, 1.0, 256)[:, None]
    white = np.array([255.0, 255.0, 255.0])
    red = np.array([244.0, 170.0, 170.0])
    blue = np.array([165.0, 198.0, 240.0])
    strength = np.abs(t) ** 0.8
    colour = np.where(t < 0, red, blue)
    return np.round(white + (colour - white) * strength).astype(np.uint8)
