"""One task of a study: a configuration trained from each of its seeds (together, by
multi_training.train_many: each run equals training it alone), measured as the study records it; and the
interpretable network's figures, once per data set. Plain functions of picklable arguments, for a process
pool or a Dask worker alike; results are rows (dicts of plain numbers and strings).

The per-neuron measures of app.core.thesis (focus, chance focus, role match) need the interpretable network
of a run's training part: it is built once per data set, test fraction and (only where something is held
out, as the split depends on it) seed in each worker process (training_essence), not once per run. Where it
cannot be built, or a measure fails, those cells stay empty and the run keeps its other figures and its
status; the error says why."""

from __future__ import annotations

import traceback
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

from app.core.multi_training import train_many
from app.core.network import NetworkSpec
from app.core.regions import network_regions
from app.core.samples import SampleSet
from app.core.study_spec import StudyConfig, load_samples
from app.core.thesis import (
    chance_focus,
    data_frame,
    enn_focus,
    far_field,
    mlp_focus,
    mlp_predictor,
    mlp_role_match,
    network_focus,
)
from app.core.training import EpochChunk, Trainer

if TYPE_CHECKING:
    from app.core.essence import EssenceNetwork

RUN_COLUMNS = (
    "config", "seed", "preset", "layers", "activation", "optimizer", "learning_rate", "batch_size", "l2",
    "test_fraction", "epochs", "status", "epochs_trained", "train_loss", "train_accuracy", "test_loss",
    "test_accuracy", "epochs_to_100", "far10", "far100", "regions", "focus", "chance_focus", "role_match",
    "error",
)  # fmt: skip
METRICS = ("train_loss", "train_accuracy", "test_loss", "test_accuracy", "epochs_to_100", "far10", "far100",
           "regions", "focus", "chance_focus", "role_match")  # fmt: skip
THESIS_COLUMNS = ("focus", "chance_focus", "role_match")  # empty where they cannot be measured
ESSENCE_COLUMNS = ("preset", "status", "neurons", "accuracy", "far10", "far100", "focus", "chance_focus",
                   "error")  # fmt: skip
ESSENCE_CACHE = 32  # interpretable networks kept per worker process


def _error_line(error: BaseException) -> str:
    return traceback.format_exception_only(type(error), error)[-1].strip().replace("\n", " ")


def config_fields(config: StudyConfig) -> dict:
    return {"config": config.id, "preset": config.preset, "layers": config.layers,
            "activation": config.activation, "optimizer": config.optimizer,
            "learning_rate": config.learning_rate, "batch_size": config.batch_size, "l2": config.l2,
            "test_fraction": config.test_fraction, "epochs": config.epochs}  # fmt: skip


def _failed(config: StudyConfig, seed: int, error: BaseException) -> dict:
    row = dict.fromkeys(RUN_COLUMNS, "") | config_fields(config) | {"seed": seed, "status": "failed"}
    return row | {"error": _error_line(error)}


Essence = tuple[SampleSet | None, "EssenceNetwork | str"]  # (training part, its network or why there is none)


@lru_cache(maxsize=ESSENCE_CACHE)
def _built_essence(preset: str, test_fraction: float, seed: int) -> Essence:
    try:
        from app.core.essence import build_essence  # SVMs: loaded when a study gets here

        train = load_samples(preset).split(test_fraction, seed)[0]
        return train, build_essence(train)
    except Exception as error:  # noqa: BLE001 - a failed build is kept too: it would fail again
        return None, _error_line(error)


def training_essence(preset: str, test_fraction: float, seed: int) -> Essence:
    """(the training part of a run on this data set at this test fraction and seed, the interpretable network
    built on it), or (None, the one-line error that kept it from being built): built once per data set, test
    fraction and seed in this process, where the seed counts only when something is held out (else the part
    is the whole data set, whatever the seed). Never raises."""
    test_fraction = float(test_fraction)
    return _built_essence(preset, test_fraction, int(seed) if test_fraction > 0 else 0)


