"""Class quotas, checked before a launch records anything: a refused launch names the limit and by how
much it would be passed, and nothing is recorded.

Compute is the model's MACs per example × training examples × epochs. A sweep's trials are runs of its
owner like any other: the concurrent, queued and compute limits count them, a sweep is refused as a
whole when its trials would pass one, and `sweep_trials` and `sweeps` bound a sweep's size and how many
a user has going at once. Every limit is optional (cnnlab.classroom.Quotas); without a class config
there are none. The launch (cnnlab.runs.service, cnnlab.sweep) checks them under its lock.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from cnnlab.classroom import Quotas, active_class
from cnnlab.data import split_sizes
from cnnlab.errors import ConfigError
from cnnlab.runs.store import RunStore
from cnnlab.train.config import RunConfig
from cnnlab.train.status import ACTIVE, Status

HOUR = 3600.0


def train_examples(config: RunConfig) -> int | None:
    """Training examples the run sees per epoch (its --limit-train or the dataset's size here); None
    when the dataset's files are not here and no limit is given."""
    sizes = split_sizes(config.dataset, config.data_dir)
    if sizes is None:
        return config.limit_train
    return min(sizes[0], config.limit_train) if config.limit_train else sizes[0]


def compute(config: RunConfig, macs: int | None) -> int | None:
    """MACs × training examples × epochs; None when the model's MACs or the dataset's size is unknown."""
    examples = train_examples(config)
    return None if macs is None or examples is None else macs * examples * config.epochs


def check_launch(store: RunStore, owner: str, runs: Sequence[tuple[RunConfig, int | None]], *,
                 sweep: bool = False, quotas: Quotas | None = None) -> None:
    """ConfigError naming the first quota that `owner` launching `runs` ((config, MACs) pairs; a sweep's
    trials when `sweep`) would pass. `quotas` default to the active class config's."""
    if quotas is None:
        config = active_class()
        if config is None:
            return
        quotas = config.quotas
    if sweep:
        _limit("sweep_trials", quotas.sweep_trials, len(runs), "trials in one sweep")
        going = sum(s.owner == owner and s.status in ACTIVE for s in store.list_sweeps())
        _limit("sweeps", quotas.sweeps, going + 1, f"sweeps of {owner} queued or running at once")
    mine = [run for run in store.list_runs(set(ACTIVE)) if run.owner == owner]  # a sweep's trials too
    _limit("concurrent_runs", quotas.concurrent_runs, len(mine) + len(runs),
           f"runs of {owner} queued or running at once")
    _limit("queued_runs", quotas.queued_runs,
           sum(run.status == Status.QUEUED for run in mine) + len(runs), f"runs of {owner} queued")
    costs = []
    for config, macs in runs:
        _limit("epochs", quotas.epochs, config.epochs, "epochs in one run")
        if quotas.train_examples is not None:
            _limit("train_examples", quotas.train_examples, _known(train_examples(config), config),
                   "training examples in one run")
        costs.append(compute(config, macs))
    if quotas.run_compute is not None or quotas.hourly_compute is not None:
        known = [_known(cost, config) for cost, (config, _) in zip(costs, runs, strict=True)]
        for cost in known:
            _limit("run_compute", quotas.run_compute, cost, "MACs × examples × epochs in one run")
        _limit("hourly_compute", quotas.hourly_compute, _spent_this_hour(store, owner) + sum(known),
               f"MACs × examples × epochs of {owner}'s runs in the last hour")


def _limit(name: str, limit: int | None, wanted: int, what: str) -> None:
    if limit is not None and wanted > limit:
        raise ConfigError(f"quota {name} refused the launch: {wanted:,} {what}, the limit is {limit:,} "
                          f"({wanted - limit:,} over); nothing was recorded")


def _known(value: int | None, config: RunConfig) -> int:
    if value is None:
        raise ConfigError(f"quota: the size of dataset {config.dataset} is not known here; give "
                          "--limit-train (the Train page's 'first N training images')")
    return value


def _spent_this_hour(store: RunStore, owner: str) -> int:
    """The compute of `owner`'s runs created in the last hour, except those that ended before they started
    (a run whose config cannot be read counts 0)."""
    since = time.time() - HOUR
    total = 0
    for run in store.list_runs():
        ended_unstarted = run.started_at is None and run.status not in (Status.QUEUED, Status.RUNNING)
        if run.owner == owner and run.created_at >= since and not ended_unstarted:
            try:
                total += compute(RunConfig.from_dict(run.config), run.macs) or 0
            except ConfigError:
                continue
    return total
