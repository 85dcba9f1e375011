"""TrainConfig validation, the Trainer on both backends, and the stoppable `train` generator."""

import itertools
from types import SimpleNamespace

import numpy as np
import pytest

import app.core.training as training_module
from app.core.dataset import BLUE, RED, SampleSet, make_preset, test_mask
from app.core.network import NetworkSpec, bce_loss_and_accuracy, loss_and_accuracy
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
        {"test_fraction": -0.1},
        {"test_fraction": 1.0},
        {"test_fraction": float("nan")},
    ],
)
def test_train_config_rejects(kwargs):
    with pytest.raises(ValueError):
        TrainConfig(**kwargs)


def test_train_config_defaults():
    config = TrainConfig()
    assert (config.optimizer, config.learning_rate, config.batch_size, config.l2) == ("adam", 0.03, 0, 0.0)
    assert config.test_fraction == 0.0
    with pytest.raises(ValueError, match="test fraction must be at least 0 and below 1"):
        TrainConfig(test_fraction=1.2)


# --- Trainer ---------------------------------------------------------------------------------------------


def test_xor_preset_reaches_full_accuracy_at_default_settings():
    trainer = Trainer(NetworkSpec(), TrainConfig())
    assert trainer.backend == "engine"
    params, loss, accuracy, diverged = trainer.run(make_preset("xor"), 2000)
    assert not diverged and len(loss) == 2000 and trainer.epoch == 2000
    assert accuracy.max() == 1.0
    assert accuracy[-1] == 1.0 and loss[-1] < 0.05
    np.testing.assert_array_equal(trainer.params, params[-1])


@pytest.mark.parametrize("test_fraction", [0.0, 0.25])
@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_engine_and_torch_backends_agree(optimizer, test_fraction):
    samples = make_preset("xor")
    config = TrainConfig(optimizer=optimizer, learning_rate=0.05, batch_size=10, l2=0.001, seed=4,
                         test_fraction=test_fraction)  # fmt: skip
    results = {}
    for backend in ("engine", "torch"):
        trainer = Trainer(NetworkSpec((4, 4), "tanh"), config, backend=backend)
        chunks = []
        for n in (20, 30):  # the optimizer state carries across runs
            params, loss, acc, _ = trainer.run(samples, n)
            chunks.append((params, loss, acc, *trainer.last_test))
        assert trainer.epoch == 50
        results[backend] = [np.concatenate([c[i] for c in chunks]) for i in range(5)]
    (p, loss, acc, test_loss, test_acc), (tp, tloss, tacc, ttest_loss, ttest_acc) = results.values()
    assert loss.shape == test_loss.shape == (50,) and loss[-1] < loss[0]
    np.testing.assert_allclose(loss, tloss, rtol=0, atol=1e-6)
    np.testing.assert_allclose(p, tp, rtol=0, atol=1e-6)
    np.testing.assert_allclose(acc, tacc, rtol=0, atol=1e-12)
    np.testing.assert_allclose(test_loss, ttest_loss, rtol=0, atol=1e-6)  # NaN == NaN where none is held out
    np.testing.assert_allclose(test_acc, ttest_acc, rtol=0, atol=1e-12)
    assert np.isnan(test_loss).all() == (test_fraction == 0.0)


