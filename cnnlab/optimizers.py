"""The optimisers a run can train with, built one way (by the trainer and the memory estimate)."""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import nn

NAMES = ("sgd", "adam", "adamw")


def build_optimizer(name: str, params: Iterable[nn.Parameter], *, lr: float, momentum: float = 0.0,
                    weight_decay: float = 0.0) -> torch.optim.Optimizer:
    """Optimiser `name` (one of NAMES) over `params`; momentum applies to SGD only."""
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay)
    cls = torch.optim.Adam if name == "adam" else torch.optim.AdamW
    return cls(params, lr=lr, weight_decay=weight_decay)
