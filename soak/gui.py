"""Random GUI sessions: a hypothesis state machine drives the real main window (offscreen) with random user
actions, through the same widgets and window methods the gestures use, and checks after every step that
  - no exception reached the event loop (sys.excepthook is replaced by one that records it),
  - the displayed epoch exists in the history,
  - the canvas shows exactly the model's samples,
  - every drawn first-layer boundary belongs to the displayed epoch's parameters."""

from __future__ import annotations

import sys
import tempfile
import traceback
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from soak.common import dialogs_answer_at_once, pump

SEQUENCES = {True: 50, False: 1000}  # quick, full
STEPS = {True: 10, False: 32}  # actions per sequence: the quick run keeps to a minute on two cores
TRAIN_MS = 40  # how long one "train" action lets the event loop run
SOAK_SHARP_SECONDS = 0.003
SHARP_EVERY = 4
MAX_BUILDS = 2  # interpretable-network builds per sequence (each takes a fifth of a second)

coordinates = st.floats(-4.0, 4.0, allow_nan=False)
fractions = st.floats(0.0, 1.0, allow_nan=False)


class Counters:
    sequences = 0
    steps = 0
    errors: list[str] = []  # exceptions that reached the event loop in the current sequence
    seen: list[str] = []  # every failure of the run, for the report


class Shared:
    """One main window for every sequence (building one takes most of a second): each sequence starts by
    opening the window's own first state again, as File > Open would, with the panels as they were."""

    window = None
    start = None
    docks: dict[str, bool] = {}

    @classmethod
    def fresh_window(cls):
        from app.ui.main_window import MainWindow
        from app.ui.session_files import apply_session, window_session

        if cls.window is None:
            cls.window = MainWindow()
            cls.window.resize(760, 520)
            cls.window.show()
            cls.window.display_timer.stop()
            cls.start = window_session(cls.window)
            cls.docks = {name: dock.isVisible() for name, dock in cls.window.docks.items()}
            return cls.window
        window = cls.window
        window.training.stop()
        window.timeline.stop_playing()
        window.essence_action.setChecked(False)
        for name, visible in cls.docks.items():
            window.docks[name].setVisible(visible)
        apply_session(window, cls.start)
        window.set_regions_fill("patterns")
        window.modified = False
        return window

    @classmethod
    def close(cls):
        if cls.window is not None:
            cls.window.training.stop()
            cls.window.modified = False
            cls.window.close()
            cls.window = None
            pump(0)


