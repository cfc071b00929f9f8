"""Which run a page watches: the one its session launched, not the newest run anywhere.

A session keeps the ids its launches returned, in order. It watches its launched run from queued to
running to done, then its next one; a run picked by hand (any run) is watched until the user picks
another, and a launch from the same session does not take the panel away from a run of its own that has
not ended.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from cnnlab.train.status import TERMINAL


def after_launch(watched: int | None, mine: Sequence[int], launched: int, status: Mapping[int, str]) -> int:
    """The run to watch once this session launched `launched` (`mine` holds its earlier launches,
    `status` every run's status): still the watched run if it is the session's and has not ended, else
    the new one."""
    if watched in mine and watched in status and status[watched] not in TERMINAL:
        return watched
    return launched


def follow(watched: int | None, mine: Sequence[int], status: Mapping[int, str]) -> int | None:
    """The run to watch now: when the watched run is one of the session's and has ended, the session's
    earliest later run that has not ended; else the watched run (None: nothing to change)."""
    if watched not in mine or status.get(watched) not in TERMINAL:
        return watched
    later = [i for i in mine if i > watched and i in status and status[i] not in TERMINAL]
    return min(later) if later else watched
