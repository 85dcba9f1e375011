"""The frame scheduler: the display timer and its frame budget. It decides when each view redraws the
session model's state (previews while changes stream in, side views a few times a second, exports now)."""

from __future__ import annotations

import time
from dataclasses import dataclass

from PySide6.QtCore import QEventLoop, QObject, QTimer
from PySide6.QtWidgets import QApplication

from app.core.network import confusion_counts
from app.core.regions import RegionCountSeries
from app.ui.canvas import QtCanvas
from app.ui.confusion_view import QtConfusionView
from app.ui.essence_view import QtEssenceView
from app.ui.extrapolation_view import QtExtrapolationView
from app.ui.hidden_space_view import QtHiddenSpaceView
from app.ui.influence_panel import QtInfluencePanel
from app.ui.loss_plot import QtLossPlot
from app.ui.network_view import QtNetworkView
from app.ui.seeds_view import QtSeedsView
from app.ui.session_model import SessionModel

DISPLAY_INTERVAL_MS = 25
SPLIT_FRAME_SECONDS = 0.012  # a preview tick that has drawn views for this long leaves the rest to the next
FRAME_REST = 1.0  # after a frame, the event loop is left free for this many times as long as it took
REGION_COUNT_SECONDS = 0.004  # region counting per side-view tick (the plot fills in over a few seconds)
SIDE_VIEWS_HZ = 5  # the side views and loss curves redraw at most this often while epochs stream in


@dataclass(frozen=True)
class Views:
    """The views a frame draws."""

    canvas: QtCanvas
    extrapolation: QtExtrapolationView
    essence_view: QtEssenceView
    influence_panel: QtInfluencePanel
    loss_plot: QtLossPlot
    network_view: QtNetworkView
    confusion: QtConfusionView | None = None  # shown for more than two classes
    hidden_space: QtHiddenSpaceView | None = None
    seeds: QtSeedsView | None = None  # seeds side by side, a window of its own


