"""Sweeps and repeats: many runs of one model, recorded as ordinary runs tagged with a sweep and a group.

A sweep's trials are planned and recorded (queued) before anything trains; the driver (`driver.py`)
then runs them on Ray Tune, on this machine or on a cluster, and writes their reports to the store.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cnnlab import quotas
from cnnlab.access import Actor, current_user
from cnnlab.analysis import analyze
from cnnlab.errors import ConfigError, quoted
from cnnlab.runs.cluster import check_cluster
from cnnlab.runs.queue import locked
from cnnlab.runs.rows import Sweep
from cnnlab.runs.service import LAUNCH_LOCK
from cnnlab.runs.spawn import spawn_detached
from cnnlab.runs.store import RunStore
from cnnlab.spec import ModelConfig
from cnnlab.sweep.records import create_group
from cnnlab.sweep.space import Space, TrialPlan, check_size, expand, parse_space, repeat_configs
from cnnlab.train.options import describe

EARLY_STOP = ("asha",)
DRIVER_LOG = "driver.log"

__all__ = ["EARLY_STOP", "Space", "TrialPlan", "cancel_sweep", "create_sweep",
           "launch_sweep", "param_value", "parse_space", "plan", "repeat_configs"]


def plan(base: dict[str, Any], space: Space, *, confirmed: bool = False) -> list[TrialPlan]:
    """The sweep's trials, validated; too many without `confirmed` is a ConfigError."""
    check_size(space, confirmed)
    return expand(base, space)


def create_sweep(base: dict[str, Any], space: Space, *, early_stop: str | None = None,
                 cluster: str | None = None, name: str | None = None, home: str | Path | None = None,
                 confirmed: bool = False, owner: str | None = None) -> int:
    """Validate everything (trials, Ray, the cluster's address, the class quotas), then record the sweep
    and its trials as queued runs of `owner` (default: `access.current_user()`); return the sweep id.
    Nothing is recorded when anything is wrong."""
    if early_stop is not None and early_stop not in EARLY_STOP:
        raise ConfigError(f"early stopping must be one of {', '.join(EARLY_STOP)}, got {quoted(early_stop)}")
    trials = plan(base, space, confirmed=confirmed)
    check_cluster(cluster)
    store = RunStore(home)
    owner = owner or current_user()
    totals = {model: analyze(model).totals for model in {t.config.model for t in trials}}
    name = name or f"{trials[0].config.model.name} sweep"
    spec = {"space": space.to_dict(), "varied": space.varied(), "early_stop": early_stop,
            "trials": len(trials)}
    # Under the lock single runs take: two launches of one user never both pass a quota.
    with locked(store.home / LAUNCH_LOCK):
        quotas.check_launch(store, owner, [(t.config, totals[t.config.model].macs) for t in trials],
                            sweep=True)
        sweep_id = store.create_sweep(name, spec, cluster, owner)
        groups: dict[int, list[TrialPlan]] = {}
        for trial in trials:
            groups.setdefault(trial.group, []).append(trial)
        for members in groups.values():
            label = describe({k: v for k, v in members[0].params.items() if k != "seed" or len(members) == 1})
            create_group(store, [t.config for t in members], sweep_id=sweep_id,
                         name=f"{name} {sweep_id}" + (f": {label}" if label else ""), owner=owner,
                         totals=totals)
    return sweep_id


def launch_sweep(sweep_id: int, home: str | Path | None = None) -> None:
    """Start the sweep's driver as a detached process (it outlives the tab or shell that started it)."""
    store = RunStore(home)
    try:
        pid = spawn_detached(["sweep", "--sweep-id", str(sweep_id), "--home", str(store.home)],
                             store.home / "sweeps" / str(sweep_id) / DRIVER_LOG)
    except OSError as exc:
        store.request_cancel_sweep(sweep_id, Actor(store.get_sweep(sweep_id).owner or ""))
        raise ConfigError(f"sweep {sweep_id}: its driver process could not be started: {exc}") from exc
    store.set_sweep_pid(sweep_id, pid)


def cancel_sweep(sweep_id: int, home: str | Path | None = None, actor: Actor | None = None) -> Sweep:
    """Cancel every trial that has not ended; the driver stops the running ones within a second or so.
    Only the sweep's owner or a teacher may (`actor`, default: `access.current_actor()`)."""
    store = RunStore(home)
    store.reconcile()
    return store.request_cancel_sweep(sweep_id, actor)


def param_value(config: dict[str, Any], name: str) -> Any:
    """The value of sweep parameter `name` in a recorded run config (the model string, model options)."""
    if name == "model":
        return ModelConfig.from_dict(config["model"]).name
    if name in config:
        return config[name]
    return config.get("model", {}).get("arch", {}).get(name)
