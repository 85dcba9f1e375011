"""The confusion matrix under the loss plots (issue 23): shown for more than two classes, at the displayed
epoch, on the training samples; its cells say in words what they count."""

import numpy as np

from app.core.network import confusion_counts


def test_the_confusion_matrix_follows_the_displayed_epoch_for_three_classes_only(qtbot, shown_window):
    window = shown_window()
    assert not window.confusion.isVisible()  # two classes: the window as before
    window.load_preset("blobs3")
    window.model.train_here(200)
    qtbot.waitUntil(lambda: window.confusion.isVisible() and window.confusion.epoch == 200, timeout=5000)
    view, model = window.confusion, window.model
    assert view.names == ("red", "blue", "class 3")
    assert view.counts.sum() == model.samples.n and view.counts.trace() / model.samples.n > 0.95
    model.scrub_to(0)
    qtbot.waitUntil(lambda: view.epoch == 0, timeout=5000)
    samples = model.samples
    expected = confusion_counts(model.spec, model.history.params_at(0), samples.points, samples.labels)
    np.testing.assert_array_equal(view.counts, expected)
    red_total = int(expected[0].sum())
    assert view.describe(0, 1) == (
        f"{expected[0, 1]} of the {red_total} red training samples "
        f"({100 * expected[0, 1] / red_total:.0f}%) are predicted blue."
    )
    centre = view.cell_rect(2, 1).center()
    assert view.cell_at(centre.x(), centre.y()) == (2, 1)
    model.go_live()
    qtbot.waitUntil(lambda: view.epoch == 200, timeout=5000)
    picture = view.grab().toImage()
    ratio = picture.width() / view.width()

    def colour(row, column):  # a corner of the cell, away from its number
        corner = view.cell_rect(row, column).topLeft()
        return picture.pixelColor(int((corner.x() + 3) * ratio), int((corner.y() + 3) * ratio)).getRgb()[:3]

    right = colour(1, 1)
    assert right[1] > 100 > right[0]  # the diagonal: green
    empty = [(r, c) for r in range(3) for c in range(3) if view.counts[r, c] == 0]
    assert empty and all(colour(r, c) == (255, 255, 255) for r, c in empty)  # nothing: white
    window.model.undo_stack.undo()
    qtbot.waitUntil(lambda: not view.isVisible(), timeout=5000)
