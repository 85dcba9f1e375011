"""A study's spec: a TOML file whose [study] table gives each setting one value or a list; the grid of
configurations is the product of the lists (seeds apart: every configuration trains from each seed).

    [study]
    presets = ["xor", "moons"]    # preset names or CSV files (x, y, label; relative to the spec's folder)
    layers = ["4,4", "8"]         # hidden layer widths
    activation = "tanh"           # tanh, relu, sigmoid, leaky_relu
    optimizer = "adam"            # adam, sgd
    learning_rate = 0.03
    batch_size = 0                # 0: full batch
    l2 = 0.0
    test_fraction = 0.0           # held out (dataset.test_mask with the run's seed)
    seeds = 3                     # seeds 0, 1, 2 (or a list of seeds)
    epochs = 300

Everything is checked before anything runs (parse_spec raises StudySpecError with one line a user can act
on): unknown keys, presets or activations, a file that is not there or not a sample file, a negative
learning rate, an empty grid, a held-out part that leaves nothing to train on."""

from __future__ import annotations

import hashlib
import itertools
import json
import tomllib
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path

from app.core.csv_io import read_csv
from app.core.network import NetworkSpec, parse_widths
from app.core.presets import PRESET_CLASSES, make_preset
from app.core.samples import SampleSet
from app.core.training import MAX_EPOCH, TrainConfig

DEFAULTS = {
    "layers": "4,4",
    "activation": "tanh",
    "optimizer": "adam",
    "learning_rate": 0.03,
    "batch_size": 0,
    "l2": 0.0,
    "test_fraction": 0.0,
    "seeds": 1,
    "epochs": 300,
}
KEYS = ("presets", *DEFAULTS)
GRID_KEYS = ("presets", "layers", "activation", "optimizer", "learning_rate", "batch_size", "l2",
             "test_fraction", "epochs")  # fmt: skip


class StudySpecError(ValueError):
    """A spec that cannot run; the message is one line for the user."""


@dataclass(frozen=True)
class StudyConfig:
    """One configuration of the grid: what trains (from each of the study's seeds). `preset` is a preset
    name or a CSV file's absolute path."""

    preset: str
    layers: str
    activation: str
    optimizer: str
    learning_rate: float
    batch_size: int
    l2: float
    test_fraction: float
    epochs: int

    @property
    def id(self) -> str:
        """A short name that stays the same as long as the configuration does (a resumed study finds its
        finished runs by it, whatever else the spec lists)."""
        text = json.dumps(asdict(self), sort_keys=True)
        return hashlib.sha1(text.encode()).hexdigest()[:10]

    @property
    def architecture(self) -> str:
        return f"{self.layers} {self.activation}"

    def network(self, classes: int) -> NetworkSpec:
        return NetworkSpec(parse_widths(self.layers), self.activation, classes)

    def train_config(self, seed: int) -> TrainConfig:
        return TrainConfig(
            self.optimizer, self.learning_rate, self.batch_size, self.l2, seed, self.test_fraction
        )


@dataclass(frozen=True)
class Study:
    configs: tuple[StudyConfig, ...]
    seeds: tuple[int, ...]

    @property
    def n_runs(self) -> int:
        return len(self.configs) * len(self.seeds)

    @property
    def data_sets(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(c.preset for c in self.configs))


def is_file_name(preset: str) -> bool:
    return preset.lower().endswith(".csv") or "/" in preset or "\\" in preset


@lru_cache(maxsize=8)
def load_samples(preset: str) -> SampleSet:
    """The samples of a preset name (its seed 0) or a CSV file; cached per process (a worker trains many
    configurations of one data set)."""
    return read_csv(preset) if is_file_name(preset) else make_preset(preset)


def _values(table: dict, key: str) -> list:
    value = table.get(key, DEFAULTS.get(key))
    values = value if isinstance(value, list) else [value]
    if not values:
        raise StudySpecError(f"the grid is empty: `{key}` is an empty list")
    return values


def _number(key: str, value, kind: type, minimum: float | None = None):
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    if kind is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    if not ok:
        raise StudySpecError(
            f"`{key}` must be {'a whole number' if kind is int else 'a number'}, not {value!r}"
        )
    if minimum is not None and value < minimum:
        raise StudySpecError(f"`{key}` must not be below {minimum}, not {value!r}")
    return kind(value)


