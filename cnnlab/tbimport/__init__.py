"""Import TensorBoard logs: each run folder becomes a run, its scalar tags its metrics.

Folders whose names match a regular expression's first group form a group, so Compare draws the
group's mean and its band across seeds. A folder is recorded with its path and a key of its event
files' contents: importing it again adds nothing. Everything is checked before anything is recorded.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from cnnlab.errors import ConfigError
from cnnlab.runs.store import RunStore
from cnnlab.tbimport.reader import FolderLog, read_folder, run_folders
from cnnlab.track import finals, record_external
from cnnlab.train.status import Status

KIND = "tensorboard"


@dataclass
class ImportReport:
    """What an import did: the runs recorded (id, folder name, group), the folders already imported
    (name, run id) and the damaged event files skipped (path, why)."""

    imported: list[tuple[int, str, str | None]] = field(default_factory=list)
    already: list[tuple[str, int]] = field(default_factory=list)
    damaged: list[tuple[Path, str]] = field(default_factory=list)


def group_pattern(text: str | None) -> re.Pattern | None:
    """The --group-by expression, compiled; it must have a group (its first one names the group)."""
    if text is None:
        return None
    try:
        pattern = re.compile(text)
    except re.error as exc:
        raise ConfigError(f"--group-by {text!r} is not a regular expression: {exc}") from exc
    if pattern.groups < 1:
        raise ConfigError(f"--group-by {text!r} has no group: put the part that names the group in "
                          "parentheses, e.g. 'lr=([^_]+)'")
    return pattern


def import_logdir(logdir: str | os.PathLike, group_by: str | None = None,
                  home: str | os.PathLike | None = None) -> ImportReport:
    """Record every run folder under `logdir` not imported before; ConfigError (and nothing recorded)
    for a missing folder, a bad expression or a folder without event files."""
    root = Path(logdir).expanduser()
    pattern = group_pattern(group_by)
    if not root.is_dir():
        raise ConfigError(f"{root} is not a folder" if root.exists() else f"{root} does not exist")
    root = root.resolve()
    folders = run_folders(root)
    if not folders:
        raise ConfigError(f"{root} holds no TensorBoard event files (events.out.tfevents.*)")
    logs = [read_folder(folder) for folder in folders]
    store = RunStore(home)
    done = {run.source["key"]: run.id for run in store.list_runs({Status.DONE})
            if run.source and run.source.get("kind") == KIND}
    report = ImportReport()
    for log in logs:
        report.damaged += log.damaged
        name = _name(root, log.folder)
        if not log.files:
            continue
        if log.key in done:
            report.already.append((name, done[log.key]))
            continue
        group = _group(pattern, name)
        report.imported.append((_record(store, root, name, group, log), name, group))
    return report


def _name(root: Path, folder: Path) -> str:
    return folder.relative_to(root).as_posix() if folder != root else root.name


def _group(pattern: re.Pattern | None, name: str) -> str | None:
    match = pattern.search(name) if pattern else None
    return match.group(1) if match else None


def _record(store: RunStore, root: Path, name: str, group: str | None, log: FolderLog) -> int:
    """The folder as a done run: one metric row per scalar, the points of a step logged together."""
    source = {"kind": KIND, "scope": str(root), "folder": str(log.folder), "files": log.files, "key": log.key,
              "group": group}
    run_id = record_external(store, name, {"logdir": str(root), "folder": name}, source)
    last: dict[str, float] = {}
    batch: dict[str, float] = {}
    step = None
    for point_step, tag, value in log.scalars:
        if batch and (point_step != step or tag in batch):
            store.log_metrics(run_id, step, step, batch)
            batch = {}
        step, batch[tag] = point_step, value
        last[tag] = value
    if batch:
        store.log_metrics(run_id, step, step, batch)
    store.finish(run_id, Status.DONE, **finals(last, None))
    return run_id
