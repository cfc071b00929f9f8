"""The speed probe of `speed="auto"`: the run's own first steps, timed on each path (cnnlab.train.speed).

The run starts eager. After one settling step (the first WARMUP_STEPS of the run: step 2's peak memory
is recorded, cnnlab.train.callbacks.memory), PROBE_STEPS steps are timed; then the run switches to
channels-last and times as many; then it keeps the faster path for the rest of the run. An epoch's
start restarts the path being timed (the data is shuffled then, and the thread count may change). The
time other callbacks take meanwhile (reports, the store) is left out. With cached measurements for this
machine and model the path is taken at the run's start and nothing is timed.
"""

from __future__ import annotations

import time

import torch

from cnnlab.train.config import RunConfig
from cnnlab.train.loop import WARMUP_STEPS, Callback, Loop
from cnnlab.train.setup import use_channels_last
from cnnlab.train.speed import (
    PATHS,
    PROBE_STEPS,
    cache_key,
    describe,
    fastest,
    read_cache,
    synchronize,
    write_cache,
)


class SpeedProbe(Callback):
    """Times the run's first steps on each path in PATHS and trains on with the fastest."""

    order = 6  # after FreeCores has set the epoch's threads, before anything that reports

    def __init__(self) -> None:
        self.measured: dict[str, float] = {}  # seconds per full-batch step of each path timed so far
        self.path = PATHS[0]
        self.steps = -1  # steps timed on `path`; -1 while its settling step trains
        self.start = (0.0, 0.0, 0)  # clock, callback seconds and examples when the timing started
        self.key = ""

    @classmethod
    def from_config(cls, config: RunConfig) -> SpeedProbe | None:
        """The probe of a run whose path is chosen by measurement (`speed="auto"`)."""
        return cls() if config.speed == "auto" else None

    @property
    def done(self) -> bool:
        return len(self.measured) == len(PATHS)

    def on_run_start(self, loop: Loop) -> None:
        setup = loop.setup
        self.key = cache_key(setup.config.model, setup.device, setup.config.batch_size, setup.config.amp)
        cached = read_cache(setup.speed_cache, self.key)
        if cached:
            self.measured = cached
            self._take(loop, "measured on this machine by an earlier run")

    def on_epoch_start(self, loop: Loop) -> None:
        self.steps = -1

    def on_step_end(self, loop: Loop, loss: torch.Tensor, lr: float) -> None:
        if self.done:
            return
        if self.steps < 0:  # the settling step is over: the clock starts
            if loop.step < WARMUP_STEPS:
                return
            synchronize(loop.setup.device)
            self.start = (time.perf_counter(), loop.callback_seconds, loop.examples)
            self.steps = 0
            return
        self.steps += 1
        if self.steps < PROBE_STEPS:
            return
        synchronize(loop.setup.device)
        clock, spent, examples = self.start
        seconds = time.perf_counter() - clock - (loop.callback_seconds - spent)
        self.measured[self.path] = seconds * loop.setup.config.batch_size / (loop.examples - examples)
        if not self.done:
            self._switch(loop, PATHS[len(self.measured)])
            return
        if loop.setup.speed_cache is not None:
            write_cache(loop.setup.speed_cache, self.key, self.measured)
        self._take(loop, f"timed on {PROBE_STEPS} of this run's own steps each, by step {loop.step}")

    def on_run_end(self, loop: Loop) -> None:
        if not self.done and self.measured:
            loop.setup.speed["reason"] = (f"the run ended while its paths were timed "
                                          f"({describe(self.measured)}); it trained on {self.path}")

    def _switch(self, loop: Loop, path: str) -> None:
        if path != self.path:
            use_channels_last(loop.setup, path == "channels_last")
            self.path = path
        self.steps = -1
        loop.setup.speed["path"] = path

    def _take(self, loop: Loop, how: str) -> None:
        """Train on with the fastest measured path; record it and why."""
        best = fastest(self.measured)
        self._switch(loop, best)
        loop.setup.speed.update(path=best, reason=f"the fastest ({describe(self.measured)}, {how})",
                                seconds_per_step=dict(self.measured))
