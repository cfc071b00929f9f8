"""Where a recorded run trains: in a local worker process, or on a Ray cluster with this process as its
driver. One interface, picked by a lookup on the run (`executor_for`), so the executors never import
each other; one rule for how an exception ends a run (`ending_on_error`).

An executor is a module with `check(cluster)` (ConfigError if it cannot train there; nothing is
recorded) and `execute(store, run_id, progress)` (train the queued run, record everything, return the
ended run).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import ModuleType

from cnnlab.errors import ConfigError
from cnnlab.train.status import Status

# The executors by kind: a module path each, imported when a run needs it (the Ray one imports Ray
# and the sweep's Tune plumbing, which the local worker never loads).
EXECUTORS = {"local": "cnnlab.runs.executors.local", "ray": "cnnlab.sweep.cluster_run"}


def executor_for(cluster: str | None) -> ModuleType:
    """The executor of a run that trains on the Ray cluster at `cluster`, or here (None)."""
    return importlib.import_module(EXECUTORS["local" if cluster is None else "ray"])


def error_text(exc: BaseException) -> str:
    """How an exception reads as a run's error: a ConfigError's own words, else its type and words."""
    return str(exc) if isinstance(exc, ConfigError) else f"{type(exc).__name__}: {exc}"


@contextmanager
def ending_on_error(end: Callable[[Status, str], None]) -> Iterator[None]:
    """The one rule for a run (or a sweep's trials) that an exception interrupts: Ctrl-C ends it
    `cancelled`, anything else `failed` with `error_text`; `end(status, error)` records it, and the
    exception goes on."""
    try:
        yield
    except KeyboardInterrupt:
        end(Status.CANCELLED, "interrupted from the keyboard")
        raise
    except BaseException as exc:
        end(Status.FAILED, error_text(exc))
        raise
