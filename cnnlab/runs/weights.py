"""A run's trained weights in its folder of the run store: written whole or not at all, read back only as
this run's tensors."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import torch
from torch import nn

from cnnlab.errors import ConfigError
from cnnlab.runs.store import RunStore
from cnnlab.train.config import RunConfig
from cnnlab.zoo import build

WEIGHTS_FILE = "weights.pt"


def save_weights(store: RunStore, run_id: int, data: bytes) -> Path:
    """Write `data` (from `state_bytes`) as run `run_id`'s weights file and return its path. The file
    appears whole or not at all (a temporary file renamed over it); a full disk is a ConfigError saying so."""
    path = store.run_dir(run_id) / WEIGHTS_FILE
    temporary = path.with_name(f".{WEIGHTS_FILE}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(temporary, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        temporary.replace(path)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        why = "disk full" if exc.errno in (errno.ENOSPC, errno.EDQUOT) else (exc.strerror or str(exc))
        raise ConfigError(f"run {run_id}: its weights could not be saved to {path}: {why}") from None
    return path


def load_weights(run_id: int, home: str | Path | None = None, device: str = "cpu") -> nn.Module:
    """The trained model of a run saved with `save_weights`, in eval mode. A missing, unreadable or
    foreign weights file (not a plain file of this run's tensors) is a ConfigError."""
    run = RunStore(home).get(run_id)
    if not run.weights_path:
        raise ConfigError(f"run {run_id} has no saved weights (train it with save_weights)")
    path = Path(run.weights_path)
    model = build(RunConfig.from_dict(run.config).model, device=device)
    if path.is_symlink() or not path.is_file():
        raise ConfigError(f"run {run_id}: its weights file {path} is missing or not a plain file")
    where = f"run {run_id}: its weights file {path}"
    try:  # weights_only: a pickle of other objects is refused, never executed
        state = torch.load(path, map_location=device, weights_only=True)
    except Exception:
        raise ConfigError(f"{where} cannot be read as weights (damaged, or not saved by cnnlab)") from None
    try:
        model.load_state_dict(state)
    except Exception:
        raise ConfigError(f"{where} does not hold this run's model's weights") from None
    return model.eval()
