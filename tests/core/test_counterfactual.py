"""Counterfactual retraining: removing nothing is the real run bit for bit; removing samples is a fresh
trainer on the rest with the real run's orders minus them; the change, the prediction and their rank
correlation are the numbers they are defined as."""

import dataclasses

import numpy as np
import pytest
from scipy.stats import spearmanr

from app.core.counterfactual import (
    RecordedRun,
    RetrainingCancelled,
    RetrainingRefused,
    derived_orders,
    neuron_change,
    rank_correlation,
    retrain_without,
)
from app.core.dataset import make_preset, test_mask
from app.core.history import TrainingHistory
from app.core.influence import AccumulatedInfluence, influence
from app.core.network import NetworkSpec, split_params
from app.core.training import EpochChunk, TrainConfig, Trainer, train

SPEC = NetworkSpec((4, 3), "tanh")
EPOCHS = 120


def real_run(config: TrainConfig, samples, epochs: int = EPOCHS, budget_bytes=None, spec=SPEC):
    """The run as the window records it: train() chunks appended to a history."""
    trainer = Trainer(spec, config)
    kwargs = {} if budget_bytes is None else {"budget_bytes": budget_bytes}
    history = TrainingHistory(spec, trainer.params, 0.7, 0.5, **kwargs)
    for chunk in train(trainer, lambda: samples, lambda: False, max_epochs=epochs):
        history.append(chunk)
    return history


@pytest.fixture(scope="module")
def clusters():
    return make_preset("clusters", seed=0)


CONFIGS = [
    TrainConfig(batch_size=16, seed=3),
    TrainConfig(seed=1),
    TrainConfig(optimizer="sgd", batch_size=7, test_fraction=0.25, seed=2),
]


@pytest.mark.parametrize("config", CONFIGS)
def test_removing_nothing_reproduces_the_real_run_bit_for_bit(clusters, config):
    history = real_run(config, clusters)
    result = retrain_without(SPEC, config, history, clusters, [])
    assert result.reproduced and result.mismatch_epoch is None
    assert np.array_equal(result.epochs, np.arange(EPOCHS + 1))
    for row, epoch in enumerate(result.epochs):
        assert np.array_equal(result.params[row], history.params_at(epoch))
        assert np.array_equal(result.reference[row], history.params_at(epoch))
    assert all(not change.any() for change in result.change)


