"""The K-run loop (engine_multi, multi_training) against training each run alone: every recorded epoch's
parameters, loss and accuracy (and held-out metrics) equal bit for bit, float64, whatever differs between
the runs (seed, learning rate, L2, held-out part), and a run that diverges stops alone."""

import numpy as np
import pytest

from app.core import engine, engine_multi, exact_math
from app.core.dataset import SampleSet
from app.core.multi_training import MultiTrainer, train_many
from app.core.network import ACTIVATIONS, NetworkSpec
from app.core.samples import default_class_names
from app.core.torch_model import init_params
from app.core.training import TrainConfig, Trainer

pytestmark = pytest.mark.skipif(not engine.AVAILABLE, reason="the K-run loop needs numba")


def samples(n: int = 40, classes: int = 2, seed: int = 0) -> SampleSet:
    """Points in a square, labelled by angle sectors whose edges bend with the radius."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-2, 2, size=(n, 2))
    turn = (np.arctan2(x[:, 1], x[:, 0]) + np.hypot(x[:, 0], x[:, 1])) / (2 * np.pi)
    labels = np.floor((turn % 1.0) * classes).astype(np.int64)
    return SampleSet(x, labels, class_names=default_class_names(classes))


def assert_same_as_alone(spec, configs, data, n_epochs):
    """train_many's chunks equal each config's Trainer.run alone; returns the chunks."""
    chunks = train_many(spec, configs, data, n_epochs)
    assert len(chunks) == len(configs)
    for config, chunk in zip(configs, chunks, strict=True):
        alone = Trainer(spec, config)
        params, loss, accuracy, diverged = alone.run(data, n_epochs)
        assert chunk.first_epoch == 1 and chunk.diverged == diverged
        assert np.array_equal(chunk.params, params)
        assert np.array_equal(chunk.loss, loss)
        assert np.array_equal(chunk.accuracy, accuracy)
        assert np.array_equal(chunk.test_loss, alone.last_test[0], equal_nan=True)
        assert np.array_equal(chunk.test_accuracy, alone.last_test[1], equal_nan=True)
    return chunks


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_runs_with_other_seeds_and_learning_rates_equal_their_runs_alone(activation, optimizer):
    rate = 0.1 if optimizer == "sgd" else 0.01
    configs = [TrainConfig(optimizer, rate * (1 + k / 2), batch_size=10, seed=k) for k in range(5)]
    assert_same_as_alone(NetworkSpec((4, 4), activation), configs, samples(), 6)


@pytest.mark.parametrize("batch_size", [0, 10, 7])
def test_full_and_partial_batches(batch_size):
    configs = [TrainConfig("sgd", 0.1, batch_size=batch_size, seed=k) for k in range(3)]
    assert_same_as_alone(NetworkSpec((4, 4), "tanh"), configs, samples(43), 5)


@pytest.mark.parametrize("classes", [3, 5])
def test_more_classes(classes):
    configs = [TrainConfig("adam", 0.01 * (k + 1), batch_size=6, seed=k) for k in range(3)]
    assert_same_as_alone(NetworkSpec((4, 4), "relu", classes), configs, samples(classes=classes), 5)


def test_held_out_parts_of_other_sizes_and_l2():
    """Each run holds out its own part (different fractions and seeds: training parts of different sizes,
    so that runs end their epochs after different numbers of batches), with L2."""
    configs = [
        TrainConfig("adam", 0.02, batch_size=7, l2=0.01 * k, seed=k, test_fraction=0.1 * k) for k in range(4)
    ]
    chunks = assert_same_as_alone(NetworkSpec((5, 3), "sigmoid"), configs, samples(47), 5)
    assert np.isnan(chunks[0].test_loss).all() and np.isfinite(chunks[3].test_loss).all()


def test_a_run_that_diverges_stops_while_the_others_go_on():
    configs = [TrainConfig("sgd", rate, batch_size=10, seed=k) for k, rate in enumerate([0.05, 100.0, 0.1])]
    spec, data = NetworkSpec((4, 4), "leaky_relu"), samples()
    chunks = assert_same_as_alone(spec, configs, data, 6)
    assert [c.diverged for c in chunks] == [False, True, False]
    assert chunks[1].n_epochs < 6 and chunks[0].n_epochs == 6
    multi = MultiTrainer.from_configs(spec, configs)
    multi.run(data, 6)
    alone = Trainer(spec, configs[1])
    alone.run(data, 6)
    after = multi.trainers[1].state()  # back to its last good parameters, with a fresh optimizer
    assert np.array_equal(after.params, alone.state().params) and after.step == 0
    assert after.epoch == alone.epoch


def test_trainers_go_on_where_they_stopped():
    """Two calls of 3 epochs equal two calls of Trainer.run, and each trainer left behind goes on alone."""
    spec, data = NetworkSpec((4, 4), "tanh"), samples()
    configs = [TrainConfig("adam", 0.03, batch_size=8, seed=k) for k in range(3)]
    multi = MultiTrainer.from_configs(spec, configs)
    multi.run(data, 3)
    second = multi.run(data, 3)
    for config, chunk, trainer in zip(configs, second, multi.trainers, strict=True):
        alone = Trainer(spec, config)
        alone.run(data, 3)
        params, loss, _, _ = alone.run(data, 3)
        assert chunk.first_epoch == 4
        assert np.array_equal(chunk.params, params) and np.array_equal(chunk.loss, loss)
        assert np.array_equal(trainer.run(data, 2)[0], alone.run(data, 2)[0])


def test_engine_level_deeper_network_with_own_orders():
    """train_epochs_many against engine.train_epochs on a 2-3-5-8-1 network, arbitrary orders, L2."""
    spec = NetworkSpec((3, 5, 8), "tanh")
    data = samples(30)
    x, y = data.points, data.labels.astype(np.float64)
    rng = np.random.default_rng(3)
    starts = [init_params(spec, k) for k in range(3)]
    orders = [np.array([rng.permutation(30) for _ in range(4)]) for _ in range(3)]
    rates, l2s = [0.1, 0.05, 0.2], [0.0, 0.01, 0.001]
    params = np.ascontiguousarray(np.stack(starts, axis=1))
    steps = np.zeros(3, np.int64)
    everyone = [np.arange(30)] * 3
    many = engine_multi.train_epochs_many(
        params, np.zeros_like(params), np.zeros_like(params), steps, x, y, everyone, [np.arange(0)] * 3,
        orders, 9, rates, l2s, "adam", "tanh", spec.layer_sizes,
    )  # fmt: skip
    for k in range(3):
        alone = starts[k].copy()
        *result, step = engine.train_epochs(
            alone, np.zeros_like(alone), np.zeros_like(alone), 0, x, y, np.empty((0, 2)), np.empty(0),
            orders[k], 9, rates[k], l2s[k], "adam", "tanh", spec.layer_sizes,
        )  # fmt: skip
        for ours, theirs in zip(many[k], result, strict=True):
            assert np.array_equal(ours, theirs, equal_nan=True)
        assert steps[k] == step and np.array_equal(params[:, k], alone)


def test_wide_networks_train_one_after_another():
    spec = NetworkSpec((engine.WIDE_MIN_WIDTH,), "tanh")
    configs = [TrainConfig("sgd", 0.1, batch_size=10, seed=k) for k in range(2)]
    assert_same_as_alone(spec, configs, samples(), 2)
    params = np.zeros((spec.n_params, 2))
    with pytest.raises(ValueError, match="WIDE_MIN_WIDTH"):
        engine_multi.train_epochs_many(
            params, params.copy(), params.copy(), np.zeros(2, np.int64), np.zeros((2, 2)), np.zeros(2),
            [np.arange(2)] * 2, [np.arange(0)] * 2, [np.zeros((1, 2), np.int64)] * 2, 2, [0.1] * 2,
            [0.0] * 2, "sgd", "tanh", spec.layer_sizes,
        )  # fmt: skip


def test_exp_and_log1p_are_accurate():
    """The shared exp is glibc's algorithm (within 1 ulp of numpy's exp) and log1p_unit within 2 ulp."""
    rng = np.random.default_rng(0)
    xs = np.concatenate([rng.uniform(-700, 700, 20_000), rng.normal(0, 1, 20_000), [0.0, -0.0, 1e-300]])
    ours = np.array([exact_math.exp(v) for v in xs])
    assert np.all(np.abs(ours - np.exp(xs)) <= np.spacing(np.exp(xs)))
    es = np.concatenate([rng.random(20_000), np.exp(-rng.uniform(0, 40, 20_000)), [0.0, 1.0]])
    ours = np.array([exact_math.log1p_unit(v) for v in es])
    assert np.all(np.abs(ours - np.log1p(es)) <= 2 * np.spacing(np.log1p(es)))


def test_a_failing_k_run_loop_leaves_the_trainers_to_train_one_by_one(monkeypatch):
    def fail(*args, **kwargs):
        raise RuntimeError("no K-run loop here")

    monkeypatch.setattr(engine_multi, "train_epochs_many", fail)
    configs = [TrainConfig("sgd", 0.1, batch_size=10, seed=k) for k in range(2)]
    assert_same_as_alone(NetworkSpec((4, 4), "tanh"), configs, samples(), 3)


def test_warm_up_compiles_the_loop():
    engine_multi.warm_up()
