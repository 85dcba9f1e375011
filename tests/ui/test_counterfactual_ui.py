"""Data > Retrain without the selected samples: the background job, the dashed network on the canvas, the
panel's numbers, and clearing it (by hand, by an edit, by undo); closing mid-job leaves no thread."""

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QFontMetricsF

from app.core.fields import prediction_field
from app.core.geometry import clip_line
from app.core.network import split_params
from app.ui.canvas_key import BOUNDARY, COUNTERFACTUAL, LEFT_OUT, NEURONS, TICK
from app.ui.counterfactual_panel import correlation_words

TIMEOUT_MS = 60_000


def retrain(qtbot, window, indices, start_epoch=0):
    control = window.counterfactual
    window.canvas.view_box.set_selection(indices)
    with qtbot.waitSignal(control.finished, timeout=TIMEOUT_MS):
        assert control.start(start_epoch)
    assert not control.running
    return control


def test_retraining_draws_the_counterfactual_dashed_and_lists_each_neuron(qtbot, shown_window):
    window = shown_window(300)
    control = retrain(qtbot, window, [3, 40, 77])
    result = control.result
    assert result is not None and result.reproduced
    assert result.removed.tolist() == [3, 40, 77] and (result.start_epoch, result.end_epoch) == (0, 300)
    assert "rank correlation" in window.message_label.text()
    overlay = control.overlay
    # The dashed decision boundary is the counterfactual network's, traced on the overlay's grid.
    rect = window.canvas.view_rect()
    expected = prediction_field(window.model.spec, result.params[-1], rect, *overlay.grid).decision_curve()
    x, y = overlay.decision.getData()
    assert len(x) > 10 and overlay.decision.isVisible()
    assert np.array_equal(np.column_stack([x, y]), expected, equal_nan=True)
    assert overlay.decision.opts["pen"].style() == Qt.PenStyle.DashLine
    weights, biases = split_params(window.model.spec, result.params[-1])[0]
    for j, line in enumerate(overlay.lines):
        segment = clip_line(weights[j], biases[j], rect)
        if segment is not None:
            assert line.opts["pen"].style() == Qt.PenStyle.DashLine
            assert np.allclose(np.column_stack(line.getData()), segment, rtol=0, atol=0)
    assert np.array_equal(overlay.removed.getData()[0], window.model.samples.points[[3, 40, 77], 0])
    # The table: a row per hidden neuron, largest actual change first, the numbers of the result.
    panel = control.panel
    actual, predicted = np.concatenate(result.change), np.concatenate(result.predicted)
    order = np.argsort(-actual, kind="stable")
    assert panel.table.rowCount() == sum(window.model.spec.widths)
    for row, k in enumerate(order):
        assert panel.cell(row, 1) == f"{actual[k]:.3g}"
        assert panel.cell(row, 2) == f"{predicted[k]:.3g}"
    assert correlation_words(result.rank_correlation) in panel.summary.text()
    assert control.dock.isVisible()


def test_the_dashed_network_follows_the_displayed_epoch(qtbot, shown_window):
    window = shown_window(200)
    window.model.scrub_to(150)
    control = retrain(qtbot, window, [5, 6], start_epoch=50)
    result = control.result
    assert (result.start_epoch, result.end_epoch) == (50, 150)
    window.model.scrub_to(100)
    assert np.array_equal(control.overlay.params, result.params_at(100))
    assert "epoch 100" in control.panel.note.text()
    window.model.scrub_to(20)  # before the retraining starts: no dashed network, and the panel says why
    assert not control.overlay.decision.isVisible()
    assert "covers epochs 50 to 150" in control.panel.note.text()
    assert control.overlay.removed.isVisible()


def test_the_canvas_key_names_the_dashed_network_while_it_is_shown(qtbot, shown_window):
    window = shown_window(200)
    key = window.canvas.keys.key
    window.frames.draw_now()
    assert key.rows == [BOUNDARY, NEURONS, TICK]
    window.model.scrub_to(150)
    control = retrain(qtbot, window, [5, 6], start_epoch=50)
    window.frames.draw_now()
    assert key.rows == [BOUNDARY, NEURONS, TICK, COUNTERFACTUAL, LEFT_OUT]
    box = key.sceneBoundingRect()  # one more line each, inside the view
    assert box.height() >= 5 * QFontMetricsF(key.font).height()
    assert window.canvas.view_box.sceneBoundingRect().contains(box)
    window.model.scrub_to(20)  # before the retraining starts: only the crosses are drawn
    window.frames.draw_now()
    assert not control.overlay.decision.isVisible() and key.rows[-2:] == [TICK, LEFT_OUT]
    control.panel.clear_button.click()
    window.frames.draw_now()
    assert key.rows == [BOUNDARY, NEURONS, TICK]


