"""`speed="auto"`: choose how a run trains on this machine by measuring, not by guessing.

The candidates are the plain (eager) loop, the channels-last memory format and `torch.compile`. Which is
fastest depends on the machine and the model (compiling LeNet doubled its CPU speed on one AVX-512 VM
and slowed it down on another), so a few training steps of each are timed, once per machine and model
(the measurements are cached in the run store's folder), on a throwaway copy of the model and synthetic
batches: the run itself is not touched. Compilation time counts against compiling: the path chosen is
the one with the shortest projected time for this run's number of steps. A run projected to take under
PROBE_MIN_SECONDS on the eager path does not time compiling (it could not pay for itself) but still
times channels-last, which costs a few steps to measure and made LeNet's CPU step about a quarter
faster on a 2-core AMD EPYC VM.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from cnnlab.train.provenance import device_name
from cnnlab.zoo import build

PATHS = ("eager", "channels_last", "compile")
CHEAP_PATHS = PATHS[:2]  # no setup cost worth speaking of: timed even for a short run
PROBE_STEPS = 3
PROBE_MIN_SECONDS = 30.0


@dataclass(frozen=True)
class Choice:
    """The path a run takes, why, and the measurements behind it (seconds per step; compile seconds)."""

    path: str
    reason: str
    seconds_per_step: dict[str, float]
    compile_seconds: float | None = None

    @property
    def channels_last(self) -> bool:
        return self.path == "channels_last"

    @property
    def compile(self) -> bool:
        return self.path == "compile"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def fixed(channels_last: bool, compile_: bool) -> dict[str, Any]:
    """What a run with `speed="fixed"` records: the flags it was given."""
    path = "+".join(name for name, on in (("channels_last", channels_last), ("compile", compile_)) if on)
    return {"path": path or "eager", "reason": "chosen by the run's options (speed fixed)"}


def choose(model_config: Any, device: torch.device, batch_size: int, input_shape: tuple[int, int, int],
           amp: bool, steps: int, cache: Path | None = None,
           should_stop: Callable[[], bool] | None = None) -> Choice:
    """The fastest path for `steps` training steps of `model_config` at `batch_size` on `device`.

    `should_stop` is asked before timing each path; when it says stop, the run stays eager (and nothing
    is cached), so a cancel waits for one path's timing at most."""
    key = _cache_key(model_config, device, batch_size, input_shape, amp)
    measured = _read_cache(cache).get(key) or {}
    if "eager" not in measured:
        measured["eager"] = _time_path(model_config, device, batch_size, input_shape, amp, "eager")
    eager = measured["eager"][1]
    short = steps * eager < PROBE_MIN_SECONDS and "compile" not in measured
    paths = CHEAP_PATHS if short else PATHS
    for path in paths:
        if path not in measured:
            if should_stop is not None and should_stop():
                return Choice("eager", "stopped while measuring the paths", {"eager": eager})
            measured[path] = _time_path(model_config, device, batch_size, input_shape, amp, path)
    if cache is not None:
        _write_cache(cache, key, measured)
    projected = {path: measured[path][0] + steps * measured[path][1] for path in paths}
    best = min(paths, key=projected.__getitem__)
    detail = ", ".join(f"{path} {projected[path]:.1f} s" for path in paths)
    per_step = {path: measured[path][1] for path in paths}
    if short:
        return Choice(best, f"a short run ({steps} steps, about {steps * eager:.0f} s eager): compiling is "
                      f"not worth timing; fastest projected of the others ({detail})", per_step)
    return Choice(best, f"fastest projected for {steps} steps ({detail}; compile time included)", per_step,
                  measured["compile"][0])


def _time_path(model_config: Any, device: torch.device, batch_size: int, input_shape: tuple[int, int, int],
               amp: bool, path: str) -> tuple[float, float]:
    """(setup seconds: compiling and the first step beyond a plain step, seconds per step) of `path`, on a
    fresh model and zero batches; the random-number state is left as it was."""
    devices = [device] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        model = build(model_config, device=device)
        fmt = torch.channels_last if path == "channels_last" else torch.contiguous_format
        model = model.to(memory_format=fmt)
        net = torch.compile(model) if path == "compile" else model
        optimizer = torch.optim.SGD(model.parameters(), lr=1e-3)
        x = torch.zeros((batch_size, *input_shape), device=device).contiguous(memory_format=fmt)
        y = torch.zeros(batch_size, dtype=torch.int64, device=device)

        def step() -> None:
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp and device.type == "cuda"):
                loss = F.cross_entropy(net(x), y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()

        start = time.perf_counter()
        step()
        synchronize(device)
        first = time.perf_counter() - start
        start = time.perf_counter()
        for _ in range(PROBE_STEPS):
            step()
        synchronize(device)
        per_step = (time.perf_counter() - start) / PROBE_STEPS
    return max(first - per_step, 0.0), per_step


def _cache_key(model_config: Any, device: torch.device, batch_size: int, input_shape: tuple[int, int, int],
               amp: bool) -> str:
    machine = {"device": device_name(device), "threads": torch.get_num_threads(), "torch": torch.__version__}
    what = {"model": model_config.to_dict(), "batch_size": batch_size, "input": list(input_shape), "amp": amp}
    return hashlib.sha256(json.dumps([machine, what], sort_keys=True).encode()).hexdigest()[:24]


def _read_cache(cache: Path | None) -> dict[str, dict[str, list[float]]]:
    """The cached measurements; an unreadable cache file counts as empty (it is only measurements)."""
    if cache is None:
        return {}
    try:
        data = json.loads(cache.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _write_cache(cache: Path, key: str, measured: dict[str, tuple[float, float]]) -> None:
    data = _read_cache(cache)
    data[key] = {path: list(values) for path, values in measured.items()}
    temporary = cache.with_name(f"{cache.name}.{os.getpid()}.tmp")
    temporary.write_text(json.dumps(data, indent=1))
    temporary.replace(cache)  # atomic: a concurrent reader sees the old or the new file


def synchronize(device: torch.device) -> None:
    """Wait for the device's queued work (CUDA, MPS), so that a clock read after it is honest."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()
