"""Measured and estimated memory of a run's training step (`peak_memory`, `memory_estimate`).

The run's second step is measured (the first creates the optimiser's state) with
cnnlab.train.peak_memory; the estimate is cnnlab.train.memory's simulation of the same step at the
run's batch size (fp32: bf16 autocast on CUDA keeps less). A run of one step measures nothing.
"""

from __future__ import annotations

import contextlib
from contextlib import AbstractContextManager

import torch

from cnnlab.train.loop import Callback, Loop
from cnnlab.train.memory import run_memory
from cnnlab.train.peak_memory import live_bytes, peak_recorder, training_state


class PeakMemory(Callback):
    """Measures step 2's peak; at the run's end records it beside the estimate."""

    order = 5  # around the step itself, before callbacks that do their own work

    def __init__(self) -> None:
        self.recording: AbstractContextManager | None = None
        self.before = 0

    def on_step_end(self, loop: Loop, loss: torch.Tensor, lr: float) -> None:
        if loop.step == 1:
            loop.setup.optimizer.zero_grad(set_to_none=True)  # as the next step would, before its backward
            self.before = live_bytes(training_state(loop.setup.model, loop.setup.optimizer))
            self.recording = peak_recorder(loop.setup.device)
            self.recording.__enter__()
        elif loop.step == 2 and self.recording is not None:
            self._stop(loop)

    def on_run_end(self, loop: Loop) -> None:
        if self.recording is not None:  # the run ended inside step 2: nothing to report
            self.recording.__exit__(None, None, None)
            self.recording = None
        config = loop.setup.config
        # A model the simulation cannot run leaves the estimate empty; it never fails the run.
        with contextlib.suppress(Exception):
            loop.latest["memory_estimate"] = float(run_memory(config).at(config.batch_size).total)

    def _stop(self, loop: Loop) -> None:
        recording, self.recording = self.recording, None
        recording.__exit__(None, None, None)
        loop.latest["peak_memory"] = float(self.before + recording.peak)
