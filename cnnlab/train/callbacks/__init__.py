"""The training loop's callbacks (protocol: `cnnlab.train.loop.Callback`) and the registry of a run's own.

To add one: write it in its own file here, then register it below: in STANDARD if every run has it, or
in OPTIONAL as a factory `(RunConfig) -> Callback | None` if a run option switches it on.
"""

from __future__ import annotations

from collections.abc import Callable

from cnnlab.train.callbacks.cores import FreeCores
from cnnlab.train.callbacks.divergence import Divergence
from cnnlab.train.callbacks.ema import WeightEMA
from cnnlab.train.callbacks.eta import TimeLeft
from cnnlab.train.callbacks.evaluate import TestAccuracy
from cnnlab.train.callbacks.memory import PeakMemory
from cnnlab.train.callbacks.probe import SpeedProbe
from cnnlab.train.callbacks.record import StoreRecorder
from cnnlab.train.callbacks.report import Reporter
from cnnlab.train.callbacks.stop import StopPoller
from cnnlab.train.callbacks.throughput import Throughput
from cnnlab.train.config import RunConfig
from cnnlab.train.loop import Callback

STANDARD: tuple[type[Callback], ...] = (Divergence, TestAccuracy, Throughput, PeakMemory, TimeLeft)
OPTIONAL: tuple[Callable[[RunConfig], Callback | None], ...] = (FreeCores.from_config, SpeedProbe.from_config,
                                                                WeightEMA.from_config)

__all__ = ["OPTIONAL", "STANDARD", "Divergence", "FreeCores", "PeakMemory", "Reporter", "SpeedProbe",
           "StopPoller", "StoreRecorder", "TestAccuracy", "Throughput", "TimeLeft", "WeightEMA", "for_run"]


def for_run(config: RunConfig) -> list[Callback]:
    """A fresh instance of each standard callback and of each optional one `config` switches on."""
    optional = (factory(config) for factory in OPTIONAL)
    return [cls() for cls in STANDARD] + [callback for callback in optional if callback is not None]
