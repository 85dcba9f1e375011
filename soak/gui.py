"""Random GUI sessions: a hypothesis state machine drives the real main window (offscreen) with random user
actions, through the same widgets and window methods the gestures use, and checks after every step that
  - no exception reached the event loop (sys.excepthook is replaced by one that records it),
  - the displayed epoch exists in the history,
  - the canvas shows exactly the model's samples,
  - every drawn first-layer boundary belongs to the displayed epoch's parameters,
  - no step (an action and its drawing) froze the window for FREEZE_SECONDS.
The sequences run in WORKERS processes side by side (python -m soak.gui is one worker)."""

from __future__ import annotations

import faulthandler
import json
import math
import os
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from soak.common import dialogs_answer_at_once, event_loop_exceptions, pump

SEQUENCES = {True: 50, False: 1000}  # quick, full
STEPS = {True: 20, False: 32}  # actions per sequence (quick: 30 took over a minute on 2 cores)
WORKERS = 2  # processes running sequences side by side, each with its own window (at most one per core)
TRAIN_MS = 40  # how long one "train" action lets the event loop run
ROOT = Path(__file__).resolve().parents[1]
SOAK_SHARP_SECONDS = 0.003
SHARP_EVERY = 4
FREEZE_SECONDS = 10.0  # a step (action and drawing) that takes longer fails the sequence
HANG_SECONDS = 60.0  # a step still running then: the worker prints every thread's stack and ends
WORKER_SECONDS = {True: 240, False: 4 * 3600}  # a worker still running then is stopped and counted failed
MAX_BUILDS = 1  # interpretable-network builds per sequence (each takes 0.1 to 0.7 s, drawing included)
WORKER_BUILDS = {True: 4, False: 10**9}  # and per worker: in the quick run they took a sixth of the time
MAX_AXIS_TICKS = 2000  # more on one axis fails the step (a few dozen is normal)
TOP_UP_ROUNDS = 10  # hypothesis runs until the full-length sequences are counted (3 left a full run at 996)

coordinates = st.floats(-4.0, 4.0, allow_nan=False)
fractions = st.floats(0.0, 1.0, allow_nan=False)


class Counters:
    length = 0  # the actions a sequence is asked for
    sequences = 0  # sequences of that many actions
    short = 0  # sequences hypothesis ended sooner
    rounds = 0  # runs of hypothesis it took to count them
    steps = 0
    builds = 0  # interpretable networks built
    max_builds = 0
    class_counts: set[int] = set()  # the numbers of classes the steps saw
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

        if cls.window is None:
            cls.window = MainWindow()
            cls.window.resize(640, 440)
            cls.window.show()
            cls.window.frames.stop()
            cls.start = cls.window.model.to_session(cls.window.view_state())
            cls.docks = {name: dock.isVisible() for name, dock in cls.window.docks.items()}
            return cls.window
        window = cls.window
        window.training.stop()
        window.timeline.stop_playing()
        window.counterfactual.clear()
        window.seeds.view.close()
        window.menu_actions.essence_action.setChecked(False)
        for name, visible in cls.docks.items():
            window.docks[name].setVisible(visible)
        window.files.apply_session(cls.start)
        window.set_regions_fill("none")  # the default
        window.model.set_modified(False)
        return window

    @classmethod
    def close(cls):
        if cls.window is not None:
            cls.window.training.stop()
            cls.window.model.set_modified(False)
            cls.window.close()
            cls.window = None
            pump(0)


