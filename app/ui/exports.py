"""Pictures out of the app: a widget as PNG (at a higher resolution) or SVG, and the canvas over the
recorded epochs as an animated GIF. Each writes the whole file or raises OSError with a clear message."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image
from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QPoint, QRect, Qt
from PySide6.QtGui import QColor, QFont, QImage, QPainter, QPixmap
from PySide6.QtSvg import QSvgGenerator
from PySide6.QtWidgets import QApplication, QProgressDialog, QWidget

from app.core.output_file import check_output, write_atomically, write_bytes_atomically

ANIMATION_SUFFIXES = (".gif",)  # .mp4 would need imageio-ffmpeg, which is not a dependency


def _write_bytes(path: str, data: bytes, suffixes: tuple[str, ...]) -> None:
    try:
        write_bytes_atomically(path, data, suffixes)
    except OSError as error:
        raise OSError(f"Could not write {path}: {error.strerror or error}") from error


def png_bytes(pixmap: QPixmap, notes: dict[str, str] | None = None) -> bytes:
    """The pixmap encoded as PNG, with `notes` as the file's text fields; OSError if Qt cannot encode it."""
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image = pixmap.toImage()
    for key, text in (notes or {}).items():
        image.setText(key, text)
    if not image.save(buffer, "PNG"):
        raise OSError(f"Could not encode a {pixmap.width()}×{pixmap.height()} picture as PNG")
    buffer.close()
    return data.data()


def save_png(pixmap: QPixmap, path: str, notes: dict[str, str] | None = None) -> None:
    """Writes the pixmap as a PNG file (atomically; the name must end in .png), `notes` as text fields."""
    _write_bytes(path, png_bytes(pixmap, notes), (".png",))


def export_png(widget: QWidget, path: str, scale: float = 2.0, notes: dict[str, str] | None = None) -> None:
    """Saves `widget` as a PNG of `scale` times its size: vector parts are drawn at that resolution, not
    enlarged afterwards, so text and lines stay sharp."""
    pixmap = QPixmap(widget.size() * scale)
    pixmap.setDevicePixelRatio(scale)
    # A child widget paints no background of its own unless it fills it; the window's colour is what one sees.
    pixmap.fill(widget.palette().color(widget.backgroundRole()))
    painter = QPainter(pixmap)
    QWidget.render(widget, painter, QPoint())  # QGraphicsView.render would draw the scene only
    painter.end()
    save_png(pixmap, path, notes)


def export_svg(widget: QWidget, path: str, title: str = "Unboxed") -> None:
    """Saves `widget` as SVG: lines, dots and text stay vectors; images (the prediction background) are
    embedded as pixels."""
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    generator = QSvgGenerator()
    generator.setOutputDevice(buffer)
    generator.setSize(widget.size())
    generator.setViewBox(QRect(0, 0, widget.width(), widget.height()))
    generator.setTitle(title)
    generator.setDescription("Exported from Unboxed")
    painter = QPainter(generator)
    QWidget.render(widget, painter, QPoint())  # QGraphicsView.render would draw the scene only
    painter.end()
    buffer.close()
    _write_bytes(path, data.data(), (".svg",))


def _distinct(ordered: np.ndarray) -> np.ndarray:
    """The distinct values of a sorted array (np.unique hashes, which is far slower on millions of epochs)."""
    return ordered[np.concatenate(([True], ordered[1:] != ordered[:-1]))] if len(ordered) else ordered


def animation_epochs(history_epochs: np.ndarray, max_frames: int = 300) -> np.ndarray:
    """The recorded epochs that become frames: all of them if they fit, else at most `max_frames`, always the
    first and the last, evenly spaced in the square root of the epoch. A network changes most early on, and
    square-root spacing gives the early epochs more frames without, as log spacing would, spending most of
    the clip on the first few percent. Each target snaps to the nearest recorded epoch; duplicates merge."""
    epochs = _distinct(np.sort(np.asarray(history_epochs, dtype=np.int64)))
    if len(epochs) <= max_frames:
        return epochs
    if max_frames < 2:
        raise ValueError("max_frames must be at least 2")
    roots = np.sqrt(epochs - epochs[0])

    def frames(targets: int) -> np.ndarray:
        wanted = np.linspace(0.0, roots[-1], targets)
        right = np.clip(np.searchsorted(roots, wanted), 1, len(roots) - 1)
        nearer_left = (wanted - roots[right - 1]) < (roots[right] - wanted)
        return _distinct(np.where(nearer_left, right - 1, right))

    # Early targets often snap to the same epoch, so ask for more targets while the frames still fit: double
    # until too many, then bisect. About 4 targets per epoch reach every epoch, so the doubling ends.
    fits, too_many = max_frames, 2 * max_frames
    while len(frames(too_many)) <= max_frames:
        fits, too_many = too_many, 2 * too_many
    while too_many - fits > 1:
        middle = (fits + too_many) // 2
        if len(frames(middle)) <= max_frames:
            fits = middle
        else:
            too_many = middle
    return epochs[frames(fits)]


