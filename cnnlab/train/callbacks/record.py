"""The store recorder: every report as metric rows of a run, and the run's latest results kept current."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from cnnlab.train.loop import RESULT_METRICS, Callback, Loop

if TYPE_CHECKING:
    from cnnlab.runs.store import RunStore


class StoreRecorder(Callback):
    """Writes run `run_id`'s reports to `store`; `write` is the same for a process that only relays
    reports (a sweep's driver)."""

    def __init__(self, store: RunStore, run_id: int) -> None:
        self.store, self.run_id = store, run_id
        self.first = True

    def on_report(self, loop: Loop, step: int, epoch: float, metrics: dict[str, float]) -> None:
        self.write(step, epoch, metrics)

    def write(self, step: int, epoch: float, metrics: dict[str, float]) -> None:
        """Log `metrics`; at an epoch's end (a report with `test_acc`) also update the run's results, in
        the same transaction (a run killed at any moment has as many epochs done as test accuracies)."""
        results = {}
        if self.first:  # the time to first point (cnnlab.train.timings)
            results["first_point_at"] = time.time()
            self.first = False
        if "test_acc" in metrics:
            results |= {"epochs_done": int(epoch)} | {column: metrics[name] for column, name in
                                                      RESULT_METRICS.items() if name in metrics}
        self.store.log_metrics(self.run_id, step, epoch, metrics, **results)
