"""The throughput clock: examples/s (and TFLOP/s on CUDA) over the training steps alone.

The clock runs from each epoch's start to its end; the time spent in callbacks (reports, evaluation)
is left out. A run that ends mid-epoch counts the steps it took.
"""

from __future__ import annotations

import time

from cnnlab.train.loop import Callback, Loop


class Throughput(Callback):
    """Adds `examples_per_sec` (and `tflops` where the set-up knows its FLOPs) to each epoch's metrics."""

    order = 20

    def __init__(self) -> None:
        self.seconds = 0.0
        self.started: tuple[float, float] | None = None  # (clock, callback seconds) at the epoch's start

    def on_epoch_start(self, loop: Loop) -> None:
        self.started = (time.perf_counter(), loop.callback_seconds)

    def on_epoch_end(self, loop: Loop, metrics: dict[str, float]) -> None:
        metrics.update(self._stop(loop))

    def on_run_end(self, loop: Loop) -> None:
        if self.started is not None:  # ended mid-epoch
            loop.latest.update(self._stop(loop))

    def _stop(self, loop: Loop) -> dict[str, float]:
        clock, spent = self.started
        self.seconds += time.perf_counter() - clock - (loop.callback_seconds - spent)
        self.started = None
        if self.seconds <= 0:
            return {}
        rate = loop.examples / self.seconds
        flops = loop.setup.flops_per_example
        return {"examples_per_sec": rate} | ({} if flops is None else {"tflops": rate * flops / 1e12})
