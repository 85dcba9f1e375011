"""TrainConfig validation, the Trainer on both backends, and the stoppable `train` generator."""

import itertools

import numpy as np
import pytest

import app.core.training as training_module
from app.core.dataset import BLUE, RED, SampleSet, make_preset
from app.core.network import NetworkSpec
from app.core.training import EpochChunk, TrainConfig, Trainer, train


def never() -> bool:
    return False


def diverging_samples() -> SampleSet:
    """Points far out, on which SGD at a huge learning rate overflows a leaky-ReLU net within a few epochs."""
    rng = np.random.default_rng(0)
    points = rng.uniform(-2e3, 2e3, size=(40, 2))
    return SampleSet(points, (points[:, 1] > 0).astype(int))


DIVERGING_SPEC = NetworkSpec((4, 4), "leaky_relu")
DIVERGING_CONFIG = TrainConfig(optimizer="sgd", learning_rate=1e6)


# --- TrainConfig -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [
        {"learning_rate": 0.0},
        {"learning_rate": -0.1},
        {"learning_rate": float("nan")},
        {"learning_rate": float("inf")},
        {"optimizer": "rmsprop"},
        {"batch_size": -1},
        {"l2": -0.01},
    ],
)
def test_train_config_rejects(kwargs):
    with pytest.raises(ValueError):
        TrainConfig(**kwargs)


def test_train_config_defaults():
    config = TrainConfig()
    assert (config.optimizer, config.learning_rate, config.batch_size, config.l2) == ("adam", 0.03, 0, 0.0)


# --- Trainer ---------------------------------------------------------------------------------------------


def test_xor_preset_reaches_full_accuracy_at_default_settings():
    trainer = Trainer(NetworkSpec(), TrainConfig())
    assert trainer.backend == "engine"
    params, loss, accuracy, diverged = trainer.run(make_preset("xor"), 2000)
    assert not diverged and len(loss) == 2000 and trainer.epoch == 2000
    assert accuracy.max() == 1.0
    assert accuracy[-1] == 1.0 and loss[-1] < 0.05
    np.testing.assert_array_equal(trainer.params, params[-1])


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_engine_and_torch_backends_agree(optimizer):
    samples = make_preset("xor")
    config = TrainConfig(optimizer=optimizer, learning_rate=0.05, batch_size=10, l2=0.001, seed=4)
    results = {}
    for backend in ("engine", "torch"):
        trainer = Trainer(NetworkSpec((4, 4), "tanh"), config, backend=backend)
        chunks = [trainer.run(samples, n) for n in (20, 30)]  # the optimizer state carries across runs
        assert trainer.epoch == 50
        results[backend] = [np.concatenate([c[i] for c in chunks]) for i in range(3)]
    (p, loss, acc), (tp, tloss, tacc) = results["engine"], results["torch"]
    assert loss.shape == (50,) and loss[-1] < loss[0]
    np.testing.assert_allclose(loss, tloss, rtol=0, atol=1e-6)
    np.testing.assert_allclose(p, tp, rtol=0, atol=1e-6)
    np.testing.assert_allclose(acc, tacc, rtol=0, atol=1e-12)


def test_sample_orders_shuffle_only_for_mini_batches():
    full = Trainer(NetworkSpec(), TrainConfig(batch_size=0))
    np.testing.assert_array_equal(full.sample_orders(5, 3), np.tile(np.arange(5), (3, 1)))
    mini = Trainer(NetworkSpec(), TrainConfig(batch_size=2))
    orders = mini.sample_orders(50, 3)
    assert not np.array_equal(orders[0], np.arange(50)) and not np.array_equal(orders[0], orders[1])
    np.testing.assert_array_equal(np.sort(orders, axis=1), np.tile(np.arange(50), (3, 1)))


@pytest.mark.parametrize("backend", ["engine", "torch"])
def test_diverging_learning_rate_keeps_params_finite(backend):
    trainer = Trainer(DIVERGING_SPEC, DIVERGING_CONFIG, backend=backend)
    chunks = list(train(trainer, diverging_samples, never, max_epochs=100))
    assert chunks[-1].diverged and not any(c.diverged for c in chunks[:-1])
    assert sum(c.n_epochs for c in chunks) == trainer.epoch < 100
    assert np.all(np.isfinite(trainer.params))
    for chunk in chunks:
        assert np.all(np.isfinite(chunk.params)) and np.all(np.isfinite(chunk.loss))
    recorded = [c for c in chunks if c.n_epochs]
    if recorded:  # the trainer rests on the last good epoch
        np.testing.assert_array_equal(trainer.params, recorded[-1].params[-1])


# --- the train generator ---------------------------------------------------------------------------------


