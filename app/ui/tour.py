"""Help > Tour of the black box: the article's six pictures (app.core.pictures), one step each, in a window of
its own so that the user's session stays as it is. Each step sets the tour's window up (data, epoch, what
the canvas draws, panels, zoom, the interpretable network), outlines the part it talks about, and says in
two or three sentences what to look at and why it matters. Back, Next and Leave work at any step."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QEventLoop, QObject, QPoint, QRect, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import QApplication, QDialog, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from app.core.dataset import make_preset
from app.core.network import NetworkSpec
from app.core.pictures import (
    ARTICLE_LAYERS,
    ARTICLE_PICTURES,
    ARTICLE_PRESET,
    ARTICLE_SEED,
    EXTRAPOLATION_ZOOM,
    ArticlePicture,
)
from app.core.training import TrainConfig

OWN_WINDOW_NOTE = "The tour runs in a window of its own: your session stays as it is in the other window."
OUTLINE_RGB = (255, 140, 0)
OUTLINE_WIDTH = 4


class Outline(QWidget):
    """An orange frame drawn over part of the window (the part a step talks about); clicks go through."""

    def __init__(self, window: QWidget):
        super().__init__(window)
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.setAttribute(Qt.WidgetAttribute.WA_NoSystemBackground)
        self.target: QWidget | None = None
        window.installEventFilter(self)

    def frame(self, target: QWidget | None) -> None:
        self.target = target
        self.follow()

    def follow(self) -> None:
        window = self.parentWidget()
        if self.target is None or not self.target.isVisible():
            self.hide()
            return
        corner = self.target.mapTo(window, QPoint(0, 0))
        self.setGeometry(QRect(corner, self.target.size()))
        self.show()
        self.raise_()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt's name)
        if event.type() in (QEvent.Type.Resize, QEvent.Type.LayoutRequest):
            self.follow()
        return False

    def paintEvent(self, _event) -> None:  # noqa: N802 (Qt's name)
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QPen(QColor(*OUTLINE_RGB), OUTLINE_WIDTH))
        half = OUTLINE_WIDTH / 2
        painter.drawRoundedRect(self.rect().toRectF().adjusted(half, half, -half, -half), 6, 6)
        painter.end()


class TourGuide(QDialog):
    """The tour's text and its Back / Next / Leave buttons, beside the tour's window."""

    def __init__(self, parent: QWidget):
        super().__init__(parent, Qt.WindowType.Tool)
        self.setWindowTitle("Tour of the black box")
        self.setModal(False)
        self.heading = QLabel()
        font = self.heading.font()
        font.setPointSizeF(font.pointSizeF() * 1.25)
        font.setBold(True)
        self.heading.setFont(font)
        self.text = QLabel()
        self.text.setWordWrap(True)
        self.text.setTextFormat(Qt.TextFormat.PlainText)
        self.note = QLabel(OWN_WINDOW_NOTE)
        self.note.setWordWrap(True)
        self.note.setStyleSheet("color: #555")
        self.back_button = QPushButton("Back")
        self.next_button = QPushButton("Next")
        self.leave_button = QPushButton("Leave the tour")
        self.next_button.setDefault(True)
        buttons = QHBoxLayout()
        buttons.addWidget(self.leave_button)
        buttons.addStretch(1)
        buttons.addWidget(self.back_button)
        buttons.addWidget(self.next_button)
        column = QVBoxLayout(self)
        column.addWidget(self.heading)
        column.addWidget(self.text, 1)
        column.addWidget(self.note)
        column.addLayout(buttons)
        self.setMinimumWidth(420)


class Tour(QObject):
    """The tour: its own main window (of the same kind as `origin`, the user's), its guide and its steps.
    `step` is the shown step, 0 to 5 (picture `step + 1`)."""

    ended = Signal()

    def __init__(self, origin: QWidget):
        super().__init__(origin)
        self.origin = origin
        samples = make_preset(ARTICLE_PRESET, seed=0)
        self.window = type(origin)(samples, NetworkSpec(ARTICLE_LAYERS), TrainConfig(seed=ARTICLE_SEED))
        self.window.set_transient()  # no autosave, no settings or last session remembered from it
        self.window.setWindowTitle("Unboxed: tour of the black box")
        self.window.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)  # closed by Leave, Finish or its own ×
        self.window.destroyed.connect(self._window_gone)
        self.outline = Outline(self.window)
        self.guide = TourGuide(self.window)
        self.guide.back_button.clicked.connect(lambda: self.go(self.step - 1))
        self.guide.next_button.clicked.connect(self._next)
        self.guide.leave_button.clicked.connect(self.leave)
        self.guide.rejected.connect(self.leave)  # Escape or the guide's close button
        self.step = -1

    @property
    def picture(self) -> ArticlePicture:
        return ARTICLE_PICTURES[self.step]

    def start(self) -> None:
        self.window.show()
        self.guide.show()
        self._place_guide()
        self.go(0)

    def _next(self) -> None:
        if self.step == len(ARTICLE_PICTURES) - 1:
            self.leave()
        else:
            self.go(self.step + 1)

    def go(self, step: int) -> None:
        """Shows step `step` (0-based): sets the window up for its picture, outlines the part it is about,
        says what to look at."""
        step = max(0, min(step, len(ARTICLE_PICTURES) - 1))
        self.step = step
        picture = ARTICLE_PICTURES[step]
        target = self._set_up(picture)
        self.window.frames.draw_now()
        self.outline.frame(target)
        self.guide.heading.setText(f"{picture.number} of {len(ARTICLE_PICTURES)}: {picture.title}")
        self.guide.text.setText(picture.caption)
        self.guide.back_button.setEnabled(step > 0)
        last = step == len(ARTICLE_PICTURES) - 1
        self.guide.next_button.setText("Finish" if last else "Next")
        self.window.show_message(f"Tour, step {picture.number} of {len(ARTICLE_PICTURES)}: {picture.title}")

    def _set_up(self, picture: ArticlePicture) -> QWidget:
        """The window as the picture needs it; returns the widget the step is about."""
        window, model = self.window, self.window.model
        window.training.stop()
        if picture.epochs > model.history.latest_epoch:
            QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
            try:
                self._train_to(picture.epochs)
            finally:
                QApplication.restoreOverrideCursor()
        model.scrub_to(picture.epochs)
        for name, action in window.menu_actions.layer_actions.items():
            action.setChecked(name in picture.show)
        window.docks["Influence"].setVisible(picture.view == "influence")
        window.menu_actions.essence_action.setChecked(picture.view == "essence")
        for _ in range(2):  # the panels' new layout first: the canvas frames the data at its final size
            QApplication.sendPostedEvents()
            QApplication.processEvents(QEventLoop.ProcessEventsFlag.ExcludeUserInputEvents)
        if picture.zoom is None:
            window.canvas.fit_data()
        else:
            window.canvas.zoom_about_data(picture.zoom)
        if picture.view == "influence":
            return window.docks["Influence"]
        if picture.view == "essence":
            if window.essence_builder.essence is None:
                window.essence_builder.build()
            window.menu_actions.essence_action.setChecked(True)
            return window.essence_view
        return window.canvas

    def _train_to(self, epoch: int) -> None:
        """Trains the tour's network on to `epoch` in this thread (a second or two, once)."""
        model = self.window.model
        model.train_here(epoch - model.history.latest_epoch)
        self.window.frames.refresh_curves()

    def _place_guide(self) -> None:
        """The guide in the window's bottom right-hand corner, over the network diagram, which the tour does
        not talk about."""
        frame = self.window.frameGeometry()
        self.guide.adjustSize()
        self.guide.move(frame.right() - self.guide.width() - 16, frame.bottom() - self.guide.height() - 48)

    def leave(self) -> None:
        """Ends the tour: its window closes (nothing to save), the user's window comes back to the front."""
        if self.window is None:
            return
        self.guide.hide()
        self.window.model.set_modified(False)
        self.window.close()
        self.origin.raise_()
        self.origin.activateWindow()

    def _window_gone(self) -> None:
        self.window = None
        self.ended.emit()
        self.deleteLater()


def start_tour(origin: QWidget) -> Tour:
    """Help > Tour of the black box, from the user's main window `origin`."""
    tour = Tour(origin)
    tour.start()
    return tour


__all__ = ["EXTRAPOLATION_ZOOM", "OWN_WINDOW_NOTE", "Tour", "TourGuide", "start_tour"]
