"""Every recorded epoch's parameters and metrics, with random access by epoch number."""

from __future__ import annotations

import numpy as np

from app.core.network import NetworkSpec
from app.core.training import EpochChunk


class TrainingHistory:
    """Append-only record of epochs 0..latest (epoch 0 = the initial parameters). Lives in the GUI thread."""

    def __init__(
        self, spec: NetworkSpec, initial_params: np.ndarray, initial_loss: float, initial_acc: float
    ):
        self.spec = spec
        self._size = 0
        self._epochs = np.empty(1024, dtype=np.int64)
        self._params = np.empty((1024, spec.n_params))
        self._loss = np.empty(1024)
        self._accuracy = np.empty(1024)
        self.data_changes: list[int] = []
        self._append(
            np.array([0]), initial_params[None, :], np.array([initial_loss]), np.array([initial_acc])
        )

    def __len__(self) -> int:
        return self._size

    @property
    def latest_epoch(self) -> int:
        return int(self._epochs[self._size - 1])

    @property
    def epochs(self) -> np.ndarray:
        return self._epochs[: self._size]

    @property
    def loss(self) -> np.ndarray:
        return self._loss[: self._size]

    @property
    def accuracy(self) -> np.ndarray:
        return self._accuracy[: self._size]

    @property
    def params(self) -> np.ndarray:
        return self._params[: self._size]

    def append(self, chunk: EpochChunk) -> None:
        if chunk.n_epochs == 0:
            return
        if chunk.first_epoch != self.latest_epoch + 1:
            raise ValueError(f"epoch {chunk.first_epoch} does not follow epoch {self.latest_epoch}")
        epochs = np.arange(chunk.first_epoch, chunk.last_epoch + 1)
        self._append(epochs, chunk.params, chunk.loss, chunk.accuracy)

    def mark_data_change(self, epoch: int) -> None:
        if not self.data_changes or self.data_changes[-1] != epoch:
            self.data_changes.append(epoch)

    def index_of(self, epoch: int) -> int:
        """Row of the newest recorded epoch at or before `epoch`."""
        if not 0 <= epoch <= self.latest_epoch:
            raise IndexError(f"epoch {epoch} is outside the history (0 to {self.latest_epoch})")
        return int(np.searchsorted(self.epochs, epoch, side="right") - 1)

    def params_at(self, epoch: int) -> np.ndarray:
        return self._params[self.index_of(epoch)]

    def metrics_at(self, epoch: int) -> tuple[float, float]:
        i = self.index_of(epoch)
        return float(self._loss[i]), float(self._accuracy[i])

    def _append(self, epochs, params, loss, accuracy) -> None:
        k = len(epochs)
        if self._size + k > len(self._epochs):
            capacity = max(2 * len(self._epochs), self._size + k)
            for name in ("_epochs", "_params", "_loss", "_accuracy"):
                old = getattr(self, name)
                new = np.empty((capacity, *old.shape[1:]), dtype=old.dtype)
                new[: self._size] = old[: self._size]
                setattr(self, name, new)
        s = slice(self._size, self._size + k)
        self._epochs[s] = epochs
        self._params[s] = params
        self._loss[s] = loss
        self._accuracy[s] = accuracy
        self._size += k