def test_train_stops_when_asked():
    trainer = Trainer(NetworkSpec(), TrainConfig())
    calls = itertools.count()
    chunks = list(train(trainer, lambda: make_preset("xor"), lambda: next(calls) >= 3))
    assert len(chunks) == 3
    assert trainer.epoch == sum(c.n_epochs for c in chunks)


@pytest.mark.parametrize("chunk_seconds", [1e-5, 0.02])
def test_train_respects_max_epochs_with_consecutive_numbering(chunk_seconds):
    trainer = Trainer(NetworkSpec(), TrainConfig(batch_size=16))
    chunks = list(train(trainer, lambda: make_preset("xor"), never, chunk_seconds, max_epochs=137))
    assert sum(c.n_epochs for c in chunks) == 137 == trainer.epoch
    assert chunks[0].first_epoch == 1 and chunks[-1].last_epoch == 137
    for before, after in itertools.pairwise(chunks):
        assert after.first_epoch == before.last_epoch + 1
    assert all(c.n_epochs >= 1 and not c.diverged for c in chunks)
    if chunk_seconds == 0.02:
        assert len(chunks) < 137  # chunks grow when epochs are fast


def test_train_reads_new_samples_between_chunks():
    first = make_preset("xor")
    edited = first.with_sample(0.0, 3.0, RED)
    current = {"samples": first}
    trainer = Trainer(NetworkSpec(), TrainConfig())
    versions = []
    for chunk in train(trainer, lambda: current["samples"], never, max_epochs=10):
        versions.append(chunk.data_version)
        current["samples"] = edited
    assert edited.version == first.version + 1
    assert versions[0] == first.version and versions[1:] and set(versions[1:]) == {edited.version}


@pytest.mark.parametrize(
    "samples",
    [
        SampleSet.empty(),
        SampleSet(np.array([[0.0, 0.0], [1.0, 1.0]]), np.array([BLUE, BLUE])),
        SampleSet(np.array([[0.0, 0.0]]), np.array([RED])),
    ],
)
def test_train_ends_at_once_without_a_training_problem(samples):
    trainer = Trainer(NetworkSpec(), TrainConfig())
    before = trainer.params.copy()
    assert list(train(trainer, lambda: samples, never, max_epochs=10)) == []
    assert trainer.epoch == 0
    np.testing.assert_array_equal(trainer.params, before)


def test_epoch_chunk_arrays_are_read_only():
    trainer = Trainer(NetworkSpec(), TrainConfig())
    chunk = next(train(trainer, lambda: make_preset("xor"), never, max_epochs=3))
    assert isinstance(chunk, EpochChunk)
    for array in (chunk.params, chunk.loss, chunk.accuracy):
        with pytest.raises(ValueError):
            array[0] = 1.0
    # the trainer's own parameters are not the chunk's memory
    assert not np.shares_memory(trainer.params, chunk.params)


@pytest.mark.parametrize("rate", [20.0, 200.0])
def test_speed_limit_paces_epochs_without_real_sleeping(rate, monkeypatch):
    clock = {"now": 0.0}
    waits = []

    def fake_wait(seconds):
        waits.append(seconds)
        clock["now"] += seconds

    samples = make_preset("xor")
    trainer = Trainer(NetworkSpec(), TrainConfig())
    monkeypatch.setattr(
        training_module.time, "perf_counter", lambda: clock["now"]
    )  # a clock that only waits move
    chunks = list(train(trainer, lambda: samples, lambda: clock["now"] >= 2.0, max_rate=lambda: rate,
                        wait=fake_wait))  # fmt: skip
    epochs = sum(c.n_epochs for c in chunks)
    assert abs(epochs - 2.0 * rate) <= max(2, rate / 60 + 1)
    assert all(c.n_epochs <= max(1, int(rate / 60)) for c in chunks)


def test_learning_rate_change_keeps_torch_adam_state_like_the_engine():
    samples = make_preset("xor")
    runs = []
    for backend in ("engine", "torch"):
        trainer = Trainer(NetworkSpec(), TrainConfig(), backend=backend)
        trainer.run(samples, 5)
        trainer.set_config(TrainConfig(learning_rate=0.01))
        runs.append(trainer.run(samples, 5)[1])
    np.testing.assert_allclose(runs[0], runs[1], atol=1e-9)


def test_backend_from_environment(monkeypatch):
    monkeypatch.setenv("UNBOXED_BACKEND", "torch")
    assert Trainer(NetworkSpec(), TrainConfig()).backend == "torch"
    monkeypatch.setenv("UNBOXED_BACKEND", "quantum")
    with pytest.raises(ValueError, match="unknown backend"):
        Trainer(NetworkSpec(), TrainConfig())