class GuiSession(RuleBasedStateMachine):
    """One user session."""

    def __init__(self) -> None:
        super().__init__()
        Counters.errors.clear()
        self.folder = tempfile.TemporaryDirectory(prefix="unboxed-soak-")
        self.window = Shared.fresh_window()
        self.builds = 0
        self.steps_before = Counters.steps
        self.step_started = time.perf_counter()
        pump(0)

    # --- samples -----------------------------------------------------------------------------------------
    @initialize(classes=st.integers(2, 8))
    def start_with_classes(self, classes):
        """A sequence starts on the window's first samples (two classes) or on blobs of 3 to 8 classes."""
        if classes > 2:
            from app.core.presets import blobs_of_classes

            self.window.model.edit_samples(blobs_of_classes(classes), f"{classes} blobs")

    # Labels 0 to 7: a sample of a new class gives the network another output (issue 23); the data of a
    # sequence ends with 2 to 8 classes.
    @rule(x=coordinates, y=coordinates, label=st.one_of(st.integers(0, 1), st.integers(0, 7)))
    def add_sample(self, x, y, label):
        self.window.add_sample(x, y, label)

    @rule(which=fractions, dx=coordinates, dy=coordinates)
    def move_sample(self, which, dx, dy):
        samples = self.window.model.samples
        if samples.n:
            i = min(int(which * samples.n), samples.n - 1)
            self.window.model.edit_samples(samples.shifted_samples([i], dx, dy), "Move sample")

    @rule(which=fractions)
    def delete_sample(self, which):
        samples = self.window.model.samples
        if samples.n:
            self.window.model.edit_samples(
                samples.without_sample(min(int(which * samples.n), samples.n - 1)), "Delete"
            )

    @rule()
    def undo(self):
        self.window.model.undo_stack.undo()

    @rule()
    def redo(self):
        self.window.model.undo_stack.redo()

    @rule(name=st.sampled_from(["clusters", "xor", "circles", "moons", "spirals", "blobs", "blobs3", "blobs5",
                                "spirals3", "wedges6"]))  # fmt: skip
    def load_preset(self, name):
        self.window.load_preset(name)

    @rule(points=st.lists(st.tuples(coordinates, coordinates, st.integers(0, 7)), min_size=0, max_size=12))
    def import_csv(self, points):
        path = Path(self.folder.name) / "samples.csv"
        path.write_text("x,y,label\n" + "".join(f"{x!r},{y!r},{label}\n" for x, y, label in points))
        self.window.files.import_csv(str(path))

    # --- training ----------------------------------------------------------------------------------------
    @rule()
    def train(self):
        self.window.controls.train_button.click() if not self.window.training.running else None
        pump(TRAIN_MS)

    @rule()
    def pause(self):
        if self.window.training.running:
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
        self.window.model.scrub_to(int(where * self.window.model.history.latest_epoch))

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
        self.window.menu_actions.regions_action.trigger()

    @rule(which=fractions)
    def toggle_layer_curves(self, which):
        boxes = self.window.controls.layer_boxes
        if boxes:
            box = boxes[min(int(which * len(boxes)), len(boxes) - 1)]
            box.setChecked(not box.isChecked())

    @rule(name=st.sampled_from(["Influence", "Network", "Extrapolation", "Hidden space"]))
    def toggle_panel(self, name):
        dock = self.window.docks[name]
        dock.setVisible(not dock.isVisible())

    @rule(layer=fractions, neuron=fractions)
    def select_neuron(self, layer, neuron):
        widths = self.window.model.spec.widths
        k = min(int(layer * len(widths)), len(widths) - 1)
        self.window.model.toggle_neuron(k, min(int(neuron * widths[k]), widths[k] - 1))

    # --- surgery, what-ifs, other seeds (issues 25, 26) -----------------------------------------------------
    @rule(layer=fractions, neuron=fractions)
    def switch_neuron_off_or_on(self, layer, neuron):
        """As the neuron's menu: the run branches at the displayed epoch, training goes on from the edit."""
        widths = self.window.model.spec.widths
        k = min(int(layer * len(widths)), len(widths) - 1)
        self.window.surgery.toggle(k, min(int(neuron * widths[k]), widths[k] - 1))

    @rule(which=st.lists(fractions, min_size=1, max_size=4))
    def retrain_without_samples(self, which):
        """As Data > Retrain without the selected samples: in the background (the next steps run meanwhile),
        or refused with a message (nothing trained, all held out, the samples edited since...)."""
        n = self.window.model.samples.n
        chosen = sorted({min(int(f * n), n - 1) for f in which}) if n else []
        self.window.canvas.view_box.set_selection(chosen)
        self.window.counterfactual.start()

    @rule()
    def seeds_side_by_side(self):
        """View > Seeds side by side, or closing it: its runs train in the background beside the main run and
        follow its samples and settings (a settings edit while they trained once aborted the app)."""
        seeds = self.window.seeds
        if seeds.view.isVisible():
            seeds.view.close()
        else:
            seeds.open()

    @precondition(lambda self: self.builds < MAX_BUILDS)
    @rule()
    def build_interpretable_network(self):
        self.builds += 1
        if Counters.builds >= Counters.max_builds:  # a no-op: a precondition on this would confuse hypothesis
            return
        Counters.builds += 1
        # As Model > Build: the next steps run while it builds.
        self.window.essence_builder.build_in_background()

    @rule()
    def save_and_open(self):
        path = str(Path(self.folder.name) / "session.unboxed")
        if self.window.files.save_session(path):
            self.window.files.open_session(path)

    # --- what must hold after every step -------------------------------------------------------------------
    @invariant()
    def after_every_step(self):
        """Draws the step as the display would, then checks what must hold, in this order."""
        Counters.steps += 1
        Counters.class_counts.add(self.window.model.samples.classes)
        # What the display timer does (it is stopped in the soak, so that each step draws once): a quick
        # frame, and every SHARP_EVERY steps the sharp one with every side view.
        self.window.frames.render_frame(preview=Counters.steps % SHARP_EVERY != 0)
        pump(0)
        self.window.canvas.refresh(preview=True)  # what a message handled just now (training ended) changed
        self.nothing_escaped_to_the_event_loop()
        self.displayed_epoch_exists()
        self.network_has_an_output_per_class()
        self.canvas_shows_the_models_samples()
        self.boundaries_match_the_displayed_epoch()
        self.seed_runs_record_what_they_trained()
        self.nothing_froze()

    def nothing_escaped_to_the_event_loop(self):
        if Counters.errors:
            Counters.seen.append(Counters.errors[0])
        assert not Counters.errors, Counters.errors[0]

    def displayed_epoch_exists(self):
        window = self.window
        assert 0 <= window.model.displayed_epoch <= window.model.history.latest_epoch

    def network_has_an_output_per_class(self):
        model = self.window.model
        assert model.spec.classes == model.samples.classes == model.trainer.spec.classes
        assert model.history.params_at(model.displayed_epoch).shape == (model.spec.n_params,)

    def canvas_shows_the_models_samples(self):
        canvas = self.window.canvas
        items = (*canvas.sample_dots, *canvas.held_out_dots)
        drawn = np.vstack(
            [np.column_stack(item.getData()) for item in items if len(item.data)] or [np.empty((0, 2))]
        )
        expected = self.window.model.samples.points
        assert len(drawn) == len(expected)
        assert np.array_equal(np.sort(drawn, axis=0), np.sort(expected, axis=0))

    def boundaries_match_the_displayed_epoch(self):
        from app.core.network import split_params

        window = self.window
        params = window.model.history.params_at(window.model.displayed_epoch)
        assert np.array_equal(window.canvas.params, params)
        weights, biases = split_params(window.model.spec, params)[0]
        assert len(window.canvas.neuron_lines) == len(biases)
        for j, line in enumerate(window.canvas.neuron_lines):
            xs, ys = line.getData()
            if xs is None or len(xs) < 2:
                continue
            ends = np.column_stack([xs[:2], ys[:2]])  # the line's two ends (the tick follows)
            scale = np.abs(weights[j]).sum() * np.abs(ends).max() + abs(biases[j]) + 1e-300
            assert np.all(np.abs(ends @ weights[j] + biases[j]) <= 1e-9 * scale)

    def seed_runs_record_what_they_trained(self):
        """Seeds side by side: no chunk of epochs was trained and then lost (a job dropped meanwhile)."""
        seeds = self.window.seeds
        if seeds.runs is not None and not seeds.running:
            for history, trainer in zip(seeds.runs.histories, seeds.runs.trainers, strict=True):
                assert history.latest_epoch == trainer.epoch, (history.latest_epoch, trainer.epoch)

    def nothing_froze(self):
        """The time since the last check is the whole step: the action and its drawing."""
        took, self.step_started = time.perf_counter() - self.step_started, time.perf_counter()
        # A step that never ends (one froze in an endless relayout inside a single processEvents call) is
        # stopped and shows where it is, rather than holding the run for hours.
        faulthandler.dump_traceback_later(HANG_SECONDS, exit=True)
        assert took < FREEZE_SECONDS, f"the window froze: one step took {took:.1f} s"

    def teardown(self) -> None:
        actions = Counters.steps - self.steps_before - 1  # the checks also ran after start_with_classes
        if actions >= Counters.length:
            Counters.sequences += 1
        else:  # hypothesis ran out of its data budget (long CSV imports) or shrinks a failure
            Counters.short += 1
        self.window.training.stop()
        self.window.timeline.stop_playing()
        if self.window.essence_builder.job is not None:
            self.window.essence_builder.job.wait()
        pump(0)
        self.folder.cleanup()
        faulthandler.cancel_dump_traceback_later()  # hypothesis's own work between sequences is not a step


