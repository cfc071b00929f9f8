"""Training-memory estimates for cnnlab's models: the analysis engine's simulated step
(cnnlab.analysis.memory) of the model with the optimiser a run would use, cached per model and
optimiser settings."""

from __future__ import annotations

import math
from functools import partial

from cnnlab.analysis.memory import MemoryModel, memory_model
from cnnlab.errors import ConfigError
from cnnlab.families import family_of
from cnnlab.spec import ModelConfig
from cnnlab.train.config import DEFAULT_LR, RunConfig
from cnnlab.train.setup import optimizer_for

_CACHE_SIZE = 32
_cache: dict[tuple, MemoryModel] = {}


def training_memory(model: ModelConfig, optimizer: str = "sgd", momentum: float = 0.0,
                    weight_decay: float = 0.0) -> MemoryModel:
    """The memory model of training `model` with `optimizer` (any batch size: `.at(batch)`)."""
    if optimizer not in DEFAULT_LR:
        raise ConfigError(f"unknown optimizer {optimizer!r}; choose one of {', '.join(DEFAULT_LR)}")
    if (isinstance(momentum, bool) or not isinstance(momentum, int | float) or not math.isfinite(momentum)
            or not 0 <= momentum < 1):
        raise ConfigError(f"momentum must be a number from 0 up to (not including) 1, got {momentum!r}")
    key = (model, optimizer, float(momentum), float(weight_decay))
    if key not in _cache:
        family = family_of(model.arch)
        if len(_cache) >= _CACHE_SIZE:
            del _cache[next(iter(_cache))]
        make_optimizer = partial(optimizer_for, optimizer, lr=DEFAULT_LR[optimizer], momentum=momentum,
                                 weight_decay=weight_decay)
        _cache[key] = memory_model(lambda: family.build(model.arch, model.input), model.input.as_tuple(),
                                   model.arch.classes, make_optimizer)
    return _cache[key]


def run_memory(config: RunConfig) -> MemoryModel:
    """The memory model of `config`'s training (its model and optimiser settings)."""
    return training_memory(config.model, config.optimizer, config.momentum, config.weight_decay)
