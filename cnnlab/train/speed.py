"""`speed="auto"`: choose how a run trains on this machine by measuring its own first steps.

The candidates are the plain (eager) loop and the channels-last memory format (which made LeNet's CPU
step about a quarter faster on a 2-core AMD EPYC VM and slower elsewhere). There is no timing phase
before training: the run starts on the eager path at once, its first steps are timed as they train,
then a few steps on channels-last, and the run goes on with the faster path
(cnnlab.train.callbacks.probe). Every timed step is a real training step, counted and reported as any
other. The measurements are cached per machine and model (in the run store's folder), so a later run
of the same model takes its path from the first step on.

`torch.compile` is not a candidate: compiling costs tens of seconds before its first step on a CPU (47 s
of "preparing" for VGG-11/4 at 64 px), dead air that a classroom run cannot pay back; ask for it with
`compile=True` (`--compile`), which fixes the path.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import torch

from cnnlab.train.provenance import device_name

PATHS = ("eager", "channels_last")  # in the order they are timed: the run starts on the first
PROBE_STEPS = 5  # timed steps per path, after one settling step (the first step on a path is slower)


def fixed(channels_last: bool, compile_: bool) -> dict[str, Any]:
    """What a run with `speed="fixed"` records: the flags it was given."""
    path = "+".join(name for name, on in (("channels_last", channels_last), ("compile", compile_)) if on)
    return {"path": path or "eager", "reason": "chosen by the run's options (speed fixed)"}


def fastest(seconds_per_step: dict[str, float]) -> str:
    """The path with the fewest seconds per step (ties: the earlier in PATHS)."""
    return min((path for path in PATHS if path in seconds_per_step), key=seconds_per_step.__getitem__)


def describe(seconds_per_step: dict[str, float]) -> str:
    """'eager 12.3 ms, channels_last 10.1 ms per step'."""
    return ", ".join(f"{path} {seconds * 1e3:.1f} ms" for path, seconds in seconds_per_step.items()) + \
        " per step"


def cache_key(model_config: Any, device: torch.device, batch_size: int, amp: bool) -> str:
    """The machine (device, threads, torch) and the work (model and input, batch size, autocast)."""
    machine = {"device": device_name(device), "threads": torch.get_num_threads(), "torch": torch.__version__}
    what = {"model": model_config.to_dict(), "batch_size": batch_size, "amp": amp}
    return hashlib.sha256(json.dumps([machine, what], sort_keys=True).encode()).hexdigest()[:24]


def read_cache(cache: Path | None, key: str) -> dict[str, float]:
    """The cached seconds per step of each path for `key`; an unreadable cache or entry counts as none
    (it is only measurements)."""
    entry = _read(cache).get(key)
    if not isinstance(entry, dict) or set(entry) != set(PATHS):
        return {}
    if not all(isinstance(v, float) and v > 0 for v in entry.values()):
        return {}
    return {path: entry[path] for path in PATHS}


def write_cache(cache: Path, key: str, seconds_per_step: dict[str, float]) -> None:
    data = _read(cache)
    data[key] = seconds_per_step
    temporary = cache.with_name(f"{cache.name}.{os.getpid()}.tmp")
    temporary.write_text(json.dumps(data, indent=1))
    temporary.replace(cache)  # atomic: a concurrent reader sees the old or the new file


def _read(cache: Path | None) -> dict[str, Any]:
    if cache is None:
        return {}
    try:
        data = json.loads(cache.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def synchronize(device: torch.device) -> None:
    """Wait for the device's queued work (CUDA, MPS), so that a clock read after it is honest."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()
