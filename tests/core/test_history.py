"""TrainingHistory: epoch 0 is the initial network, chunks append in order, any epoch can be read back."""

import numpy as np
import pytest

from app.core.history import TrainingHistory
from app.core.network import NetworkSpec
from app.core.training import EpochChunk

SPEC = NetworkSpec((3,))  # 13 parameters


def make_history() -> TrainingHistory:
    return TrainingHistory(SPEC, np.full(SPEC.n_params, -1.0), 0.7, 0.5)


def make_chunk(first_epoch: int, n_epochs: int, data_version: int = 0) -> EpochChunk:
    """Params of epoch e are e + j/100 in column j, so every row says which epoch it belongs to; so do the
    test metrics, 2/(1+e) and e/(e+2)."""
    epochs = np.arange(first_epoch, first_epoch + n_epochs, dtype=np.float64)
    params = epochs[:, None] + np.arange(SPEC.n_params) / 100
    return EpochChunk(
        first_epoch, params, 1.0 / (1.0 + epochs), epochs / (epochs + 1.0), data_version,
        test_loss=2.0 / (1.0 + epochs), test_accuracy=epochs / (epochs + 2.0),
    )  # fmt: skip


def test_starts_with_epoch_zero():
    history = make_history()
    assert len(history) == 1 and history.latest_epoch == 0
    np.testing.assert_array_equal(history.epochs, [0])
    np.testing.assert_array_equal(history.params_at(0), np.full(SPEC.n_params, -1.0))
    assert history.metrics_at(0) == (0.7, 0.5)
    assert np.isnan(history.test_metrics_at(0)).all()  # no test metrics given: NaN
    assert history.params.shape == (1, SPEC.n_params)
    assert history.test_loss.shape == history.test_accuracy.shape == (1,)


def test_initial_test_metrics_are_keyword_only():
    history = TrainingHistory(
        SPEC, np.zeros(SPEC.n_params), 0.7, 0.5, initial_test_loss=0.9, initial_test_acc=0.25
    )
    assert history.metrics_at(0) == (0.7, 0.5) and history.test_metrics_at(0) == (0.9, 0.25)
    with pytest.raises(TypeError):
        TrainingHistory(SPEC, np.zeros(SPEC.n_params), 0.7, 0.5, 2**20, 0.9)


def test_appends_grow_past_the_initial_capacity():
    history = make_history()
    sizes = [1, 300, 700, 500, 1, 600]  # 2102 epochs, past 1024 and past 2048 rows
    first = 1
    for n in sizes:
        history.append(make_chunk(first, n))
        first += n
    total = sum(sizes)
    assert len(history) == total + 1 and history.latest_epoch == total
    np.testing.assert_array_equal(history.epochs, np.arange(total + 1))
    for epoch in [1, 2, 301, 1000, 1023, 1024, 1025, 2048, total]:
        expected = epoch + np.arange(SPEC.n_params) / 100
        np.testing.assert_array_equal(history.params_at(epoch), expected)
        assert history.metrics_at(epoch) == (1.0 / (1.0 + epoch), epoch / (epoch + 1.0))
        assert history.test_metrics_at(epoch) == (2.0 / (1.0 + epoch), epoch / (epoch + 2.0))
    np.testing.assert_array_equal(history.params_at(0), np.full(SPEC.n_params, -1.0))
    np.testing.assert_array_equal(history.loss[1:], 1.0 / (1.0 + np.arange(1, total + 1)))
    np.testing.assert_array_equal(history.test_loss[1:], 2.0 / (1.0 + np.arange(1, total + 1)))
    np.testing.assert_array_equal(history.test_accuracy[0], np.nan)
    # 2103 rows of epoch, 13 parameters, four metrics: the memory of the rows written (the arrays are reserved
    # for the whole budget at once, and only written pages take memory), and no row copied to grow
    assert history.nbytes == (total + 1) * 8 * (SPEC.n_params + 5)
    assert history.moved_rows == 0


def test_an_empty_chunk_changes_nothing():
    history = make_history()
    history.append(EpochChunk(5, np.empty((0, SPEC.n_params)), np.empty(0), np.empty(0), 0, diverged=True))
    assert len(history) == 1 and history.latest_epoch == 0


@pytest.mark.parametrize("first_epoch", [0, 1, 3, 5])
def test_a_chunk_must_follow_the_latest_epoch(first_epoch):
    history = make_history()
    history.append(make_chunk(1, 3))
    with pytest.raises(ValueError):
        history.append(make_chunk(first_epoch, 2))
    assert history.latest_epoch == 3 and len(history) == 4
    history.append(make_chunk(4, 2))
    assert history.latest_epoch == 5


