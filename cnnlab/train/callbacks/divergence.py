"""The divergence check: a non-finite training loss ends the run `diverged`, naming the step."""

from __future__ import annotations

import math

from cnnlab.train.loop import Callback, Loop, StopRun
from cnnlab.train.status import Status


class Divergence(Callback):
    """Reads each step's loss at the report points (where the host reads them anyway); it runs before the
    other callbacks, so a diverged report is never reported."""

    order = 0

    def on_report(self, loop: Loop, step: int, epoch: float, metrics: dict[str, float]) -> None:
        if "train_loss" not in metrics:
            return
        bad = next((j for j, value in enumerate(loop.losses) if not math.isfinite(value)), None)
        if bad is not None:
            at = step - len(loop.losses) + 1 + bad
            raise StopRun(Status.DIVERGED, f"training loss became {loop.losses[bad]} at step {at} "
                                           f"(epoch {loop.epochs_done + 1}); try a smaller learning rate")
