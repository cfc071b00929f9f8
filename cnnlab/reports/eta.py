"""Time left in a run, counting down smoothly between the run's progress reports (no Streamlit)."""

from __future__ import annotations

from dataclasses import dataclass


def eta_seconds(started_at: float, fraction: float, seen_at: float, now: float) -> float | None:
    """Seconds left at `now`: the run had done `fraction` of its work when its last report was seen
    (`seen_at`), at the rate fraction / (seen_at - started_at); since then the clock has run on.
    None before the first report or after the last."""
    if not 0 < fraction < 1 or seen_at <= started_at:
        return None
    rate = fraction / (seen_at - started_at)
    return max((1 - fraction) / rate - (now - seen_at), 0.0)


@dataclass
class Countdown:
    """The ETA shown for one run: it counts down with the clock and never goes up. A new report that
    promises a later end than the countdown is not believed; an earlier one is taken."""

    fraction: float = 0.0
    seen_at: float = 0.0
    shown: float | None = None
    shown_at: float = 0.0

    def update(self, started_at: float, fraction: float, now: float) -> float | None:
        """Seconds left at `now`, given the fraction done in the latest report."""
        if fraction != self.fraction:
            self.fraction, self.seen_at = fraction, now
        estimate = eta_seconds(started_at, fraction, self.seen_at, now)
        if estimate is not None:
            ticking = None if self.shown is None else max(self.shown - (now - self.shown_at), 0.0)
            self.shown = estimate if ticking is None else min(ticking, estimate)
            self.shown_at = now
        return self.shown
