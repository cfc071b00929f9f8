"""How much memory a device has: the one answer for the Build page's memory figure and for the check
that a training batch fits (cnnlab/train/memory.py)."""

from __future__ import annotations

import os

import torch


def device_total(device: torch.device) -> int:
    """Bytes of memory the device has: a GPU's own, else the machine's RAM."""
    if device.type == "cuda":
        return torch.cuda.get_device_properties(device).total_memory
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def device_memory() -> tuple[int, str]:
    """Total memory of the training device and its name: the first GPU's if there is one, else the RAM's."""
    if torch.cuda.is_available():
        return device_total(torch.device("cuda", 0)), torch.cuda.get_device_name(0)
    return device_total(torch.device("cpu")), "CPU RAM"
