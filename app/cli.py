"""The command line: parse arguments, train headlessly if asked, export PNG / NPZ, or open the window."""

from __future__ import annotations

import argparse
import dataclasses
import os
import re
import sys
from pathlib import Path

from app.core.dataset import (
    DEFAULT_PRESET,
    MULTICLASS_PRESETS,
    PRESETS,
    CsvError,
    SampleSet,
    make_preset,
    read_csv,
)
from app.core.export_npz import SUFFIXES as EXPORT_NPZ_SUFFIXES
from app.core.network import ACTIVATIONS, NetworkSpec, parse_widths
from app.core.output_file import OutputRefused, check_output
from app.core.pictures import DEFAULT_LAYERS, LAYERS, PICTURE_SUFFIXES, VIEWS
from app.core.session import SUFFIX
from app.core.training import MAX_EPOCH
from app.errors import UsageError
from app.version import app_version

MAX_SEED = 2**31 - 1  # what the window's seed box holds


def whole_number(text: str) -> int:
    """An integer argument in ASCII digits (int() also takes "４" and "1_000"), quoted short when refused."""
    digits = text[1:] if text.startswith("-") else text
    if not (digits.isascii() and digits.isdigit()) or len(digits) > 18:
        shown = text if len(text) <= 24 else text[:20] + "…"
        raise argparse.ArgumentTypeError(f"{shown!r} is not a whole number (ASCII digits, at most 18)")
    return int(text)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):
        raise UsageError(message)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="unboxed", description="Open the black box of a small neural network.")
    parser.add_argument("session", nargs="?", metavar="SESSION_FILE", help="a saved session to open")
    source = parser.add_mutually_exclusive_group()
    source.add_argument(
        "--preset",
        default=None,
        help=f"one of: {', '.join([*PRESETS, *MULTICLASS_PRESETS])} (default {DEFAULT_PRESET})",
    )
    source.add_argument("--data", metavar="FILE.csv", help="samples from a CSV file with columns x, y, label")
    parser.add_argument("--layers", default="4,4", help="hidden layer widths, e.g. 4,4")
    parser.add_argument("--activation", default="tanh", help=f"one of: {', '.join(ACTIVATIONS)}")
    parser.add_argument(
        "--epochs", type=whole_number, default=0, help="epochs to train before showing or exporting"
    )
    parser.add_argument("--epoch", type=whole_number, default=None, metavar="K",
                        help="the epoch to show or export (default: the last)")  # fmt: skip
    parser.add_argument("--zoom", type=float, default=None, metavar="Z",
                        help="zoom out by Z about the data's centre (Z < 1 zooms in)")  # fmt: skip
    parser.add_argument("--seed", type=whole_number, default=0, help="seed of the initial weights")
    parser.add_argument("--version", action="version", version=f"unboxed {app_version()}")
    parser.add_argument("--export", metavar="OUT.png", help="render the main window to a PNG and exit")
    parser.add_argument(
        "--export-view",
        nargs=2,
        metavar=("VIEW", "OUT.png|.svg"),
        help=f"write one view alone, with its key, and exit; VIEW: {', '.join(VIEWS)}",
    )
    parser.add_argument("--hidden-layer", type=whole_number, default=None, metavar="L",
                        help="the hidden layer --export-view hidden shows (1-based; default 1)")
    parser.add_argument("--hidden-neurons", default=None, metavar="I,J",
                        help="two neurons of that layer on its axes (1-based; default: the layer's first "
                        "two principal components)")  # fmt: skip
    parser.add_argument("--show", metavar="LAYERS", help="what the canvas draws, comma-separated from: "
                        f"{','.join(LAYERS)} (default: {','.join(DEFAULT_LAYERS)})")  # fmt: skip
    parser.add_argument("--export-data", metavar="OUT.npz", help="write samples, parameters and metrics")
    parser.add_argument(
        "--essence",
        action="store_true",
        help="also build the interpretable network (shown beside the MLP; its arrays exported)",
    )
    parser.add_argument(
        "--regions",
        action="store_true",
        help="draw the activation regions in --export, with their count plot",
    )
    parser.add_argument("--save", metavar="OUT.unboxed", help="write the session (after training) and exit")
    parser.add_argument("--without", metavar="I,J,...", default=None,
                        help="also retrain from epoch 0 to the shown epoch without these samples (0-based, "
                        "in the CSV's order), same seed and batches: dashed in --export, under "
                        "counterfactual/ in --export-data")  # fmt: skip
    parser.add_argument("--off", metavar="L1N3,L2N1,...", default=None,
                        help="switch these hidden neurons off (outgoing weights 0) after training, at the "
                        "shown epoch: the exports show the edited network; --export-data records them in "
                        "ablated")  # fmt: skip
    return parser