def run(quick: bool) -> dict:
    return start(quick)()


def start(quick: bool) -> Callable[[], dict]:
    """Starts the sequences in WORKERS processes (fewer on fewer cores) and returns at once; the returned
    function waits for them and sums their counts."""
    workers = max(1, min(WORKERS, os.cpu_count() or 1))
    share = math.ceil(SEQUENCES[quick] / workers)
    sandbox = tempfile.mkdtemp(prefix="unboxed-soak-gui-")
    processes = []
    for k in range(workers):
        env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_CONFIG_HOME": f"{sandbox}/{k}/config",
               "XDG_DATA_HOME": f"{sandbox}/{k}/data"}  # fmt: skip
        command = [sys.executable, "-m", "soak.gui", str(share), str(STEPS[quick]), str(int(not quick))]
        processes.append(subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                          stderr=subprocess.PIPE, text=True))  # fmt: skip

    def finish() -> dict:
        total = {"gui_sequences": 0, "gui_actions_per_sequence": STEPS[quick], "gui_short_sequences": 0,
                 "gui_steps": 0, "gui_rounds": 0, "gui_failures": 0, "failures": [],
                 "gui_class_counts": []}  # fmt: skip
        deadline = time.perf_counter() + WORKER_SECONDS[quick]
        for k, process in enumerate(processes):
            try:
                out, err = process.communicate(timeout=max(1.0, deadline - time.perf_counter()))
            except subprocess.TimeoutExpired:
                process.send_signal(signal.SIGUSR1)  # the worker prints where it is (faulthandler)
                time.sleep(1.0)
                process.kill()
                out, err = process.communicate()
                err = f"still running after {WORKER_SECONDS[quick]} s, stopped; {err}"
            try:
                counts = json.loads(out.strip().splitlines()[-1])
            except (IndexError, ValueError):
                total["gui_failures"] += 1
                total["failures"].append(f"worker {k} ended ({process.returncode}) without a report"
                                         + _where_it_stopped(err))  # fmt: skip
                continue
            for key in ("gui_sequences", "gui_short_sequences", "gui_steps", "gui_rounds", "gui_failures"):
                total[key] += counts[key]
            total["failures"] += counts["failures"]
            seen = set(total["gui_class_counts"]) | set(counts["gui_class_counts"])
            total["gui_class_counts"] = sorted(seen)
        import shutil

        shutil.rmtree(sandbox, ignore_errors=True)
        return total

    return finish


