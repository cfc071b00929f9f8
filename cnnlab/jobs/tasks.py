"""The heavy computations a server runs in its worker pool (`cnnlab.jobs.pool`): module-level functions
of plain, picklable arguments, each taking a `progress` callback. Importing this module is the fork
server's preload: the processes forked from it have cnnlab, torch and torchvision imported already."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torchvision  # noqa: F401 (imported once in the fork server, not in every job)

from cnnlab.analysis import Summary, analyze
from cnnlab.analysis.memory import TrainingMemory, training_memory
from cnnlab.inspect import (
    EffectiveField,
    SpatialLayer,
    Subject,
    dataset_images,
    effective_field,
    from_file,
    from_run,
    initial,
    model_input,
    spatial_layers,
    top_images,
)
from cnnlab.limits import MAX_TOP_SAMPLE
from cnnlab.spec import ModelConfig

Progress = Callable[[float], None]


@dataclass(frozen=True)
class SubjectRef:
    """Which model with which weights, in words a worker can rebuild it from: a config initialised with
    `seed`, a run's weights (trained, or those it started from), or a model file."""

    config_json: str = ""
    seed: int | None = None
    run_id: int | None = None
    trained: bool = True
    home: str = ""
    model_file: str = ""
    name: str = ""

    def load(self) -> Subject:
        if self.model_file:
            return from_file(self.model_file, name=self.name)
        if self.run_id is None:
            return initial(ModelConfig.from_dict(json.loads(self.config_json)), seed=self.seed)
        return from_run(self.run_id, self.home, trained=self.trained)


def _images(subject: Subject, dataset: str, count: int) -> torch.Tensor:
    images = dataset_images(dataset, count, subject.input, cap=MAX_TOP_SAMPLE)
    return model_input(images, subject.normalize)


def analysis(config_json: str, levels: int | None, progress: Progress) -> Summary:
    """The analysis of a model config."""
    return analyze(ModelConfig.from_dict(json.loads(config_json)), levels=levels)


def file_analysis(path: str, name: str, progress: Progress) -> tuple[Summary, list[SpatialLayer]]:
    """A model file's analysis and its spatial layers (loading it checks it)."""
    subject = from_file(path, name=name)
    progress(0.5)
    shape = subject.input.as_tuple()
    return analyze(subject.model, shape), spatial_layers(subject.model, shape)


def memory(config_json: str, optimizer: str, momentum: float, batch: int,
           progress: Progress) -> TrainingMemory:
    """The training-memory estimate of a config at one batch size."""
    model = training_memory(ModelConfig.from_dict(json.loads(config_json)), optimizer, momentum)
    return model.at(batch)


def field(subject: SubjectRef, dataset: str, count: int, layer: SpatialLayer, unit: tuple[int, int],
          progress: Progress) -> EffectiveField:
    """A unit's effective field over the first `count` test images of `dataset`."""
    loaded = subject.load()
    return effective_field(loaded.model, _images(loaded, dataset, count), layer, unit, progress=progress)


def tops(subject: SubjectRef, dataset: str, sample: int, layer: SpatialLayer, channel: int, k: int,
         progress: Progress) -> list:
    """The `k` of the first `sample` test images that excite `channel` of `layer` most."""
    loaded = subject.load()
    return top_images(loaded.model, _images(loaded, dataset, sample), layer, channel, k, progress=progress)
