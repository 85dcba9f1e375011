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


def pattern_colours(codes: np.ndarray, alpha: int = 90) -> np.ndarray:
    """An RGBA image (…, 4) uint8 giving each integer pattern code its own pale colour."""
    hue = (codes.astype(np.float64) * 0.6180339887498949) % 1.0
    # HSV with saturation 0.45 and value 1, vectorised
    h6 = hue * 6.0
    i = np.floor(h6).astype(int) % 6
    f = h6 - np.floor(h6)
    p, q, t = 0.55, 1.0 - 0.45 * f, 0.55 + 0.45 * f
    r = np.choose(i, [1.0, q, p, p, t, 1.0])
    g = np.choose(i, [t, 1.0, 1.0, q, p, p])
    b = np.choose(i, [p, p, t, 1.0, 1.0, q])
    rgba = np.empty((*codes.shape, 4), dtype=np.uint8)
    rgba[..., 0], rgba[..., 1], rgba[..., 2] = (np.round(255 * c) for c in (r, g, b))
    rgba[..., 3] = alpha
    return rgba


def slope_colours(logits: np.ndarray, dx: float, dy: float, alpha: int = 150) -> np.ndarray:
    """An RGBA image shading each pixel by how steeply the output logit changes there (|gradient|, on a log
    scale over the picture): flat pieces stay clear, steep ones turn dark violet. With k > 2 classes (logits
    (ny, nx, k)), how steeply all k logits change together (the Jacobian's Frobenius norm)."""
    gy, gx = np.gradient(logits, dy, dx, axis=(0, 1))
    slope = np.hypot(gx, gy) if logits.ndim == 2 else np.sqrt(np.sum(gx**2 + gy**2, axis=-1))
    steepness = np.log10(slope + 1e-300)
    finite = steepness[np.isfinite(steepness)]
    low, high = np.percentile(finite, [2, 98]) if finite.size else (0.0, 1.0)
    level = np.clip((steepness - low) / max(high - low, 1e-9), 0.0, 1.0)
    rgba = np.empty((*logits.shape[:2], 4), dtype=np.uint8)
    rgba[..., 0], rgba[..., 1], rgba[..., 2] = 70, 30, 110
    rgba[..., 3] = np.round(alpha * np.nan_to_num(level)).astype(np.uint8)
    return rgba