@pytest.mark.parametrize("backend", ["engine", "torch"])
def test_training_on_a_split_never_uses_the_test_samples(backend):
    """Flipping the labels of only the held-out samples leaves training exactly as it was, not the test."""
    samples = make_preset("moons")
    config = TrainConfig(learning_rate=0.02, batch_size=16, seed=3, test_fraction=0.3)
    held_out = test_mask(samples.n, 0.3, seed=3)
    assert abs(held_out.sum() - 60) < 1
    flipped = SampleSet(samples.points, np.where(held_out, 1 - samples.labels, samples.labels))
    runs = []
    for data in (samples, flipped):
        trainer = Trainer(NetworkSpec((6, 6), "tanh"), config, backend=backend)
        params, loss, acc, diverged = trainer.run(data, 60)
        runs.append((params, loss, acc, *trainer.last_test))
        assert not diverged
    (p, loss, acc, test_loss, test_acc), (fp, floss, facc, ftest_loss, ftest_acc) = runs
    np.testing.assert_array_equal(fp, p)
    np.testing.assert_array_equal(floss, loss)
    np.testing.assert_array_equal(facc, acc)
    # the training metrics are those of the training part alone, the test metrics of the held-out part
    spec = NetworkSpec((6, 6), "tanh")
    train_part, test_part = samples.split(0.3, seed=3)
    np.testing.assert_allclose(
        (loss[-1], acc[-1]),
        bce_loss_and_accuracy(spec, p[-1], train_part.points, train_part.labels),
        atol=1e-9,
    )
    np.testing.assert_allclose(
        (test_loss[-1], test_acc[-1]), bce_loss_and_accuracy(spec, p[-1], test_part.points, test_part.labels),
        atol=1e-9,
    )  # fmt: skip
    assert test_acc[-1] > 0.8 and ftest_acc[-1] < 0.2  # it learned the moons: the flipped labels look wrong
    np.testing.assert_allclose(test_acc + ftest_acc, 1.0, atol=1e-12)  # every test sample right in one run
    assert np.all(ftest_loss > test_loss)


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_k_class_training_agrees_on_both_backends(optimizer):
    """Four classes by angle sector. SampleSet holds red and blue only so far; the trainer reads nothing of
    it but points, labels and n, so a plain stand-in carries the four classes."""
    points = np.random.default_rng(2).uniform(-2, 2, size=(90, 2))
    labels = np.floor((np.arctan2(points[:, 1], points[:, 0]) / (2 * np.pi) % 1.0) * 4).astype(np.int64)
    samples = SimpleNamespace(points=points, labels=labels, n=len(labels))
    spec = NetworkSpec((6, 6), "tanh", 4)
    config = TrainConfig(optimizer, 0.05, batch_size=16, l2=0.001, seed=1, test_fraction=0.2)
    results = {}
    for backend in ("engine", "torch"):
        trainer = Trainer(spec, config, backend=backend)
        chunks = []
        for n in (30, 40):  # the optimizer state carries across runs
            params, loss, acc, diverged = trainer.run(samples, n)
            assert not diverged
            chunks.append((params, loss, acc, *trainer.last_test))
        results[backend] = [np.concatenate([c[i] for c in chunks]) for i in range(5)]
    (p, loss, acc, test_loss, test_acc), (tp, tloss, tacc, ttest_loss, ttest_acc) = results.values()
    assert p.shape == (70, spec.n_params) and acc[-1] > 0.9 and test_acc[-1] > 0.8
    np.testing.assert_allclose(loss, tloss, rtol=0, atol=1e-6)
    np.testing.assert_allclose(p, tp, rtol=0, atol=1e-6)
    np.testing.assert_allclose(acc, tacc, rtol=0, atol=1e-12)
    np.testing.assert_allclose(test_loss, ttest_loss, rtol=0, atol=1e-6)
    np.testing.assert_allclose(test_acc, ttest_acc, rtol=0, atol=1e-12)
    held_out = test_mask(len(labels), 0.2, seed=1)
    np.testing.assert_allclose(
        (loss[-1], acc[-1], test_loss[-1], test_acc[-1]),
        (*loss_and_accuracy(spec, p[-1], points[~held_out], labels[~held_out]),
         *loss_and_accuracy(spec, p[-1], points[held_out], labels[held_out])),
        atol=1e-9,
    )  # fmt: skip


def test_trainer_without_a_split_leaves_nan_test_metrics():
    trainer = Trainer(NetworkSpec(), TrainConfig())
    params, loss, _, _ = trainer.run(make_preset("xor"), 7)
    test_loss, test_acc = trainer.last_test
    assert (
        test_loss.shape == test_acc.shape == (7,) and np.isnan(test_loss).all() and np.isnan(test_acc).all()
    )


def test_trainer_refuses_to_train_on_nothing():
    two = SampleSet(np.array([[0.0, 0.0], [1.0, 1.0]]), np.array([RED, BLUE]))
    trainer = Trainer(NetworkSpec(), TrainConfig(test_fraction=0.9))
    with pytest.raises(ValueError, match="no samples to train on"):
        trainer.run(two, 3)
    assert trainer.epoch == 0


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


