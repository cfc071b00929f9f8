"""The training options, declared once: one row per option (name, label, help, kind, bounds or choices,
default, whether a sweep may vary it, where the CLI and the Train page show it).

`RunConfig` validates its fields with these rows, `cnnlab train` and `cnnlab sweep` draw their flags from
them, the Train page and its sweep panel their widgets, and the sweep space its parameters. Adding a
training option is one row in `OPTIONS` (docs/DESIGN.md, "Training options").
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from cnnlab import limits, optimizers
from cnnlab.checks import check_int
from cnnlab.data import DATASET_NAMES
from cnnlab.errors import ConfigError, quoted
from cnnlab.option import Option, number_text

OPTIMIZERS = optimizers.NAMES
SCHEDULES = ("constant", "cosine", "onecycle")
INITS = ("xavier", "default")
DEVICES = ("auto", "cpu", "cuda", "mps")
SPEEDS = ("auto", "fixed")
# Learning rate used when none is given: the textbook's SGD range, Adam's usual default.
DEFAULT_LR = {"sgd": 0.05, "adam": 1e-3, "adamw": 1e-3}
GROUPS = ("data", "training", "device and speed", "run")  # the CLI's help sections, in order
SECTIONS = ("main", "more", "advanced")  # the Train page's: always shown, under "More", under "Advanced"
MAX_SEED = 2**31 - 1
MAX_EXAMPLES = 2**31 - 1

_DEVICE = re.compile(r"^(auto|cpu|mps|cuda(:\d+)?)$")


@dataclass(frozen=True)
class TrainOption(Option):
    """One training option (an `Option`): a `RunConfig` field, a CLI flag, a Train page widget and maybe a
    sweep parameter.

    `unset` says what leaving it out (None) means; an option without it must have a value. `sweep`: a
    sweep may vary it. `group` is its CLI help section, `section` where the Train page shows it (None:
    the CLI only). `check` replaces the kind's validation (a value that is not a plain choice).
    """

    unset: str = ""
    sweep: bool = False
    group: str = "training"
    section: str | None = None
    check: Callable[[Any], Any] | None = None

    def validate(self, value: Any) -> Any:
        """The clean value (None if unset and allowed), or a ConfigError naming the option."""
        if value is None and self.unset:
            return None
        if self.check is not None:
            return self.check(value)
        if self.kind is bool:
            if not isinstance(value, bool):
                raise ConfigError(f"{self.name} must be true or false, got {quoted(value)}")
            return value
        if self.choices:
            if value not in self.choices:
                raise ConfigError(f"{self.name} must be one of {', '.join(map(str, self.choices))}, "
                                  f"got {quoted(value)}")
            return value
        if self.kind is int:
            return check_int(self.name, value, int(self.low), int(self.high))
        if self.kind is float:
            return self._checknumber_text(value)
        if not isinstance(value, str):
            raise ConfigError(f"{self.name} must be text, got {quoted(value)}")
        return value

    def _checknumber_text(self, value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise ConfigError(f"{self.name} must be a finite number, got {quoted(value)}")
        low, high = self.low, self.high
        if low is not None and (value < low or (self.open_low and value == low)):
            if low == 0:
                need = "positive" if self.open_low else "at least 0"
            else:
                need = f"above {low:g}" if self.open_low else f"at least {low:g}"
            raise ConfigError(f"{self.name} must be {need}, got {value}")
        if high is not None and self.open_high and value >= high:
            raise ConfigError(f"{self.name} must be below {high:g}, got {value}")
        if high is not None and value > high:
            raise ConfigError(f"{self.name} is {number_text(value)}; cnnlab caps it at {number_text(high)}")
        return float(value)

    def default_text(self) -> str:
        """The default in words: its value, or what leaving it unset means."""
        if self.default is None:
            return self.unset
        return str(self.default).lower() if self.kind is bool else str(self.default)


def _check_device(value: Any) -> str:
    if not isinstance(value, str) or not _DEVICE.match(value):
        raise ConfigError(f"device must be one of {', '.join(DEVICES)} (or cuda:N), got {quoted(value)}")
    return value


def _check_folder(value: Any) -> str:
    if not isinstance(value, str | os.PathLike) or not str(value).strip():
        raise ConfigError(f"data_dir must be a folder path, got {quoted(value)}")
    return os.path.abspath(os.path.expanduser(str(value)))


_ROWS = (  # in the order of a run config's JSON
    TrainOption("dataset", "Dataset", "the training data (shapes and shapes-rgb are built in, offline)",
                str, "shapes", choices=DATASET_NAMES, group="data"),
    TrainOption("data_dir", "Data folder", "datasets folder", str, unset="$CNNLAB_DATA or a per-user folder",
                group="data", check=_check_folder),
    TrainOption("resize", "Resize to", "resize images to N×N (the textbook: 224 for AlexNet/VGG)", int, low=8,
                high=512,
                unset="the dataset's own size", group="data"),
    TrainOption("normalize", "Normalise inputs",
                "zero mean, unit variance per channel (the training split's statistics)", bool, False,
                section="advanced"),
    TrainOption("epochs", "Epochs", "passes over the training set", int, 10, low=1, high=1000, sweep=True,
                section="main"),
    TrainOption("batch_size", "Batch size", "examples per step", int, 128, low=1, high=limits.MAX_BATCH_SIZE,
                sweep=True, section="main"),
    TrainOption("lr", "Learning rate", "learning rate", float, low=0, high=1e6, open_low=True,
                unset="0.05 for sgd, 0.001 for adam/adamw", sweep=True, log=True, section="main"),
    TrainOption("optimizer", "Optimiser", "the optimiser", str, "sgd", choices=OPTIMIZERS, sweep=True,
                section="main"),
    TrainOption("momentum", "Momentum (SGD)", "SGD momentum", float, 0.0, low=0, high=1, open_high=True,
                sweep=True, section="more"),
    TrainOption("weight_decay", "Weight decay", "L2 weight decay", float, 0.0, low=0, high=1, sweep=True,
                log=True, section="advanced"),
    TrainOption("schedule", "Learning-rate schedule",
                "constant; cosine: decay to 0; onecycle: warm-up, then decay", str, "constant",
                choices=SCHEDULES, sweep=True, section="advanced"),
    TrainOption("seed", "Seed", "same seed, same data order and initial weights", int, 0, low=0,
                high=MAX_SEED, sweep=True, section="advanced"),
    TrainOption("device", "Device", "where to train: auto takes cuda, then mps, then cpu; cuda:N: one GPU",
                str, "auto", choices=DEVICES, group="device and speed", section="more", check=_check_device),
    TrainOption("amp", "Mixed precision (bf16 on CUDA)", "bf16 autocast on CUDA (ignored elsewhere)", bool,
                True, group="device and speed", section="more"),
    TrainOption("channels_last", "Channels last", "channels-last memory format (implies --speed fixed)", bool,
                False, group="device and speed"),
    TrainOption("compile", "Compile", "torch.compile the model, before timing (implies --speed fixed)", bool,
                False, group="device and speed"),
    TrainOption("speed", "Speed", "auto: train at once, time the run's own first steps eager and in "
                "channels-last (remembered per machine and model) and go on with the faster; fixed: eager "
                "unless --channels-last or --compile", str, "auto", choices=SPEEDS,
                group="device and speed", section="more"),
    TrainOption("init", "Initialisation", "xavier: the textbook's; default: PyTorch's own", str, "xavier",
                choices=INITS, sweep=True, section="advanced"),
    TrainOption("limit_train", "First N training images", "use the first N training examples", int,
                low=1, high=MAX_EXAMPLES, unset="all", group="data", section="more"),
    TrainOption("limit_test", "First N test images", "use the first N test examples", int, low=1,
                high=MAX_EXAMPLES, unset="all", group="data"),
    TrainOption("reports_per_epoch", "Reports per epoch", "train loss and accuracy points per epoch", int, 5,
                low=1, high=1000, section="advanced"),
    TrainOption("save_weights", "Save weights", "save the trained state_dict with the run (in a sweep: each "
                "trial's)", bool, False, group="run"),
    TrainOption("ema", "Weight average (EMA)", "decay of an exponential moving average of the weights, "
                "evaluated alongside (metric ema_test_acc), e.g. 0.999; 0: none", float, 0.0, low=0, high=1,
                open_high=True, section="advanced"),
)
OPTIONS: dict[str, TrainOption] = {option.name: option for option in _ROWS}


def describe(params: Mapping[str, Any]) -> str:
    """Option values in words, as a run's or a trial's name shows them: 'lr=0.01 width_divisor=2'."""
    return " ".join(f"{name}={value:.4g}" if isinstance(value, float) else f"{name}={value}"
                    for name, value in params.items())


def options(section: str | None = None) -> list[TrainOption]:
    """Every option in table order, or those the Train page shows in `section`."""
    return [o for o in OPTIONS.values() if section is None or o.section == section]