class GuiSession(RuleBasedStateMachine):
    """One user session."""

    def __init__(self) -> None:
        super().__init__()
        Counters.sequences += 1
        Counters.errors = []
        self.folder = tempfile.TemporaryDirectory(prefix="unboxed-soak-")
        self.window = Shared.fresh_window()
        self.builds = 0
        pump(0)

    # --- samples -----------------------------------------------------------------------------------------
    @rule(x=coordinates, y=coordinates, label=st.integers(0, 1))
    def add_sample(self, x, y, label):
        self.window.add_sample(x, y, label)

    @rule(which=fractions, dx=coordinates, dy=coordinates)
    def move_sample(self, which, dx, dy):
        samples = self.window.samples
        if samples.n:
            i = min(int(which * samples.n), samples.n - 1)
            self.window.edit_samples(samples.shifted_samples([i], dx, dy), "Move sample")

    @rule(which=fractions)
    def delete_sample(self, which):
        samples = self.window.samples
        if samples.n:
            self.window.edit_samples(
                samples.without_sample(min(int(which * samples.n), samples.n - 1)), "Delete"
            )

    @rule()
    def undo(self):
        self.window.undo_stack.undo()

    @rule()
    def redo(self):
        self.window.undo_stack.redo()

    @rule(name=st.sampled_from(["clusters", "xor", "circles", "moons", "spirals", "blobs"]))
    def load_preset(self, name):
        self.window.load_preset(name)

    @rule(points=st.lists(st.tuples(coordinates, coordinates, st.integers(0, 1)), min_size=0, max_size=30))
    def import_csv(self, points):
        path = Path(self.folder.name) / "samples.csv"
        path.write_text("x,y,label\n" + "".join(f"{x!r},{y!r},{label}\n" for x, y, label in points))
        self.window.import_csv(str(path))

    # --- training ----------------------------------------------------------------------------------------
    @rule()
    def train(self):
        self.window.controls.train_button.click() if not self.window.is_training else None
        pump(TRAIN_MS)

    @rule()
    def pause(self):
        if self.window.is_training:
            self.window.controls.train_button.click()

    @rule()
    def reset(self):
        self.window.controls.reset_button.click()

    @rule(widths=st.lists(st.integers(1, 12), min_size=1, max_size=4))
    def change_architecture(self, widths):
        self.window.controls.layers_edit.setText(",".join(map(str, widths)))
        self.window.controls.layers_edit.editingFinished.emit()

    @rule(index=st.integers(0, 3))
    def change_activation(self, index):
        self.window.controls.activation_box.setCurrentIndex(index)

    @rule(index=st.integers(0, 1))
    def change_optimizer(self, index):
        self.window.controls.optimizer_box.setCurrentIndex(index)

    @rule(rate=st.sampled_from([1e-5, 0.003, 0.03, 0.3, 3.0, 1e3, 1e6]))
    def change_learning_rate(self, rate):
        self.window.controls.learning_rate_box.setValue(rate)

    # --- looking -----------------------------------------------------------------------------------------
    @rule(where=fractions)
    def scrub(self, where):
        self.window.scrub_to(int(where * self.window.history.latest_epoch))

    @rule()
    def play(self):
        self.window.timeline.play_button.setChecked(True)
        pump(TRAIN_MS)
        self.window.timeline.stop_playing()

    @rule()
    def go_live(self):
        self.window.timeline.go_live()

    @rule(factor=st.sampled_from([0.01, 0.5, 2.0, 10.0, 1000.0]))
    def zoom(self, factor):
        self.window.canvas.zoom(factor)

    @rule(dx=coordinates, dy=coordinates)
    def pan(self, dx, dy):
        from app.core.geometry import Rect

        r = self.window.canvas.view_rect()
        self.window.canvas.set_view_rect(Rect(r.xmin + dx * r.width, r.xmax + dx * r.width,
                                              r.ymin + dy * r.height, r.ymax + dy * r.height))  # fmt: skip

    @rule()
    def toggle_regions(self):
        self.window.regions_action.trigger()

    @rule(which=fractions)
    def toggle_layer_curves(self, which):
        boxes = self.window.controls.layer_boxes
        if boxes:
            box = boxes[min(int(which * len(boxes)), len(boxes) - 1)]
            box.setChecked(not box.isChecked())

    @rule(name=st.sampled_from(["Influence", "Network", "Extrapolation"]))
    def toggle_panel(self, name):
        dock = self.window.docks[name]
        dock.setVisible(not dock.isVisible())

    @rule(layer=fractions, neuron=fractions)
    def select_neuron(self, layer, neuron):
        widths = self.window.spec.widths
        k = min(int(layer * len(widths)), len(widths) - 1)
        self.window.select_neuron(k, min(int(neuron * widths[k]), widths[k] - 1))

    @precondition(lambda self: self.builds < MAX_BUILDS)
    @rule()
    def build_interpretable_network(self):
        self.builds += 1
        self.window.build_essence()

    @rule()
    def save_and_open(self):
        path = str(Path(self.folder.name) / "session.unboxed")
        if self.window.save_session(path):
            self.window.open_session(path)

    # --- what must hold after every step -------------------------------------------------------------------
    @invariant()
    def nothing_escaped_to_the_event_loop(self):
        Counters.steps += 1
        # What the display timer does (it is stopped in the soak, so that each step draws once): a quick
        # frame, and every SHARP_EVERY steps the sharp one with every side view.
        self.window.render_frame(preview=Counters.steps % SHARP_EVERY != 0)
        pump(0)
        if Counters.errors:
            Counters.seen.append(Counters.errors[0])
        assert not Counters.errors, Counters.errors[0]

    @invariant()
    def displayed_epoch_exists(self):
        window = self.window
        assert 0 <= window.displayed_epoch <= window.history.latest_epoch

    @invariant()
    def canvas_shows_the_models_samples(self):
        canvas = self.window.canvas
        items = (*canvas.sample_dots, *canvas.held_out_dots)
        drawn = np.vstack(
            [np.column_stack(item.getData()) for item in items if len(item.data)] or [np.empty((0, 2))]
        )
        expected = self.window.samples.points
        assert len(drawn) == len(expected)
        assert np.array_equal(np.sort(drawn, axis=0), np.sort(expected, axis=0))

    @invariant()
    def boundaries_match_the_displayed_epoch(self):
        from app.core.network import split_params

        window = self.window
        window.canvas.refresh(preview=True)
        params = window.history.params_at(window.displayed_epoch)
        assert np.array_equal(window.canvas.params, params)
        weights, biases = split_params(window.spec, params)[0]
        assert len(window.canvas.neuron_lines) == len(biases)
        for j, line in enumerate(window.canvas.neuron_lines):
            xs, ys = line.getData()
            if xs is None or len(xs) < 2:
                continue
            ends = np.column_stack([xs[:2], ys[:2]])  # the line's two ends (the tick follows)
            scale = np.abs(weights[j]).sum() * np.abs(ends).max() + abs(biases[j]) + 1e-300
            assert np.all(np.abs(ends @ weights[j] + biases[j]) <= 1e-9 * scale)

    def teardown(self) -> None:
        self.window.training.stop()
        self.window.timeline.stop_playing()
        pump(0)
        self.folder.cleanup()


def run(quick: bool) -> dict:
    import app.ui.canvas
    from app.ui.app import make_application

    make_application()
    Counters.sequences, Counters.steps, Counters.errors, Counters.seen = 0, 0, [], []
    # The sharp picture's time budget, cut for the soak: the same code draws, on a coarser grid, so that a
    # step costs milliseconds rather than the 30 ms a person's screen gets.
    saved_budget, app.ui.canvas.SHARP_SECONDS = app.ui.canvas.SHARP_SECONDS, SOAK_SHARP_SECONDS
    saved_hook = sys.excepthook
    sys.excepthook = lambda kind, value, tb: Counters.errors.append(
        " | ".join(traceback.format_exception(kind, value, tb)[-3:]).replace("\n", " ")
    )
    failures = []
    try:
        with dialogs_answer_at_once():
            run_state_machine_as_test(GuiSession, settings=settings(
                max_examples=SEQUENCES[quick], stateful_step_count=STEPS[quick], deadline=None, database=None,
                suppress_health_check=list(HealthCheck), phases=[Phase.generate, Phase.shrink],
            ))  # fmt: skip
    except Exception as error:  # noqa: BLE001 - the failing sequence is the report
        notes = "\n".join(getattr(error, "__notes__", []))
        failures.append(f"{type(error).__name__}: {error}".splitlines()[0] + (f"\n{notes}" if notes else ""))
        failures += [f"exception in the event loop: {text}" for text in dict.fromkeys(Counters.seen)]
    finally:
        app.ui.canvas.SHARP_SECONDS = saved_budget
        Shared.close()
        sys.excepthook = saved_hook
    return {"gui_sequences": Counters.sequences, "gui_steps": Counters.steps, "gui_failures": len(failures),
            "failures": failures}  # fmt: skip
