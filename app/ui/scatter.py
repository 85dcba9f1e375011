"""Scatter plots of many samples that repaint cheaply."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QGraphicsItem


class _SharedStyleScatter(pg.ScatterPlotItem):
    """A ScatterPlotItem that finds its points' symbols in the atlas once per distinct size: pyqtgraph looks
    every point up (a Python tuple and dictionary look-up each: ~0.5 ms per 1,000 points, 32 maps of 2,000
    samples a frame). Only where every point takes the item's symbol, pen and brush and nothing is
    hovered; otherwise pyqtgraph's own way. The same atlas entries, so the same picture. New points fill a
    zeroed record array: numpy's empty() of one with object fields is 4x slower."""

    def setData(self, *args, **kargs) -> None:  # noqa: N802 (pyqtgraph's name)
        """pyqtgraph's setData; positions (n, 2) with or without an array of sizes take the quick way."""
        pos, size = kargs.get("pos"), kargs.get("size")
        if args or set(kargs) - {"pos", "size"} or not isinstance(pos, np.ndarray) or not (
            size is None or isinstance(size, np.ndarray) and len(size) == len(pos)
        ):
            super().setData(*args, **kargs)
            return
        self.clear()
        data = np.zeros(len(pos), dtype=self.data.dtype)
        for column in ("symbol", "pen", "brush", "data", "item"):
            data[column] = None  # pyqtgraph's "the item's own" (np.empty's fill)
        data["x"], data["y"] = pos[:, 0], pos[:, 1]
        data["size"] = -1 if size is None else size
        data["visible"] = True
        self.data = data
        self.prepareGeometryChange()
        self.informViewBoundsChanged()
        self.bounds = [None, None]
        self.invalidate()
        if len(data) and self.opts["pxMode"] and self.opts["useCache"] and not self.opts["hoverable"]:
            self._find_symbols(data, np.ones(len(data), bool))  # every point the item's own style
        else:
            self.updateSpots(data)
        self.sigPlotChanged.emit(self)

    def updateSpots(self, dataSet=None) -> None:  # noqa: N802 (pyqtgraph's name)
        data = self.data if dataSet is None else dataSet
        opts = self.opts
        if not (opts["pxMode"] and opts["useCache"]) or opts["hoverable"]:
            super().updateSpots(dataSet)
            return
        mask = data["sourceRect"]["w"] == 0
        if np.any(mask):
            if any(np.not_equal(data[column][mask], None).any() for column in ("symbol", "pen", "brush")):
                super().updateSpots(dataSet)
                return
            self._find_symbols(data, mask)
            return
        self._maybeRebuildAtlas()
        self._updateMaxSpotSizes(data=data)

    def _find_symbols(self, data: np.ndarray, mask: np.ndarray) -> None:
        """The atlas rectangles of the points in `mask`, all of the item's own symbol, pen and brush: one
        look-up per distinct size."""
        opts = self.opts
        sizes = data["size"][mask]
        sizes[sizes == -1] = opts["size"]  # as pyqtgraph's _style: -1 is the item's size
        distinct, which = np.unique(sizes, return_inverse=True)
        styles = [(opts["symbol"], size, opts["pen"], opts["brush"]) for size in distinct]
        coords = self.fragmentAtlas[styles]
        rects = np.empty(len(coords), dtype=data.dtype["sourceRect"])
        rects[:] = [tuple(c) for c in coords]
        data["sourceRect"][mask] = rects[which.ravel()]
        self._maybeRebuildAtlas()
        self._updateMaxSpotSizes(data=data)
        self.invalidate()


def cached_scatter(**options) -> pg.ScatterPlotItem:
    """A scatter that keeps its picture in a pixmap of the screen's pixels between changes: while training
    redraws the background under 50,000 dots, a repaint copies that pixmap instead of drawing every dot
    again (about 3 ms instead of 28). New points, a zoom or a pan draw it afresh; pictures exported to
    files are always drawn directly (Qt caches only on screen)."""
    item = _SharedStyleScatter(**options)
    item.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
    return item
