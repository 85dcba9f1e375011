"""View > Seeds side by side: K canvases of the same samples and settings from K seeds, each showing its run
at the main timeline's epoch (as that seed's Trainer alone has it); a click makes one the main run (undoable);
closing mid-training leaves no thread; the grid exports as one PNG."""

from dataclasses import replace

import numpy as np
import pytest
from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QImage

from app.core import engine
from app.core.training import Trainer
from app.ui.canvas_key import BOUNDARIES, BOUNDARY, HELD_OUT, NEURON_LINES, PALE, TICK
from app.ui.class_colours import class_rgb
from app.ui.seeds_view import grid_shape

pytestmark = pytest.mark.skipif(not engine.AVAILABLE, reason="the K-run loop needs numba")
EPOCHS = 40


@pytest.fixture
def window(shown_window):
    window = shown_window(EPOCHS)
    window.seeds.open()
    window.seeds.train_now()
    return window


def alone(window, seed: int, epochs: int) -> np.ndarray:
    """The parameters after `epochs` of that seed's run trained alone (epoch 0: its initial ones)."""
    model = window.model
    trainer = Trainer(model.spec, replace(model.config, seed=seed))
    return trainer.params if epochs == 0 else trainer.run(model.samples, epochs)[0][-1]


def test_each_canvas_shows_its_seeds_run_at_the_displayed_epoch(window):
    view = window.seeds.view
    assert len(view.canvases) == 4 and window.seeds.runs.seeds == (0, 1, 2, 3)
    assert window.seeds.runs.epoch == EPOCHS
    window.frames.draw_now()
    for canvas, seed in zip(view.canvases, (0, 1, 2, 3), strict=True):
        assert np.array_equal(canvas.params, alone(window, seed, EPOCHS))
        assert canvas.frames_drawn > 0
    assert "seed 0</b> (main run)" in view.tiles[0].title.text() and "accuracy" in view.tiles[1].title.text()
    assert np.array_equal(view.canvases[0].params, window.model.displayed_params())  # seed 0 is the main run


def test_scrubbing_moves_them_all(window):
    window.model.scrub_to(12)
    window.frames.draw_now()
    for canvas, seed in zip(window.seeds.view.canvases, (0, 1, 2, 3), strict=True):
        assert np.array_equal(canvas.params, alone(window, seed, 12))


def test_the_number_of_seeds_and_the_layout(window):
    assert [grid_shape(k) for k in (2, 3, 4, 5, 9)] == [(1, 2), (1, 3), (2, 2), (2, 3), (3, 3)]
    window.seeds.view.count_box.setValue(6)
    window.seeds.train_now()
    assert window.seeds.runs.seeds == (0, 1, 2, 3, 4, 5) and len(window.seeds.view.canvases) == 6
    window.frames.draw_now()
    assert np.array_equal(window.seeds.view.canvases[5].params, alone(window, 5, EPOCHS))


def test_clicking_one_makes_it_the_main_run_and_undo_brings_the_old_back(qtbot, window):
    before = window.model.displayed_params()
    canvas = window.seeds.view.canvases[2]
    qtbot.mouseClick(canvas.viewport(), Qt.MouseButton.LeftButton, pos=canvas.viewport().rect().center())
    model = window.model
    assert model.config.seed == 2 and model.history.latest_epoch == EPOCHS
    assert np.array_equal(model.history.params_at(EPOCHS), window.seeds.runs.histories[2].params_at(EPOCHS))
    assert np.array_equal(model.history.params_at(7), alone(window, 2, 7))
    assert window.controls.seed_box.value() == 2
    assert window.seeds.runs.seeds == (0, 1, 2, 3)  # the same runs: only the main one moved
    assert "seed 2</b> (main run)" in window.seeds.view.tiles[2].title.text()
    model.train_here(5)  # the main run trains on from there, as seed 2 alone would
    assert np.array_equal(model.history.params_at(EPOCHS + 5), alone(window, 2, EPOCHS + 5))
    model.undo_stack.undo()
    assert model.config.seed == 0 and np.array_equal(model.history.params_at(EPOCHS), before)


def test_edits_restart_the_runs(window):
    runs = window.seeds.runs
    window.add_sample(0.5, 0.5, 0)
    assert window.seeds.runs is not runs and window.seeds.runs.samples is window.model.samples
    window.seeds.train_now()
    window.frames.draw_now()
    # The side runs train on today's samples from epoch 0; the main run changed samples at epoch 40.
    trainer = Trainer(window.model.spec, replace(window.model.config, seed=1))
    expected = trainer.run(window.model.samples, EPOCHS)[0][-1]
    assert np.array_equal(window.seeds.view.canvases[1].params, expected)


