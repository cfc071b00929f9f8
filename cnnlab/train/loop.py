"""The training loop and its callback protocol: the textbook's semantics, without its per-step host
synchronisation.

Loss and correct counts stay on the device as one small tensor per epoch; the host reads them only at
the report points: `reports_per_epoch` per epoch, and the first epoch's FIRST_REPORTS steps. Everything
else a run does (test accuracy, throughput, the divergence check, stop polling, recording, the speed
probe, the time left) is a callback (cnnlab.train.callbacks).

A callback overrides the events of `Callback` it needs; every event of the base class does nothing.
Callbacks run in ascending `order` (ties: the order they were given in). Time spent in callbacks is kept
out of the throughput clock. Any event may raise `StopRun` to end the run with that status;
`stop_requested` is the polite form of a stop: it is asked between steps and between test batches.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from cnnlab.train.setup import Setup
from cnnlab.train.speed import synchronize
from cnnlab.train.status import Status

# report(step, fractional epoch, {metric name: value})
Report = Callable[[int, float, dict[str, float]], None]
# The run's first reports, at these steps of its first epoch, besides the `reports_per_epoch` points: the
# first point comes after one step, not a fifth of an epoch (ResNet-18 on a 2-core CPU: seconds).
FIRST_REPORTS = (1, 4)
# The run's first steps, slower than the rest and so left out of its timings (the speed probe, the time
# left): allocation and the optimiser's state, then step 2 under the memory recorder (callbacks.memory).
WARMUP_STEPS = 2
# The results a run keeps as it goes; the FitResult fields (and run store columns) of the same names.
RESULT_METRICS = {"final_train_loss": "train_loss", "final_train_acc": "train_acc",
                  "final_test_acc": "test_acc", "examples_per_sec": "examples_per_sec", "tflops": "tflops",
                  "peak_memory": "peak_memory", "memory_estimate": "memory_estimate"}


class StopRun(Exception):  # noqa: N818 (an outcome, not an error)
    """Raised by a callback to end the run with `status` (cancelled, diverged) and `error`."""

    def __init__(self, status: Status, error: str | None = None) -> None:
        super().__init__(error or status)
        self.status, self.error = status, error


class Callback:
    """Base class: one method per event, each a no-op; see the module docstring."""

    order = 50  # lower runs first: producers of epoch metrics (10-40) before the reporters (50)

    def on_run_start(self, loop: Loop) -> None:
        """Set-up is done (data, model, optimiser, schedule); nothing has trained yet."""

    def on_epoch_start(self, loop: Loop) -> None:
        """Before an epoch's first step; the device has finished all earlier work."""

    def on_step_end(self, loop: Loop, loss: torch.Tensor, lr: float) -> None:
        """After the optimiser step `loop.step`: `loss` is the batch's loss, still on the device (reading
        it waits for the device), `lr` the rate the step used."""

    def on_report(self, loop: Loop, step: int, epoch: float, metrics: dict[str, float]) -> None:
        """A report: train loss, accuracy and lr at each report point (`loop.losses` holds each step's
        loss since the previous one), and the epoch's metrics at its end. A callback ordered before the
        reporters (50) may add to `metrics` (the time left)."""

    def on_epoch_end(self, loop: Loop, metrics: dict[str, float]) -> None:
        """The epoch's steps are done (and the device with them): add this epoch's metrics to `metrics`
        (test accuracy, examples/s...); they are reported next."""

    def on_run_end(self, loop: Loop) -> None:
        """The run has ended with `loop.status` (a StopRun included); the last chance to update
        `loop.latest`, from which the result is made."""

    def stop_requested(self, loop: Loop, now: bool) -> bool:
        """Whether the run should end `cancelled`. `now` marks a point where a poll is due (before
        training, at report points); elsewhere a callback may skip an expensive check."""
        return False


@dataclass(frozen=True)
class FitResult:
    """How a call to `fit` ended: status is done, cancelled, diverged or failed (CUDA out of memory).

    The fields up to `error` are named as the run store's columns (`columns()`)."""

    status: Status
    device: str
    epochs_done: int
    steps: int
    final_train_loss: float | None = None
    final_train_acc: float | None = None
    final_test_acc: float | None = None
    examples_per_sec: float | None = None
    tflops: float | None = None
    peak_memory: float | None = None  # bytes at the peak of step 2, measured (cnnlab.train.peak_memory)
    memory_estimate: float | None = None  # the same peak, estimated (cnnlab.train.memory)
    error: str | None = None
    model: nn.Module | None = field(default=None, repr=False)
    speed: dict | None = None  # the path taken (eager, channels_last, compile) and why

    def columns(self) -> dict[str, Any]:
        """The run store's result columns (status and error aside) with this run's values."""
        return {"device": self.device, "epochs_done": self.epochs_done,
                **{column: getattr(self, column) for column in RESULT_METRICS}}


