"""A recorded run and sweep as Python values (`Run`, `Sweep`) and the decoding of their rows; the floor
below `cnnlab.runs.store`, which reads the rows. A row that cannot be decoded is a `damaged` Run, so one
bad row does not hide the others."""

from __future__ import annotations

import json
from dataclasses import MISSING, dataclass, field, fields
from typing import Any

from cnnlab.train.status import Status


def _column(*, number: bool = False, updatable: bool = False, default: Any = MISSING) -> Any:
    """A column of `runs`: whether it holds a number (or NULL) and whether `update` may set it."""
    return field(default=default, metadata={"number": number, "updatable": updatable})


@dataclass(frozen=True)
class Run:
    """One run as recorded; `config` is the parsed run config. Its fields are the columns of `runs`,
    the one list of them (TABLE_COLUMNS declares the table; a test holds the two together)."""

    id: int
    name: str = _column(updatable=True)
    created_at: float = _column(number=True)
    started_at: float | None = _column(number=True)
    finished_at: float | None = _column(number=True)
    status: Status = _column()
    config: dict = _column()
    model: str | None = _column()
    dataset: str | None = _column()
    device: str | None = _column(updatable=True)
    params: int | None = _column(number=True, updatable=True)
    macs: int | None = _column(number=True, updatable=True)
    epochs_done: float | None = _column(number=True, updatable=True)
    final_train_loss: float | None = _column(number=True, updatable=True)
    final_train_acc: float | None = _column(number=True, updatable=True)
    final_test_acc: float | None = _column(number=True, updatable=True)
    examples_per_sec: float | None = _column(number=True, updatable=True)
    tflops: float | None = _column(number=True, updatable=True)
    error: str | None = _column(updatable=True)
    pid: int | None = _column(number=True, updatable=True)
    heartbeat_at: float | None = _column(number=True)
    cancel_requested: bool = _column()
    weights_path: str | None = _column(updatable=True)
    # cnnlab/torch versions, git commit, device name, threads, speed path
    provenance: dict | None = _column(updatable=True)
    sweep_id: int | None = _column(updatable=True, default=None)
    group_id: int | None = _column(updatable=True, default=None)
    node: str | None = _column(updatable=True, default=None)
    # None for cnnlab's own runs; {"kind": "track" | "tensorboard", ...}
    source: dict | None = _column(default=None)
    owner: str | None = _column(default=None)  # the user who launched it (cnnlab.access)
    peak_memory: float | None = _column(number=True, updatable=True, default=None)
    memory_estimate: float | None = _column(number=True, updatable=True, default=None)
    first_point_at: float | None = _column(number=True, updatable=True, default=None)
    class_pinned: bool = _column(default=False)  # pinned for the class by a teacher (`pin_for_class`)
    cluster: str | None = _column(default=None)  # the Ray cluster's address it trains on; None: here
    pid_start: int | None = _column(number=True, default=None)  # the start time of process `pid`

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


COLUMNS = tuple(f.name for f in fields(Run))
UPDATABLE = frozenset(f.name for f in fields(Run) if f.metadata.get("updatable"))
# Columns that hold numbers (or NULL); a row with anything else there reads as damaged.
NUMBER_COLUMNS = tuple(f.name for f in fields(Run) if f.metadata.get("number"))
SWEEP_COLUMNS = ("id", "name", "created_at", "finished_at", "status", "spec", "cluster", "pid",
                 "cancel_requested", "error", "owner", "pid_start")


@dataclass(frozen=True)
class Sweep:
    """A sweep as recorded; `spec` holds the space, the early-stopping rule and the trials' parameters."""

    id: int
    name: str
    created_at: float
    finished_at: float | None
    status: str
    spec: dict[str, Any]
    cluster: str | None
    pid: int | None
    cancel_requested: bool
    error: str | None
    owner: str | None = None
    pid_start: int | None = None  # the start time of process `pid` (cnnlab.runs.processes)


def decode_sweep(row: tuple) -> Sweep:
    """A row of `sweeps` (SWEEP_COLUMNS) as a Sweep."""
    data = dict(zip(SWEEP_COLUMNS, row, strict=True))
    data["spec"] = json.loads(data["spec"])
    data["cancel_requested"] = bool(data["cancel_requested"])
    return Sweep(**data)


def decode_run(row: tuple) -> Run:
    """A row as a Run; a row that cannot be read (bad JSON, an unknown status, text where a number
    belongs) as a `damaged` Run with the same id and the reason as its error."""
    data = dict(zip(COLUMNS, row, strict=True))
    try:
        data["status"] = Status(data["status"])
        config = json.loads(data["config"])
        if not isinstance(config, dict):
            raise ValueError(f"config is a JSON {type(config).__name__}, not an object")
        data["config"] = config
        if data["provenance"] is not None:
            data["provenance"] = json.loads(data["provenance"])
        if data["source"] is not None:
            data["source"] = json.loads(data["source"])
            if not isinstance(data["source"], dict):
                raise ValueError("source is not a JSON object")
        bad = next((c for c in NUMBER_COLUMNS if isinstance(data[c], str | bytes)), None)
        if bad is not None:
            raise ValueError(f"{bad} holds text, not a number")
        if not isinstance(data["name"], str):
            raise ValueError("name is not text")
    except (ValueError, TypeError) as exc:
        reason = f"row {data['id']} of the run store cannot be read: {exc}"
        return Run(**{**dict.fromkeys(COLUMNS), "id": data["id"], "name": f"damaged run {data['id']}",
                      "created_at": 0.0, "status": Status.DAMAGED, "config": {}, "error": reason,
                      "cancel_requested": False, "class_pinned": False,
                      "owner": data["owner"] if isinstance(data["owner"], str) else None})
    data["cancel_requested"] = bool(data["cancel_requested"])
    data["class_pinned"] = bool(data["class_pinned"])
    return Run(**data)
