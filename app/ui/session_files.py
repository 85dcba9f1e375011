"""Files: opening and saving sessions (with the views' options), the autosave and the recent-files list,
CSV import and export, pictures and animations. Each asks for a path, tries, and says what happened."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, QSettings, QStandardPaths, Qt, QTimer, Signal
from PySide6.QtWidgets import QApplication, QFileDialog, QMessageBox, QProgressDialog

from app.core.dataset import CsvCancelled, CsvError, read_csv, write_csv
from app.core.geometry import Rect
from app.core.session import SUFFIX, SessionError, load_session, save_session
from app.ui.controls import position_of_speed
from app.ui.exports import export_png, export_svg, run_animation_export_with_dialog
from app.ui.influence_panel import InfluenceOptions

RECENT_LIMIT = 8
AUTOSAVE_NAME = "autosave.unboxed"
LAST_SESSION_NAME = "last.unboxed"  # the session the window closed with, for the next plain start
LAST_FOLDER_KEY = "files/last_folder"  # where the user last picked a file in a dialog
SESSIONS = f"Unboxed sessions (*{SUFFIX})"


def autosave_seconds() -> float:
    """Minutes matter to users, seconds to tests: UNBOXED_AUTOSAVE_SECONDS overrides the default minute."""
    return float(os.environ.get("UNBOXED_AUTOSAVE_SECONDS", "60"))


def autosave_path() -> Path:
    folder = Path(QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation))
    return folder / AUTOSAVE_NAME


def last_session_path() -> Path:
    return autosave_path().with_name(LAST_SESSION_NAME)


def dialog_folder() -> Path:
    """Where a file dialog opens: the folder last used in one, else the documents folder, else home; never
    the program's working directory."""
    last = QSettings().value(LAST_FOLDER_KEY, "")
    if isinstance(last, str) and last and Path(last).is_dir():
        return Path(last)
    documents = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation)
    return Path(documents) if documents and Path(documents).is_dir() else Path.home()


def recent_files() -> list[str]:
    files = QSettings().value("recent_files", []) or []
    return [f for f in ([files] if isinstance(files, str) else files) if Path(f).exists()]


def remember_recent(path: str) -> None:
    files = [str(Path(path).resolve())] + [f for f in recent_files() if f != str(Path(path).resolve())]
    QSettings().setValue("recent_files", files[:RECENT_LIMIT])


def _reason(error: Exception) -> str:
    return error.strerror if isinstance(error, OSError) and error.strerror else str(error)


