"""The --export-data file: samples, every epoch's parameters and metrics, influence, activation regions and
the interpretable network's arrays in one NumPy .npz archive."""

from __future__ import annotations

import numpy as np

from app.core.dataset import SampleSet
from app.core.geometry import Rect
from app.core.influence import influence
from app.core.network import named_params
from app.core.output_file import write_atomically
from app.core.regions import network_regions
from app.core.thesis import thesis_arrays

SUFFIXES = (".npz",)


def export_data(
    path: str,
    samples: SampleSet,
    history,
    epoch: int,
    essence=None,
    comparison=None,
    frame: Rect | None = None,
    training: SampleSet | None = None,
    counterfactual=None,
    ablated=(),
) -> None:
    """NPZ: points, labels (0 to k - 1) and class_names (k, text), and per epoch (rows) every parameter tensor
    by torch name, loss and accuracy; each sample's influence on every hidden neuron at `epoch`
    (`influence/layerK`, (n, width)); and the activation regions at `epoch` over `frame` (default: the data's
    extent with a 10% margin; `regions/gradients` (F, k, 2) and `regions/offsets` (F, k) for k > 2 classes).
    With the interpretable network `essence` (built for the samples' training part, `training`): its arrays,
    the comparison's and the article's measures (`thesis/...`, app.core.thesis). With a `counterfactual`
    (app.core.counterfactual.Counterfactual): its arrays under `counterfactual/`. With hidden neurons switched
    off, `ablated` ((layer, neuron) from 0): `ablated` (k, 2), (layer, neuron) from 1."""
    arrays = {"points": samples.points, "labels": samples.labels, "epochs": history.epochs,
              "class_names": np.array(samples.class_names), "loss": history.loss,
              "accuracy": history.accuracy, "test_loss": history.test_loss,
              "test_accuracy": history.test_accuracy}  # fmt: skip
    arrays.update(named_params(history.spec, history.params))
    per_layer = influence(history.spec, history.params_at(epoch), samples.points, samples.labels)
    arrays.update({f"influence/layer{k + 1}": values for k, values in enumerate(per_layer)})
    arrays["influence_epoch"] = np.array(epoch)
    if frame is None:
        frame = Rect.around(samples.extent())
    regions = network_regions(history.spec, history.params_at(epoch), frame)
    arrays.update({"regions/vertices": regions.vertices, "regions/faces": regions.flat_faces(),
                   "regions/patterns": regions.patterns, "regions/gradients": regions.gradients,
                   "regions/offsets": regions.offsets, "regions/exact": np.array(regions.exact),
                   "regions/complete": np.array(regions.complete),
                   "regions/rect": np.array([frame.xmin, frame.xmax, frame.ymin, frame.ymax])})  # fmt: skip
    if regions.labels is not None:
        arrays.update({"regions/labels": regions.labels, "regions/xs": regions.xs, "regions/ys": regions.ys})
    if essence is not None:
        arrays.update(essence.to_arrays())
        for name, value in vars(comparison).items():
            arrays[f"comparison/{name}"] = np.array(np.nan if value is None else value, dtype=float)
        if training is not None:
            arrays.update(thesis_arrays(history.spec, history, epoch, training, essence))
    if counterfactual is not None:
        arrays.update(counterfactual.to_arrays(history.spec))
    if len(ablated):
        arrays["ablated"] = np.array(ablated, dtype=np.int64).reshape(-1, 2) + 1
    write_atomically(path, lambda handle: np.savez(handle, **arrays), SUFFIXES)
