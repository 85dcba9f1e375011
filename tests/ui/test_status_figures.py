"""The status bar describes the displayed epoch on the samples now on the canvas (issue #20, item 2): after a
preset load, a clear and a reset it neither repeats the old data's figures nor says "nan"."""

import numpy as np

from app.core.network import bce_loss_and_accuracy
from app.ui.app import train_synchronously
from app.ui.main_window import format_loss


def figures_on_the_samples_shown(window) -> tuple[float, float]:
    model = window.model
    training = model.split()[0]
    return bce_loss_and_accuracy(model.spec, model.displayed_params(), training.points, training.labels)


def test_after_loading_another_preset_the_figures_are_the_new_samples(shown_window):
    window = shown_window()
    train_synchronously(window, 300)
    assert "accuracy 100.0%" in window.epoch_label.text()  # clusters, learnt
    window.load_preset("xor")  # the network trained on clusters stays
    loss, accuracy = figures_on_the_samples_shown(window)
    assert accuracy < 0.9  # the old network does not fit the new samples...
    assert f"accuracy {100 * accuracy:.1f}%" in window.epoch_label.text()  # ...and the status says so
    assert f"loss {format_loss(loss)}" in window.epoch_label.text()
    window.model.undo_stack.undo()  # the samples it was trained on: its recorded figures again
    assert "accuracy 100.0%" in window.epoch_label.text()


def test_a_preset_load_is_a_data_change_that_training_marks(shown_window):
    window = shown_window()
    train_synchronously(window, 20)
    window.load_preset("xor")  # a preset's own version number could equal the samples' before
    train_synchronously(window, 20)
    assert window.model.history.data_changes == [21]


def test_no_samples_says_so_and_never_nan(shown_window):
    window = shown_window()
    train_synchronously(window, 20)
    window.model.edit_samples(window.model.samples.cleared(), "Clear samples")
    assert "no samples" in window.epoch_label.text() and "nan" not in window.epoch_label.text()
    window.training.reset()
    assert "no samples" in window.epoch_label.text() and "nan" not in window.epoch_label.text()
    window.add_sample(0.0, 0.0, 0)
    window.add_sample(1.0, 1.0, 1)
    text = window.epoch_label.text()
    assert "nan" not in text and "loss" in text and "accuracy" in text


def test_small_losses_read_as_numbers_not_zero():
    assert format_loss(3.2e-5) == "3.2e-05"
    assert format_loss(0.6931) == "0.6931" and format_loss(0.0) == "0.0000"
    assert np.isfinite(float(format_loss(1e-300)))
