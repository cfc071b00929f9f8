"""The measured peak memory of a piece of training work, as torch's allocators report it.

CUDA: the caching allocator's `max_memory_allocated` over the call. CPU: the CPU allocator's
allocation and free events, recorded by the profiler (`profile_memory=True`), give the peak of what
the call allocated; what was live before the call (weights, optimiser state, the batch) is added
from the tensors themselves, since the profiler only sees what is allocated while it records.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import torch


def live_bytes(tensors: Iterable[torch.Tensor]) -> int:
    """Bytes of the distinct storages behind `tensors` (a view and its base count once)."""
    storages = {}
    for t in tensors:
        storage = t.untyped_storage()
        storages[storage.data_ptr()] = storage.nbytes()
    return sum(storages.values())


def measure_peak(run: Callable[[], None], device: torch.device, live: Iterable[torch.Tensor]) -> int:
    """Peak bytes in use while `run()` executes: `live` (what exists before it) plus its own peak."""
    before = live_bytes(live)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        start = torch.cuda.memory_allocated(device)
        torch.cuda.reset_peak_memory_stats(device)
        run()
        torch.cuda.synchronize(device)
        return before + torch.cuda.max_memory_allocated(device) - start
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as recording:
        run()
    events = sorted((e for e in recording.profiler.kineto_results.events() if e.name() == "[memory]"),
                    key=lambda e: e.start_ns())
    current = peak = 0
    for event in events:
        current += event.nbytes()
        peak = max(peak, current)
    return before + peak


def training_state(model: torch.nn.Module, optimizer: torch.optim.Optimizer) -> list[torch.Tensor]:
    """The tensors a training step starts from: weights, buffers, gradients kept, optimiser state."""
    tensors = [*model.parameters(), *model.buffers()]
    tensors += [p.grad for p in model.parameters() if p.grad is not None]
    tensors += [v for state in optimizer.state.values() for v in state.values() if torch.is_tensor(v)]
    return tensors
