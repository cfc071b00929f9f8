"""A group of runs recorded at once: the repeats of one configuration, or one sweep's trials of it.

A group is the runs sharing a `group_id`, the id of its first run (`RunStore.tag_group`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from cnnlab.analysis import Totals, analyze
from cnnlab.runs.service import record_run
from cnnlab.runs.store import RunStore
from cnnlab.spec import ModelConfig
from cnnlab.train.config import RunConfig


def create_group(store: RunStore, configs: Sequence[RunConfig], *, name: str | None = None,
                 sweep_id: int | None = None, owner: str | None = None,
                 totals: Mapping[ModelConfig, Totals] | None = None) -> list[int]:
    """Record `configs` as queued runs of one group (and of `sweep_id`) owned by `owner` (default:
    `access.current_user()`), with their models' `totals` where the caller has them (each other model is
    analysed once here); return their ids."""
    totals = dict(totals or {})
    for model in {config.model for config in configs} - set(totals):
        totals[model] = analyze(model).totals
    ids = [record_run(store, config, name, totals=totals[config.model], owner=owner, sweep_id=sweep_id)
           for config in configs]
    store.tag_group(ids, sweep_id)
    return ids