def test_clearing_by_hand_by_an_edit_and_by_undo(qtbot, shown_window):
    window = shown_window(0)
    window.add_sample(0.0, 0.0, 0)  # before training: the run trains on these samples from epoch 1
    window.model.train_here(100)
    assert window.model.history.data_changes == [1]
    control = retrain(qtbot, window, [1])
    assert control.result.reproduced
    control.panel.clear_button.click()
    assert control.result is None and not control.overlay.decision.isVisible()
    assert not control.overlay.removed.isVisible()
    retrain(qtbot, window, [1])
    window.model.undo_stack.undo()  # the added sample goes
    assert control.result is None and not control.overlay.decision.isVisible()
    assert "samples changed" in control.panel.intro.text()
    window.model.undo_stack.redo()  # the very samples the run trained on, back: retraining is exact again
    assert retrain(qtbot, window, [2]).result.reproduced
    window.model.new_run()  # a fresh run: the counterfactual goes with the old one
    window.model.train_here(50)
    retrain(qtbot, window, [2])
    window.add_sample(0.3, 0.3, 1)  # an edit of the samples
    assert control.result is None and "samples changed" in control.panel.intro.text()


def test_refusals_are_said_in_the_status_line(qtbot, shown_window):
    window = shown_window(0)
    control = window.counterfactual
    assert not control.start()
    assert "Select the samples" in window.message_label.text()
    window.canvas.view_box.set_selection([1, 2])
    assert not control.start()
    assert "Train first" in window.message_label.text()
    window.model.train_here(20)
    window.add_sample(0.5, 0.5, 1)  # an edit not trained on yet
    assert not control.start()
    assert "edited after the last epoch" in window.message_label.text()
    window.model.train_here(5)  # the samples changed at epoch 21: no retraining reproduces the run
    with qtbot.waitSignal(control.finished, timeout=TIMEOUT_MS):
        assert control.start()
    assert control.result is None and "changed at epoch 21" in window.message_label.text()
    assert "changed at epoch 21" in control.panel.intro.text()


def test_cancel_and_closing_mid_job_leave_no_thread(qtbot, shown_window):
    window = shown_window(3000)
    control = window.counterfactual
    window.canvas.view_box.set_selection([4])
    assert control.start()
    assert control.running and control.panel.progress.isVisible()
    with qtbot.waitSignal(control.finished, timeout=TIMEOUT_MS):
        control.panel.cancel_button.click()
    assert control.result is None and "cancelled" in window.message_label.text()
    assert control.start()
    window.close()  # waits for the job; the conftest fixture fails the test if a thread is left running
    assert not control.job.running and control.result is None


def test_the_data_menu_has_the_actions(shown_window):
    window = shown_window(0)
    data_menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Data")
    texts = [a.text() for a in data_menu.actions()]
    for text in ("Retrain without the selected samples", "Retrain without the selected samples from epoch…",
                 "Clear the counterfactual"):  # fmt: skip
        assert text in texts


def test_after_switching_a_neuron_off_retraining_replays_from_the_edit(qtbot, shown_window):
    window = shown_window(100)
    window.surgery.toggle(0, 2)  # recorded as epoch 101, a fresh start from the edited network
    window.model.train_here(60)
    assert window.model.history.restarts == [101]
    control = retrain(qtbot, window, [3, 40])
    result = control.result
    assert result.reproduced and (result.start_epoch, result.end_epoch) == (101, 161)
    assert np.array_equal(result.reference[0], window.model.history.params_at(101))
    assert "from epoch 101 to 161" in control.panel.intro.text()
    window.model.undo_stack.undo()  # the run before the edit: replayed from epoch 0 again
    assert window.model.history.restarts == []
