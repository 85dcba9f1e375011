"""Exports (PNG at a scale, SVG, the animated GIF with cancelling) and the Help texts and dialogs."""

import numpy as np
import pyqtgraph as pg
import pytest
from PIL import Image
from PySide6.QtCore import QTimer
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QApplication, QProgressDialog, QWidget

from app.ui.app import train_synchronously
from app.ui.exports import (
    animation_epochs,
    export_animation,
    export_png,
    export_svg,
    run_animation_export_with_dialog,
)
from app.ui.help import ABOUT_HTML, QUICK_GUIDE_HTML, show_about, show_quick_guide
from app.ui.main_window import MainWindow


@pytest.fixture
def plot(qtbot):
    widget = pg.PlotWidget()
    widget.plot([0, 1, 2], [0, 2, 1])
    widget.resize(200, 150)
    qtbot.addWidget(widget)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


@pytest.fixture
def window(qtbot):
    w = MainWindow()
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    train_synchronously(w, 60)
    yield w
    w.close()


def test_png_is_rendered_at_the_scale(plot, tmp_path):
    path = tmp_path / "plot.png"
    export_png(plot, str(path), scale=2.0)
    image = QImage(str(path))
    assert (image.width(), image.height()) == (2 * plot.width(), 2 * plot.height())


def test_png_into_a_missing_folder_says_so(plot, tmp_path):
    path = tmp_path / "missing" / "plot.png"
    with pytest.raises(OSError, match="Could not write"):
        export_png(plot, str(path))


def test_svg_is_written(plot, tmp_path):
    path = tmp_path / "plot.svg"
    export_svg(plot, str(path), title="A plot")
    text = path.read_text()
    assert text.startswith("<?xml") or "<svg" in text
    assert "<title>A plot</title>" in text


def test_animation_epochs_are_few_and_spread():
    epochs = np.arange(10_001)
    frames = animation_epochs(epochs)
    assert len(frames) <= 300
    assert frames[0] == 0 and frames[-1] == 10_000
    assert np.all(np.diff(frames) > 0)
    assert np.isin(frames, epochs).all()
    early, late = np.count_nonzero(frames < 2_500), np.count_nonzero(frames >= 7_500)
    assert early > late  # square-root spacing: training changes most early on
    assert animation_epochs(np.array([0, 1, 2, 5, 9])).tolist() == [0, 1, 2, 5, 9]


def test_animation_epochs_of_a_thinned_history_are_recorded_ones():
    epochs = np.concatenate([np.arange(0, 9_000, 10), np.arange(9_000, 10_001)])
    frames = animation_epochs(epochs, max_frames=50)
    assert len(frames) <= 50 and frames[0] == 0 and frames[-1] == 10_000
    assert np.isin(frames, epochs).all()


def test_animation_has_one_frame_per_epoch_and_restores_the_view(window, tmp_path):
    window.model.scrub_to(17)
    path = tmp_path / "training.gif"
    calls = []

    def progress(done, total):
        calls.append(done)
        return True

    assert export_animation(
        window.model, window.frames.render_frame, window.canvas, str(path), fps=10, progress=progress
    )
    expected = animation_epochs(window.model.history.epochs)
    with Image.open(path) as gif:
        assert gif.n_frames == len(expected)
        assert gif.size == (window.canvas.width(), window.canvas.height())
        assert gif.info["loop"] == 0 and gif.info["duration"] == 100
    assert calls == list(range(1, len(expected) + 1))
    assert (window.model.displayed_epoch, window.model.live) == (17, False)
    window.model.go_live()
    export_animation(window.model, window.frames.render_frame, window.canvas, str(path), max_frames=5)
    assert (window.model.displayed_epoch, window.model.live) == (60, True)
    with Image.open(path) as gif:
        assert gif.n_frames == 5


def test_cancelled_animation_leaves_no_file(window, tmp_path):
    path = tmp_path / "training.gif"
    assert not export_animation(
        window.model,
        window.frames.render_frame,
        window.canvas,
        str(path),
        progress=lambda done, total: done < 3,
    )
    assert list(tmp_path.iterdir()) == []
    assert window.model.live and window.model.displayed_epoch == 60


