"""Server-wide memoisation bounded by bytes: the dashboard's caches of models and images, each a
`ByteCache` (least recently used out first) rather than a number of entries, whose sizes vary a
thousandfold (LeNet's weights and 256 images of 224 px differ by that much)."""

from __future__ import annotations

import functools
import os
import pickle
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np
import torch

from cnnlab.jobs import ByteCache
from cnnlab.jobs.pool import ENV_PREFIX

T = TypeVar("T")
_MISSING = object()


def size_of(value: Any) -> int:
    """Bytes `value` holds: arrays and tensors by their data, a module by its weights, anything with a
    `model` by that, containers by their items, the rest by its pickled size."""
    if isinstance(value, np.ndarray):
        return value.nbytes
    if isinstance(value, torch.Tensor):
        return value.numel() * value.element_size()
    if isinstance(value, torch.nn.Module):
        return sum(size_of(t) for t in [*value.parameters(), *value.buffers()])
    if isinstance(value, bytes | str):
        return len(value)
    if isinstance(value, list | tuple):
        return sum(map(size_of, value))
    if hasattr(value, "model") and isinstance(value.model, torch.nn.Module):
        return size_of(value.model)
    try:
        return len(pickle.dumps(value))
    except (pickle.PicklingError, TypeError, AttributeError):
        return 0


def bounded(mib: int) -> Callable[[Callable[..., T]], Callable[..., T]]:
    """Memoise a function of hashable arguments (keywords too) in one server-wide cache of at most `mib`
    MiB (the environment's CNNLAB_* variables, such as the data folder, are part of the key)."""
    def wrap(fn: Callable[..., T]) -> Callable[..., T]:
        cache = ByteCache(mib * 2**20)

        @functools.wraps(fn)
        def cached(*args: Any, **kwargs: Any) -> T:
            env = tuple(sorted((n, v) for n, v in os.environ.items() if n.startswith(ENV_PREFIX)))
            key = (args, tuple(sorted(kwargs.items())), env)
            value = cache.get(key, _MISSING)
            if value is _MISSING:
                value = fn(*args, **kwargs)
                cache.put(key, value, size_of(value))
            return value

        cached.cache = cache  # type: ignore[attr-defined]
        return cached
    return wrap
