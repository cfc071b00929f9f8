"""Your own training loop's curves in cnnlab: `start` a run, `log` its metrics, `finish` it.

The run goes to the same run store as cnnlab's own runs (one SQLite transaction per `log`, safe while
the dashboard reads), so it shows live on the Train page and in Compare, marked as external
(`Run.source["kind"] == "track"`). The run records this process's id: if the process dies before
`finish`, the store's `reconcile` ends the run `interrupted`, with every point logged so far.

    with cnnlab.track.start("my lenet", config={"lr": 0.9}, group="lr=0.9") as run:
        for epoch in range(10):
            ...
            run.log(step, epoch=epoch + 1, train_loss=loss, test_acc=acc)
"""

from __future__ import annotations

import json
import math
import os
from types import TracebackType
from typing import Any

from cnnlab.errors import ConfigError, quoted
from cnnlab.runs.store import RunStore
from cnnlab.train.status import ACTIVE, Status

KIND = "track"
# The metrics whose last values become the run's final figures (the names cnnlab's own runs use).
FINALS = {"train_loss": "final_train_loss", "train_acc": "final_train_acc", "test_acc": "final_test_acc"}
CANCELLED = "cancelled on request (cnnlab runs cancel); the points logged before are kept"
ENDINGS = frozenset({Status.DONE, Status.FAILED, Status.CANCELLED, Status.DIVERGED})


def record_external(store: RunStore, name: str, config: dict[str, Any], source: dict[str, Any]) -> int:
    """Record a run cnnlab does not train, claimed as running by this process; return its id.

    `source["group"]` (if not None) puts it in the group of the earlier external runs with the same
    kind, group and `source["scope"]`: the group's id is its first run's, as for cnnlab's repeats. Ids
    only grow, so every process that joins a group at the same time finds the same first run.
    """
    model = config.get("model")
    dataset = config.get("dataset")
    run_id = store.create_run(config, name=name, model=model if isinstance(model, str) else None,
                              dataset=dataset if isinstance(dataset, str) else None, source=source)
    store.claim(run_id, os.getpid(), None)
    if source.get("group") is not None:
        key = _group_key(source)
        first = min(run.id for run in store.list_runs() if run.source and _group_key(run.source) == key)
        store.update(run_id, group_id=first)
    return run_id


def finals(last: dict[str, float], epoch: float | None) -> dict[str, float]:
    """The run's final figures (store columns) from the last value of each metric and the last epoch."""
    figures = {column: last[name] for name, column in FINALS.items() if name in last}
    return figures | ({} if epoch is None else {"epochs_done": epoch})


def _group_key(source: dict[str, Any]) -> tuple:
    return source.get("kind"), source.get("scope"), source.get("group")


class TrackedRun:
    """A run of your own loop in the run store; use `start` to make one."""

    def __init__(self, store: RunStore, run_id: int) -> None:
        self.store, self.id = store, run_id
        self._last: dict[str, float] = {}
        self._epoch: float | None = None

    def log(self, step: int, **metrics: Any) -> None:
        """Record `metrics` (numbers, or one-element tensors) at `step`, in one transaction. An `epoch=`
        value puts the points on the epoch axis (the Train page's and Compare's x); without it, the
        step is the x value. A run cancelled meanwhile (`cnnlab runs cancel`) ends `cancelled` here and
        the call raises ConfigError, which stops the loop."""
        if isinstance(step, bool) or not isinstance(step, int) or step < 0:
            raise ConfigError(f"run {self.id}: step must be a whole number of at least 0, got {quoted(step)}")
        epoch = metrics.pop("epoch", None)
        values = {name: _number(self.id, name, value) for name, value in metrics.items()}
        if not values:
            raise ConfigError(f"run {self.id}: log(step, name=value, ...) needs at least one metric")
        x = float(step) if epoch is None else _number(self.id, "epoch", epoch)
        if math.isnan(x) or math.isinf(x):
            raise ConfigError(f"run {self.id}: epoch must be a finite number, got {quoted(epoch)}")
        run = self.store.get(self.id)
        if run.status not in ACTIVE:
            raise ConfigError(f"run {self.id} has ended: start a new run to log more")
        if run.cancel_requested:  # `cnnlab runs cancel`: the loop stops here, its points so far kept
            self.finish(Status.CANCELLED, error=CANCELLED)
            raise ConfigError(f"run {self.id}: {CANCELLED}")
        self.store.log_metrics(self.id, step, x, values)
        self._last |= values
        if epoch is not None:
            self._epoch = x

    def finish(self, status: str = Status.DONE, error: str | None = None) -> None:
        """End the run (`done`, `failed`, `cancelled` or `diverged`), with the last logged train_loss,
        train_acc and test_acc as its final figures. A run that has ended already is left as it is."""
        if status not in ENDINGS:
            raise ConfigError(f"run {self.id}: finish status must be one of {', '.join(sorted(ENDINGS))}, "
                              f"got {quoted(status)}")
        self.store.finish(self.id, Status(status), error=error, **finals(self._last, self._epoch))

    def __enter__(self) -> TrackedRun:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        """Ends the run `done`; on an exception `failed` with its message (Ctrl-C: `cancelled`)."""
        if exc is None:
            self.finish()
        elif isinstance(exc, KeyboardInterrupt):
            self.finish(Status.CANCELLED, error="interrupted from the keyboard")
        else:
            self.finish(Status.FAILED, error=f"{type(exc).__name__}: {exc}")


def start(name: str, config: dict[str, Any] | None = None, group: str | None = None,
          home: str | os.PathLike | None = None) -> TrackedRun:
    """Record a new run of your own loop, running in this process, and return it.

    `config` (JSON: numbers, text, lists, objects) is shown and diffed in Compare; a text `model` or
    `dataset` in it fills those columns. Runs started with the same `group` form one group: Compare
    draws their mean and its band. `home` is the run store's folder (default: $CNNLAB_HOME, else
    ~/.local/share/cnnlab).
    """
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(f"a tracked run needs a name (text), got {quoted(name)}")
    config = {} if config is None else config
    if not isinstance(config, dict):
        raise ConfigError(f"config must be a dict, got {type(config).__name__}")
    try:
        config = json.loads(json.dumps(config, allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"config must hold only JSON values (numbers, text, lists, dicts): {exc}") from exc
    if group is not None and (not isinstance(group, str) or not group.strip()):
        raise ConfigError(f"group must be a non-empty text, got {quoted(group)}")
    store = RunStore(home)
    run_id = record_external(store, name.strip(), config, {"kind": KIND, "group": group})
    return TrackedRun(store, run_id)


def _number(run_id: int, name: str, value: Any) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError, RuntimeError) as exc:
        raise ConfigError(f"run {run_id}: metric {name} must be a number, got {quoted(value)}") from exc
    if isinstance(value, bool):
        raise ConfigError(f"run {run_id}: metric {name} must be a number, got {quoted(value)}")
    return number
