"""Seed runs trained together in chunks equal each seed's Trainer trained alone, epoch for epoch; a
handed-over run trains on as the run alone would."""

import numpy as np
import pytest

from app.core import engine
from app.core.dataset import make_preset
from app.core.network import NetworkSpec
from app.core.seed_runs import SeedRuns, groups_of, seeds_from
from app.core.training import TrainConfig, Trainer

pytestmark = pytest.mark.skipif(not engine.AVAILABLE, reason="the K-run loop needs numba")


def test_groups_of_split_in_order_as_evenly_as_can_be():
    assert groups_of([0, 1, 2, 3, 4], 2) == [[0, 1, 2], [3, 4]]
    assert groups_of([0, 2, 5], 8) == [[0], [2], [5]]
    assert groups_of([4, 5, 6, 7], 1) == [[4, 5, 6, 7]]
    assert groups_of([], 3) == []


@pytest.mark.parametrize("workers", [1, 2, 3])
def test_runs_in_chunks_equal_each_seed_alone(workers):
    samples, spec = make_preset("xor"), NetworkSpec((4, 4), "tanh")
    config = TrainConfig("adam", 0.03, batch_size=8, seed=5, test_fraction=0.2)
    runs = SeedRuns(spec, config, samples, seeds_from(5, 3), workers=workers)
    assert runs.seeds == (5, 6, 7) and [c.seed for c in runs.configs] == [5, 6, 7]
    for n in (7, 1, 12):
        runs.record(runs.train(n))
    assert runs.epoch == 20
    for k, seed in enumerate(runs.seeds):
        alone = Trainer(spec, TrainConfig("adam", 0.03, batch_size=8, seed=seed, test_fraction=0.2))
        params, loss, accuracy, _ = alone.run(samples, 20)
        history = runs.histories[k]
        assert np.array_equal(history.params_at(0), Trainer(spec, alone.config).params)
        for epoch in (1, 8, 20):
            assert np.array_equal(history.params_at(epoch), params[epoch - 1])
        assert history.metrics_at(20) == (loss[-1], accuracy[-1])
        assert runs.accuracy_at(k, 500) == accuracy[-1]  # beyond its last epoch: its last


def test_a_handed_over_run_trains_on_as_alone_and_the_runs_keep_their_own():
    samples, spec = make_preset("clusters"), NetworkSpec((3,), "relu")
    config = TrainConfig("sgd", 0.1, seed=0)
    runs = SeedRuns(spec, config, samples, seeds_from(0, 2))
    runs.record(runs.train(10))
    trainer, history, own = runs.hand_over(1)
    assert own.seed == 1 and history.latest_epoch == 10 and trainer.epoch == 10
    assert history is not runs.histories[1] and trainer is not runs.trainers[1]
    more = trainer.run(samples, 5)[0]
    alone = Trainer(spec, TrainConfig("sgd", 0.1, seed=1))
    assert np.array_equal(more, alone.run(samples, 15)[0][10:])
    runs.record(runs.train(5))
    assert np.array_equal(runs.histories[1].params_at(15), more[-1])


def test_a_diverging_run_stops_alone():
    samples, spec = make_preset("xor"), NetworkSpec((4,), "relu")
    runs = SeedRuns(spec, TrainConfig("sgd", 1e6, seed=0), samples, seeds_from(0, 2))
    for _ in range(5):
        if not runs.done:
            runs.record(runs.train(10))
    assert runs.done and all(runs.diverged)
    assert runs.epoch == max(h.latest_epoch for h in runs.histories)


def test_nothing_left_to_train_trains_nothing():
    runs = SeedRuns(NetworkSpec((2,), "tanh"), TrainConfig(seed=0), make_preset("xor"), (0, 1), workers=2)
    runs.diverged = [True, True]
    assert runs.done and runs.train(5) == []


def test_the_runs_share_one_main_runs_budget_and_a_handed_over_one_gets_a_whole_one():
    from app.core.history import DEFAULT_BUDGET_BYTES, default_max_rows

    spec = NetworkSpec((4, 4), "tanh")
    runs = SeedRuns(spec, TrainConfig(seed=0), make_preset("xor"), seeds_from(0, 4), workers=1)
    assert all(h.max_rows == default_max_rows(spec, DEFAULT_BUDGET_BYTES // 4) for h in runs.histories)
    runs.record(runs.train(5))
    _, history, _ = runs.hand_over(2)
    assert history.max_rows == default_max_rows(spec) and history.latest_epoch == 5
    assert np.array_equal(history.params, runs.histories[2].params)
