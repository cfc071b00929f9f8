"""What is inspected: a model with its weights, the data it expects, and a line saying which weights.

Either a freshly initialised model (the one a run with that seed starts from) or a finished run's
saved weights, loaded with `weights_only=True` (`service.load_weights`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from cnnlab.data import channel_stats, load_split
from cnnlab.errors import ConfigError
from cnnlab.runs.rows import Run
from cnnlab.runs.store import RunStore
from cnnlab.spec import InputSpec, ModelConfig
from cnnlab.train.config import RunConfig
from cnnlab.train.setup import initialise
from cnnlab.zoo import build


@dataclass(frozen=True)
class Subject:
    """A CPU model in eval mode and how its inputs are prepared."""

    model: nn.Module
    config: ModelConfig | None  # None for a model file (`from_file`)
    weights: str  # "init seed S", "run ID" or the model file's name
    dataset: str | None = None  # the run's dataset, if any
    data_dir: str | None = None
    normalize: tuple[torch.Tensor, torch.Tensor] | None = None  # the run's per-channel statistics
    input: InputSpec | None = None  # what the model takes: the config's input unless given

    def __post_init__(self) -> None:
        if self.input is None:
            object.__setattr__(self, "input", self.config.input)


def initial(config: ModelConfig, seed: int = 0, init: str = "xavier") -> Subject:
    """`config` with the weights a run seeded with `seed` starts from (on the CPU)."""
    return Subject(initial_model(config, seed, init), config, f"init seed {seed}")


def initial_model(config: ModelConfig, seed: int, init: str = "xavier") -> nn.Module:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = build(config, device="cpu")
        initialise(model, init)
    return model.eval()


def from_run(run_id: int, home: str | Path | None = None, *, trained: bool = True) -> Subject:
    """Run `run_id`'s trained weights (or, with `trained=False`, the weights it started from)."""
    from cnnlab.runs import service

    run = RunStore(home).get(run_id)
    config = RunConfig.from_dict(run.config)
    if trained:
        check_weights(run)
        model, weights = service.load_weights(run_id, home=home), f"run {run_id}"
    else:
        model = initial_model(config.model, config.seed, config.init)
        weights = f"run {run_id} before training"
    stats = channel_stats(load_split(config.dataset, True, config.data_dir)) if config.normalize else None
    return Subject(model, config.model, weights, config.dataset, config.data_dir, stats)


def from_file(source: str | Path | bytes, input_shape: InputSpec | None = None,
              name: str | None = None) -> Subject:
    """A model saved with `torch.export.save`, with its trained weights (`cnnlab.exported.load`: nothing
    from the file is run), on `input_shape` or the input it was exported with."""
    from cnnlab.exported import load

    model = load(source, name)
    if input_shape is None:
        if model.input_shape is None:
            raise ConfigError(f"{name or source} does not record a fixed input shape; give one (CxHxW)")
        input_shape = InputSpec.from_list(model.input_shape)
    label = name or (Path(source).name if not isinstance(source, bytes) else "the uploaded model")
    return Subject(model, None, label, input=input_shape)


def check_weights(run: Run) -> None:
    """A ConfigError unless `run` has a weights file on disk."""
    if not run.weights_path:
        raise ConfigError(f"run {run.id} has no saved weights (train it with --save-weights, or from the "
                          "dashboard, which saves them)")
    if not Path(run.weights_path).is_file():
        raise ConfigError(f"run {run.id}'s weights file {run.weights_path} is missing")
