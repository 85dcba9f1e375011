"""The Help menu's texts and dialogs: About (version, licences, the paper behind the interpretable network),
a one-page guide to every panel, and the desktop launcher's installation. No dialog blocks, so tests can
build and close them."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QMessageBox, QTextBrowser, QVBoxLayout, QWidget

from app import launcher
from app.version import app_version

ICON_PATH = Path(__file__).resolve().parents[2] / "resources" / "unboxed.png"
PAPER = (
    'Blazek &amp; Lin, "Explainable neural networks that simulate reasoning", '
    "<i>Nature Computational Science</i> 1, 607–618 (2021)"
)
LICENCES = (
    ("Qt for Python (PySide6)", "LGPLv3"),
    ("pyqtgraph", "MIT"),
    ("NumPy", "BSD"),
    ("PyTorch", "BSD-3-Clause"),
    ("numba", "BSD-2-Clause"),
    ("scikit-learn", "BSD-3-Clause"),
    ("SciPy", "BSD-3-Clause"),
    ("Pillow", "MIT-CMU (HPND)"),
    ("contourpy", "BSD-3-Clause"),
)


ABOUT_HTML = f"""
<h3>Unboxed {app_version()}</h3>
<p>Open the black box of small neural networks: train a small MLP live on 2-D samples, watch its boundaries
move, scrub back through training and see which samples pull on which neuron.</p>
<p>The interpretable network (Model &gt; Build) follows {PAPER}.</p>
<p><b>Built with</b></p>
<table cellspacing="0" cellpadding="1">
{"".join(f"<tr><td>{name}</td><td>&nbsp;&nbsp;{licence}</td></tr>" for name, licence in LICENCES)}
</table>
"""

QUICK_GUIDE_HTML = f"""
<h3>Unboxed in one page</h3>
<p><b>Canvas.</b> Click to add a sample of the current colour (1 red, 2 blue); right-click or Shift+click adds
the other colour. <b>B</b> toggles the brush (drag to spray; density in the toolbar). Drag a sample to move
it; Ctrl+drag selects a group, which then drags together; <b>Delete</b> (or a middle-click) removes. The
wheel zooms about the cursor, <b>F</b> fits the data; Ctrl+Z undoes any edit.</p>
<p><b>Colours.</b> The background is the predicted probability: red (red class) through white to blue. The
black curve is the 0.5 contour, the decision boundary. Each coloured line is a first-layer neuron's boundary,
with a short tick on its positive side; hover one to name it. Hollow dots are held-out test samples.</p>
<p><b>Settings.</b> Hidden layers (e.g. <tt>4,4</tt>), activation, optimizer, learning rate, batch size
(<i>full</i> = all samples), L2 penalty, test fraction, seed of the weights and batches, training speed.
Train/Pause (<b>Space</b>); Reset starts again from fresh weights. Deeper layers' boundaries can be drawn as
curves.</p>
<p><b>Timeline.</b> Every epoch is recorded: drag the slider, or ←/→ one epoch, PgUp/PgDn ten, Home the start,
End back to live. <b>Play</b> replays training; <b>Live</b> follows the newest epoch.</p>
<p><b>Loss plot.</b> Loss and accuracy per epoch (dashed: the held-out test samples). Click to jump there.</p>
<p><b>Influence panel.</b> One small plot per neuron of the chosen layer: each training sample's dot area is
proportional to how strongly it pulls on that neuron's weights (the size of its loss gradient), at this epoch
or accumulated up to it. Options: the layer, include the bias, one scale per neuron or per layer.</p>
<p><b>Network panel.</b> The diagram: an edge is orange for a positive weight, blue for a negative one, and
thicker when stronger. Click a neuron to highlight it everywhere.</p>
<p><b>Extrapolation panel.</b> The same network zoomed out around the data: how it behaves far away. Drag the
rectangle to move the main view.</p>
<p><b>Activation regions.</b> <b>R</b> (View menu) draws the network's pieces: the regions where every hidden
neuron keeps its on/off state (exact linear pieces for ReLU and leaky ReLU). Hover one to read its pattern
and the output's formula there; Ctrl+click it to light its active neurons in the network diagram. A plot
under the loss curves counts the regions around the data over the epochs.</p>
<p><b>Interpretable network.</b> Model &gt; <b>Build</b> (Ctrl+B) builds an Essence Neural Network for the
samples as its authors do ({PAPER}: its lines and subconcepts from SVMs, no gradient descent; only its
output layer is tuned by gradient descent, which Model &gt; <i>Interpretable network settings</i> can turn
off) and shows it beside the
trained one; hover to see which
subconcepts fire and why.</p>
<p><b>File menu.</b> Save and open whole sessions (<tt>.unboxed</tt>: samples, network, history); unsaved work
is autosaved every minute and offered for recovery after a crash. Export saves a picture (PNG, SVG) or the
training as an animated GIF.</p>
<p><b>New here?</b> Help &gt; <b>Tour of the black box</b> walks through the argument this program answers in
six pictures, in a window of its own (your session stays as it is).</p>
"""


def show_about(parent: QWidget | None) -> QMessageBox:
    """Opens the About box window-modally without blocking; it deletes itself when closed."""
    box = QMessageBox(parent)
    box.setWindowTitle("About Unboxed")
    box.setTextFormat(Qt.TextFormat.RichText)
    box.setText(ABOUT_HTML)
    if ICON_PATH.exists():
        icon = QPixmap(str(ICON_PATH))
        box.setIconPixmap(icon.scaled(64, 64, mode=Qt.TransformationMode.SmoothTransformation))
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.open()
    return box


def show_quick_guide(parent: QWidget | None) -> QDialog:
    """Shows the quick guide in a resizable, non-modal window (raised again if already open)."""
    if parent is not None and (existing := parent.findChild(QDialog, "quick-guide")) is not None:
        existing.raise_()
        existing.activateWindow()
        return existing
    dialog = QDialog(parent)
    dialog.setObjectName("quick-guide")
    dialog.setWindowTitle("Unboxed quick guide")
    dialog.resize(640, 560)
    text = QTextBrowser()
    text.setOpenExternalLinks(True)
    text.setHtml(QUICK_GUIDE_HTML)
    buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
    buttons.rejected.connect(dialog.close)
    layout = QVBoxLayout(dialog)
    layout.addWidget(text)
    layout.addWidget(buttons)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.show()
    return dialog


def install_launcher_from_menu(parent: QWidget | None) -> QMessageBox:
    """Installs the desktop launcher (app.launcher) and says where, or why not, in a box that does not block
    and deletes itself when closed."""
    try:
        path = launcher.install()
    except (launcher.LauncherRefused, OSError) as error:
        icon, text = QMessageBox.Icon.Warning, f"The desktop launcher could not be installed: {error}"
    else:
        icon = QMessageBox.Icon.Information
        text = (f"Unboxed is now in your desktop's application menu (the entry is {path}; delete that file "
                "to remove it).")  # fmt: skip
    box = QMessageBox(icon, "Install desktop launcher", text, QMessageBox.StandardButton.Ok, parent)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.open()
    return box