def _where_it_stopped(err: str) -> str:
    """A worker's error output, cut to fit a report: what it says first, then the main thread's stack as
    faulthandler printed it (the main thread comes last, innermost call first)."""
    what = f"a step hung for {HANG_SECONDS:g} s; " if "Timeout (" in err else ""
    main = err.rfind("Thread 0x")
    if main < 0 or len(err) <= 7000:
        return f": {what}{err[-7000:]}"
    return f": {what}{err[:1000]}\n...\n{err[main : main + 6000]}"


def _axes_fail_rather_than_freeze() -> None:
    """An axis asked for more than MAX_AXIS_TICKS ticks raises, naming its range and length, where it would
    paint for minutes: one full run froze in pyqtgraph's AxisItem.paint, making ticks without end."""
    import pyqtgraph as pg

    plain = pg.AxisItem.tickValues
    if getattr(plain, "bounded", False):
        return

    def tick_values(axis, low, high, size):
        levels = plain(axis, low, high, size)
        count = sum(len(values) for _, values in levels)
        if count > MAX_AXIS_TICKS:
            raise RuntimeError(f"{axis.orientation} axis {axis.labelText!r} asked for {count} ticks: range "
                               f"({low!r}, {high!r}), {size!r} px, log {axis.logMode}")  # fmt: skip
        return levels

    tick_values.bounded = True
    pg.AxisItem.tickValues = tick_values


