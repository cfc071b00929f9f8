"""The peak of live tensor bytes during a simulated training step, by what holds them.

A dispatch mode sees every tensor an operation creates; each new storage is counted once (views share
theirs) under a category, and a weak reference takes its bytes off when it dies. Only the running
totals and their peak are kept, per device: the peak is read after each operation, as PyTorch's
`MemTracker` reads it, and categories follow the same rules (a step's tensors are optimiser state,
backward's new tensors temporaries, a parameter's gradient a gradient once autograd hands it over,
anything else an activation), without its per-module snapshots.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable
from functools import partial
from typing import Any

import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_leaves

from cnnlab.analysis.aten_shortcuts import shortcut

CATEGORIES = ("weights", "gradients", "optimizer_state", "activations", "temporaries")


class _Storage:
    """A tracked storage: its device, bytes and category (and the weak reference that drops it)."""

    __slots__ = ("category", "device", "nbytes", "ref")

    def __init__(self, device: torch.device, nbytes: int, category: str) -> None:
        self.device, self.nbytes, self.category = device, nbytes, category


class PeakTracker(TorchDispatchMode):
    """Live bytes by device and category, and their peak since `reset_peak()`."""

    def __init__(self) -> None:
        super().__init__()
        self._storages: dict[int, _Storage] = {}
        self._live: dict[torch.device, dict[str, int]] = {}
        self._totals: dict[torch.device, int] = {}
        self._peaks: dict[torch.device, dict[str, int]] = {}
        self._peak_totals: dict[torch.device, int] = {}
        self._in_step = False

    def track(self, tensors: Iterable[torch.Tensor], category: str) -> None:
        """Count `tensors` under `category`, moving any already counted there."""
        for tensor in tensors:
            storage = tensor.untyped_storage()
            known = self._storages.get(id(storage))
            if known is None:
                self._add(storage, tensor.device, category)
            elif known.category != category:
                live = self._live[known.device]
                live[known.category] -= known.nbytes
                live[category] += known.nbytes
                known.category = category

    def track_training(self, model: nn.Module, optimizer: torch.optim.Optimizer) -> None:
        """Count the model's weights and the optimiser's state, and follow what they will hold: each
        parameter's gradient, and everything a step of the optimiser creates as its state."""
        self.track(model.parameters(), "weights")
        self.track(model.buffers(), "weights")
        self.track(_state_tensors(optimizer), "optimizer_state")
        for parameter in model.parameters():
            if parameter.requires_grad:
                parameter.register_hook(self._gradient)
                parameter.register_post_accumulate_grad_hook(lambda p: self._gradient(p.grad))
        optimizer.register_step_pre_hook(self._step_begins)
        optimizer.register_step_post_hook(self._step_ends)

    def reset_peak(self) -> None:
        """Forget the peak: the next operation sets it anew."""
        self._peaks.clear()
        self._peak_totals.clear()

    def peak(self) -> dict[str, int]:
        """The peak's bytes by category, summed over the devices (each device's own peak)."""
        parts = dict.fromkeys(CATEGORIES, 0)
        for peak in self._peaks.values():
            for category, nbytes in peak.items():
                parts[category] += nbytes
        return parts

    def _gradient(self, gradient: torch.Tensor) -> None:
        self.track((gradient,), "gradients")

    def _step_begins(self, *_: Any) -> None:
        self._in_step = True

    def _step_ends(self, optimizer: torch.optim.Optimizer, *_: Any) -> None:
        self.track(_state_tensors(optimizer), "optimizer_state")
        self._in_step = False

    def _add(self, storage: torch.UntypedStorage, device: torch.device, category: str) -> None:
        key, entry = id(storage), _Storage(device, storage.nbytes(), category)
        entry.ref = weakref.ref(storage, partial(self._drop, key))
        self._storages[key] = entry
        live = self._live.get(device)
        if live is None:
            live = self._live[device] = dict.fromkeys(CATEGORIES, 0)
            self._totals[device] = 0
        live[category] += entry.nbytes
        self._totals[device] += entry.nbytes

    def _drop(self, key: int, _: weakref.ref) -> None:
        entry = self._storages.pop(key)
        self._live[entry.device][entry.category] -= entry.nbytes
        self._totals[entry.device] -= entry.nbytes

    def _created(self, tensor: torch.Tensor, category: str) -> None:
        storage = tensor.untyped_storage()
        known = self._storages.get(id(storage))
        if known is None:
            self._add(storage, tensor.device, category)
        elif known.nbytes != storage.nbytes():  # resized in place
            change = storage.nbytes() - known.nbytes
            known.nbytes += change
            self._live[known.device][known.category] += change
            self._totals[known.device] += change

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # noqa: ANN001, ANN204 (torch's protocol)
        kwargs = kwargs or {}
        out = shortcut(func, args, kwargs)
        if out is None:
            out = func(*args, **kwargs)
        if self._in_step:
            category = "optimizer_state"
        elif torch._C._current_graph_task_id() != -1:  # inside autograd's backward
            category = "temporaries"
        else:
            category = "activations"
        if isinstance(out, torch.Tensor):
            self._created(out, category)
        else:
            for leaf in tree_leaves(out):
                if isinstance(leaf, torch.Tensor):
                    self._created(leaf, category)
        for device, total in self._totals.items():
            if total > self._peak_totals.get(device, 0):
                self._peak_totals[device] = total
                self._peaks[device] = dict(self._live[device])
        return out


def _state_tensors(optimizer: torch.optim.Optimizer) -> list[torch.Tensor]:
    return [value for state in optimizer.state.values() for value in state.values()
            if isinstance(value, torch.Tensor)]