class FrameScheduler(QObject):
    def __init__(self, model: SessionModel, views: Views, parent=None):
        super().__init__(parent)
        self.model, self.views = model, views
        self.ticks = 0  # display ticks that drew a frame
        self.next_frame_at = 0.0  # the display timer draws no frame before then (see tick)
        self.training = False  # while training, sharp frames redraw a wide layer's influence maps in turn
        self.count_regions = False  # the region-count plot is shown and filled in
        self.region_counts: RegionCountSeries | None = None
        self._new_epochs = False
        self._changed_last_tick = False
        self._curves_stale = False
        self._side_views_at = 0.0
        self._side_views_epoch = -1  # the epoch the side views show
        self._side_views_pending: tuple[int, int] | None = None  # (epoch, tick) of a half-done update
        self._next_view = 0  # the view the next preview tick draws first (see draw_preview)
        model.historyGrew.connect(self._history_grew)
        model.runReset.connect(self._run_reset)
        model.samplesChanged.connect(self.show_influence)
        model.splitChanged.connect(self.show_influence)
        self.timer = QTimer(self)
        self.timer.setInterval(DISPLAY_INTERVAL_MS)
        self.timer.timeout.connect(self.tick)
        self.timer.start()

    def stop(self) -> None:
        """No more frames (the window closes, or a benchmark draws frames itself)."""
        self.timer.stop()

    def _history_grew(self) -> None:
        self._new_epochs = True

    def _run_reset(self) -> None:
        self.region_counts = None
        self._side_views_pending = None
        self._side_views_epoch = -1  # a new run at the same epoch number is still new to the side views
        self.refresh_curves()

    def tick(self) -> None:
        """Display timer: follow the newest epoch when live, and let each view redraw what changed: a quick
        preview while changes keep coming (training, scrubbing, playing, dragging), the sharp picture as soon
        as they stop. After a long frame (a big network, many samples) the next waits as long again: clicks
        and keys never queue behind frame after frame."""
        started = time.perf_counter()
        if started < self.next_frame_at:
            return
        self.ticks += 1
        if self._new_epochs:
            self._new_epochs = False
            self._curves_stale = True
            self.model.follow_history()
        if self._side_views_behind():
            self._update_side_views()
        changed = self.views.canvas.dirty
        if changed and self._changed_last_tick:
            self.draw_preview()
        else:
            self.render_frame(preview=False, maps_in_turn=self.training)
        self._changed_last_tick = changed
        finished = time.perf_counter()
        self.next_frame_at = finished + FRAME_REST * (finished - started)

    def draw_preview(self) -> None:
        """A display tick while changes stream in: the views draw in turn until the tick has taken
        SPLIT_FRAME_SECONDS, and the next tick goes on with the view after the last one drawn. Quick views all
        draw every tick; slow ones (a wide network, many samples) share the ticks."""
        views = self._view_refreshers(preview=True, maps_in_turn=True)
        started = time.perf_counter()
        for k in range(len(views)):
            view = (self._next_view + k) % len(views)
            views[view]()
            if time.perf_counter() - started > SPLIT_FRAME_SECONDS:
                self._next_view = (view + 1) % len(views)
                return

    def render_frame(self, preview: bool = False, maps_in_turn: bool | None = None) -> None:
        """Redraws every view whose state changed (a preview raster if asked; the sharp frame also brings
        the side views up to the displayed epoch). The influence panel redraws a few maps per frame when
        `maps_in_turn` (default: in a preview), all of them otherwise."""
        if not preview and self._side_views_behind():
            self._update_side_views(force=True)
        for refresh in self._view_refreshers(preview, preview if maps_in_turn is None else maps_in_turn):
            refresh()

    def _view_refreshers(self, preview: bool, maps_in_turn: bool) -> tuple:
        """Each view's redraw (if its state changed), in drawing order: the canvas, extrapolation,
        interpretable network, influence maps, hidden space (each draws only while visible)."""
        views = self.views
        refreshers = (
            lambda: views.canvas.refresh(preview=preview),
            lambda: views.extrapolation.refresh(preview=preview),
            views.essence_view.refresh,
            lambda: views.influence_panel.refresh(preview=maps_in_turn),
        )
        if views.hidden_space is not None:
            refreshers = (*refreshers, views.hidden_space.refresh)
        return refreshers if views.seeds is None else (*refreshers, lambda: views.seeds.refresh(preview))

    def draw_now(self) -> None:
        """Draws every view at the displayed epoch now (not at the next tick), the canvases at full
        resolution: the same picture whatever the machine's speed (exports). Layouts and resizes still pending
        are settled first: settling them later changes a view, which the display then redraws as a preview."""
        for _ in range(2):  # drawing a view can post a layout (a legend grown a line): round two settles it
            QApplication.sendPostedEvents()
            QApplication.processEvents(QEventLoop.ProcessEventsFlag.ExcludeUserInputEvents)  # no clicks here
            self.render_frame()
        self.views.canvas.render_full()
        if self.views.extrapolation.isVisible():
            self.views.extrapolation.canvas.render_full()
        if self.views.seeds is not None and self.views.seeds.isVisible():
            self.views.seeds.render_full()

    # --- side views ---------------------------------------------------------------------------------------
    def _side_views_behind(self) -> bool:
        """The side views do not all show the displayed epoch: another one, a half-done update (its epoch
        may be the displayed one again while its first half shows another), or stale curves."""
        return (self._side_views_epoch != self.model.displayed_epoch or self._side_views_pending is not None
                or self._curves_stale)  # fmt: skip

    def _update_side_views(self, force: bool = False) -> None:
        """The loss plot, network diagram, extrapolation and influence views follow the displayed epoch at
        most SIDE_VIEWS_HZ times a second while epochs stream in: they are for reading, and repainting them
        for every frame would take the display's time. Each update is split over two display ticks, so that
        no frame carries all of it; a later tick catches up, `force` does it all now."""
        pending = self._side_views_pending
        if pending is not None and (force or self.ticks > pending[1]):
            self._follow_in_maps(pending[0])
        now = time.perf_counter()
        if force or (self._side_views_pending is None and now - self._side_views_at >= 1 / SIDE_VIEWS_HZ):
            self._side_views_at = now
            self._follow_in_plots(self.model.displayed_epoch)
            if force:
                self._follow_in_maps(self.model.displayed_epoch)

    def _follow_in_plots(self, epoch: int) -> None:
        """First half of a side-view update: the loss plot (curves and cursor in one repaint), the diagram,
        the confusion matrix."""
        if self._curves_stale:
            self.refresh_curves()
        self.views.loss_plot.set_cursor(epoch)
        params = self.model.history.params_at(epoch)
        self.views.network_view.show_network(self.model.spec, params)
        if self.views.confusion is not None and self.views.confusion.isVisible():
            training = self.model.split()[0]
            counts = confusion_counts(self.model.spec, params, training.points, training.labels)
            self.views.confusion.show_counts(counts, training.class_names, epoch)
        self.update_region_counts()
        self._side_views_pending = (epoch, self.ticks)

    def _follow_in_maps(self, epoch: int) -> None:
        """Second half: the extrapolation view, the influence maps and the hidden space (which only takes the
        epoch here, and draws it at its next refresh if visible)."""
        epoch = min(epoch, self.model.history.latest_epoch)  # a reset may have come in between
        self.views.extrapolation.show_network(self.model.spec, self.model.history.params_at(epoch))
        if self.views.hidden_space is not None:
            self.views.hidden_space.show_state(self.model.spec, self.model.history, epoch)
        if self.views.seeds is not None:
            self.views.seeds.show_epoch(epoch)
        self.show_influence(epoch)
        self._side_views_pending = None
        self._side_views_epoch = epoch

    def show_influence(self, epoch: int | None = None) -> None:
        """The influence maps (at `epoch`, default the displayed one) frame the data, whatever the main view's
        zoom."""
        model = self.model
        epoch = min(model.displayed_epoch if epoch is None else epoch, model.history.latest_epoch)
        training_part = model.split()[0]
        self.views.influence_panel.show_state(model.spec, model.history, epoch, training_part,
                                              model.data_frame())  # fmt: skip

    def refresh_curves(self) -> None:
        h = self.model.history
        self.views.loss_plot.set_history(h.epochs, h.loss, h.accuracy, h.test_loss, h.test_accuracy,
                                         data_changes=tuple(h.data_changes))  # fmt: skip
        self._curves_stale = False

    def update_region_counts(self) -> None:
        """The number of regions in the data's extent over the epochs, a little more at every call."""
        if not self.count_regions:
            return
        model, frame = self.model, self.model.data_frame()
        if self.region_counts is None or not self.region_counts.fits(model.spec, frame, model.history):
            self.region_counts = RegionCountSeries(model.spec, frame, model.history)
        if self.region_counts.update(REGION_COUNT_SECONDS):
            self.views.loss_plot.set_region_counts(*self.region_counts.series())
