"""What a training run is: a model and the training options (cnnlab.train.options); validated, immutable,
JSON-round-trippable."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cnnlab.data import dataset_info
from cnnlab.errors import ConfigError, listed
from cnnlab.spec import InputSpec, ModelConfig, with_options
from cnnlab.train.options import (  # noqa: F401 (the option values, importable from here too)
    DEFAULT_LR,
    DEVICES,
    INITS,
    OPTIMIZERS,
    OPTIONS,
    SCHEDULES,
    SPEEDS,
)


def dataset_shape(dataset: str, resize: int | None = None) -> tuple[int, int, int, int]:
    """(channels, height, width, classes) of `dataset` as the model sees it, after an optional resize."""
    info = dataset_info(dataset)
    size = resize or info["size"]
    height, width = (size, size) if isinstance(size, int) else size
    classes = info["classes"]
    return info["channels"], height, width, classes if isinstance(classes, int) else len(classes)


def fit_input(model: ModelConfig, dataset: str, resize: int | None = None) -> ModelConfig:
    """`model` with its input set to what `dataset` (resized to `resize`) gives, and one output per class."""
    channels, height, width, classes = dataset_shape(OPTIONS["dataset"].validate(dataset),
                                                     OPTIONS["resize"].validate(resize))
    return ModelConfig(with_options(model.arch, classes=classes), InputSpec(channels, height, width))


def _default(name: str) -> Any:
    """The dataclass field of option `name`, with the option's default."""
    return field(default=OPTIONS[name].default)


@dataclass(frozen=True)
class RunConfig:
    """Everything a run needs: `model` and one field per training option (cnnlab.train.options, in its
    table's order; a test holds the two together); a missing option takes its default. Validation names
    the offending field.

    `lr=None` means the optimiser's default (`DEFAULT_LR`). `amp` (bf16 autocast) only applies on CUDA.
    `speed="auto"` chooses eager, channels-last or compiled training by measurement (cnnlab.train.speed);
    asking for `channels_last` or `compile` makes it "fixed": those flags, as given.
    `limit_train`/`limit_test` keep the first N examples of each split. `ema` (0 ≤ decay < 1) adds an
    average of the weights evaluated alongside the model (cnnlab.train.callbacks.ema); 0 is none.
    """

    model: ModelConfig
    dataset: str = _default("dataset")
    data_dir: str | None = _default("data_dir")
    resize: int | None = _default("resize")
    normalize: bool = _default("normalize")
    epochs: int = _default("epochs")
    batch_size: int = _default("batch_size")
    lr: float = _default("lr")
    optimizer: str = _default("optimizer")
    momentum: float = _default("momentum")
    weight_decay: float = _default("weight_decay")
    schedule: str = _default("schedule")
    seed: int = _default("seed")
    device: str = _default("device")
    amp: bool = _default("amp")
    channels_last: bool = _default("channels_last")
    compile: bool = _default("compile")
    speed: str = _default("speed")
    init: str = _default("init")
    limit_train: int | None = _default("limit_train")
    limit_test: int | None = _default("limit_test")
    reports_per_epoch: int = _default("reports_per_epoch")
    save_weights: bool = _default("save_weights")
    ema: float = _default("ema")

    def __post_init__(self) -> None:
        if not isinstance(self.model, ModelConfig):
            raise ConfigError(f"model must be a ModelConfig, got {type(self.model).__name__}")
        clean = {name: option.validate(getattr(self, name)) for name, option in OPTIONS.items()}
        if clean["lr"] is None:
            clean["lr"] = DEFAULT_LR[clean["optimizer"]]
        if clean["momentum"] and clean["optimizer"] != "sgd":
            raise ConfigError(f"momentum applies to sgd only; {clean['optimizer']} has its own betas")
        if clean["channels_last"] or clean["compile"]:
            clean["speed"] = "fixed"
        _check_fits(self.model, clean["dataset"], clean["resize"])
        for name, value in clean.items():
            object.__setattr__(self, name, value)

    def replace(self, **changes: Any) -> RunConfig:
        """A copy with `changes` applied (and validated); an unknown field is a ConfigError."""
        _check_known(changes)
        return type(self)(**{"model": self.model, **self.options(), **changes})

    def options(self) -> dict[str, Any]:
        """The training options' values, in the table's order."""
        return {name: getattr(self, name) for name in OPTIONS}

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.model.to_dict(), **self.options()}

    @classmethod
    def from_dict(cls, data: Any) -> RunConfig:
        """Inverse of `to_dict`; missing fields take their defaults, unknown fields are rejected."""
        if not isinstance(data, dict):
            raise ConfigError(f"a run config must be a JSON object, got {type(data).__name__}")
        _check_known({k: v for k, v in data.items() if k != "model"})
        if "model" not in data:
            raise ConfigError("a run config needs a 'model'")
        return cls(**{**data, "model": ModelConfig.from_dict(data["model"])})


def _check_known(values: Mapping[str, Any]) -> None:
    """ConfigError naming the fields of `values` that are no training option."""
    extra = sorted(set(values) - set(OPTIONS))
    if extra:
        raise ConfigError(f"unknown run config field(s): {listed(extra)}")


def _check_fits(model: ModelConfig, dataset: str, resize: int | None) -> None:
    """The model's input and classes are what `dataset` (resized to `resize`) gives."""
    channels, height, width, classes = dataset_shape(dataset, resize)
    expected = InputSpec(channels, height, width)
    if model.input != expected:
        size = f"resized to {resize}" if resize else "at its native size"
        raise ConfigError(f"model input {model.input} does not match {dataset} {size} "
                          f"({expected}); set the input to {expected} or change resize")
    if model.arch.classes != classes:
        raise ConfigError(f"model has {model.arch.classes} classes but {dataset} has {classes}")