class Loop:
    """One run's training: a `Setup` trained by the step loop (`run`), with `callbacks` at each event.

    What callbacks may read: `setup` (and its `config`, `device`, `model`, `net`), `step` (optimiser
    steps so far), `examples` (training examples seen), `epochs_done`, `losses` (at a report: each step's
    loss since the previous report), `latest` (the latest value of each metric), `status` and `error`
    (at the run's end); `evaluate(net)` is the test accuracy of any network on the test split.
    """

    setup: Setup

    def __init__(self, callbacks: Sequence[Callback]) -> None:
        self.callbacks = sorted(callbacks, key=lambda c: c.order)
        self.step = self.examples = self.epochs_done = 0
        self.losses: list[float] = []
        self.latest: dict[str, float] = {}
        self.status, self.error = Status.RUNNING, None
        self.callback_seconds = 0.0  # time spent in callbacks: not training

    def run(self, setup: Setup) -> FitResult:
        """Train every epoch of `setup` unless a callback ends the run; the result, made from `latest`."""
        self.setup = setup
        try:
            self._dispatch("on_run_start")
            self._check_stop(now=True)  # cancelled while the data and the model loaded
            if self.setup.compile:
                self._warm_up()
                self._check_stop(now=True)  # or while it compiled
            self.setup.model.train()
            for epoch in range(self.setup.config.epochs):
                self._epoch(epoch)
            self.status = Status.DONE
        except StopRun as stop:
            self.status, self.error = stop.status, stop.error
        synchronize(self.setup.device)
        self._dispatch("on_run_end")
        return self.result()

    def result(self) -> FitResult:
        return FitResult(self.status, str(self.setup.device), self.epochs_done, self.step,
                         **{column: self.latest.get(name) for column, name in RESULT_METRICS.items()},
                         error=self.error, model=self.setup.model if self.status == Status.DONE else None,
                         speed=self.setup.speed)

    def stop_requested(self, now: bool = False) -> bool:
        """Whether a callback asks the run to stop (see Callback.stop_requested)."""
        return any(self._timed(c.stop_requested, self, now) for c in self.callbacks)

    def evaluate(self, net: nn.Module) -> float:
        """Test accuracy of `net`; StopRun (cancelled) if a stop is requested meanwhile."""
        setup = self.setup
        correct = torch.zeros((), dtype=torch.int64, device=setup.device)
        net.eval()
        try:
            with torch.no_grad():
                for x, y in setup.test:
                    with setup.autocast():
                        out = net(x)
                    correct += (out.argmax(dim=1) == y).sum()
                    self._check_stop()
        finally:
            net.train()
        return correct.item() / setup.test.num_examples

    def _epoch(self, epoch: int) -> None:
        """Train one epoch, reporting running averages at the report points, then its metrics."""
        setup, batches = self.setup, len(self.setup.train)
        per_epoch = setup.config.reports_per_epoch
        report_at = {math.ceil(k * batches / per_epoch) - 1 for k in range(1, per_epoch + 1)}
        if epoch == 0:  # a first point at once, a second with a rate (cnnlab.train.callbacks.eta)
            report_at |= {step - 1 for step in FIRST_REPORTS if step <= batches}
        # Per step: loss × batch size, correct predictions, loss. Read by the host only at report points.
        stats = torch.zeros((batches, 3), device=setup.device)
        loss_sum = correct = 0.0
        seen = read = 0
        synchronize(setup.device)
        self._dispatch("on_epoch_start")
        for i, (x, y) in enumerate(setup.train):
            with setup.autocast():
                out = setup.net(x)
                batch_loss = F.cross_entropy(out, y)
            setup.optimizer.zero_grad(set_to_none=True)
            batch_loss.backward()
            lr = setup.optimizer.param_groups[0]["lr"]  # the rate this step uses
            setup.optimizer.step()
            if setup.schedule is not None:
                setup.schedule.step()
            stats[i, 0] = batch_loss.detach() * y.shape[0]
            stats[i, 1] = (out.argmax(dim=1) == y).sum()
            stats[i, 2] = batch_loss.detach()
            seen += y.shape[0]
            self.step += 1
            self.examples += y.shape[0]
            self._dispatch("on_step_end", batch_loss.detach(), lr)
            at_report = i in report_at
            if at_report:
                rows = stats[read:i + 1].tolist()
                self.losses = [r[2] for r in rows]
                loss_sum += sum(r[0] for r in rows)
                correct += sum(r[1] for r in rows)
                read = i + 1
                metrics = {"train_loss": loss_sum / seen, "train_acc": correct / seen, "lr": lr}
                self._dispatch("on_report", self.step, epoch + (i + 1) / batches, metrics)
                self.latest.update(metrics)
            self._check_stop(now=at_report)
        synchronize(setup.device)
        metrics: dict[str, float] = {}
        self._dispatch("on_epoch_end", metrics)
        self.epochs_done = epoch + 1
        self._dispatch("on_report", self.step, float(epoch + 1), metrics)
        self.latest.update(metrics)

    def _check_stop(self, now: bool = False) -> None:
        if self.stop_requested(now):
            raise StopRun(Status.CANCELLED)

    def _dispatch(self, event: str, *args: Any) -> None:
        for callback in self.callbacks:
            self._timed(getattr(callback, event), self, *args)

    def _timed(self, method: Callable[..., Any], *args: Any) -> Any:
        start = time.perf_counter()
        try:
            return method(*args)
        finally:
            self.callback_seconds += time.perf_counter() - start

    def _warm_up(self) -> None:
        """Compile outside the throughput clock: forward + backward on zeros of each training batch shape.

        Gradients are discarded and buffers (batch-norm statistics) and random-number state restored, so
        the first real step sees exactly what it would have seen without compilation.
        """
        setup = self.setup
        buffers = {name: b.clone() for name, b in setup.model.named_buffers()}
        batch, rest = setup.config.batch_size, setup.train.num_examples % setup.config.batch_size
        fmt = torch.channels_last if setup.channels_last else torch.contiguous_format
        devices = [setup.device] if setup.device.type == "cuda" else []
        with torch.random.fork_rng(devices=devices):
            for size in {min(batch, setup.train.num_examples), rest} - {0}:
                x = torch.zeros((size, *setup.config.model.input.as_tuple()), device=setup.device)
                y = torch.zeros(size, dtype=torch.int64, device=setup.device)
                with setup.autocast():
                    F.cross_entropy(setup.net(x.contiguous(memory_format=fmt)), y).backward()
        setup.optimizer.zero_grad(set_to_none=True)
        with torch.no_grad():
            for name, b in setup.model.named_buffers():
                b.copy_(buffers[name])
