"""A group of runs recorded at once: the repeats of one configuration, or one sweep's trials of it.

A group is the runs sharing a `group_id`, the id of its first run (`RunStore.tag_group`).
"""

from __future__ import annotations

from collections.abc import Sequence

from cnnlab.runs.service import record_run
from cnnlab.runs.store import RunStore
from cnnlab.train.config import RunConfig


def create_group(store: RunStore, configs: Sequence[RunConfig], *, name: str | None = None,
                 sweep_id: int | None = None, owner: str | None = None) -> list[int]:
    """Record `configs` as queued runs of one group (and of `sweep_id`) owned by `owner` (default:
    `access.current_user()`); return their ids."""
    ids = [record_run(store, config, name, owner=owner, sweep_id=sweep_id) for config in configs]
    store.tag_group(ids, sweep_id)
    return ids
