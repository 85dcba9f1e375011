"""The pictures Unboxed makes from the command line: the views one can export alone, the layers the canvas can
draw, and the article's six pictures (the argument of "Why we will never open deep learning's black box",
../shared/ARTICLE.md in the project), each as the command-line arguments that make it. The guided tour walks
through the same six."""

from __future__ import annotations

from dataclasses import dataclass

VIEWS = ("canvas", "influence", "extrapolation", "essence", "network", "loss", "hidden", "window")
PICTURE_SUFFIXES = (".png", ".svg")
LAYERS = ("samples", "prediction", "neurons", "boundary", "regions")
DEFAULT_LAYERS = ("samples", "prediction", "neurons", "boundary")

# The article's data and network: the clusters preset, two hidden layers of four neurons, seed 0, trained
# this many epochs (the training loss is then below 0.05 and every sample is classified right).
ARTICLE_PRESET, ARTICLE_LAYERS, ARTICLE_SEED = "clusters", (4, 4), 0
ARTICLE_DATA = ("--preset", ARTICLE_PRESET, "--layers", ",".join(map(str, ARTICLE_LAYERS)),
                "--seed", str(ARTICLE_SEED))  # fmt: skip
ARTICLE_EPOCHS = 1500
EXTRAPOLATION_ZOOM = 20.0


@dataclass(frozen=True)
class ArticlePicture:
    """One of the article's pictures: what it shows and how the command line makes it."""

    number: int
    name: str  # the file's name without suffix, e.g. "1-samples"
    title: str
    view: str  # one of VIEWS
    show: tuple[str, ...] = DEFAULT_LAYERS  # what the canvas draws
    epochs: int = ARTICLE_EPOCHS
    zoom: float | None = None
    caption: str = ""  # what to look at, in two or three sentences (the tour says it)

    def arguments(self, out: str) -> list[str]:
        """main.py's arguments that write this picture to `out` (.png or .svg)."""
        zoom = ["--zoom", f"{self.zoom:g}"] if self.zoom is not None else []
        show = ["--show", ",".join(self.show)] if self.show != DEFAULT_LAYERS else []
        return [*ARTICLE_DATA, "--epochs", str(self.epochs), *zoom, *show, "--export-view", self.view, out]


ARTICLE_PICTURES = (
    ArticlePicture(
        1, "1-samples", "The training samples", "canvas", ("samples",), epochs=0,
        caption="Red and blue samples in the plane: the whole task is to tell the two colours apart. "
        "Nothing else is drawn yet; the network has not trained.",
    ),
    ArticlePicture(
        2, "2-prediction", "A trained network's prediction", "canvas", ("samples", "prediction", "boundary"),
        caption="A network with two hidden layers of four neurons, trained on the samples. The background is "
        "its probability of blue and the black curve its decision boundary: a sensible prediction, even "
        "between the samples.",
    ),
    ArticlePicture(
        3, "3-neurons", "The first layer's lines", "canvas", ("samples", "prediction", "neurons"),
        caption="Each coloured line is one first-layer neuron's boundary (L1 N1 to L1 N4; the tick marks the "
        "side where it is active). They do not follow the groups of samples, and nothing says why the "
        "network needs them: individual neurons are uninterpretable.",
    ),
    ArticlePicture(
        4, "4-influence", "Which samples shape each neuron", "influence",
        caption="One map per first-layer neuron: each training sample is drawn as large as its pull on that "
        "neuron's line (the gradient of the loss with respect to the neuron's weights and bias). The samples "
        "that shape a neuron are scattered over the plane and do not follow the data's structure.",
    ),
    ArticlePicture(
        5, "5-extrapolation", "Far from the data", "canvas", zoom=EXTRAPOLATION_ZOOM,
        caption=f"The same network zoomed out {EXTRAPOLATION_ZOOM:g} times: the samples are the small "
        "cluster in the middle. Far from them the answer is set by the geometry of the neurons' lines, not "
        "by the data: the decision boundary runs off along the lines.",
    ),
    ArticlePicture(
        6, "6-interpretable", "A network built to be understood", "essence",
        caption="An Essence Neural Network (Blazek & Lin 2021), its lines built by SVMs, not gradient "
        "descent: each class is split into groups of samples (subconcepts) and each first-layer line "
        "separates one red group from one blue group. Every line has a reason, and the answer far away "
        "follows from them.",
    ),
)  # fmt: skip