def thesis_figures(spec: NetworkSpec, params: np.ndarray, train: SampleSet, enn: EssenceNetwork) -> dict:
    """THESIS_COLUMNS of the trained network with these params (app.core.thesis on the training part `train`
    that `enn` was built for): its focus (the mean over its first-layer neurons), the chance focus of the
    interpretable network's subconcepts, and its role match (the median distance of its first-layer lines to
    the nearest differentia line)."""
    return {
        "focus": network_focus(mlp_focus(spec, params, train, enn)),
        "chance_focus": chance_focus(enn.sample_subconcept),
        "role_match": mlp_role_match(spec, params, train, enn).median_distance,
    }


def _thesis_cells(spec: NetworkSpec, params: np.ndarray, essence: Essence) -> dict:
    """thesis_figures, or empty cells with the reason in `error` (the run keeps its status)."""
    train, enn = essence
    if isinstance(enn, str):
        return {"error": f"no focus or role match: the interpretable network cannot be built: {enn}"}
    try:
        return thesis_figures(spec, params, train, enn)
    except Exception as error:  # noqa: BLE001 - the run's other figures stand
        return {"error": f"no focus or role match: {_error_line(error)}"}


def measure(
    spec: NetworkSpec,
    samples: SampleSet,
    chunk: EpochChunk,
    essence: Essence | None = None,
) -> dict:
    """The figures of one trained run: its last epoch's training and held-out loss and accuracy (NaN when
    nothing is held out), the first epoch at 100% training accuracy ("" when none), far-field agreement
    with the nearest sample at 10 and 100 extents and the region count in the data's frame (last params);
    with `essence` (training_essence's pair for the run) THESIS_COLUMNS too."""
    if chunk.n_epochs == 0:
        raise ValueError("training diverged in the first epoch")
    params = chunk.params[-1]
    perfect = np.flatnonzero(chunk.accuracy >= 1.0)
    far10, far100 = far_field(mlp_predictor(spec, params), samples)
    figures = {
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
        **dict.fromkeys(THESIS_COLUMNS, ""),
        "error": "",
    }
    if essence is not None:
        figures.update(_thesis_cells(spec, params, essence))
    return figures


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
            figures = measure(spec, samples, chunk, _essence_of(config, seed))
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
    return config_fields(config) | {"seed": seed} | measure(spec, samples, chunk, _essence_of(config, seed))


def _essence_of(config: StudyConfig, seed: int) -> Essence:
    return training_essence(config.preset, config.test_fraction, seed)


def interpretable(preset: str) -> dict:
    """The interpretable network's figures on a data set (all its samples): its neurons, its accuracy on
    the samples, far-field agreement at 10 and 100 extents, its focus (the mean over its differentia
    neurons) and the chance focus of its subconcepts (ESSENCE_COLUMNS). A failed focus leaves those cells
    empty, the row "ok" and the reason in `error`."""
    row = dict.fromkeys(ESSENCE_COLUMNS, "") | {"preset": preset}
    try:
        samples, enn = training_essence(preset, 0.0, 0)  # the whole data set, as the runs with none held out
        if isinstance(enn, str):
            return row | {"status": "failed", "error": enn}
        accuracy = float(np.mean(enn.predict(samples.points) == samples.labels))
        far10, far100 = far_field(enn.predict, samples)
    except Exception as error:  # noqa: BLE001 - recorded in the table; the study goes on
        return row | {"status": "failed", "error": _error_line(error)}
    row |= {"status": "ok", "neurons": enn.n_neurons, "accuracy": accuracy, "far10": far10, "far100": far100}
    try:
        row |= {
            "focus": network_focus(enn_focus(enn, samples)),
            "chance_focus": chance_focus(enn.sample_subconcept),
        }
    except Exception as error:  # noqa: BLE001 - the other figures stand
        row["error"] = f"no focus: {_error_line(error)}"
    return row
