"""The samples' public names in one place: the sample set (samples.py), the presets (presets.py) and CSV files
(csv_io.py), each in a module of its own; ``from app.core.dataset import ...`` finds them all."""

from app.core.csv_io import (
    BLOCK_BYTES,
    MAX_LINE_CHARS,
    MAX_SAMPLES,
    SEPARATORS,
    CsvCancelled,
    CsvError,
    read_csv,
    write_csv,
)
from app.core.network import MAX_CLASSES
from app.core.presets import (
    DEFAULT_PRESET,
    MULTICLASS_PRESETS,
    PRESET_CLASSES,
    PRESET_LABELS,
    PRESETS,
    make_preset,
)
from app.core.samples import (
    BLUE,
    CLASS_NAMES,
    MAX_COORDINATE,
    RED,
    SampleSet,
    default_class_names,
    test_mask,
)

__all__ = [
    "BLOCK_BYTES", "BLUE", "CLASS_NAMES", "DEFAULT_PRESET", "MAX_CLASSES", "MAX_COORDINATE", "MAX_LINE_CHARS",
    "MAX_SAMPLES", "MULTICLASS_PRESETS", "PRESETS", "PRESET_CLASSES", "PRESET_LABELS", "RED", "SEPARATORS",
    "CsvCancelled", "CsvError", "SampleSet", "default_class_names", "make_preset", "read_csv", "test_mask",
    "write_csv",
]  # fmt: skip
