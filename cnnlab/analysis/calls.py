"""A module call as the tracer records it, and the walk over the tensors of a call's arguments or output:
what the tracer (cnnlab/analysis/tracer.py) and the graph recorder (cnnlab/analysis/graph.py) share."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from cnnlab.analysis.fields import Field


@dataclass
class Call:
    """One call of one module during the traced forward pass; `parent` is the call it ran inside, and
    `nested` says whether other module calls ran inside it (a call without is a leaf: a layer)."""

    name: str
    module: nn.Module
    depth: int
    order: int
    macs: int = 0
    input_shape: tuple[int, ...] = ()
    output: torch.Tensor | None = None
    field: Field | None = None
    parent: Call | None = None
    nested: bool = False


def tensors(value: Any) -> Iterator[torch.Tensor]:
    """Every tensor in `value`: itself, or those inside its lists, tuples and dict values, in order."""
    if isinstance(value, torch.Tensor):
        yield value
    elif isinstance(value, list | tuple):
        for item in value:
            if isinstance(item, torch.Tensor):  # the common case, without a nested generator
                yield item
            elif isinstance(item, list | tuple | dict):
                yield from tensors(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from tensors(item)