def test_removing_nothing_from_a_later_epoch_and_a_thinned_history(clusters):
    config = TrainConfig(batch_size=32, seed=5)
    history = real_run(config, clusters, epochs=1500, budget_bytes=1)  # 512 rows: thinned
    assert history.thinnings > 0 and len(history) < 1501
    start = int(history.epochs[len(history) // 3])
    result = retrain_without(SPEC, config, history, clusters, [], start_epoch=start, epochs=1500 - start)
    assert result.reproduced
    assert np.array_equal(result.epochs, history.epochs[history.epochs >= start])
    for row, epoch in enumerate(result.epochs):
        assert np.array_equal(result.params[row], history.params_at(epoch))


def test_derived_orders_drop_the_removed_and_renumber():
    full = np.array([[4, 0, 3, 1, 2], [2, 1, 0, 4, 3]])
    assert derived_orders(full, np.array([1, 3])).tolist() == [[2, 0, 1], [1, 0, 2]]  # 4->2, 0->0, 2->1
    assert np.array_equal(derived_orders(full, np.array([], dtype=int)), full)


@pytest.mark.parametrize("start", [0, 37])
def test_removing_samples_equals_a_fresh_trainer_on_the_rest_with_the_derived_orders(clusters, start):
    config = TrainConfig(batch_size=16, seed=4, test_fraction=0.2)
    history = real_run(config, clusters)
    held = test_mask(clusters.n, config.test_fraction, config.seed)
    trained = np.flatnonzero(~held)
    removed = [int(trained[5]), int(trained[60]), int(np.flatnonzero(held)[0])]  # the last one is held out
    result = retrain_without(
        SPEC, config, history, clusters, removed, start_epoch=start, epochs=EPOCHS - start
    )
    assert result.removed.tolist() == sorted(removed[:2]) and result.held_out.tolist() == [removed[2]]
    # By hand: the real run's permutations of its 120 training samples, without positions 5 and 60.
    training = clusters.split(config.test_fraction, config.seed)[0]
    full = np.random.default_rng(config.seed).permuted(np.tile(np.arange(training.n), (EPOCHS, 1)), axis=1)
    keep = np.ones(training.n, bool)
    keep[[5, 60]] = False
    renumber = np.cumsum(keep) - 1
    orders = np.array([renumber[row[keep[row]]] for row in full])
    rest = training.without_samples([5, 60])
    plain = dataclasses.replace(config, test_fraction=0.0)
    fresh = Trainer(SPEC, plain, params=history.params_at(start), epoch=start)
    if start:  # Adam's state at `start` too: the real run's, trained on all its samples up to there
        before = Trainer(SPEC, plain, params=history.params_at(0))
        before.run(training, start)
        fresh = Trainer.from_state(SPEC, plain, before.state())
    fresh.sample_orders = lambda n, epochs: orders[start : start + epochs]
    params, loss, accuracy, _ = fresh.run(rest, EPOCHS - start)
    assert np.array_equal(result.epochs, np.arange(start, EPOCHS + 1))
    assert np.array_equal(result.params[1:], params)
    assert np.array_equal(result.loss[1:], loss) and np.array_equal(result.accuracy[1:], accuracy)
    assert np.array_equal(result.params[0], history.params_at(start))
    assert result.reproduced
    real_end = history.params_at(EPOCHS)
    change = neuron_change(SPEC, params[-1], real_end)
    for layer, (w, b) in enumerate(split_params(SPEC, params[-1] - real_end)[:-1]):
        by_hand = np.sqrt((w**2).sum(axis=1) + b**2)
        assert np.allclose(result.change[layer], by_hand, rtol=0, atol=1e-15)
        assert np.array_equal(result.change[layer], change[layer])


def test_full_batch_removal_is_the_rest_in_order(clusters):
    config = TrainConfig(seed=2)
    history = real_run(config, clusters, epochs=30)
    result = retrain_without(SPEC, config, history, clusters, [0, 149])
    fresh = Trainer(SPEC, config, params=history.params_at(0))
    params = fresh.run(clusters.without_samples([0, 149]), 30)[0]
    assert np.array_equal(result.params[1:], params)


def test_the_prediction_is_the_accumulated_map_summed_over_the_removed_samples(clusters):
    config = TrainConfig(batch_size=16, seed=3)
    history = real_run(config, clusters, epochs=80)
    removed = [7, 70, 100]
    result = retrain_without(SPEC, config, history, clusters, removed)
    points, labels = clusters.points[removed], clusters.labels[removed]
    mapped = AccumulatedInfluence(SPEC).at(history, points, labels, 80)
    now = influence(SPEC, history.params_at(80), points, labels)
    for layer in range(len(SPEC.widths)):
        assert np.allclose(result.predicted[layer], mapped[layer].sum(axis=0), rtol=1e-12)
        assert np.allclose(result.predicted_now[layer], now[layer].sum(axis=0), rtol=1e-12)
    assert result.rank_correlation == pytest.approx(
        spearmanr(np.concatenate(result.predicted), np.concatenate(result.change)).statistic, abs=1e-12
    )


def test_rank_correlation_is_scipys_and_undefined_without_an_order():
    predicted = [np.array([0.1, 0.5, 0.3]), np.array([2.0, 0.2])]
    actual = [np.array([1.0, 3.0, 4.0]), np.array([5.0, 0.5])]
    # Ranks 1,4,3,5,2 against 2,3,4,5,1: squared differences 4 in all, rho = 1 - 6 * 4 / (5 * 24) = 0.8.
    assert rank_correlation(predicted, actual) == pytest.approx(0.8)
    assert rank_correlation(predicted, actual) == pytest.approx(
        spearmanr([0.1, 0.5, 0.3, 2.0, 0.2], [1.0, 3.0, 4.0, 5.0, 0.5]).statistic
    )
    assert np.isnan(rank_correlation([np.ones(3)], [np.arange(3.0)]))
    assert np.isnan(rank_correlation([np.ones(1)], [np.ones(1)]))


def test_refusals_say_why(clusters):
    config = TrainConfig(batch_size=16, seed=3, test_fraction=0.3)
    history = real_run(config, clusters, epochs=20)
    held = np.flatnonzero(test_mask(clusters.n, 0.3, 3))
    with pytest.raises(RetrainingRefused, match="held out"):
        retrain_without(SPEC, config, history, clusters, held[:2])
    with pytest.raises(RetrainingRefused, match="no sample 150"):
        retrain_without(SPEC, config, history, clusters, [3, 150])
    with pytest.raises(RetrainingRefused, match="epochs from 20 to 21"):
        retrain_without(SPEC, config, history, clusters, [3], start_epoch=20, epochs=1)
    reds = np.flatnonzero(clusters.labels == 0)
    with pytest.raises(RetrainingRefused, match="cannot train"):
        retrain_without(SPEC, dataclasses.replace(config, test_fraction=0.0), history, clusters, reds)
    history.mark_data_change(12)
    with pytest.raises(RetrainingRefused, match="changed at epoch 12"):
        retrain_without(SPEC, config, history, clusters, [3])


def test_a_settings_change_mid_run_is_found_and_measured_against_the_replay(clusters):
    config = TrainConfig(batch_size=16, seed=3)
    trainer = Trainer(SPEC, config)
    history = TrainingHistory(SPEC, trainer.params, 0.7, 0.5)
    for chunk in train(trainer, lambda: clusters, lambda: False, max_epochs=20):
        history.append(chunk)
    trainer.set_config(dataclasses.replace(config, learning_rate=0.01))
    for chunk in train(trainer, lambda: clusters, lambda: False, max_epochs=20):
        history.append(chunk)
    result = retrain_without(SPEC, config, history, clusters, [])
    assert not result.reproduced and result.mismatch_epoch == 21
    assert np.array_equal(result.params, result.reference)


def test_cancel_progress_and_the_exported_arrays(clusters):
    config = TrainConfig(batch_size=16, seed=3)
    history = real_run(config, clusters, epochs=60)
    with pytest.raises(RetrainingCancelled):
        retrain_without(SPEC, config, history, clusters, [1], should_stop=lambda: True)
    seen = []
    result = retrain_without(SPEC, config, RecordedRun.of(history), clusters, [1, 2], start_epoch=10,
                             progress=lambda done, total: seen.append((done, total)))  # fmt: skip
    assert seen[-1] == (60 + 50, 60 + 50) and all(
        a <= b for (a, _), (b, _) in zip(seen, seen[1:], strict=False)
    )
    arrays = result.to_arrays(SPEC)
    assert arrays["counterfactual/params"].shape == (51, SPEC.n_params)
    assert arrays["counterfactual/layers.0.weight"].shape == (51, 4, 2)
    assert np.array_equal(
        arrays["counterfactual/layers.0.weight"][-1], split_params(SPEC, result.params[-1])[0][0]
    )
    assert arrays["counterfactual/removed"].tolist() == [1, 2]
    assert int(arrays["counterfactual/start_epoch"]) == 10 and int(arrays["counterfactual/end_epoch"]) == 60
    assert arrays["counterfactual/change/layer2"].shape == (3,)
    assert float(arrays["counterfactual/rank_correlation"]) == pytest.approx(
        result.rank_correlation, nan_ok=True
    )


def test_the_torch_backend_reproduces_its_own_run(clusters):
    config = TrainConfig(batch_size=32, seed=6)
    trainer = Trainer(SPEC, config, backend="torch")
    history = TrainingHistory(SPEC, trainer.params, 0.7, 0.5)
    for chunk in train(trainer, lambda: clusters, lambda: False, max_epochs=15):
        history.append(chunk)
    result = retrain_without(SPEC, config, history, clusters, [], backend="torch")
    assert result.reproduced and np.array_equal(result.params[-1], history.params_at(15))
    assert retrain_without(SPEC, config, history, clusters, [9], backend="torch").change[0].any()


def edited_run(config: TrainConfig, samples, edit_at: int = 40, after: int = 50):
    """A run edited as the window edits one (SessionModel.edit_network): branched at `edit_at`, the edited
    parameters recorded as the next epoch (a restart), and a fresh trainer going on from them."""
    history = real_run(config, samples, epochs=edit_at + 20).branch(edit_at)
    edited = history.params_at(edit_at).copy()
    edited[:2] = [1.5, -0.5]  # a first-layer weight pair moved by hand
    history.append(EpochChunk(edit_at + 1, edited[None], np.array([0.6]), np.array([0.5]), 0))
    history.mark_restart(edit_at + 1)
    trainer = Trainer(SPEC, config, params=edited.copy(), epoch=edit_at + 1)
    for chunk in train(trainer, lambda: samples, lambda: False, max_epochs=after):
        history.append(chunk)
    return history


@pytest.mark.parametrize("config", CONFIGS)
def test_an_edited_run_is_replayed_from_its_edit_bit_for_bit(clusters, config):
    history = edited_run(config, clusters)
    result = retrain_without(SPEC, config, history, clusters, [])
    assert result.reproduced and result.start_epoch == 41 and result.end_epoch == 91
    assert np.array_equal(result.epochs, np.arange(41, 92))
    for row, epoch in enumerate(result.epochs):
        assert np.array_equal(result.params[row], history.params_at(epoch))
    removed = retrain_without(SPEC, config, history, clusters, [int(np.flatnonzero(~test_mask(
        clusters.n, config.test_fraction, config.seed))[3])])  # fmt: skip
    assert removed.reproduced and removed.start_epoch == 41
    assert np.array_equal(removed.params[0], history.params_at(41))  # both start from the edited network
    assert any(change.any() for change in removed.change)


def test_an_edited_run_before_its_edit_is_the_run_it_branched_from(clusters):
    config = CONFIGS[0]
    history = edited_run(config, clusters)
    result = retrain_without(SPEC, config, history, clusters, [], epochs=30)  # epochs 0 to 30
    assert result.reproduced and result.start_epoch == 0
    refused = "edited at epoch 41, and retraining starts there"
    with pytest.raises(RetrainingRefused, match=refused):
        retrain_without(SPEC, config, edited_run(config, clusters, after=0), clusters, [3])
    history.mark_data_change(60)  # the samples changed after the edit
    with pytest.raises(RetrainingRefused, match="changed at epoch 60"):
        retrain_without(SPEC, config, history, clusters, [3])


def test_restarts_are_kept_by_branches_and_files(clusters):
    history = edited_run(CONFIGS[0], clusters)
    assert history.restarts == [41] and 41 in history.data_changes
    assert history.branch(60).restarts == [41] and history.branch(30).restarts == []
    again = TrainingHistory.from_arrays(SPEC, history.to_arrays(), **history.scalars())
    assert again.restarts == [41]
    with pytest.raises(ValueError, match="among its data changes"):
        TrainingHistory.from_arrays(SPEC, history.to_arrays(), **(history.scalars() | {"restarts": [7]}))
