"""Hands every report to a function: `report(step, epoch, metrics)` (a progress bar, a test's list)."""

from __future__ import annotations

from cnnlab.train.loop import Callback, Loop, Report


class Reporter(Callback):
    """Calls `report` with each report's step, fractional epoch and metrics."""

    def __init__(self, report: Report) -> None:
        self.report = report

    def on_report(self, loop: Loop, step: int, epoch: float, metrics: dict[str, float]) -> None:
        self.report(step, epoch, metrics)
