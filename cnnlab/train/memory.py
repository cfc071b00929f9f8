"""A run's training-memory estimate (cnnlab.analysis.memory) for its model and optimiser settings, and
the check that it fits the device before anything is allocated."""

from __future__ import annotations

import torch

from cnnlab import limits
from cnnlab.analysis.memory import MemoryModel, training_memory
from cnnlab.devices import device_total
from cnnlab.errors import ConfigError
from cnnlab.train.config import RunConfig
from cnnlab.units import format_bytes


def run_memory(config: RunConfig) -> MemoryModel:
    """The memory model of `config`'s training (its model and optimiser settings)."""
    return training_memory(config.model, config.optimizer, config.momentum, config.weight_decay)


def check_fits(config: RunConfig, device: torch.device) -> None:
    """ConfigError naming the batch size that fits if `config`'s estimated peak exceeds the device's
    budget (limits.MEMORY_BUDGET_SHARE of its memory)."""
    try:
        memory = run_memory(config)
    except ConfigError:
        raise
    except Exception:  # noqa: BLE001 (a model the simulation cannot run is not refused for it)
        return
    total = device_total(device)
    budget = int(limits.MEMORY_BUDGET_SHARE * total)
    need = memory.at(config.batch_size).total
    if need <= budget:
        return
    fits = memory.largest_batch(budget, config.batch_size)
    advice = f"batch size {fits} fits" if fits else "it does not fit even at batch size 1"
    raise ConfigError(f"batch size {config.batch_size} needs about {format_bytes(need)} to train "
                      f"{config.model.name}, more than {limits.MEMORY_BUDGET_SHARE:.0%} of {device}'s "
                      f"{format_bytes(total)}; {advice}")