def _samples(args) -> SampleSet:
    """The samples --data or --preset give."""
    if args.data:
        try:
            return read_csv(args.data)
        except OSError as error:
            raise UsageError(f"cannot read {args.data}: {error.strerror}") from None
        except CsvError as error:
            raise UsageError(f"{args.data}: {error}") from None
    try:
        return make_preset(args.preset or DEFAULT_PRESET, seed=0)
    except ValueError as error:
        raise UsageError(str(error)) from None


def _check_output(option: str, path: str | None, suffixes: tuple[str, ...], inputs: tuple) -> None:
    """An output the options ask for: a file name with the format's suffix, in a writable folder, that is
    none of the inputs (the session opened, the CSV read) and no other output."""
    if path is None:
        return
    try:
        check_output(path, suffixes, inputs)
    except OutputRefused as error:
        raise UsageError(f"{option} {path!r}: {error}") from None
    folder = Path(path).absolute().parent
    if not os.access(folder, os.W_OK) or (Path(path).exists() and not os.access(path, os.W_OK)):
        raise UsageError(f"cannot write {path}: permission denied")


def _layers(show: str | None, regions: bool) -> tuple[str, ...]:
    """The layers --show names (each known, none twice), or the default ones; --regions adds regions."""
    if show is None:
        return DEFAULT_LAYERS + ("regions",) * regions
    names = tuple(name.strip() for name in show.split(",") if name.strip())
    unknown = [name for name in names if name not in LAYERS]
    if unknown:
        raise UsageError(f"--show: unknown layer {unknown[0]!r}; choose from {','.join(LAYERS)}")
    return tuple(dict.fromkeys(names + ("regions",) * regions))


def _hidden_neurons(text: str | None) -> tuple[int, int] | None:
    """--hidden-neurons I,J as two different whole numbers from 1 (None when not given)."""
    if text is None:
        return None
    parts = [p.strip() for p in text.split(",")]
    if len(parts) != 2 or not all(p.isascii() and p.isdigit() and len(p) <= 3 for p in parts):
        raise UsageError(f"--hidden-neurons {text!r}: give two neuron numbers separated by a comma, e.g. 1,3")
    i, j = int(parts[0]), int(parts[1])
    if i < 1 or j < 1 or i == j:
        raise UsageError(f"--hidden-neurons {text!r}: two different neurons, numbered from 1")
    return i, j


def sample_indices(text: str | None) -> tuple[int, ...] | None:
    """--without I,J,...: sample indices from 0, sorted, each once (None when not given)."""
    if text is None:
        return None
    parts = [p.strip() for p in text.split(",")]
    if not all(p.isascii() and p.isdigit() and len(p) <= 9 for p in parts):
        shown = text if len(text) <= 24 else text[:20] + "…"
        raise UsageError(f"--without {shown!r}: give sample indices from 0 separated by commas, e.g. 3,17")
    return tuple(sorted({int(p) for p in parts}))


def neuron_names(text: str | None) -> tuple[tuple[int, int], ...] | None:
    """--off L1N3,L2N1: hidden neurons as (layer, neuron) from 0, sorted, each once (None when not given)."""
    if text is None:
        return None
    found = [re.fullmatch(r"L([0-9]{1,3})N([0-9]{1,3})", p.strip(), re.IGNORECASE) for p in text.split(",")]
    if not all(found) or any(int(n) < 1 for m in found for n in m.groups()):
        shown = text if len(text) <= 24 else text[:20] + "…"
        raise UsageError(f"--off {shown!r}: name hidden neurons as L<layer>N<neuron> from 1, separated by "
                         "commas, e.g. L1N3,L2N1")  # fmt: skip
    return tuple(sorted({(int(m[1]) - 1, int(m[2]) - 1) for m in found}))