def test_closing_mid_training_leaves_no_thread(qtbot, shown_window):
    window = shown_window(3000)
    window.seeds.open()
    qtbot.waitUntil(lambda: window.seeds.running, timeout=5000)
    window.seeds.view.close()
    assert not window.seeds.running and window.seeds.runs is None
    window.seeds.open()
    qtbot.waitUntil(lambda: window.seeds.running, timeout=5000)
    window.close()  # the fixture's no-thread check fails the test if a thread is left


def test_editing_the_test_fraction_while_they_train_restarts_them(qtbot, shown_window):
    """Waiting for the chunk under way delivered the edit's queued check, which started a job on new runs;
    that job was then dropped with its thread still running, and the app aborted."""
    window = shown_window(3000)
    window.seeds.open()
    qtbot.waitUntil(lambda: window.seeds.running, timeout=5000)
    window.controls.test_fraction_box.setValue(0.25)
    assert all(config.test_fraction == 0.25 for config in window.seeds.runs.configs)
    assert window.seeds.view.key.key.rows[-1] == HELD_OUT
    qtbot.waitUntil(lambda: window.seeds.runs.epoch > 0, timeout=10_000)  # the new runs train
    window.seeds.view.close()  # the fixture's no-thread check fails the test if a thread is left


def test_export_writes_a_png_of_the_grid(window, tmp_path):
    path = tmp_path / "seeds.png"
    assert window.seeds.export(str(path))
    image = QImage(str(path))
    grid = window.seeds.view.grid
    assert image.width() == 2 * grid.width() and image.height() == 2 * grid.height()


def _global_rect(widget) -> QRect:
    return QRect(widget.mapToGlobal(widget.rect().topLeft()), widget.size())


def test_one_key_beside_the_caption_explains_every_canvas(window):
    view = window.seeds.view
    key = view.key.key
    assert view.key.isVisible() and key.colour_bar  # two classes: P(blue) explains the background
    assert key.rows == ["red", "blue", BOUNDARY, NEURON_LINES, TICK]  # no tags here: "a colour each"
    assert key.swatches == {"red": class_rgb(0), "blue": class_rgb(1)}
    assert "The key says" in view.caption.text() and "Background:" not in view.caption.text()
    box = _global_rect(view.key)
    assert box.size() == key.boundingRect().size().toSize()  # the whole key, every row's text inside
    assert _global_rect(view.grid).contains(box)  # in the exported picture
    assert not any(box.intersects(_global_rect(tile)) for tile in view.tiles)
    assert not box.intersects(_global_rect(view.caption))
    window.controls.test_fraction_box.setValue(0.25)  # held-out samples: hollow on every canvas
    window.seeds.train_now()
    assert window.seeds.view.key.key.rows[-1] == HELD_OUT


def test_the_key_names_more_than_two_classes(qtbot, window):
    window.load_preset("spirals3")
    window.seeds.train_now()
    key = window.seeds.view.key.key
    names = list(window.model.samples.class_names)
    assert len(names) == 3 and not key.colour_bar
    assert key.rows == [*names, PALE, BOUNDARIES, NEURON_LINES, TICK]
    assert key.swatches == {name: class_rgb(k) for k, name in enumerate(names)}


def test_a_failing_chunk_says_so_and_leaves_no_thread(qtbot, shown_window, monkeypatch):
    from app.core.seed_runs import SeedRuns

    def broken(self, n_epochs):
        raise MemoryError("no room for the runs")

    monkeypatch.setattr(SeedRuns, "train", broken)
    window = shown_window(200)
    with qtbot.waitSignal(window.seeds.message, timeout=10_000) as said:
        window.seeds.open()
    assert said.args == ["Seeds side by side stopped: MemoryError: no room for the runs"]
    assert not window.seeds.running and window.seeds.view.progress.text() == ""


def test_every_epoch_a_chunk_trained_is_recorded_whatever_drops_it(qtbot, shown_window):
    """A chunk's epochs move its runs' trainers on, so they are recorded even when the chunk is dropped
    (the view closed, the settings edited meanwhile); before, a dropped chunk left the trainers ahead of
    their histories and the next chunk failed ("epoch 13 does not follow epoch 8")."""
    window = shown_window(2000)
    for rate in (0.01, 0.02, 0.03):
        window.seeds.open()
        qtbot.waitUntil(lambda: window.seeds.running, timeout=5000)
        runs = window.seeds.runs
        window.controls.learning_rate_box.setValue(rate)  # a queued check: new runs
        window.seeds.view.close()  # drops the job under way
        for history, trainer in zip(runs.histories, runs.trainers, strict=True):
            assert history.latest_epoch == trainer.epoch
        assert not window.seeds.running
