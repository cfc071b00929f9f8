"""What a training run is: a model, a dataset and hyper-parameters; validated, JSON-round-trippable."""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, fields
from typing import Any

from cnnlab import limits
from cnnlab.data import DATASET_NAMES, dataset_info
from cnnlab.errors import ConfigError
from cnnlab.spec import InputSpec, ModelConfig, check_int, with_options

OPTIMIZERS = ("sgd", "adam", "adamw")
SCHEDULES = ("constant", "cosine", "onecycle")
INITS = ("xavier", "default")
DEVICES = ("auto", "cpu", "cuda", "mps")
SPEEDS = ("auto", "fixed")
# Learning rate used when none is given: the textbook's SGD range, Adam's usual default.
DEFAULT_LR = {"sgd": 0.05, "adam": 1e-3, "adamw": 1e-3}
MIN_RESIZE, MAX_RESIZE = 8, 512
MAX_EPOCHS = 1000
MAX_REPORTS_PER_EPOCH = 1000

_DEVICE = re.compile(r"^(auto|cpu|mps|cuda(:\d+)?)$")


def dataset_shape(dataset: str, resize: int | None = None) -> tuple[int, int, int, int]:
    """(channels, height, width, classes) of `dataset` as the model sees it, after an optional resize."""
    info = dataset_info(dataset)
    size = resize or info["size"]
    height, width = (size, size) if isinstance(size, int) else size
    classes = info["classes"]
    return info["channels"], height, width, classes if isinstance(classes, int) else len(classes)


def fit_input(model: ModelConfig, dataset: str, resize: int | None = None) -> ModelConfig:
    """`model` with its input set to what `dataset` (resized to `resize`) gives, and one output per class."""
    channels, height, width, classes = dataset_shape(_check_choice("dataset", dataset, DATASET_NAMES),
                                                     _check_resize(resize))
    return ModelConfig(with_options(model.arch, classes=classes), InputSpec(channels, height, width))


