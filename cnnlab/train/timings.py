"""How long a run took, from its store row: the wait in the queue, the time to its first live point
(loading the data, building and compiling the model, the first report interval) and the time to done."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from cnnlab.units import format_seconds

if TYPE_CHECKING:
    from cnnlab.runs.rows import Run


@dataclass(frozen=True)
class Timings:
    """Seconds; None where the run has not reached that point (or was not trained by cnnlab)."""

    queued: float | None  # launch to start (claiming a slot)
    first_point: float | None  # start to the first recorded report
    done: float | None  # start to the end

    def describe(self) -> str:
        """'waited 0.1 s · first point after 3.2 s · done after 12.0 s' (the parts that are known)."""
        parts = (("waited", self.queued), ("first point after", self.first_point),
                 ("done after", self.done))
        return " · ".join(f"{label} {format_seconds(value)}" for label, value in parts if value is not None)


def timings(run: Run) -> Timings:
    """The timings of `run`; an imported or tracked run (`source`) has none (cnnlab did not start it)."""
    if run.source is not None or run.started_at is None:
        return Timings(None, None, None)
    return Timings(queued=max(run.started_at - run.created_at, 0.0),
                   first_point=_since(run.started_at, run.first_point_at),
                   done=_since(run.started_at, run.finished_at))


def _since(start: float, end: float | None) -> float | None:
    return None if end is None else max(end - start, 0.0)
