"""`fit`: one training run in this process, from a RunConfig to a FitResult (docs/TRAINING.md)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch

from cnnlab import limits
from cnnlab.train import callbacks as registry
from cnnlab.train.config import RunConfig
from cnnlab.train.loop import Callback, FitResult, Loop
from cnnlab.train.memory import run_memory
from cnnlab.train.setup import prepare, resolve_device
from cnnlab.train.status import Status
from cnnlab.units import format_bytes


def fit(config: RunConfig, callbacks: Sequence[Callback] = (), *,
        speed_cache: Path | None = None) -> FitResult:
    """Train `config.model` on `config.dataset` with the run's own callbacks (cnnlab.train.callbacks:
    test accuracy, throughput, divergence and those its options switch on) and `callbacks`.

    With `config.speed == "auto"` the training path is chosen by timing the run's first steps
    (cnnlab.train.speed; the measurements cached in `speed_cache`), and the thread count of each CPU
    epoch by the cores free at its start; the process's thread count is put back however the run ends.
    Bad input (unknown device, missing dataset) raises ConfigError.
    """
    device = resolve_device(config.device)
    loop = Loop([*registry.for_run(config), *callbacks])
    threads = torch.get_num_threads()  # the process's share: a callback may change it (FreeCores)
    try:
        return loop.run(prepare(config, device, speed_cache=speed_cache))
    except torch.cuda.OutOfMemoryError:
        torch.cuda.empty_cache()
        total = torch.cuda.get_device_properties(device).total_memory
        return FitResult(Status.FAILED, str(device), loop.epochs_done, loop.step,
                         error=out_of_memory_message(config, str(device), total))
    finally:
        torch.set_num_threads(threads)


def out_of_memory_message(config: RunConfig, device: str, total: int) -> str:
    """Why the run failed on a device of `total` bytes, and the largest power-of-two batch size below the
    failed one that the memory estimate says would fit."""
    memory = run_memory(config)

    def need(batch: int) -> int:
        return memory.at(batch).total

    budget = limits.MEMORY_BUDGET_SHARE * total
    batch = 1 << max(config.batch_size // 2, 1).bit_length() - 1
    while batch > 1 and need(batch) > budget:
        batch //= 2
    head = f"CUDA out of memory at batch size {config.batch_size} on {device} ({format_bytes(total)})"
    if need(batch) > budget:
        return f"{head}; {config.model.name} needs about {format_bytes(need(1))} even at batch size 1"
    return f"{head}; try batch size {batch} (estimated {format_bytes(need(batch))} for training)"
