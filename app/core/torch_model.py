"""The MLP as a torch module, and a plain autograd training loop: the reference the fast engine is held to,
and the fallback where the engine cannot run."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from app.core.network import LEAKY_SLOPE, NetworkSpec


class MLP(nn.Module):
    def __init__(self, spec: NetworkSpec):
        super().__init__()
        sizes = spec.layer_sizes
        self.layers = nn.ModuleList(nn.Linear(sizes[i], sizes[i + 1]) for i in range(len(sizes) - 1))
        self.activation = {
            "tanh": nn.Tanh(),
            "relu": nn.ReLU(),
            "sigmoid": nn.Sigmoid(),
            "leaky_relu": nn.LeakyReLU(LEAKY_SLOPE),
        }[spec.activation]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.layers[:-1]:
            x = self.activation(layer(x))
        return self.layers[-1](x).squeeze(-1)


def build_module(spec: NetworkSpec, seed: int | None = None, params: np.ndarray | None = None) -> MLP:
    """A float64 module, initialised by torch's default init under `seed`, or loaded from flat `params`."""
    if seed is not None:
        generator_state = torch.random.get_rng_state()
        torch.manual_seed(seed)
    module = MLP(spec).double()
    if seed is not None:
        torch.random.set_rng_state(generator_state)
    if params is not None:
        load_params(module, params)
    return module


def init_params(spec: NetworkSpec, seed: int) -> np.ndarray:
    """Initial parameters exactly as torch's default nn.Linear init draws them for this seed."""
    return module_params(build_module(spec, seed=seed))


def module_params(module: nn.Module) -> np.ndarray:
    return torch.cat([p.detach().reshape(-1) for p in module.parameters()]).double().cpu().numpy().copy()


def load_params(module: nn.Module, flat: np.ndarray) -> None:
    offset = 0
    with torch.no_grad():
        for p in module.parameters():
            size = p.numel()
            p.copy_(torch.as_tensor(flat[offset : offset + size], device=p.device).reshape(p.shape))
            offset += size


def make_optimizer(
    module: nn.Module, optimizer: str, learning_rate: float, l2: float
) -> torch.optim.Optimizer:
    if optimizer == "adam":
        return torch.optim.Adam(module.parameters(), lr=learning_rate, weight_decay=l2)
    return torch.optim.SGD(module.parameters(), lr=learning_rate, weight_decay=l2)


def train_epochs_torch(
    module: MLP,
    optim: torch.optim.Optimizer,
    x: np.ndarray,
    y: np.ndarray,
    x_test: np.ndarray,
    y_test: np.ndarray,
    perms: np.ndarray,
    batch_size: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Trains on (x, y), one epoch per row of `perms` (the sample order), with BCEWithLogitsLoss for one
    output logit, else CrossEntropyLoss (y: class indices); returns per-epoch params, loss, accuracy, test
    loss and test accuracy evaluated after each epoch, the test metrics on the held-out (x_test, y_test) and
    NaN when there is none. Stops early (fewer rows) when the loss or parameters stop being finite."""
    device = next(module.parameters()).device
    binary = module.layers[-1].out_features == 1
    label_type = torch.float64 if binary else torch.int64  # class indices for CrossEntropyLoss
    xt = torch.tensor(x, dtype=torch.float64, device=device)
    yt = torch.tensor(np.asarray(y, dtype=np.float64), device=device).to(label_type)
    x_test = np.asarray(x_test, dtype=np.float64).reshape(-1, 2)
    xt_test = torch.tensor(x_test, dtype=torch.float64, device=device)
    yt_test = torch.tensor(np.asarray(y_test, dtype=np.float64).reshape(-1), device=device).to(label_type)
    loss_fn = nn.BCEWithLogitsLoss() if binary else nn.CrossEntropyLoss()
    params, losses, accuracies, test_losses, test_accuracies = [], [], [], [], []
    n = len(x)
    for order in perms:
        for start in range(0, n, batch_size):
            idx = torch.as_tensor(order[start : start + batch_size], device=device)
            optim.zero_grad()
            loss_fn(module(xt[idx]), yt[idx]).backward()
            optim.step()
        with torch.no_grad():
            loss, accuracy = _metrics(module, loss_fn, xt, yt)
            test_loss, test_accuracy = _metrics(module, loss_fn, xt_test, yt_test)
        flat = module_params(module)
        if not (np.isfinite(loss) and np.all(np.isfinite(flat))):
            break
        params.append(flat)
        losses.append(loss)
        accuracies.append(accuracy)
        test_losses.append(test_loss)
        test_accuracies.append(test_accuracy)
    p = np.array(params).reshape(len(params), sum(q.numel() for q in module.parameters()))
    return p, np.array(losses), np.array(accuracies), np.array(test_losses), np.array(test_accuracies)


def _metrics(module: MLP, loss_fn: nn.Module, x: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
    """Mean loss and accuracy on (x, y); NaN for no samples. Accuracy: logit > 0 for one output, else the
    first largest logit."""
    if len(x) == 0:
        return float("nan"), float("nan")
    z = module(x)
    right = (z > 0) == (y > 0.5) if z.ndim == 1 else torch.argmax(z, dim=1) == y
    return float(loss_fn(z, y)), float(right.double().mean())
