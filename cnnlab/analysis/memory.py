"""Training memory by simulation: the real model, loss and optimiser run training steps on meta tensors
(shapes only, nothing allocated) while a `PeakTracker` follows every tensor's lifetime.

This counts what a formula misses: what backward really keeps (each op's saved tensors, shared views
once), the gradients appearing during backward, the optimiser's state and the temporaries of its
step (Adam's per-tensor step holds two temporaries the size of the parameter it updates). What it cannot see
is memory a kernel allocates for itself below the tensor level (cuDNN's workspace, the CPU
convolution's per-thread weight-gradient buffers): docs/ANALYSIS.md says where that matters.

The peak is max(step phase, forward+backward phase); the step phase does not depend on the batch
and the other grows linearly with it, so its peaks at batch 1 and 2 give the peak of any batch.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial

import torch
import torch.nn.functional as F
from torch import nn

from cnnlab.analysis.peak_tracker import PeakTracker
from cnnlab.errors import ConfigError, quoted
from cnnlab.optimizers import NAMES, build_optimizer
from cnnlab.spec import ModelConfig
from cnnlab.zoo import build

OptimizerFactory = Callable[[Iterable[nn.Parameter]], torch.optim.Optimizer]

@dataclass(frozen=True)
class TrainingMemory:
    """Bytes live at the peak of a training step, by what holds them; `total` is the peak."""

    weights: int
    gradients: int
    optimizer_state: int
    activations: int
    temporaries: int

    @property
    def total(self) -> int:
        return self.weights + self.gradients + self.optimizer_state + self.activations + self.temporaries

    def to_dict(self) -> dict[str, int]:
        return {**self.__dict__, "total": self.total}


@dataclass(frozen=True)
class MemoryModel:
    """The two phases of a training step: `step` (constant) and `backward` = base + per_sample·batch."""

    step: TrainingMemory
    backward_base: TrainingMemory
    backward_per_sample: TrainingMemory

    def at(self, batch_size: int) -> TrainingMemory:
        """The peak for `batch_size`: whichever phase is larger."""
        backward = TrainingMemory(**{key: getattr(self.backward_base, key)
                                     + batch_size * getattr(self.backward_per_sample, key)
                                     for key in _fields()})
        return backward if backward.total >= self.step.total else self.step

    def largest_batch(self, budget: int, upper: int) -> int:
        """The largest batch (at most `upper`) whose peak fits in `budget` bytes; 0 if none does."""
        per_sample = self.backward_per_sample.total
        if self.step.total > budget or self.backward_base.total + per_sample > budget:
            return 0
        if per_sample <= 0:
            return upper
        return min(upper, (budget - self.backward_base.total) // per_sample)


def _fields() -> tuple[str, ...]:
    return tuple(TrainingMemory.__dataclass_fields__)


def memory_model(make_model: Callable[[], nn.Module], input_shape: tuple[int, ...],
                 make_optimizer: OptimizerFactory) -> MemoryModel:
    """Simulate training steps of the model `make_model()` builds (on any device: the meta device costs
    nothing). Its tensors are replaced by meta ones of the same shapes, so no constructor runs on meta
    tensors outside cnnlab's shortcuts (torchvision's and timm's initialisers ask questions of values,
    such as `mask.any()`, that meta tensors cannot answer)."""
    step, one, two = _simulate(make_model, input_shape, make_optimizer)
    per_sample = TrainingMemory(**{key: getattr(two, key) - getattr(one, key) for key in _fields()})
    base = TrainingMemory(**{key: getattr(one, key) - getattr(per_sample, key) for key in _fields()})
    return MemoryModel(step=step, backward_base=base, backward_per_sample=per_sample)


def _simulate(make_model: Callable[[], nn.Module], input_shape: tuple[int, ...],
              make_optimizer: OptimizerFactory) -> tuple[TrainingMemory, TrainingMemory, TrainingMemory]:
    """The peaks of a second step (the first, on zero gradients, creates the optimiser's state, as a
    run's first step does): its step phase, and its forward+backward phase at batch 1 and at batch 2.
    One model and optimiser for all three; only the current batch is alive, as in a run."""
    model = make_model()._apply(lambda t: torch.empty(t.shape, dtype=t.dtype, device="meta")).train()
    optimizer = make_optimizer(model.parameters())
    tracker = PeakTracker()
    tracker.track_training(model, optimizer)
    batch: list[torch.Tensor] = []

    def load(size: int) -> None:
        batch[:] = (torch.empty((size, *input_shape), device="meta"),
                    torch.empty(size, dtype=torch.int64, device="meta"))
        tracker.track(batch, "temporaries")

    def backward() -> None:
        F.cross_entropy(model(batch[0]), batch[1]).backward()

    def step() -> None:
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    with tracker:
        for parameter in model.parameters():  # the first step's gradients: only their shapes matter
            if parameter.requires_grad:
                parameter.grad = torch.zeros_like(parameter)
        step()
        load(1)
        one = _phase(tracker, backward)
        measured_step = _phase(tracker, step)
        load(2)
        two = _phase(tracker, backward)
    return measured_step, one, two


def _phase(tracker: PeakTracker, run: Callable[[], None]) -> TrainingMemory:
    """The peak of `run()` alone."""
    tracker.reset_peak()
    run()
    return TrainingMemory(**tracker.peak())


_CACHE_SIZE = 32
_cache: dict[tuple, MemoryModel] = {}


def training_memory(config: ModelConfig, optimizer: str = "sgd", momentum: float = 0.0,
                    weight_decay: float = 0.0) -> MemoryModel:
    """The memory model of training cnnlab model `config` with `optimizer` (any batch: `.at(batch)`),
    cached per model and optimiser settings."""
    if optimizer not in NAMES:
        raise ConfigError(f"unknown optimizer {quoted(optimizer)}; choose one of {', '.join(NAMES)}")
    if (isinstance(momentum, bool) or not isinstance(momentum, int | float) or not math.isfinite(momentum)
            or not 0 <= momentum < 1):
        raise ConfigError(f"momentum must be a number from 0 up to (not including) 1, got {quoted(momentum)}")
    key = (config, optimizer, float(momentum), float(weight_decay))
    if key not in _cache:
        if len(_cache) >= _CACHE_SIZE:
            del _cache[next(iter(_cache))]
        make_optimizer = partial(build_optimizer, optimizer, lr=1e-3, momentum=momentum,
                                 weight_decay=weight_decay)  # the rate does not change the memory
        _cache[key] = memory_model(lambda: build(config), config.input.as_tuple(), make_optimizer)
    return _cache[key]
