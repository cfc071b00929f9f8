"""The measured peak memory of a piece of training work, as torch's allocators report it.

CUDA: the caching allocator's peak over the work, above what was allocated when it began. CPU: the CPU
allocator's allocation and free events, recorded by the profiler (`profile_memory=True`), give the peak
of what the work allocated. What was live before (weights, optimiser state, the batch) is added from
the tensors themselves (`live_bytes`), the same way on both. While the CPU profiler records, standard
error is silenced (its C++ side logs there), so one measured step prints nothing.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable
from types import TracebackType

import torch


def live_bytes(tensors: Iterable[torch.Tensor]) -> int:
    """Bytes of the distinct storages behind `tensors` (a view and its base count once)."""
    storages = {}
    for t in tensors:
        storage = t.untyped_storage()
        storages[storage.data_ptr()] = storage.nbytes()
    return sum(storages.values())


def training_state(model: torch.nn.Module, optimizer: torch.optim.Optimizer) -> list[torch.Tensor]:
    """The tensors a training step starts from: weights, buffers, gradients kept, optimiser state."""
    tensors = [*model.parameters(), *model.buffers()]
    tensors += [p.grad for p in model.parameters() if p.grad is not None]
    tensors += [v for state in optimizer.state.values() for v in state.values() if torch.is_tensor(v)]
    return tensors


class peak_recorder:  # noqa: N801 (used as a context manager, like torch's own)
    """`with peak_recorder(device) as r: ...` then `r.peak`: the most bytes the block had allocated at
    once (what it freed of its own allocations subtracted as it went)."""

    def __init__(self, device: torch.device) -> None:
        self.device, self.peak = device, 0

    def __enter__(self) -> peak_recorder:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            self._start = torch.cuda.memory_allocated(self.device)
            torch.cuda.reset_peak_memory_stats(self.device)
        else:
            from torch.profiler import ProfilerActivity, profile

            self._stderr = _silence_stderr()  # the profiler's C++ side logs its start and stop there
            self._profile = profile(activities=[ProfilerActivity.CPU], profile_memory=True)
            self._profile.__enter__()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            self.peak = torch.cuda.max_memory_allocated(self.device) - self._start
            return
        try:
            self._profile.__exit__(kind, error, trace)
        finally:
            _restore_stderr(self._stderr)
        events = sorted((e for e in self._profile.profiler.kineto_results.events() if e.name() == "[memory]"),
                        key=lambda e: e.start_ns())
        current = 0
        for event in events:
            current += event.nbytes()
            self.peak = max(self.peak, current)


def _silence_stderr() -> int:
    """Point file descriptor 2 at /dev/null; returns a copy of the old one for `_restore_stderr`."""
    sys.stderr.flush()
    saved = os.dup(2)
    with open(os.devnull, "w") as null:
        os.dup2(null.fileno(), 2)
    return saved


def _restore_stderr(saved: int) -> None:
    sys.stderr.flush()
    os.dup2(saved, 2)
    os.close(saved)


def measure_peak(run: Callable[[], None], device: torch.device, live: Iterable[torch.Tensor]) -> int:
    """Peak bytes in use while `run()` executes: `live` (what exists before it) plus its own peak."""
    before = live_bytes(live)
    with peak_recorder(device) as recording:
        run()
    return before + recording.peak
