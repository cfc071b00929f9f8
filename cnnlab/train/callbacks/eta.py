"""Time left: the `seconds_left` metric of every report, from the steps done and the time they took.

The training rate is this run's own: the seconds its steps took since the end of its warm-up
(WARMUP_STEPS: allocation, a first touch of the data, step 2's memory recording, which on a small model
takes longer than many steps), callbacks left out, per example trained.
The evaluations still to come cost what the last one took; before the first, a third of a training
example's time per test example (a forward pass without the backward, about a third of a step). The
first report (after step 1) has no rate yet, so no `seconds_left`; the last one has 0.
"""

from __future__ import annotations

import time

import torch

from cnnlab.train.loop import WARMUP_STEPS, Callback, Loop

FORWARD_SHARE = 1 / 3  # of a training step's time: the forward pass alone (an evaluation's)


def seconds_left(seconds_per_example: float, examples_left: int, evaluations_left: int,
                 seconds_per_evaluation: float) -> float:
    """The training still to do at the measured rate, and the evaluations still to come."""
    return seconds_per_example * examples_left + evaluations_left * seconds_per_evaluation


class TimeLeft(Callback):
    """Adds `seconds_left` to each report's metrics (from the second on)."""

    order = 40  # after the epoch's metrics (10-30), before the reporters (50) see the report

    def __init__(self) -> None:
        self.start: tuple[float, float, int] | None = None  # clock, callback seconds, examples after warm-up
        self.step_ended = 0.0
        self.evaluation: float | None = None  # seconds the latest epoch's end (its evaluation) took

    def on_step_end(self, loop: Loop, loss: torch.Tensor, lr: float) -> None:
        self.step_ended = time.perf_counter()
        if self.start is None and loop.step >= WARMUP_STEPS:
            self.start = (self.step_ended, loop.callback_seconds, loop.examples)

    def on_epoch_end(self, loop: Loop, metrics: dict[str, float]) -> None:
        self.evaluation = time.perf_counter() - self.step_ended  # the callbacks before this one

    def on_report(self, loop: Loop, step: int, epoch: float, metrics: dict[str, float]) -> None:
        if self.start is None:
            return
        clock, spent, examples = self.start
        trained = loop.examples - examples
        if trained <= 0:
            return
        config, setup = loop.setup.config, loop.setup
        per_example = (time.perf_counter() - clock - (loop.callback_seconds - spent)) / trained
        evaluation = self.evaluation
        if evaluation is None:
            evaluation = FORWARD_SHARE * per_example * setup.test.num_examples
        metrics["seconds_left"] = seconds_left(per_example, config.epochs * setup.train.num_examples
                                               - loop.examples, config.epochs - loop.epochs_done, evaluation)
