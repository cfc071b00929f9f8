"""An exponential moving average of the weights, evaluated alongside the model (option `ema`).

After every optimiser step each parameter's average becomes `decay × average + (1 − decay) × weight`,
starting from the initial weights; buffers (batch-norm statistics) are the model's own. At each epoch's
end the averaged model's test accuracy is the `ema_test_acc` metric.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable

import torch

from cnnlab.train.config import RunConfig
from cnnlab.train.loop import Callback, Loop


def ema_update(average: Iterable[torch.Tensor], weights: Iterable[torch.Tensor], decay: float) -> None:
    """average ← decay × average + (1 − decay) × weights, tensor by tensor, in place."""
    with torch.no_grad():
        for a, w in zip(average, weights, strict=True):
            a.mul_(decay).add_(w.detach(), alpha=1 - decay)


class WeightEMA(Callback):
    """Keeps `model`, the averaged copy of the run's model, and reports its test accuracy."""

    order = 30

    def __init__(self, decay: float) -> None:
        self.decay = decay
        self.model: torch.nn.Module | None = None

    @classmethod
    def from_config(cls, config: RunConfig) -> WeightEMA | None:
        """The callback for a run whose `ema` decay is set (0 is off)."""
        return cls(config.ema) if config.ema else None

    def on_run_start(self, loop: Loop) -> None:
        self.model = copy.deepcopy(loop.setup.model).requires_grad_(False)

    def on_step_end(self, loop: Loop, loss: torch.Tensor, lr: float) -> None:
        ema_update(self.model.parameters(), loop.setup.model.parameters(), self.decay)

    def on_epoch_end(self, loop: Loop, metrics: dict[str, float]) -> None:
        with torch.no_grad():
            for mine, theirs in zip(self.model.buffers(), loop.setup.model.buffers(), strict=True):
                mine.copy_(theirs)
        metrics["ema_test_acc"] = loop.evaluate(self.model)