def run_sequences(sequences: int, steps: int, shrink: bool = True) -> dict:
    """Runs the sequences in this process (a worker of start()). A failing sequence is shrunk to a short
    one unless `shrink` is False (the quick run: shrinking can take minutes; the failure shows all its
    steps instead). The full run (`shrink`) makes every sequence take all its steps: left to itself,
    hypothesis mutates sequences into shorter ones, and one full run spent over an hour topping up with
    sequences that ended early. (A failure then shrinks to simpler actions, not fewer.)"""
    import app.ui.canvas
    from app.ui.app import make_application

    make_application()
    Counters.length, Counters.sequences, Counters.short, Counters.steps, Counters.rounds = steps, 0, 0, 0, 0
    Counters.builds, Counters.max_builds = 0, WORKER_BUILDS[not shrink]
    Counters.errors, Counters.seen, Counters.class_counts = [], [], set()
    # The sharp picture's time budget, cut for the soak: the same code draws, on a coarser grid, so that a
    # step costs milliseconds rather than the 30 ms a person's screen gets.
    saved_budget, app.ui.canvas.SHARP_SECONDS = app.ui.canvas.SHARP_SECONDS, SOAK_SHARP_SECONDS
    _axes_fail_rather_than_freeze()
    failures = []
    try:
        with dialogs_answer_at_once(), event_loop_exceptions() as Counters.errors:
            for _ in range(TOP_UP_ROUNDS):  # hypothesis counts the sequences it ended early too: top up
                if Counters.sequences >= sequences:
                    break
                run_state_machine_as_test(GuiSession, settings=settings(
                    max_examples=sequences - Counters.sequences, stateful_step_count=steps + 1, deadline=None,
                    database=None, suppress_health_check=list(HealthCheck),
                    phases=[Phase.generate, Phase.shrink] if shrink else [Phase.generate],
                ), _min_steps=steps if shrink else 0)  # fmt: skip
                Counters.rounds += 1
    except Exception as error:  # noqa: BLE001 - the failing sequence is the report
        notes = "\n".join(getattr(error, "__notes__", []))
        cause = getattr(error, "exceptions", [error])[0]  # hypothesis's flaky failures hold the first one
        where = "".join(traceback.format_list(traceback.extract_tb(cause.__traceback__)[-2:]))  # the check
        # A flaky failure's own message says only that the replay passed: what failed the first time follows.
        first = f"\nfirst: {type(cause).__name__}: {cause}" if cause is not error else ""
        failures.append(f"{type(error).__name__}: {error}".splitlines()[0] + first + f"\n{where}"
                        + (f"\n{notes}" if notes else ""))  # fmt: skip
        failures += [f"exception in the event loop: {text}" for text in dict.fromkeys(Counters.seen)]
    finally:
        faulthandler.cancel_dump_traceback_later()
        app.ui.canvas.SHARP_SECONDS = saved_budget
        Shared.close()
    return {"gui_sequences": Counters.sequences, "gui_actions_per_sequence": steps,
            "gui_short_sequences": Counters.short, "gui_steps": Counters.steps, "gui_rounds": Counters.rounds,
            "gui_failures": len(failures), "failures": failures,
            "gui_class_counts": sorted(Counters.class_counts)}  # fmt: skip


if __name__ == "__main__":  # a worker: python -m soak.gui SEQUENCES STEPS SHRINK(0/1); last line: its counts
    faulthandler.register(signal.SIGUSR1, all_threads=True)
    print(json.dumps(run_sequences(int(sys.argv[1]), int(sys.argv[2]), sys.argv[3] == "1")))