@pytest.mark.parametrize("chunk_seconds", [1e-6, 0.02, 1.0])
def test_core_training_stops_at_exactly_max_epochs_from_a_resumed_trainer(chunk_seconds):
    trainer = Trainer(NetworkSpec((3, 2)), TrainConfig(batch_size=8))
    list(train(trainer, lambda: make_preset("moons"), never, max_epochs=11))
    chunks = list(train(trainer, lambda: make_preset("moons"), never, chunk_seconds, max_epochs=389))
    assert trainer.epoch == 400 == chunks[-1].last_epoch
    assert sum(c.n_epochs for c in chunks) == 389


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


def test_train_ends_at_once_when_the_split_leaves_one_class_to_train_on():
    n = 20
    held_out = test_mask(n, 0.5, seed=2)
    samples = SampleSet(np.column_stack([np.arange(n), np.zeros(n)]), held_out.astype(int))
    assert samples.training_problem() is None and "no blue sample" in samples.training_problem(0.5, 2)
    trainer = Trainer(NetworkSpec(), TrainConfig(test_fraction=0.5, seed=2))
    assert list(train(trainer, lambda: samples, never, max_epochs=10)) == []
    assert trainer.epoch == 0


def test_train_yields_the_test_metrics_of_a_split():
    trainer = Trainer(NetworkSpec(), TrainConfig(test_fraction=0.2, seed=1))
    chunks = list(train(trainer, lambda: make_preset("xor"), never, max_epochs=300))
    test_loss = np.concatenate([c.test_loss for c in chunks])
    test_acc = np.concatenate([c.test_accuracy for c in chunks])
    assert test_loss.shape == (300,) and np.all(np.isfinite(test_loss))
    assert test_loss[-1] < test_loss[0] and test_acc[-1] >= 0.95  # xor's 32 held-out samples, learned
    np.testing.assert_array_equal(test_acc * 32, np.round(test_acc * 32))


def test_epoch_chunk_test_metrics_default_to_nan():
    chunk = EpochChunk(4, np.zeros((3, 5)), np.array([0.3, 0.2, 0.1]), np.array([0.5, 0.6, 0.7]), 2)
    assert chunk.test_loss.shape == chunk.test_accuracy.shape == (3,)
    assert np.isnan(chunk.test_loss).all() and np.isnan(chunk.test_accuracy).all()
    with pytest.raises(ValueError):
        chunk.test_loss[0] = 1.0
    empty = EpochChunk(1, np.empty((0, 5)), np.empty(0), np.empty(0), 0, diverged=True)
    assert empty.test_loss.shape == (0,) and empty.n_epochs == 0
    with pytest.raises(ValueError, match="test_accuracy has shape"):
        EpochChunk(
            1, np.zeros((2, 5)), np.zeros(2), np.zeros(2), 0, test_loss=np.zeros(2), test_accuracy=np.zeros(3)
        )


def test_epoch_chunk_arrays_are_read_only():
    trainer = Trainer(NetworkSpec(), TrainConfig(test_fraction=0.1))
    chunk = next(train(trainer, lambda: make_preset("xor"), never, max_epochs=3))
    assert isinstance(chunk, EpochChunk)
    for array in (chunk.params, chunk.loss, chunk.accuracy, chunk.test_loss, chunk.test_accuracy):
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


def test_training_stops_at_the_last_epoch_the_timeline_can_show():
    """A session opened at epoch 2^31 - 4 trained on past int32, which the timeline cannot hold (#19)."""
    from app.core.torch_model import init_params
    from app.core.training import MAX_EPOCH

    spec = NetworkSpec()
    trainer = Trainer(spec, TrainConfig(), params=init_params(spec, 0), epoch=MAX_EPOCH - 3)
    samples = make_preset("xor")
    chunks = list(train(trainer, lambda: samples, lambda: False))
    assert chunks[-1].last_epoch == trainer.epoch == MAX_EPOCH
    assert list(train(trainer, lambda: samples, lambda: False)) == []
