"""Test accuracy at the end of each epoch: the `test_acc` metric."""

from __future__ import annotations

from cnnlab.train.loop import Callback, Loop


class TestAccuracy(Callback):
    """Evaluates the trained network on the test split after each epoch."""

    order = 10

    def on_epoch_end(self, loop: Loop, metrics: dict[str, float]) -> None:
        metrics["test_acc"] = loop.evaluate(loop.setup.net)