@dataclass(frozen=True)
class RunConfig:
    """Everything a run needs; validation names the offending field.

    `lr=None` means the optimiser's default (`DEFAULT_LR`). `amp` (bf16 autocast) only applies on CUDA.
    `speed="auto"` chooses eager, channels-last or compiled training by measurement (cnnlab.train.speed);
    asking for `channels_last` or `compile` makes it "fixed": those flags, as given.
    `limit_train`/`limit_test` keep the first N examples of each split. `ema` (0 ≤ decay < 1) adds
    an average of the weights evaluated alongside the model; 0 is none.
    """

    model: ModelConfig
    dataset: str = "shapes"
    data_dir: str | None = None
    resize: int | None = None
    normalize: bool = False
    epochs: int = 10
    batch_size: int = 128
    lr: float | None = None
    optimizer: str = "sgd"
    momentum: float = 0.0
    weight_decay: float = 0.0
    schedule: str = "constant"
    seed: int = 0
    device: str = "auto"
    amp: bool = True
    channels_last: bool = False
    compile: bool = False
    speed: str = "auto"
    init: str = "xavier"
    limit_train: int | None = None
    limit_test: int | None = None
    reports_per_epoch: int = 5
    save_weights: bool = False
    ema: float = 0.0  # decay of the weights' moving average (cnnlab.train.callbacks.ema); 0: none

    def __post_init__(self) -> None:
        if not isinstance(self.model, ModelConfig):
            raise ConfigError(f"model must be a ModelConfig, got {type(self.model).__name__}")
        def set_(name: str, value: Any) -> None:
            object.__setattr__(self, name, value)

        set_("dataset", _check_choice("dataset", self.dataset, DATASET_NAMES))
        if self.data_dir is not None:
            if not isinstance(self.data_dir, str | os.PathLike) or not str(self.data_dir).strip():
                raise ConfigError(f"data_dir must be a folder path, got {self.data_dir!r}")
            set_("data_dir", os.path.abspath(os.path.expanduser(str(self.data_dir))))
        set_("resize", _check_resize(self.resize))
        set_("epochs", check_int("epochs", self.epochs, 1, MAX_EPOCHS))
        set_("batch_size", check_int("batch_size", self.batch_size, 1, limits.MAX_BATCH_SIZE))
        set_("optimizer", _check_choice("optimizer", self.optimizer, OPTIMIZERS))
        set_("lr", _check_number("lr", DEFAULT_LR[self.optimizer] if self.lr is None else self.lr,
                                 positive=True))
        set_("momentum", _check_number("momentum", self.momentum, high=1.0))
        if self.momentum and self.optimizer != "sgd":
            raise ConfigError(f"momentum applies to sgd only; {self.optimizer} has its own betas")
        set_("weight_decay", _check_number("weight_decay", self.weight_decay))
        set_("schedule", _check_choice("schedule", self.schedule, SCHEDULES))
        set_("seed", check_int("seed", self.seed, 0, 2**63 - 1))
        if not isinstance(self.device, str) or not _DEVICE.match(self.device):
            raise ConfigError(f"device must be one of {', '.join(DEVICES)} (or cuda:N), got {self.device!r}")
        for flag in ("normalize", "amp", "channels_last", "compile", "save_weights"):
            if not isinstance(getattr(self, flag), bool):
                raise ConfigError(f"{flag} must be true or false, got {getattr(self, flag)!r}")
        set_("speed", "fixed" if self.channels_last or self.compile else _check_choice("speed", self.speed,
                                                                                        SPEEDS))
        set_("init", _check_choice("init", self.init, INITS))
        for limit in ("limit_train", "limit_test"):
            if getattr(self, limit) is not None:
                set_(limit, check_int(limit, getattr(self, limit), 1, 2**31 - 1))
        set_("reports_per_epoch", check_int("reports_per_epoch", self.reports_per_epoch, 1,
                                            MAX_REPORTS_PER_EPOCH))
        set_("ema", _check_number("ema", self.ema, high=1.0))
        channels, height, width, classes = dataset_shape(self.dataset, self.resize)
        expected = InputSpec(channels, height, width)
        if self.model.input != expected:
            size = f"resized to {self.resize}" if self.resize else "at its native size"
            raise ConfigError(f"model input {self.model.input} does not match {self.dataset} {size} "
                              f"({expected}); set the input to {expected} or change resize")
        if self.model.arch.classes != classes:
            raise ConfigError(f"model has {self.model.arch.classes} classes but {self.dataset} has {classes}")

    def to_dict(self) -> dict[str, Any]:
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data["model"] = self.model.to_dict()
        return data

    @classmethod
    def from_dict(cls, data: Any) -> RunConfig:
        """Inverse of `to_dict`; missing fields take their defaults, unknown fields are rejected."""
        if not isinstance(data, dict):
            raise ConfigError(f"a run config must be a JSON object, got {type(data).__name__}")
        known = {f.name for f in fields(cls)}
        extra = sorted(set(data) - known)
        if extra:
            raise ConfigError(f"unknown run config field(s): {', '.join(extra)}")
        if "model" not in data:
            raise ConfigError("a run config needs a 'model'")
        return cls(**{**data, "model": ModelConfig.from_dict(data["model"])})


def _check_choice(what: str, value: Any, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise ConfigError(f"{what} must be one of {', '.join(choices)}, got {value!r}")
    return value


def _check_resize(value: Any) -> int | None:
    return None if value is None else check_int("resize", value, MIN_RESIZE, MAX_RESIZE)


def _check_number(what: str, value: Any, *, positive: bool = False, high: float | None = None) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ConfigError(f"{what} must be a finite number, got {value!r}")
    if value < 0 or (positive and value == 0):
        raise ConfigError(f"{what} must be {'positive' if positive else 'at least 0'}, got {value}")
    if high is not None and value >= high:
        raise ConfigError(f"{what} must be below {high:g}, got {value}")
    return float(value)
