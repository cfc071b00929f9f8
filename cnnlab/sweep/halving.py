"""Early stopping by successive halving in which no trial passes a rung unjudged (a Ray Tune scheduler,
imported only once a sweep runs).

Rungs sit at epoch 1, 2, 4, ... below the longest trial. A trial reaching a rung goes on only if its test
accuracy is in the better half of those recorded there (ASHA's rule). Unlike ASHA, a trial is not let
through a rung as soon as it gets there: it waits until every other trial that can reach the rung has, or
until waiting would leave no slot for the trials still to run, and the rung's trials are judged together.
So a bad trial is stopped wherever it sits in the grid.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from ray.tune.experiment import Trial
from ray.tune.schedulers import FIFOScheduler, TrialScheduler

REDUCTION = 2  # past each rung go the trials in the better half there


class RungHalving(FIFOScheduler):
    """Successive halving on `test_acc` at each `epochs_done` rung. `epochs[run_id]` is how many epochs a
    trial trains; `slots`, how many trials run at once (a trial waits at a rung only if another can run)."""

    _supports_buffered_results = False  # every epoch's result is judged as it comes

    def __init__(self, epochs: dict[int, int], slots: int) -> None:
        super().__init__()
        self.epochs, self.slots = epochs, slots
        longest = max(epochs.values())
        self.rungs = [REDUCTION ** k for k in range(longest.bit_length()) if REDUCTION ** k < longest]
        self.recorded: dict[int, dict[str, float]] = {rung: {} for rung in self.rungs}
        self.waiting: dict[str, tuple[Trial, int]] = {}  # trial id -> (trial, the rung it waits at)
        self.ended: set[str] = set()

    def on_trial_result(self, tune_controller: Any, trial: Trial, result: dict) -> str:
        rung = result.get("epochs_done")
        if rung not in self.recorded or rung >= self._epochs(trial) or "test_acc" not in result:
            return TrialScheduler.CONTINUE
        self.recorded[rung][trial.trial_id] = result["test_acc"]
        if len(self.waiting) + 1 < self.slots and self._can_reach(tune_controller, rung, trial):
            self.waiting[trial.trial_id] = (trial, rung)
            return TrialScheduler.NOOP  # its worker waits, holding its place, until the rung is judged
        self._release(tune_controller, rung)
        return self._decision(trial, rung)

    def on_trial_complete(self, tune_controller: Any, trial: Trial, result: dict) -> None:
        self._gone(tune_controller, trial)

    def on_trial_error(self, tune_controller: Any, trial: Trial) -> None:
        self._gone(tune_controller, trial)

    def on_trial_remove(self, tune_controller: Any, trial: Trial) -> None:
        self._gone(tune_controller, trial)

    def debug_string(self) -> str:
        return f"Successive halving at epochs {self.rungs}, each rung judged once its trials reached it."

    def _gone(self, tune_controller: Any, trial: Trial) -> None:
        """A trial ended: a waiting trial that no other can now join at its rung is judged at once."""
        self.ended.add(trial.trial_id)
        self.waiting.pop(trial.trial_id, None)
        for waiting, rung in list(self.waiting.values()):
            if not self._can_reach(tune_controller, rung, waiting):
                self._release(tune_controller, rung)

    def _can_reach(self, tune_controller: Any, rung: int, trial: Trial) -> bool:
        """Whether a trial other than `trial`, still to run or running, may yet record rung `rung`."""
        return any(other.trial_id != trial.trial_id and other.trial_id not in self.ended
                   and other.trial_id not in self.recorded[rung] and self._epochs(other) > rung
                   and other.status not in (Trial.TERMINATED, Trial.ERROR)
                   for other in tune_controller.get_trials())

    def _release(self, tune_controller: Any, rung: int) -> None:
        """Judge the trials waiting at `rung`: stop those below the cutoff, let the others train on."""
        for trial_id, (trial, at) in list(self.waiting.items()):
            if at != rung:
                continue
            del self.waiting[trial_id]
            if self._decision(trial, rung) == TrialScheduler.STOP:
                tune_controller.stop_trial(trial)
            else:
                tune_controller._schedule_trial_train(trial)  # Tune 2.60's own way to resume a trial

    def _decision(self, trial: Trial, rung: int) -> str:
        recorded = self.recorded[rung]
        cutoff = np.percentile(list(recorded.values()), (1 - 1 / REDUCTION) * 100)
        return TrialScheduler.STOP if recorded[trial.trial_id] < cutoff else TrialScheduler.CONTINUE

    def _epochs(self, trial: Trial) -> int:
        return self.epochs[int(trial.config["run_id"])]