def test_animation_refuses_other_formats(window, tmp_path):
    with pytest.raises(ValueError, match="Only .gif"):
        export_animation(
            window.model, window.frames.render_frame, window.canvas, str(tmp_path / "training.mp4")
        )


def test_animation_into_a_missing_folder_leaves_the_view_as_it_was(window, tmp_path):
    with pytest.raises(OSError, match="Could not write"):
        export_animation(
            window.model,
            window.frames.render_frame,
            window.canvas,
            str(tmp_path / "missing" / "training.gif"),
            max_frames=3,
        )
    assert window.model.live and window.model.displayed_epoch == 60


def test_progress_dialog_exports_and_cancels(window, tmp_path):
    path = tmp_path / "training.gif"
    assert run_animation_export_with_dialog(
        window, window.model, window.frames.render_frame, window.canvas, str(path)
    )
    assert path.exists()

    def progress_dialogs():
        return [w for w in QApplication.topLevelWidgets() if isinstance(w, QProgressDialog)]

    finished = progress_dialogs()  # closed, deleted later

    def press_cancel():
        dialogs = [d for d in progress_dialogs() if d not in finished]
        if dialogs and dialogs[0].value() >= 2:
            dialogs[0].cancel()
        else:
            QTimer.singleShot(0, press_cancel)

    QTimer.singleShot(0, press_cancel)
    path.unlink()
    assert not run_animation_export_with_dialog(
        window, window.model, window.frames.render_frame, window.canvas, str(path)
    )
    assert list(tmp_path.iterdir()) == []


def test_help_texts_cover_the_paper_and_every_panel():
    assert "Blazek &amp; Lin" in ABOUT_HTML and "Nature Computational Science" in ABOUT_HTML
    for library in ("PySide6", "pyqtgraph", "NumPy", "PyTorch", "numba", "scikit-learn", "SciPy", "Pillow"):
        assert library in ABOUT_HTML
    panels = ("Canvas", "Colours", "Settings", "Timeline", "Loss plot", "Influence panel", "Network panel",
              "Extrapolation panel", "Interpretable network", "Build", "File menu")  # fmt: skip
    for panel in panels:
        assert panel in QUICK_GUIDE_HTML
    assert "Blazek &amp; Lin" in QUICK_GUIDE_HTML


def test_help_dialogs_open_without_blocking(qtbot):
    parent = QWidget()
    qtbot.addWidget(parent)
    about = show_about(parent)
    assert about.isVisible() and "Unboxed" in about.text()
    about.close()  # they delete themselves when closed
    guide = show_quick_guide(parent)
    assert guide.isVisible() and guide.width() >= 600
    assert show_quick_guide(parent) is guide  # one guide at a time
    guide.close()


def test_file_export_menu_writes_pictures_from_the_window(tmp_path, qtbot):
    from app.ui.main_window import MainWindow

    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    canvas_png, window_png, svg = tmp_path / "c.png", tmp_path / "w.png", tmp_path / "c.svg"
    assert window.files.export_picture(window.canvas, "png", str(canvas_png))
    assert window.files.export_picture(window, "png", str(window_png))
    assert window.files.export_picture(window.canvas, "svg", str(svg))
    assert QImage(str(canvas_png)).width() == 2 * window.canvas.width()
    assert QImage(str(window_png)).width() == 2 * window.width()
    assert "<svg" in svg.read_text(errors="replace")
    titles = [a.text() for a in window.menu_actions.export_menu.actions()]
    assert "Training as animated GIF…" in titles
    window.close()


def test_an_animation_onto_a_folder_is_refused_before_any_frame_is_drawn(window, tmp_path, monkeypatch):
    """A folder named training.gif: every frame was rendered before the write was refused (#19)."""
    folder = tmp_path / "training.gif"
    folder.mkdir()
    drawn = []
    monkeypatch.setattr(window.frames, "render_frame", lambda *args, **kwargs: drawn.append(1))
    with pytest.raises(OSError, match="is a folder"):
        export_animation(window.model, window.frames.render_frame, window.canvas, str(folder))
    assert drawn == [] and folder.is_dir()