class SessionFiles(QObject):
    """The window's files. `window` is the main window: its model, training control, views and actions."""

    message = Signal(str)

    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self.model = window.model
        self.path: str | None = None  # the session file the window shows, if any
        self.wrote_autosave = False
        self.autosave_timer = QTimer(self)
        self.autosave_timer.setInterval(int(1000 * autosave_seconds()))
        self.autosave_timer.timeout.connect(self.autosave)
        self.autosave_timer.start()
        self.model.modifiedChanged.connect(self._show_title)

    def _ask(self, title: str, path: str | None, save: bool, default: str, pattern: str) -> str | None:
        """`path`, or one the user picks in a file dialog (None if cancelled)."""
        if path:
            return str(path)
        dialog = QFileDialog.getSaveFileName if save else QFileDialog.getOpenFileName
        chosen, _ = dialog(self.window, title, str(dialog_folder() / default), pattern)
        if not chosen:
            return None
        if save and not Path(chosen).suffix:  # "picture" means picture.png, as the dialog offers
            chosen += Path(default).suffix
        QSettings().setValue(LAST_FOLDER_KEY, str(Path(chosen).absolute().parent))
        return chosen

    def _try(self, title: str, verb: str, path: str, action: Callable[[], object], errors=(OSError,),
             after: str = "") -> bool:  # fmt: skip
        """Runs `action`; an error is shown in a message box that names the file and the reason."""
        try:
            action()
        except errors as error:
            QMessageBox.warning(
                self.window, title, f"Could not {verb} {Path(path).name}: {_reason(error)}{after}"
            )
            return False
        return True

    def _show_title(self, *_args) -> None:
        modified = self.model.modified
        if self.path or modified:
            name = Path(self.path).name if self.path else "untitled"
            self.window.setWindowTitle(f"Unboxed — {name}{' *' if modified else ''}")
        else:
            self.window.setWindowTitle("Unboxed")

    def _saved_as(self, path: str | None) -> None:
        self.path = path
        self.model.set_modified(False)
        self._show_title()
        if path:
            remember_recent(path)

    # --- sessions -----------------------------------------------------------------------------------------
    def open_session(self, path: str | None = None) -> bool:
        """Opens a saved session; a damaged, foreign or newer file changes nothing and says why."""
        path = self._ask("Open session", path, False, "", SESSIONS)
        loaded = []
        if not path or not self._try("Open session", "open", path,
                                     lambda: loaded.append(load_session(path)),
                                     (OSError, SessionError)):  # fmt: skip
            return False
        self.apply_session(loaded[0])
        self._saved_as(path)
        self.message.emit(f"Opened {Path(path).name}: {self.model.samples.n} samples, "
                          f"{self.model.history.latest_epoch} epochs.")  # fmt: skip
        return True

    def apply_session(self, session) -> None:
        """Shows a loaded session: the model's state, then the views' options as saved."""
        self.window.training.stop()
        self.model.apply(session)
        self.window.apply_view(session.view)

    def save_session(self, path: str | None = None) -> bool:
        path = path or self.path
        if not path:
            return self.save_session_as()
        if not self._try("Save session", "save", path, lambda: self.write_session(path),
                         after=". The previous file is unchanged."):  # fmt: skip
            return False
        self._saved_as(path)
        self.message.emit(f"Saved {Path(path).name}.")
        return True

    def save_session_as(self) -> bool:
        path = self._ask("Save session", None, True, f"session{SUFFIX}", SESSIONS)
        if not path:
            return False
        return self.save_session(path if path.endswith(SUFFIX) else path + SUFFIX)  # never over a CSV

    def write_session(self, path) -> None:
        """Writes the session; training (if running) stands still meanwhile, since its state is read."""
        with self.window.training.paused():
            save_session(path, self.model.to_session(self.window.view_state()))

    def autosave(self) -> None:
        """Every minute, unsaved work goes to the application-data folder, for recovery after a crash."""
        if not self.model.modified:
            return
        path = autosave_path()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self.write_session(path)
            self.wrote_autosave = True
        except OSError as error:
            self.message.emit(f"Autosave failed: {_reason(error)}")

    def remember_last_session(self) -> None:
        """On close: the whole session (samples with their network, training and views) for the next plain
        start. If it cannot be written, no older one is left to come back in its place."""
        path = last_session_path()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self.write_session(path)
        except (OSError, ValueError, TypeError):
            with contextlib.suppress(OSError):
                path.unlink(missing_ok=True)

    def restore_last_session(self) -> bool:
        """A plain start shows the session the last window closed with: its samples and network together, or
        (unreadable) neither: the defaults stay, and the status line says why."""
        path = last_session_path()
        if not path.is_file():
            return False
        try:
            session = load_session(path)
            self.apply_session(session)
        except (OSError, SessionError, ValueError) as error:
            self.message.emit(f"Could not restore the last session ({_reason(error)}); started with the "
                              "default samples and network.")  # fmt: skip
            return False
        self._saved_as(None)
        shape = "-".join(str(s) for s in session.spec.layer_sizes)
        self.message.emit(f"Restored the last session: {session.samples.n} samples, network {shape}, "
                          f"{session.history.latest_epoch} epochs.")  # fmt: skip
        return True

    def fill_recent_menu(self, menu) -> None:
        menu.clear()
        for path in recent_files():
            action = menu.addAction(Path(path).name)
            action.setToolTip(path)
            action.triggered.connect(lambda _checked=False, p=path: self.open_session(p))
        menu.setEnabled(True)

    # --- samples ------------------------------------------------------------------------------------------
    def import_csv(self, path: str | None = None) -> bool:
        """Replaces the samples by a CSV file's (undoable); a malformed file changes nothing."""
        path = self._ask("Import samples", path, False, "", "CSV files (*.csv);;All files (*)")
        if not path:
            return False
        dialog = QProgressDialog(f"Reading {Path(path).name}…", "Cancel", 0, 1000, self.window)
        dialog.setWindowTitle("Import CSV")
        dialog.setWindowModality(Qt.WindowModality.WindowModal)
        dialog.setMinimumDuration(300)  # a small file is read before the dialog would show

        def progress(fraction: float) -> bool:
            dialog.setValue(int(1000 * fraction))
            QApplication.processEvents()
            return not dialog.wasCanceled()

        read = []
        try:
            read.append(read_csv(path, progress))
        except CsvCancelled:
            self.message.emit(f"Import of {Path(path).name} cancelled; the samples are as they were.")
            return False
        except (OSError, CsvError) as error:
            QMessageBox.warning(
                self.window, "Import CSV", f"Could not import {Path(path).name}: {_reason(error)}"
            )
            return False
        finally:
            dialog.close()
            dialog.deleteLater()
        self.model.edit_samples(read[0], f"Import {Path(path).name}")
        self.window.canvas.fit_data()
        self.message.emit(f"Imported {read[0].n} samples from {Path(path).name}.")
        return True

    def export_csv(self, path: str | None = None) -> bool:
        path = self._ask("Export samples", path, True, "samples.csv", "CSV files (*.csv)")
        if not path or not self._try(
            "Export CSV", "write", path, lambda: write_csv(self.model.samples, path, inputs=(self.path,))
        ):
            return False
        self.message.emit(f"Wrote {self.model.samples.n} samples to {Path(path).name}.")
        return True

    # --- pictures -----------------------------------------------------------------------------------------
    def export_picture(self, widget, kind: str, path: str | None = None) -> bool:
        """Exports the canvas or the window as a PNG at twice the screen resolution, or as SVG."""
        pattern = "PNG images (*.png)" if kind == "png" else "SVG drawings (*.svg)"
        path = self._ask("Export picture", path, True, f"unboxed.{kind}", pattern)
        if not path:
            return False
        self.window.frames.draw_now()
        if not self._try(
            "Export picture",
            "write",
            path,
            lambda: (export_png if kind == "png" else export_svg)(widget, path),
        ):
            return False
        self.message.emit(f"Wrote {Path(path).name}.")
        return True

    def export_animation(self, path: str | None = None) -> bool:
        """The canvas across the recorded epochs as an animated GIF (at most 300 frames), with progress."""
        path = self._ask("Export animation", path, True, "training.gif", "GIF (*.gif)")
        if not path:
            return False
        if self.window.training.running:
            self.window.training.pause()
        window, done = self.window, []

        def export() -> None:
            done.append(run_animation_export_with_dialog(window, self.model, window.frames.render_frame,
                                                         window.canvas, path))  # fmt: skip

        if not self._try("Export animation", "write", path, export, (OSError, ValueError)):
            return False
        self.message.emit(f"Wrote {Path(path).name}." if done[0] else "Animation export cancelled.")
        return done[0]


