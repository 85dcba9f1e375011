"""The class palette: which class a click and the brush add, chosen with keys 1 to 8, the Edit menu or the
toolbar's coloured buttons. The set's classes have a button each, and one more (while there are fewer than
MAX_CLASSES) starts a new class."""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QAction, QActionGroup, QColor, QIcon, QKeySequence, QPainter, QPixmap

from app.core.network import MAX_CLASSES
from app.core.samples import default_class_names
from app.ui.class_colours import class_rgb

ICON_SIZE = 16


def class_icon(label: int) -> QIcon:
    """A dot of the class's colour, outlined dark as the canvas draws its samples."""
    pixmap = QPixmap(ICON_SIZE, ICON_SIZE)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(QColor(25, 25, 25))
    painter.setBrush(QColor(*class_rgb(label)))
    painter.drawEllipse(2, 2, ICON_SIZE - 4, ICON_SIZE - 4)
    painter.end()
    return QIcon(pixmap)


class ClassActions(QObject):
    """MAX_CLASSES checkable actions, one per class, exclusive; `labelChosen` says which one was picked."""

    labelChosen = Signal(int)

    def __init__(self, parent) -> None:
        super().__init__(parent)
        self.group = QActionGroup(parent)
        self.actions: list[QAction] = []
        for label in range(MAX_CLASSES):
            action = QAction(class_icon(label), "", parent, checkable=True)
            action.setShortcut(QKeySequence(str(label + 1)))
            action.triggered.connect(lambda _checked=False, c=label: self.labelChosen.emit(c))
            self.group.addAction(action)
            self.actions.append(action)
        self.actions[0].setChecked(True)
        self.show_classes(default_class_names(2))

    def show_classes(self, names: tuple[str, ...]) -> None:
        """Names the actions after the set's classes; the one after the last starts a new class; the others
        are hidden, and so are their keys."""
        k = len(names)
        for label, action in enumerate(self.actions):
            key = label + 1
            if label < k:
                action.setText(f"Add {names[label]} samples")
                action.setIconText(names[label])
                other = names[1 - label] if k == 2 else names[(label + 1) % k]
                action.setToolTip(f"A click (and the brush) adds {names[label]} samples; a right-click adds "
                                  f"{other} ({key})")  # fmt: skip
            else:
                action.setText(f"Add a new class: class {key}")
                action.setIconText(f"+ class {key}")  # not one yet: a click starts it
                tip = f"Start class {key} ({key}): the network gets {key} outputs and trains anew from new "
                action.setToolTip(tip + "initial weights; Undo brings the old network back")
            action.setVisible(label <= k)

    def check(self, label: int) -> None:
        self.actions[label].setChecked(True)
