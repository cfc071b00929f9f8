"""One line naming the machine a benchmark ran on, for docs/BENCHMARKS.md."""

from __future__ import annotations

import os

import torch

from cnnlab.train.provenance import cpu_name

__all__ = ["cpu_name", "describe"]


def describe() -> str:
    return (f"machine: {cpu_name()}, {os.cpu_count()} CPUs, {torch.get_num_threads()} torch threads, "
            f"torch {torch.__version__}")
