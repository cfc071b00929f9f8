"""Intra-op threads for the cores free at each epoch's start (the default `speed="auto"` on the CPU).

A run takes all of its share of the cores (torch's thread count when it starts) while the machine is
quiet and one thread per free core while other processes are busy (cnnlab.train.cores); `fit` puts
the thread count back when the run ends, however it ends. The count each epoch used is recorded with
the training path (`speed["threads"]`, one per epoch).
"""

from __future__ import annotations

import torch

from cnnlab.train.config import RunConfig
from cnnlab.train.cores import threads_for_now
from cnnlab.train.loop import Callback, Loop


class FreeCores(Callback):
    """Sets torch's thread count before each epoch of a CPU run, at most the run's share."""

    order = 5  # first: the threads are set before any other callback sees the epoch start

    def __init__(self) -> None:
        self.share: int  # torch's thread count when the run starts
        self.used: list[int] = []

    @classmethod
    def from_config(cls, config: RunConfig) -> FreeCores | None:
        """The callback for a run whose speed is measured (`speed="auto"`); a fixed run keeps its threads."""
        return cls() if config.speed == "auto" else None

    def on_run_start(self, loop: Loop) -> None:
        self.share = torch.get_num_threads()

    def on_epoch_start(self, loop: Loop) -> None:
        if loop.setup.device.type != "cpu":
            return
        threads = threads_for_now(self.share)
        torch.set_num_threads(threads)
        self.used.append(threads)
        loop.setup.speed["threads"] = self.used
