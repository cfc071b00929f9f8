"""The driver's side of the trials' reports (imports Ray: loaded only once a sweep runs).

`Recorder` writes each report to the run store exactly as a single run's worker does; `Canceller`
stops a trial whose run was cancelled, and the whole experiment when its sweep was.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ray import tune
from ray.tune.stopper import Stopper

from cnnlab.runs.rows import Run
from cnnlab.runs.store import RunStore
from cnnlab.runs.weights import save_weights
from cnnlab.train.callbacks import StoreRecorder
from cnnlab.train.loop import Report

CANCEL_POLL_SECONDS = 0.25


class _StoreUser:
    """Holds the store's folder and opens the store on first use: Tune pickles its callbacks and stoppers
    with the experiment's state, and a connection cannot be pickled."""

    home: Path
    _store: RunStore | None = None

    @property
    def store(self) -> RunStore:
        if self._store is None:
            self._store = RunStore(self.home)
        return self._store

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_store": None}


class Recorder(_StoreUser, tune.Callback):
    """Turns trial reports into run store rows: claim on start, metrics as they come (passed on to
    `progress` too, if given), the outcome (`ended` is called with the ended run)."""

    def __init__(self, home: Path, ended: Callable[[Run], None] | None = None,
                 progress: Report | None = None) -> None:
        self.home, self.ended, self.progress = home, ended, progress
        self.writers: dict[int, Callable[[int, float, dict[str, float]], None]] = {}
        self.train: dict[int, dict[str, float]] = {}  # latest train loss and accuracy per run

    def __getstate__(self) -> dict[str, Any]:
        return {**super().__getstate__(), "progress": None}  # a progress bar is this process's alone

    def on_trial_start(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        run_id = int(trial.config["run_id"])
        if self.store.claim(run_id, os.getpid(), None):
            self.writers[run_id] = StoreRecorder(self.store, run_id).write

    def on_trial_result(self, iteration: int, trials: list, trial: Any, result: dict, **info: Any) -> None:
        run_id = result.get("run_id")
        if run_id not in self.writers:
            return  # cancelled before it started: the stopper ends it
        if "node" in result and run_id not in self.train:
            self.store.update(run_id, node=result["node"])
            self.train[run_id] = {}
        if "final" in result:
            self._finish(run_id, result["final"], result.get("weights"))
        elif "metrics" in result:
            metrics = result["metrics"]
            self.writers[run_id](result["step"], result["epoch"], metrics)
            if self.progress is not None:
                self.progress(result["step"], result["epoch"], metrics)
            if "train_loss" in metrics:
                self.train[run_id] = {"final_train_loss": metrics["train_loss"],
                                      "final_train_acc": metrics["train_acc"]}

    def on_trial_complete(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        """A trial that ended without its outcome was stopped: by a cancel or by early stopping."""
        run_id = int(trial.config["run_id"])
        run = self.store.get(run_id)
        if run.status != "running":
            return
        if run.cancel_requested:
            self.store.finish(run_id, "cancelled", error="cancelled", **self.train.get(run_id, {}))
        else:
            self.store.finish(run_id, "stopped early", **self.train.get(run_id, {}),
                              error=f"early stopping (ASHA) ended it after epoch {run.epochs_done:g}: "
                                    f"its test accuracy {run.final_test_acc or 0:.3f} was in the worse "
                                    "half of the trials at that point")
        self._ended(run_id)

    def on_trial_error(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        run_id = int(trial.config["run_id"])
        error = trial.get_error()
        self.store.finish(run_id, "failed", error=f"the trial's process failed: {str(error)[-500:]}"
                          if error else "the trial's process failed (see Ray's logs)")
        self._ended(run_id)

    def _finish(self, run_id: int, final: dict[str, Any], weights: bytes | None) -> None:
        fields = {k: v for k, v in final.items() if k not in ("status", "error")}
        if weights is not None:
            fields["weights_path"] = str(save_weights(self.store, run_id, weights))
        self.store.finish(run_id, final["status"], error=final.get("error"), **fields)
        self._ended(run_id)

    def _ended(self, run_id: int) -> None:
        if self.ended is not None:
            self.ended(self.store.get(run_id))


class Canceller(_StoreUser, Stopper):
    """Stops a trial whose run has a cancel request, and everything once the sweep (if any) has one."""

    def __init__(self, home: Path, sweep_id: int | None) -> None:
        self.home, self.sweep_id = home, sweep_id
        self.next_poll, self.cancelled = 0.0, False

    def __call__(self, trial_id: str, result: dict) -> bool:
        run_id = result.get("run_id")
        return run_id is not None and self.store.cancel_requested(run_id)

    def stop_all(self) -> bool:
        now = time.monotonic()
        if self.sweep_id is not None and not self.cancelled and now >= self.next_poll:
            self.cancelled = self.store.sweep_cancel_requested(self.sweep_id)
            self.next_poll = now + CANCEL_POLL_SECONDS
        return self.cancelled
