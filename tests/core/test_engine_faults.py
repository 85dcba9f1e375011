"""A compiled engine that fails or returns garbage: torch takes over from the same state, and no NaN reaches
the history."""

import numpy as np
import pytest

from app.core import engine
from app.core.dataset import make_preset
from app.core.network import NetworkSpec
from app.core.training import TrainConfig, Trainer, train

pytestmark = pytest.mark.skipif(not engine.AVAILABLE, reason="numba is not installed")

SPEC = NetworkSpec((4, 4), "tanh")
CONFIG = TrainConfig(optimizer="adam", batch_size=8)


def test_an_engine_failure_hands_over_to_torch_at_the_same_state(monkeypatch):
    samples = make_preset("xor")
    trainer = Trainer(SPEC, CONFIG, backend="engine")
    trainer.run(samples, 5)
    reference = Trainer.from_state(SPEC, CONFIG, trainer.state(), backend="torch")

    def broken(*args, **kwargs):
        raise RuntimeError("LLVM ran out of registers")

    monkeypatch.setattr(engine, "train_epochs", broken)
    params, loss, _, diverged = trainer.run(samples, 400)  # sized for the engine: torch trains one epoch
    expected, expected_loss, _, _ = reference.run(samples, 1)
    assert not diverged and len(loss) == 1 and trainer.backend == "torch" and trainer.epoch == 6
    assert trainer.notice == (
        "The compiled engine failed (RuntimeError: LLVM ran out of registers); training goes on with torch."
    )
    np.testing.assert_allclose(params, expected, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(loss, expected_loss, rtol=1e-9)
    chunks = list(train(trainer, lambda: samples, lambda: False, max_epochs=20))
    assert [c.first_epoch for c in chunks][0] == 7 and trainer.epoch == 26
    assert max(c.n_epochs for c in chunks) <= 4 * 4  # re-sized for torch from one epoch up


@pytest.mark.parametrize("poisoned", ["loss", "params"])
def test_non_finite_engine_results_end_the_run_at_the_last_finite_epoch(monkeypatch, poisoned):
    real = engine.train_epochs

    def faulty(params, *args):
        result = real(params, *args)
        if len(result[1]) > 3:  # epochs 4 on come out NaN, and the engine's in-place state with them
            result[1 if poisoned == "loss" else 0][3:] = np.nan
            params[:] = np.nan
        return result

    monkeypatch.setattr(engine, "train_epochs", faulty)
    samples = make_preset("xor")
    trainer = Trainer(SPEC, CONFIG, backend="engine")
    trainer.run(samples, 2)
    params, loss, accuracy, diverged = trainer.run(samples, 6)
    assert diverged and len(params) == len(loss) == len(accuracy) == 3 and trainer.epoch == 5
    assert np.isfinite(params).all() and np.isfinite(loss).all()
    np.testing.assert_array_equal(trainer.params, params[-1])
    trainer.state()  # a session can be saved: TrainerState refuses non-finite parameters
    assert not trainer.run(samples, 2)[3] and trainer.epoch == 7  # and it goes on from there