@pytest.mark.parametrize("epoch", [-1, 11, 10**6])
def test_params_at_out_of_range_raises(epoch):
    history = make_history()
    history.append(make_chunk(1, 10))
    with pytest.raises(IndexError):
        history.params_at(epoch)
    with pytest.raises(IndexError):
        history.metrics_at(epoch)
    with pytest.raises(IndexError):
        history.test_metrics_at(epoch)


def test_stored_rows_are_copies_of_the_chunk():
    history = make_history()
    chunk = make_chunk(1, 4)
    history.append(chunk)
    assert not np.shares_memory(history.params, chunk.params)


def test_mark_data_change_records_each_epoch_once():
    history = make_history()
    for epoch in [0, 0, 3, 3, 3, 7, 12, 12]:
        history.mark_data_change(epoch)
    assert history.data_changes == [0, 3, 7, 12]


def _counting_chunk(first: int, n: int, n_params: int) -> EpochChunk:
    """A chunk whose every parameter equals its epoch number, so rows can be checked by value; the loss is
    the epoch, the test loss twice it."""
    epochs = np.arange(first, first + n, dtype=float)
    return EpochChunk(
        first, np.repeat(epochs[:, None], n_params, axis=1), epochs.copy(), epochs / 1e9, 0,
        test_loss=2 * epochs, test_accuracy=epochs / 2e9,
    )  # fmt: skip


def test_history_stays_within_budget_and_thins_older_epochs_evenly():
    spec = NetworkSpec()
    rows = 600
    history = TrainingHistory(
        spec, np.zeros(spec.n_params), 1.0, 0.5, budget_bytes=rows * 8 * (spec.n_params + 5)
    )
    first = 1
    for i in range(400):
        history.append(_counting_chunk(first, 137, spec.n_params))
        first += 137
        if i == 57:
            history.mark_data_change(first)
        assert len(history) <= history.max_rows == rows
    epochs = history.epochs
    assert epochs[0] == 0 and history.latest_epoch == first - 1
    assert history.data_changes[0] in epochs  # protected
    assert np.all(np.diff(epochs) > 0)
    assert history.thinnings > 0
    # the newest quarter of the budget is dense, older epochs lie on the stride grid
    recent = epochs[-rows // 4 :]
    assert np.all(np.diff(recent) == 1)
    off_grid = epochs[(epochs % history.stride != 0) & (epochs <= history.latest_epoch - rows)]
    assert set(off_grid.tolist()) <= set(history.data_changes)
    # every kept row still holds its own epoch's parameters, and a thinned epoch maps to the one before it
    for e in (0, 12345, history.latest_epoch):
        kept = history.recorded_epoch(e)
        assert kept <= e and np.all(history.params_at(e) == kept)
    assert np.diff(epochs).max() <= history.stride
    # the metrics were thinned with the parameters: every row still holds its own epoch's
    np.testing.assert_array_equal(history.loss[1:], epochs[1:])
    np.testing.assert_array_equal(history.test_loss[1:], 2 * epochs[1:])
    np.testing.assert_array_equal(history.test_accuracy[1:], epochs[1:] / 2e9)
    assert history.test_metrics_at(12345) == (
        2 * history.recorded_epoch(12345),
        history.recorded_epoch(12345) / 2e9,
    )
    assert history.nbytes <= rows * 8 * (spec.n_params + 5)


def test_huge_single_chunk_is_subsampled_keeping_its_last_epoch():
    spec = NetworkSpec((2,))
    history = TrainingHistory(spec, np.zeros(spec.n_params), 1.0, 0.5, budget_bytes=0)
    history.append(_counting_chunk(1, 100_000, spec.n_params))
    assert len(history) <= history.max_rows
    assert history.latest_epoch == 100_000
    np.testing.assert_array_equal(history.params_at(100_000), 100_000)


def test_a_data_change_every_epoch_grows_the_budget_instead_of_failing():
    spec = NetworkSpec((2,))
    history = TrainingHistory(spec, np.zeros(spec.n_params), 1.0, 0.5, budget_bytes=0)
    for epoch in range(1, 2001):
        history.mark_data_change(epoch)
        history.append(_counting_chunk(epoch, 1, spec.n_params))
    assert history.latest_epoch == 2000
    assert set(history.data_changes) <= set(history.epochs.tolist())