# --- the views' options in a session -------------------------------------------------------------------
def view_rect(values) -> Rect:
    """The saved view rectangle, if the canvas can show it (finite, not empty, not wider than 1e300)."""
    xmin, xmax, ymin, ymax = (float(v) for v in values)
    width, height = xmax - xmin, ymax - ymin
    if not all(np.isfinite([xmin, xmax, ymin, ymax, width, height])) or not 0 < max(width, height) < 1e300:
        raise ValueError(f"the view rectangle {values} cannot be shown")
    if min(width, height) <= 0:
        raise ValueError(f"the view rectangle {values} is empty")
    return Rect(xmin, xmax, ymin, ymax)


def speed_position(speed) -> int:
    return position_of_speed(None if speed is None else float(speed))


def influence_options(options: dict, n_hidden: int) -> InfluenceOptions:
    layer = int(options["layer"])
    if not 0 <= layer < n_hidden:
        raise ValueError(f"no hidden layer {layer} to show influence for")
    return InfluenceOptions(layer, bool(options["accumulated"]), bool(options["include_bias"]),
                            bool(options["per_neuron_scale"]))  # fmt: skip


def try_option(action) -> bool:
    """Applies one saved view option; a hand-edited or foreign value is skipped rather than fatal."""
    try:
        action()
    except (KeyError, TypeError, ValueError, IndexError, OverflowError):
        return False
    return True
