"""Stop polling: asks a `should_stop` function at report points and at least every POLL_SECONDS."""

from __future__ import annotations

import time
from collections.abc import Callable

from cnnlab.train.loop import Callback, Loop

POLL_SECONDS = 0.5  # the longest stretch of training between two `should_stop` calls


class StopPoller(Callback):
    """Ends the run `cancelled` once `should_stop()` returns True (a cancel in the store, a SIGTERM)."""

    def __init__(self, should_stop: Callable[[], bool]) -> None:
        self.should_stop = should_stop
        self.next_poll = 0.0

    def stop_requested(self, loop: Loop, now: bool) -> bool:
        if not now and time.perf_counter() < self.next_poll:
            return False
        stop = self.should_stop()
        self.next_poll = time.perf_counter() + POLL_SECONDS
        return stop
