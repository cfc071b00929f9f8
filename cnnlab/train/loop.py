"""The training loop: the textbook's semantics, without its per-step host synchronisation.

Loss and correct counts stay on the device as one small tensor per epoch; the host reads them only at
the `reports_per_epoch` report points, which is also where a non-finite loss is noticed.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from cnnlab.analysis import analyze
from cnnlab.data import DeviceLoader, channel_stats, load_split
from cnnlab.errors import ConfigError
from cnnlab.train.config import RunConfig
from cnnlab.train.speed import choose, fixed, synchronize
from cnnlab.train.status import Status
from cnnlab.units import format_bytes
from cnnlab.zoo import build

# report(step, fractional epoch, {metric name: value})
Report = Callable[[int, float, dict[str, float]], None]
POLL_SECONDS = 0.5  # the longest stretch of training between two `should_stop` calls


@dataclass(frozen=True)
class FitResult:
    """How a call to `fit` ended: status is done, cancelled, diverged or failed (CUDA out of memory)."""

    status: Status
    device: str
    epochs_done: int
    steps: int
    train_loss: float | None = None
    train_acc: float | None = None
    test_acc: float | None = None
    examples_per_sec: float | None = None
    tflops: float | None = None
    error: str | None = None
    model: nn.Module | None = field(default=None, repr=False)
    speed: dict | None = None  # the path taken (eager, channels_last, compile) and why


def resolve_device(name: str) -> torch.device:
    """'auto' -> cuda, then mps, then cpu; an explicit device that this machine lacks is a ConfigError."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", torch.cuda.current_device())
        return torch.device("mps" if torch.backends.mps.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ConfigError(f"device {name} was asked for but CUDA is not available on this machine")
        index = torch.cuda.current_device() if device.index is None else device.index
        if index >= torch.cuda.device_count():
            raise ConfigError(f"device {name}: this machine has {torch.cuda.device_count()} CUDA device(s)")
        return torch.device("cuda", index)
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise ConfigError(f"device {name} was asked for but MPS is not available on this machine")
    return device


def fit(config: RunConfig, *, report: Report | None = None, should_stop: Callable[[], bool] | None = None,
        speed_cache: Path | None = None) -> FitResult:
    """Train `config.model` on `config.dataset`; see the module docstring and docs/TRAINING.md.

    `report` receives train loss/acc (running averages over the epoch so far) `reports_per_epoch` times
    per epoch and test acc, examples/s (and TFLOP/s on CUDA) after each epoch. `should_stop` is polled
    at report points and at least every `POLL_SECONDS`; when it returns True the run ends `cancelled`.
    With `config.speed == "auto"` the training path is chosen by measurement (cnnlab.train.speed; its
    measurements cached in `speed_cache`). Bad input (unknown device, missing dataset) raises ConfigError.
    """
    device = resolve_device(config.device)
    hooks = _Hooks(report, should_stop)
    try:
        return _Training(config, device, hooks, speed_cache).run()
    except torch.cuda.OutOfMemoryError:
        torch.cuda.empty_cache()
        total = torch.cuda.get_device_properties(device).total_memory
        return FitResult(Status.FAILED, str(device), hooks.epochs_done, hooks.steps,
                         error=out_of_memory_message(config, str(device), total))


def out_of_memory_message(config: RunConfig, device: str, total: int) -> str:
    """Why the run failed on a device of `total` bytes, and the largest power-of-two batch size below the
    failed one that the memory estimate says would fit."""
    summary = analyze(config.model)

    def need(batch: int) -> int:
        return summary.training_memory(batch, config.optimizer, config.momentum).total

    budget = 0.8 * total  # headroom for the dataset, the allocator and cuDNN workspaces
    batch = 1 << max(config.batch_size // 2, 1).bit_length() - 1
    while batch > 1 and need(batch) > budget:
        batch //= 2
    head = f"CUDA out of memory at batch size {config.batch_size} on {device} ({format_bytes(total)})"
    if need(batch) > budget:
        return f"{head}; {config.model.name} needs about {format_bytes(need(1))} even at batch size 1"
    return f"{head}; try batch size {batch} (estimated {format_bytes(need(batch))} for training)"


def initialise(model: nn.Module, init: str) -> nn.Module:
    """Apply the run's weight initialisation: `xavier` (the textbook's) or PyTorch's `default`."""
    if init == "xavier":
        for module in model.modules():
            if isinstance(module, nn.Conv2d | nn.Linear):
                nn.init.xavier_uniform_(module.weight)
    return model


class _Hooks:
    """Calls the caller's callbacks and keeps their time out of the throughput clock."""

    def __init__(self, report: Report | None, should_stop: Callable[[], bool] | None) -> None:
        self._report, self._should_stop = report, should_stop
        self.spent = 0.0  # seconds inside callbacks
        self.next_poll = 0.0
        self.epochs_done = 0
        self.steps = 0

    def report(self, step: int, epoch: float, metrics: dict[str, float]) -> None:
        if self._report is not None:
            start = time.perf_counter()
            self._report(step, epoch, metrics)
            self.spent += time.perf_counter() - start

    def stop_requested(self, now: bool = False) -> bool:
        """Poll `should_stop` if `now` or if POLL_SECONDS have passed since the last poll."""
        start = time.perf_counter()
        if self._should_stop is None or (not now and start < self.next_poll):
            return False
        stop = self._should_stop()
        end = time.perf_counter()
        self.spent += end - start
        self.next_poll = end + POLL_SECONDS
        return stop


@dataclass(frozen=True)
class _EpochEnd:
    status: Status  # RUNNING (the epoch finished), CANCELLED or DIVERGED
    seen: int
    loss: float | None
    acc: float | None
    error: str | None = None


class _Training:
    def __init__(self, config: RunConfig, device: torch.device, hooks: _Hooks,
                 speed_cache: Path | None = None) -> None:
        self.config, self.device, self.hooks = config, device, hooks
        if device.type == "cuda":
            torch.backends.cudnn.benchmark = True
        torch.manual_seed(config.seed)
        train = load_split(config.dataset, True, config.data_dir, limit=config.limit_train)
        test = load_split(config.dataset, False, config.data_dir, limit=config.limit_test)
        if config.speed == "auto":
            steps = config.epochs * math.ceil(len(train) / config.batch_size)
            choice = choose(config.model, device, config.batch_size, config.model.input.as_tuple(),
                            config.amp, steps, speed_cache,
                            should_stop=lambda: hooks.stop_requested(now=True))
            self.channels_last, self.compile = choice.channels_last, choice.compile
            self.speed = choice.to_dict()
        else:
            self.channels_last, self.compile = config.channels_last, config.compile
            self.speed = fixed(config.channels_last, config.compile)
        loader = dict(device=device, resize=config.resize, seed=config.seed,
                      channels_last=self.channels_last,
                      normalize=channel_stats(train) if config.normalize else None)  # train's, for both
        self.train = DeviceLoader(train, config.batch_size, shuffle=True, **loader)
        self.test = DeviceLoader(test, config.batch_size, shuffle=False, **loader)
        self.model = initialise(build(config.model, device=device), config.init)
        if self.channels_last:
            self.model = self.model.to(memory_format=torch.channels_last)
        self.net = torch.compile(self.model) if self.compile else self.model
        self.optimizer = _optimizer(config, self.model.parameters())
        self.schedule = _schedule(config, self.optimizer, config.epochs * len(self.train))
        self.use_amp = config.amp and device.type == "cuda"
        macs = analyze(config.model).totals.macs if device.type == "cuda" else None
        # Forward + backward ≈ 3 × forward; one MAC = 2 FLOPs.
        self.flops_per_example = None if macs is None else 6 * macs

    def autocast(self) -> contextlib.AbstractContextManager:
        if self.use_amp:
            return torch.autocast(self.device.type, dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def run(self) -> FitResult:
        config, hooks = self.config, self.hooks
        last: dict[str, float | None] = {"train_loss": None, "train_acc": None, "test_acc": None}
        stopped = hooks.stop_requested(now=True)  # cancelled while the data and the model loaded
        if self.compile and not stopped:
            self.warm_up()
            stopped = hooks.stop_requested(now=True)  # or while it compiled
        if stopped:
            return self.result(Status.CANCELLED, last, None, None, None)
        train_time, examples = 0.0, 0
        rate = tflops = None
        self.model.train()
        for epoch in range(config.epochs):
            synchronize(self.device)
            spent_before, start = hooks.spent, time.perf_counter()
            end = self.epoch(epoch)
            synchronize(self.device)
            train_time += time.perf_counter() - start - (hooks.spent - spent_before)
            examples += end.seen
            if end.loss is not None:
                last.update(train_loss=end.loss, train_acc=end.acc)
            rate = examples / train_time if train_time > 0 else None
            tflops = rate * self.flops_per_example / 1e12 if rate and self.flops_per_example else None
            if end.status != Status.RUNNING:
                return self.result(end.status, last, rate, tflops, end.error)
            test_acc = self.accuracy()
            if test_acc is None:
                return self.result(Status.CANCELLED, last, rate, tflops, None)
            last["test_acc"] = test_acc
            hooks.epochs_done = epoch + 1
            metrics = {"test_acc": test_acc, "examples_per_sec": rate}
            if tflops is not None:
                metrics["tflops"] = tflops
            hooks.report(hooks.steps, float(epoch + 1), metrics)
        return self.result(Status.DONE, last, rate, tflops, None)

    def result(self, status: Status, last: dict[str, float | None], rate: float | None, tflops: float | None,
               error: str | None) -> FitResult:
        return FitResult(status, str(self.device), self.hooks.epochs_done, self.hooks.steps,
                         last["train_loss"], last["train_acc"], last["test_acc"], rate, tflops, error,
                         self.model if status == Status.DONE else None, self.speed)

    def epoch(self, epoch: int) -> _EpochEnd:
        """Train one epoch, reporting running averages at the report points."""
        hooks, batches = self.hooks, len(self.train)
        report_at = {math.ceil(k * batches / self.config.reports_per_epoch) - 1
                     for k in range(1, self.config.reports_per_epoch + 1)}
        # Per step: loss × batch size, correct predictions. Read by the host only at report points.
        stats = torch.zeros((batches, 2), device=self.device)
        loss_sum = correct = 0.0
        seen = read = 0
        loss = acc = None
        for i, (x, y) in enumerate(self.train):
            with self.autocast():
                out = self.net(x)
                batch_loss = F.cross_entropy(out, y)
            self.optimizer.zero_grad(set_to_none=True)
            batch_loss.backward()
            lr = self.optimizer.param_groups[0]["lr"]  # the rate this step uses
            self.optimizer.step()
            if self.schedule is not None:
                self.schedule.step()
            stats[i, 0] = batch_loss.detach() * y.shape[0]
            stats[i, 1] = (out.argmax(dim=1) == y).sum()
            seen += y.shape[0]
            hooks.steps += 1
            at_report = i in report_at
            if at_report:
                rows = stats[read:i + 1].tolist()
                bad = next((j for j, (value, _) in enumerate(rows) if not math.isfinite(value)), None)
                if bad is not None:
                    step = hooks.steps - (i - read) + bad
                    return _EpochEnd(Status.DIVERGED, seen, loss, acc,
                                     f"training loss became {rows[bad][0]} at step {step} "
                                     f"(epoch {epoch + 1}); try a smaller learning rate")
                loss_sum += sum(r[0] for r in rows)
                correct += sum(r[1] for r in rows)
                read = i + 1
                loss, acc = loss_sum / seen, correct / seen
                hooks.report(hooks.steps, epoch + (i + 1) / batches,
                             {"train_loss": loss, "train_acc": acc, "lr": lr})
            if hooks.stop_requested(now=at_report):
                return _EpochEnd(Status.CANCELLED, seen, loss, acc)
        return _EpochEnd(Status.RUNNING, seen, loss, acc)

    def accuracy(self) -> float | None:
        """Test accuracy, or None if a stop was requested meanwhile."""
        correct = torch.zeros((), dtype=torch.int64, device=self.device)
        self.net.eval()
        try:
            with torch.no_grad():
                for x, y in self.test:
                    with self.autocast():
                        out = self.net(x)
                    correct += (out.argmax(dim=1) == y).sum()
                    if self.hooks.stop_requested():
                        return None
        finally:
            self.net.train()
        return correct.item() / self.test.num_examples

    def warm_up(self) -> None:
        """Compile outside the throughput clock: forward + backward on zeros of each training batch shape.

        Gradients are discarded and buffers (batch-norm statistics) and random-number state restored, so
        the first real step sees exactly what it would have seen without compilation.
        """
        buffers = {name: b.clone() for name, b in self.model.named_buffers()}
        batch, rest = self.config.batch_size, self.train.num_examples % self.config.batch_size
        fmt = torch.channels_last if self.channels_last else torch.contiguous_format
        devices = [self.device] if self.device.type == "cuda" else []
        with torch.random.fork_rng(devices=devices):
            for size in {min(batch, self.train.num_examples), rest} - {0}:
                x = torch.zeros((size, *self.config.model.input.as_tuple()), device=self.device)
                y = torch.zeros(size, dtype=torch.int64, device=self.device)
                with self.autocast():
                    F.cross_entropy(self.net(x.contiguous(memory_format=fmt)), y).backward()
        self.optimizer.zero_grad(set_to_none=True)
        with torch.no_grad():
            for name, b in self.model.named_buffers():
                b.copy_(buffers[name])


def _optimizer(config: RunConfig, params: Iterable[nn.Parameter]) -> torch.optim.Optimizer:
    if config.optimizer == "sgd":
        return torch.optim.SGD(params, lr=config.lr, momentum=config.momentum,
                               weight_decay=config.weight_decay)
    cls = torch.optim.Adam if config.optimizer == "adam" else torch.optim.AdamW
    return cls(params, lr=config.lr, weight_decay=config.weight_decay)


def _schedule(config: RunConfig, optimizer: torch.optim.Optimizer,
              total_steps: int) -> torch.optim.lr_scheduler.LRScheduler | None:
    """Stepped once per training step."""
    if config.schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=total_steps)
    if config.schedule == "onecycle":
        return torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=config.lr, total_steps=total_steps,
                                                   cycle_momentum=False)
    return None
