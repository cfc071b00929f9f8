"""A run's set-up: the device, the data, the model (initialised, on its path), optimiser and schedule."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from cnnlab.analysis import analyze
from cnnlab.data import DeviceLoader, channel_stats, load_split
from cnnlab.errors import ConfigError
from cnnlab.optimizers import build_optimizer
from cnnlab.train.config import RunConfig
from cnnlab.train.speed import PATHS, fixed
from cnnlab.zoo import build


@dataclass
class Setup:
    """Everything a run trains with; `net` is `model`, compiled when the path says so."""

    config: RunConfig
    device: torch.device
    train: DeviceLoader
    test: DeviceLoader
    model: nn.Module
    net: nn.Module
    optimizer: torch.optim.Optimizer
    schedule: torch.optim.lr_scheduler.LRScheduler | None
    channels_last: bool
    compile: bool
    speed: dict[str, Any]  # the path taken (eager, channels_last, compile) and why
    flops_per_example: float | None  # forward + backward, on CUDA only (where TFLOP/s are reported)
    speed_cache: Path | None = None  # speed="auto"'s measurements (cnnlab.train.speed)

    def autocast(self) -> contextlib.AbstractContextManager:
        """bf16 autocast when the run asks for it and trains on CUDA; otherwise nothing."""
        if self.config.amp and self.device.type == "cuda":
            return torch.autocast(self.device.type, dtype=torch.bfloat16)
        return contextlib.nullcontext()


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


def prepare(config: RunConfig, device: torch.device, *, speed_cache: Path | None = None) -> Setup:
    """Seed, load both splits, build and initialise the model, its optimiser and its schedule (stepped
    once per training step). `speed="auto"` starts on the eager path: its first steps choose the path
    (cnnlab.train.callbacks.probe, measurements cached in `speed_cache`). A missing dataset raises
    ConfigError."""
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    torch.manual_seed(config.seed)
    train = load_split(config.dataset, True, config.data_dir, limit=config.limit_train)
    test = load_split(config.dataset, False, config.data_dir, limit=config.limit_test)
    if config.speed == "auto":
        channels_last, compile_ = False, False
        speed = {"path": PATHS[0], "reason": "the run ended before its first steps were timed"}
    else:
        channels_last, compile_ = config.channels_last, config.compile
        speed = fixed(channels_last, compile_)
    loader = dict(device=device, resize=config.resize, seed=config.seed, channels_last=channels_last,
                  normalize=channel_stats(train) if config.normalize else None)  # train's, for both
    train_loader = DeviceLoader(train, config.batch_size, shuffle=True, **loader)
    test_loader = DeviceLoader(test, config.batch_size, shuffle=False, **loader)
    model = initialise(build(config.model, device=device), config.init)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    optimizer = make_optimizer(config, model.parameters())
    schedule = _schedule(config, optimizer, config.epochs * len(train_loader))
    # Forward + backward ≈ 3 × forward; one MAC = 2 FLOPs.
    flops = 6 * analyze(config.model).totals.macs if device.type == "cuda" else None
    net = torch.compile(model) if compile_ else model
    return Setup(config, device, train_loader, test_loader, model, net, optimizer, schedule, channels_last,
                 compile_, speed, flops, speed_cache)


def use_channels_last(setup: Setup, on: bool) -> None:
    """Switch an eager run's memory format between steps: the weights, the optimiser's state of the
    same shape and both loaders' batches; the values are unchanged (the same run goes on)."""
    fmt = torch.channels_last if on else torch.contiguous_format
    setup.model.to(memory_format=fmt)  # in place: the optimiser keeps the same parameters
    for state in setup.optimizer.state.values():
        for name, value in state.items():
            if isinstance(value, torch.Tensor) and value.dim() == 4:
                state[name] = value.contiguous(memory_format=fmt)
    setup.train.channels_last = setup.test.channels_last = setup.channels_last = on


def initialise(model: nn.Module, init: str) -> nn.Module:
    """Apply the run's weight initialisation: `xavier` (the textbook's) or PyTorch's `default`."""
    if init == "xavier":
        for module in model.modules():
            if isinstance(module, nn.Conv2d | nn.Linear):
                nn.init.xavier_uniform_(module.weight)
    return model


def make_optimizer(config: RunConfig, params: Iterable[nn.Parameter]) -> torch.optim.Optimizer:
    """The run's optimiser over `params`."""
    return build_optimizer(config.optimizer, params, lr=config.lr, momentum=config.momentum,
                           weight_decay=config.weight_decay)


def _schedule(config: RunConfig, optimizer: torch.optim.Optimizer,
              total_steps: int) -> torch.optim.lr_scheduler.LRScheduler | None:
    if config.schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=total_steps)
    if config.schedule == "onecycle":
        return torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=config.lr, total_steps=total_steps,
                                                   cycle_momentum=False)
    return None