def _stamp_epoch(pixmap: QPixmap, epoch: int) -> None:
    """Writes the epoch in the frame's top-right corner (the left one holds the axis' labels). Besides telling
    the viewer where they are, it makes every frame differ: Pillow merges identical consecutive GIF frames,
    which would shorten the clip."""
    painter = QPainter(pixmap)
    font = QFont(painter.font())
    font.setPointSizeF(max(font.pointSizeF(), 9.0) * 1.2)
    painter.setFont(font)
    text = f"Epoch {epoch}"
    box = painter.fontMetrics().boundingRect(text).adjusted(-6, -3, 6, 3)
    box.moveTopRight(QPoint(pixmap.deviceIndependentSize().toSize().width() - 8, 8))
    painter.fillRect(box, QColor(255, 255, 255, 210))
    painter.setPen(QColor(30, 30, 30))
    painter.drawText(box, Qt.AlignmentFlag.AlignCenter, text)
    painter.end()


def _pil_frame(pixmap: QPixmap) -> Image.Image:
    """The pixmap as a 256-colour PIL image (GIF frames are paletted; converting now keeps memory small).
    Maximum coverage keeps the smooth background free of the bands that the faster octree method leaves."""
    image = pixmap.toImage().convertToFormat(QImage.Format.Format_RGB888)
    width, height = image.width(), image.height()
    rgb = Image.frombuffer("RGB", (width, height), bytes(image.constBits()), "raw", "RGB",
                           image.bytesPerLine(), 1)  # fmt: skip
    return rgb.quantize(256, method=Image.Quantize.MAXCOVERAGE)


def export_animation(model, render: Callable[[], None], canvas: QWidget, path: str, max_frames: int = 300,
                     fps: int = 15, progress: Callable[[int, int], bool] | None = None) -> bool:  # fmt: skip
    """Saves `canvas` over the recorded epochs (`animation_epochs`) as an animated GIF: the session model
    `model` scrubs to each, `render()` draws it. Looping, `fps` frames per second, at the screen's pixel
    density. `progress(done, total)` is called after each frame; returning False cancels: nothing is written
    and False is returned. The file appears only once complete (written beside it under a temporary name, then
    renamed). The displayed epoch and live mode are restored afterwards. Raises ValueError for a suffix other
    than .gif, OSError if the file cannot be written."""
    if Path(path).suffix.lower() not in ANIMATION_SUFFIXES:
        raise ValueError("Only .gif animations are supported")
    try:
        check_output(path, ANIMATION_SUFFIXES)  # before the frames are drawn: a folder named x.gif, ...
    except OSError as error:
        raise OSError(f"Could not write {path}: {error}") from error
    epochs = animation_epochs(np.array(model.history.epochs), max_frames)
    was_live, was_epoch = model.live, model.displayed_epoch
    frames: list[Image.Image] = []
    try:
        for epoch in epochs:
            model.scrub_to(int(epoch))
            render()
            pixmap = canvas.grab()
            _stamp_epoch(pixmap, int(epoch))
            frames.append(_pil_frame(pixmap))
            if progress is not None and not progress(len(frames), len(epochs)):
                return False
    finally:
        if was_live:
            model.go_live()
        else:
            model.scrub_to(was_epoch)

    def write(file) -> None:
        frames[0].save(file, format="GIF", save_all=True, append_images=frames[1:],
                       duration=round(1000 / fps), loop=0, optimize=False)  # fmt: skip

    try:
        write_atomically(path, write, ANIMATION_SUFFIXES)
    except OSError as error:
        raise OSError(f"Could not write {path}: {error.strerror or error}") from error
    return True


def run_animation_export_with_dialog(parent: QWidget, model, render: Callable[[], None], canvas: QWidget,
                                     path: str) -> bool:  # fmt: skip
    """`export_animation` behind a window-modal progress dialog with a Cancel button; True if it finished.
    Raises what `export_animation` raises."""
    dialog = QProgressDialog("Exporting animation…", "Cancel", 0, 1, parent)
    dialog.setWindowTitle("Export animation")
    dialog.setWindowModality(Qt.WindowModality.WindowModal)
    dialog.setMinimumDuration(300)
    dialog.setValue(0)

    def progress(done: int, total: int) -> bool:
        dialog.setMaximum(total + 1)  # the last step is encoding and writing the file
        dialog.setValue(done)
        if done == total:
            dialog.setLabelText("Writing the file…")
        QApplication.processEvents()
        return not dialog.wasCanceled()

    try:
        return export_animation(model, render, canvas, path, progress=progress)
    finally:
        dialog.close()
        dialog.deleteLater()
