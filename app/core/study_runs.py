"""One task of a study: a configuration trained from each of its seeds (together, by
multi_training.train_many: each run equals training it alone), measured as the study records it; and the
interpretable network's figures, once per data set. Plain functions of picklable arguments, for a process
pool or a Dask worker alike; results are rows (dicts of plain numbers and strings)."""

from __future__ import annotations

import traceback

import numpy as np

from app.core.multi_training import train_many
from app.core.network import NetworkSpec
from app.core.regions import network_regions
from app.core.samples import SampleSet
from app.core.study_spec import StudyConfig, load_samples
from app.core.thesis import data_frame, far_field, mlp_predictor
from app.core.training import EpochChunk, Trainer

RUN_COLUMNS = (
    "config", "seed", "preset", "layers", "activation", "optimizer", "learning_rate", "batch_size", "l2",
    "test_fraction", "epochs", "status", "epochs_trained", "train_loss", "train_accuracy", "test_loss",
    "test_accuracy", "epochs_to_100", "far10", "far100", "regions", "error",
)  # fmt: skip
METRICS = ("train_loss", "train_accuracy", "test_loss", "test_accuracy", "epochs_to_100", "far10", "far100",
           "regions")  # fmt: skip
ESSENCE_COLUMNS = ("preset", "status", "neurons", "accuracy", "far10", "far100", "error")


def config_fields(config: StudyConfig) -> dict:
    return {"config": config.id, "preset": config.preset, "layers": config.layers,
            "activation": config.activation, "optimizer": config.optimizer,
            "learning_rate": config.learning_rate, "batch_size": config.batch_size, "l2": config.l2,
            "test_fraction": config.test_fraction, "epochs": config.epochs}  # fmt: skip


def _failed(config: StudyConfig, seed: int, error: BaseException) -> dict:
    row = dict.fromkeys(RUN_COLUMNS, "") | config_fields(config) | {"seed": seed, "status": "failed"}
    last = traceback.format_exception_only(type(error), error)[-1].strip()
    return row | {"error": last.replace("\n", " ")}


def measure(spec: NetworkSpec, samples: SampleSet, chunk: EpochChunk) -> dict:
    """The figures of one trained run: its last epoch's training and held-out loss and accuracy (NaN when
    nothing is held out), the first epoch at 100% training accuracy ("" when none), far-field agreement
    with the nearest sample at 10 and 100 extents and the region count in the data's frame (last params)."""
    if chunk.n_epochs == 0:
        raise ValueError("training diverged in the first epoch")
    params = chunk.params[-1]
    perfect = np.flatnonzero(chunk.accuracy >= 1.0)
    far10, far100 = far_field(mlp_predictor(spec, params), samples)
    return {
        "status": "diverged" if chunk.diverged else "ok",
        "epochs_trained": chunk.last_epoch,
        "train_loss": float(chunk.loss[-1]),
        "train_accuracy": float(chunk.accuracy[-1]),
        "test_loss": float(chunk.test_loss[-1]),
        "test_accuracy": float(chunk.test_accuracy[-1]),
        "epochs_to_100": int(chunk.first_epoch + perfect[0]) if len(perfect) else "",
        "far10": far10,
        "far100": far100,
        "regions": network_regions(spec, params, data_frame(samples)).count,
        "error": "",
    }


def run_config(config: StudyConfig, seeds: tuple[int, ...]) -> list[dict]:
    """One row per seed (RUN_COLUMNS): the seeds' runs of this configuration trained together; a run that
    fails (or all, when training them together fails) is a row with status "failed" and its error."""
    try:
        samples = load_samples(config.preset)
        spec = config.network(samples.classes)
        chunks = train_many(spec, [config.train_config(s) for s in seeds], samples, config.epochs)
    except Exception as error:  # noqa: BLE001 - recorded in the table; the study goes on
        return [_failed(config, seed, error) for seed in seeds]
    rows = []
    for seed, chunk in zip(seeds, chunks, strict=True):
        try:
            figures = measure(spec, samples, chunk)
        except Exception as error:  # noqa: BLE001 - recorded in the table; the study goes on
            rows.append(_failed(config, seed, error))
        else:
            rows.append(config_fields(config) | {"seed": seed} | figures)
    return rows


def run_alone(config: StudyConfig, seed: int) -> dict:
    """The row run_config gives for this seed, trained by one Trainer (what the window's engine does)."""
    samples = load_samples(config.preset)
    spec = config.network(samples.classes)
    trainer = Trainer(spec, config.train_config(seed))
    params, loss, acc, diverged = trainer.run(samples, config.epochs)
    test_loss, test_acc = trainer.last_test
    chunk = EpochChunk(1, params, loss, acc, samples.version, diverged, test_loss, test_acc)
    return config_fields(config) | {"seed": seed} | measure(spec, samples, chunk)


def interpretable(preset: str) -> dict:
    """The interpretable network's figures on a data set (all its samples): its neurons, its accuracy on
    the samples, far-field agreement at 10 and 100 extents (ESSENCE_COLUMNS)."""
    from app.core.essence import build_essence  # SVMs: loaded when a study gets here

    row = dict.fromkeys(ESSENCE_COLUMNS, "") | {"preset": preset}
    try:
        samples = load_samples(preset)
        enn = build_essence(samples)
        accuracy = float(np.mean(enn.predict(samples.points) == samples.labels))
        far10, far100 = far_field(enn.predict, samples)
    except Exception as error:  # noqa: BLE001 - recorded in the table; the study goes on
        last = traceback.format_exception_only(type(error), error)[-1].strip()
        return row | {"status": "failed", "error": last.replace("\n", " ")}
    return row | {"status": "ok", "neurons": enn.n_neurons, "accuracy": accuracy, "far10": far10,
                  "far100": far100}  # fmt: skip
