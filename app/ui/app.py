"""Creates the QApplication and the main window; trains up front when --epochs asks; exports if asked."""

from __future__ import annotations

import sys

import torch
from PySide6.QtCore import QEvent, qInstallMessageHandler
from PySide6.QtWidgets import QApplication, QMessageBox
from threadpoolctl import threadpool_limits

from app.core.training import TrainConfig
from app.ui.session_files import autosave_path

HARMLESS_QT_MESSAGES = (
    "This plugin does not support propagateSizeHints",
    "This plugin does not support raise",
)


def _qt_message(mode, context, message: str) -> None:
    """Qt's messages go to stderr as usual, except the offscreen platform's notes on what it cannot do."""
    if not message.startswith(HARMLESS_QT_MESSAGES):
        sys.stderr.write(message + "\n")


REGION_COUNT_ROUNDS = 60


def make_application() -> QApplication:
    qInstallMessageHandler(_qt_message)
    # One thread each for BLAS and torch: the training thread has the other core, and multi-threaded BLAS on
    # the tiny matrices here is slower than one thread anyway.
    torch.set_num_threads(1)
    threadpool_limits(1)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("Unboxed")
    app.setOrganizationName("Unboxed")
    return app


def train_synchronously(window, epochs: int) -> None:
    """Trains the window's network for `epochs` epochs in this thread (headless use and --epochs)."""
    window.model.train_here(epochs)
    window.frames.refresh_curves()
    window.hidden_space.reset_axes()  # as when training pauses: principal components of the newest epoch


def offer_recovery(window) -> None:
    """After a crash, the autosave is still there: offer to bring the work back."""
    path = autosave_path()
    if not path.is_file():
        return
    answer = QMessageBox.question(
        window, "Recover unsaved work",
        "Unboxed did not close normally last time. Recover the session it saved automatically?",
        QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, QMessageBox.StandardButton.Yes,
    )  # fmt: skip
    if answer == QMessageBox.StandardButton.Yes and window.files.open_session(str(path)):
        window.files.path = None
        window.model.set_modified()
        window.show_message("Recovered the automatically saved session. Save it to keep it.")
    path.unlink(missing_ok=True)


def run_app(args, spec, samples, headless: bool) -> int:
    """Opens the window with what the command line asks, trains, writes the files asked for; then closes
    (headless) or runs until the user closes the window. The window closes cleanly on every way out (an error,
    Ctrl+C): no thread is left for Qt to destroy."""
    from app.ui.main_window import MainWindow

    app = make_application()
    window = MainWindow(samples, spec, TrainConfig(seed=args.seed))
    try:
        return _run(app, window, args, headless)
    finally:
        close_for_good(app, window)


def _run(app: QApplication, window, args, headless: bool) -> int:
    from app.core.export_npz import export_data
    from app.core.session import SessionError, load_session, save_session
    from app.errors import UsageError
    from app.ui.exports import save_png
    from app.ui.view_export import export_view, picture_notes

    if headless:  # laid out at its real size, so views saved or exported match what a person sees
        window.set_transient()  # a command-line run leaves the user's settings and last session alone
        window.show()
        app.processEvents()
        window.canvas.fit_data()
    else:
        window.restore_geometry()
        if args.plain_start:
            window.restore_settings()
        offer_recovery(window)
    if args.session:
        if headless:
            try:
                window.files.apply_session(load_session(args.session))
            except SessionError as error:
                raise UsageError(f"cannot open {args.session}: {error}") from None
        else:
            window.files.open_session(args.session)
    model = window.model
    _choose_hidden_axes(window, args)
    problem = model.samples.training_problem(model.config.test_fraction, model.config.seed)
    if args.epochs and problem:
        raise UsageError(problem)
    if args.without is not None and args.without[-1] >= model.samples.n:  # the session's samples: say so now
        n = model.samples.n
        raise UsageError(f"--without: there is no sample {args.without[-1]} (the session's {n:,} samples are "
                         f"numbered 0 to {n - 1:,})")  # fmt: skip
    if args.off is not None:  # checked against the (session's) network before training
        for layer, neuron in args.off:
            if not (layer < len(model.spec.widths) and neuron < model.spec.widths[layer]):
                raise UsageError(f"--off: the network (hidden layers {model.spec.widths_text()}) has no "
                                 f"hidden neuron L{layer + 1}N{neuron + 1}")  # fmt: skip
    if args.epochs:  # (not otherwise: a restored session stays at the epoch it showed)
        train_synchronously(window, args.epochs)
    if args.epoch is not None:
        if args.epoch > model.history.latest_epoch:  # training diverged before reaching it
            raise UsageError(f"--epoch {args.epoch} is beyond the last epoch, {model.history.latest_epoch}")
        model.scrub_to(args.epoch)
    if args.zoom is not None:
        window.canvas.zoom_about_data(args.zoom)
    if args.off is not None:  # the same edit as the window's, at the shown epoch
        window.surgery.switch_off(args.off)
    if args.without is not None:
        from app.core.counterfactual import RetrainingRefused

        try:
            window.counterfactual.run_now(args.without)
        except RetrainingRefused as error:
            raise UsageError(f"--without: {error}") from None
    for name, action in window.menu_actions.layer_actions.items():
        action.setChecked(name in args.layers_shown)
    if args.regions:
        for _ in range(REGION_COUNT_ROUNDS):  # the region-count plot, filled before the picture is taken
            window.frames.update_region_counts()
    if args.essence and not window.essence_builder.build():
        raise UsageError(window.message_label.text())
    if args.save:
        save_session(args.save, model.to_session(window.view_state()))
    if args.export_data:
        built = window.essence_builder
        export_data(args.export_data, model.samples, model.history, model.displayed_epoch,
                    built.essence, built.comparison, frame=model.data_frame(),
                    training=model.split()[0], counterfactual=window.counterfactual.result,
                    ablated=sorted(model.switched_off))  # fmt: skip
    if args.export:
        window.show()
        window.frames.draw_now()  # settles pending events first
        save_png(window.grab(), args.export, picture_notes(window, "window"))
    if args.export_view:
        export_view(window, args.export_view_name, args.export_view_path)
    if headless:
        return 0
    window.show()
    return app.exec()


def _choose_hidden_axes(window, args) -> None:
    """The hidden-space view's layer and neurons (--hidden-layer, --hidden-neurons), checked against the
    network before any training."""
    from app.errors import UsageError

    hidden = window.hidden_space
    try:
        if args.hidden_layer is not None:
            hidden.set_layer(args.hidden_layer - 1)
        if args.hidden_neurons is not None:
            hidden.set_neurons(tuple(k - 1 for k in args.hidden_neurons))
    except ValueError as error:
        raise UsageError(f"--hidden-layer/--hidden-neurons: {error}") from None


def close_for_good(app: QApplication, window) -> None:
    """Closes and deletes the window while Qt is still whole: Python's shutdown order must not do it.
    Whatever needed saving was settled already (the user closed the window, or asked for files)."""
    window.model.set_modified(False)
    window.close()
    window.deleteLater()
    app.processEvents()
    app.sendPostedEvents(None, 0)
    # Deferred deletions wait for an event loop to return to; posted events of every other type are sent
    # above, these only when asked for by name.
    app.sendPostedEvents(None, QEvent.Type.DeferredDelete)