def check_samples_exist(indices: tuple[int, ...] | None, n: int) -> None:
    """UsageError when --without names a sample beyond the last of n."""
    if indices is not None and indices[-1] >= n:
        raise UsageError(f"--without: there is no sample {indices[-1]} (the {n:,} samples are numbered 0 to "
                         f"{n - 1:,})")  # fmt: skip


def parse(argv: list[str]):
    args = build_parser().parse_args(argv)
    args.plain_start = not argv  # started with no arguments: the last settings come back
    try:
        widths = parse_widths(args.layers)
        spec = NetworkSpec(widths, args.activation)
    except ValueError as error:
        raise UsageError(f"--layers/--activation: {error}") from None
    if not 0 <= args.epochs <= MAX_EPOCH:
        raise UsageError(f"--epochs must be between 0 and {MAX_EPOCH:,}")
    if not 0 <= args.seed <= MAX_SEED:
        raise UsageError(f"--seed must be a whole number from 0 to {MAX_SEED:,}")
    if args.epoch is not None and args.epoch < 0:
        raise UsageError(f"--epoch {args.epoch} must not be negative")
    if args.zoom is not None and not 1e-3 <= args.zoom <= 1e4:
        raise UsageError(f"--zoom {args.zoom} is outside 0.001 to 10000")
    if args.epoch is not None and not args.session and not 0 <= args.epoch <= args.epochs:
        raise UsageError(f"--epoch {args.epoch} is outside the trained epochs 0 to {args.epochs}")
    args.export_view_name, args.export_view_path = args.export_view or (None, None)
    if args.export_view_name is not None and args.export_view_name not in VIEWS:
        choices = ", ".join(VIEWS)
        raise UsageError(f"--export-view: unknown view {args.export_view_name!r}; choose from {choices}")
    if args.export_view_name == "essence":
        args.essence = True
    args.hidden_neurons = _hidden_neurons(args.hidden_neurons)
    if args.hidden_layer is not None and args.hidden_layer < 1:
        raise UsageError(f"--hidden-layer {args.hidden_layer}: hidden layers are numbered from 1")
    args.layers_shown = _layers(args.show, args.regions)
    args.regions = "regions" in args.layers_shown
    if args.session and not Path(args.session).is_file():
        raise UsageError(f"cannot open {args.session}: no such file")
    outputs = (("--export", args.export, (".png",)), ("--export-data", args.export_data, EXPORT_NPZ_SUFFIXES),
               ("--save", args.save, (SUFFIX,)),
               ("--export-view", args.export_view_path, PICTURE_SUFFIXES))  # fmt: skip
    for k, (option, path, suffixes) in enumerate(outputs):
        others = tuple(other for _, other, _ in outputs[k + 1 :])
        _check_output(option, path, suffixes, (args.session, args.data, *others))
    args.without = sample_indices(args.without)
    args.off = neuron_names(args.off)
    if args.off is not None and args.without is not None:
        raise UsageError("--off and --without cannot be combined (the retraining replays the unedited run)")
    samples = _samples(args)
    if not args.session:  # a session's samples are checked once it is open
        check_samples_exist(args.without, samples.n)
    return args, dataclasses.replace(spec, classes=samples.classes), samples


def main(argv: list[str] | None = None) -> int:
    try:
        args, spec, samples = parse(sys.argv[1:] if argv is None else argv)
    except UsageError as error:
        print(f"unboxed: error: {error}", file=sys.stderr)
        return 2
    headless = bool(args.export or args.export_data or args.save or args.export_view)
    if headless:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from app.ui.app import run_app

    try:
        return run_app(args, spec, samples, headless)
    except UsageError as error:
        print(f"unboxed: error: {error}", file=sys.stderr)
        return 2
    except OSError as error:
        print(f"unboxed: error: cannot write output: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # Ctrl+C: every output is written whole or not at all, so nothing is torn
        print("unboxed: interrupted (a file is written whole or not at all)", file=sys.stderr)
        return 130