def _seeds(value) -> tuple[int, ...]:
    if isinstance(value, list):
        seeds = tuple(_number("seeds", s, int, 0) for s in value)
        if len(set(seeds)) != len(seeds):
            raise StudySpecError(f"`seeds` lists a seed twice: {value}")
    else:
        seeds = tuple(range(_number("seeds", value, int, 0)))
    if not seeds:
        raise StudySpecError("the grid is empty: no seeds (`seeds` = 0 or [])")
    return seeds


def _data_set(preset, folder: Path) -> tuple[str, int]:
    """(the preset name or the CSV file's absolute path, its number of classes)."""
    if not isinstance(preset, str) or not preset:
        raise StudySpecError(f"`presets` takes preset names or CSV files, not {preset!r}")
    if not is_file_name(preset):
        if preset not in PRESET_CLASSES:
            raise StudySpecError(
                f"unknown preset {preset!r}; choose from {', '.join(PRESET_CLASSES)} or a CSV file"
            )
        return preset, PRESET_CLASSES[preset]
    path = (folder / preset).resolve()
    if not path.is_file():
        raise StudySpecError(f"the data file {preset!r} is not there ({path})")
    try:
        samples = load_samples(str(path))
    except (OSError, ValueError) as e:
        raise StudySpecError(f"the data file {preset!r} cannot be read: {e}") from None
    return str(path), samples.classes


def parse_spec(text: str, folder: Path = Path(".")) -> Study:
    """The study a spec's TOML text describes (CSV files relative to `folder`); StudySpecError if it cannot
    run."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise StudySpecError(f"the spec is not valid TOML: {e}") from None
    table = document.get("study")
    if not isinstance(table, dict) or set(document) != {"study"}:
        raise StudySpecError("the spec needs one [study] table (and nothing else)")
    unknown = sorted(set(table) - set(KEYS))
    if unknown:
        raise StudySpecError(f"unknown key `{unknown[0]}` in [study]; the keys are {', '.join(KEYS)}")
    if "presets" not in table:
        raise StudySpecError("the spec needs `presets`: preset names or CSV files")
    data = dict(_data_set(p, folder) for p in _values(table, "presets"))
    grid = {
        "presets": list(data),
        "layers": [_layers(v) for v in _values(table, "layers")],
        "activation": _values(table, "activation"),
        "optimizer": _values(table, "optimizer"),
        "learning_rate": [_number("learning_rate", v, float) for v in _values(table, "learning_rate")],
        "batch_size": [_number("batch_size", v, int, 0) for v in _values(table, "batch_size")],
        "l2": [_number("l2", v, float, 0) for v in _values(table, "l2")],
        "test_fraction": [_number("test_fraction", v, float, 0) for v in _values(table, "test_fraction")],
        "epochs": [_number("epochs", v, int, 1) for v in _values(table, "epochs")],
    }
    for key, values in grid.items():
        if len(set(values)) != len(values):
            raise StudySpecError(f"`{key}` lists a value twice: {values}")
    seeds = _seeds(table.get("seeds", DEFAULTS["seeds"]))
    configs = tuple(StudyConfig(*values) for values in itertools.product(*(grid[k] for k in GRID_KEYS)))
    for config in configs:
        _check(config, data[config.preset], seeds)
    return Study(configs, seeds)


def _layers(value) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise StudySpecError(f'`layers` takes widths like "4,4", not {value!r}')
    try:
        return ",".join(str(w) for w in parse_widths(value))
    except ValueError as e:
        raise StudySpecError(f"`layers` {value!r}: {e}") from None


def _check(config: StudyConfig, classes: int, seeds: tuple[int, ...]) -> None:
    if config.epochs > MAX_EPOCH:
        raise StudySpecError(f"`epochs` must be at most {MAX_EPOCH}, not {config.epochs}")
    try:
        config.network(classes)
        for seed in seeds[:1]:
            config.train_config(seed)
    except ValueError as e:
        raise StudySpecError(f"{e} (in {_described(config)})") from None
    if config.test_fraction > 0:
        samples = load_samples(config.preset)
        for seed in seeds:
            problem = samples.training_problem(config.test_fraction, seed)
            if problem:
                raise StudySpecError(f"{problem} (in {_described(config)}, seed {seed})")


def _described(config: StudyConfig) -> str:
    return (
        ", ".join(f"{k} = {v!r}" for k, v in asdict(config).items() if k != "preset") + f" on {config.preset}"
    )


def read_spec(path: str | Path) -> Study:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise StudySpecError(f"cannot read the spec {str(path)!r}: {e}") from None
    return parse_spec(text, path.resolve().parent)
