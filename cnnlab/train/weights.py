"""A trained model's weights as the bytes of a weights file (cnnlab.runs.weights keeps them per run)."""

from __future__ import annotations

import io

import torch
from torch import nn


def state_bytes(model: nn.Module) -> bytes:
    """The model's state dict (on the CPU) as the bytes of a weights file."""
    buffer = io.BytesIO()
    torch.save({name: t.detach().cpu() for name, t in model.state_dict().items()}, buffer)
    return buffer.getvalue()
