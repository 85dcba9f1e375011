"""Creates the QApplication and the main window; trains up front when --epochs asks; exports if asked."""

from __future__ import annotations

import sys

import torch
from PySide6.QtWidgets import QApplication
from threadpoolctl import threadpool_limits

from app.core.training import TrainConfig


def make_application() -> QApplication:
    # One thread each for BLAS and torch: the training thread has the other core, and multi-threaded BLAS on
    # the tiny matrices here is slower than one thread anyway.
    torch.set_num_threads(1)
    threadpool_limits(1)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("Unboxed")
    return app


def train_synchronously(window, epochs: int) -> None:
    """Trains the window's network for `epochs` epochs in this thread (headless use and --epochs)."""
    from app.core.training import train

    problem = window.samples.training_problem(window.config.test_fraction, window.config.seed)
    if epochs and problem:
        raise SystemExit(f"unboxed: error: {problem}")
    for chunk in train(window.trainer, lambda: window.samples, lambda: False, max_epochs=epochs):
        window.history.append(chunk)
    window.go_live()
    window.refresh_curves()


def run_app(args, spec, samples, headless: bool) -> int:
    from app.cli import export_data
    from app.ui.main_window import MainWindow

    app = make_application()
    window = MainWindow(samples, spec, TrainConfig(seed=args.seed))
    train_synchronously(window, args.epochs)
    if args.epoch is not None:
        from app.cli import UsageError

        if args.epoch > window.history.latest_epoch:  # training diverged before reaching it
            window.close()
            raise UsageError(f"--epoch {args.epoch} is beyond the last epoch, {window.history.latest_epoch}")
        window.scrub_to(args.epoch)
    if args.zoom is not None:
        window.canvas.zoom_about_data(args.zoom)
    if args.export_data:
        export_data(args.export_data, window.samples, window.history, window.displayed_epoch)
    if args.export:
        window.show()
        app.processEvents()
        window.canvas.redraw()
        window.canvas.refresh()
        app.processEvents()
        if not window.grab().save(args.export):
            raise OSError(f"could not save {args.export}")
    if headless:
        window.close()
        return 0
    window.show()
    return app.exec()
