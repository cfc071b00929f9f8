"""A run's training-memory estimate (cnnlab.analysis.memory) for its model and optimiser settings."""

from __future__ import annotations

from cnnlab.analysis.memory import MemoryModel, training_memory
from cnnlab.train.config import RunConfig


def run_memory(config: RunConfig) -> MemoryModel:
    """The memory model of `config`'s training (its model and optimiser settings)."""
    return training_memory(config.model, config.optimizer, config.momentum, config.weight_decay)
