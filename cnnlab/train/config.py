"""What a training run is: a model and the training options (cnnlab.train.options); validated, immutable,
JSON-round-trippable."""

from __future__ import annotations

import json
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


class RunConfig:
    """Everything a run needs: `model` and one value per training option, read as attributes
    (`config.epochs`); a missing option takes its default. Validation names the offending field.

    `lr=None` means the optimiser's default (`DEFAULT_LR`). `amp` (bf16 autocast) only applies on CUDA.
    `speed="auto"` chooses eager, channels-last or compiled training by measurement (cnnlab.train.speed);
    asking for `channels_last` or `compile` makes it "fixed": those flags, as given.
    `limit_train`/`limit_test` keep the first N examples of each split. `ema` (0 ≤ decay < 1) adds an
    average of the weights evaluated alongside the model (cnnlab.train.callbacks.ema); 0 is none.
    """

    __slots__ = ("model", "_values")

    def __init__(self, model: ModelConfig, **values: Any) -> None:
        if not isinstance(model, ModelConfig):
            raise ConfigError(f"model must be a ModelConfig, got {type(model).__name__}")
        extra = sorted(set(values) - set(OPTIONS))
        if extra:
            raise ConfigError(f"unknown run config field(s): {listed(extra)}")
        clean = {name: option.validate(values.get(name, option.default)) for name, option in OPTIONS.items()}
        if clean["lr"] is None:
            clean["lr"] = DEFAULT_LR[clean["optimizer"]]
        if clean["momentum"] and clean["optimizer"] != "sgd":
            raise ConfigError(f"momentum applies to sgd only; {clean['optimizer']} has its own betas")
        if clean["channels_last"] or clean["compile"]:
            clean["speed"] = "fixed"
        _check_fits(model, clean["dataset"], clean["resize"])
        object.__setattr__(self, "model", model)
        object.__setattr__(self, "_values", clean)

    def __getattr__(self, name: str) -> Any:
        try:
            return object.__getattribute__(self, "_values")[name]
        except KeyError:
            raise AttributeError(f"RunConfig has no option {name!r}") from None

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("a RunConfig cannot be changed; use replace()")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RunConfig) and self.to_dict() == other.to_dict()

    def __hash__(self) -> int:
        return hash(json.dumps(self.to_dict(), sort_keys=True))

    def __repr__(self) -> str:
        values = ", ".join(f"{k}={v!r}" for k, v in self._values.items())
        return f"RunConfig(model={self.model!r}, {values})"

    def __reduce__(self) -> tuple:
        return RunConfig.from_dict, (self.to_dict(),)

    def replace(self, **changes: Any) -> RunConfig:
        """A copy with `changes` applied (and validated)."""
        return RunConfig(**{"model": self.model, **self._values, **changes})

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.model.to_dict(), **self._values}

    @classmethod
    def from_dict(cls, data: Any) -> RunConfig:
        """Inverse of `to_dict`; missing fields take their defaults, unknown fields are rejected."""
        if not isinstance(data, dict):
            raise ConfigError(f"a run config must be a JSON object, got {type(data).__name__}")
        extra = sorted(set(data) - set(OPTIONS) - {"model"})
        if extra:
            raise ConfigError(f"unknown run config field(s): {listed(extra)}")
        if "model" not in data:
            raise ConfigError("a run config needs a 'model'")
        return cls(**{**data, "model": ModelConfig.from_dict(data["model"])})


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
