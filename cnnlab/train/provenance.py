"""Where a run ran: the software and the hardware, recorded with the run so its figures can be trusted."""

from __future__ import annotations

import functools
import importlib.util
import os
import platform
import re
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

import torch

import cnnlab

GIT_TIMEOUT = 2.0


def cpu_name() -> str:
    """The CPU's model name from /proc/cpuinfo where there is one, else what `platform` knows."""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text(errors="replace").splitlines():
            if line.startswith("model name"):
                return f"{line.split(':', 1)[1].strip()} ({platform.machine()})"
    return platform.processor() or platform.machine()


def device_name(device: torch.device) -> str:
    """The GPU's name for a CUDA device, else the CPU's model."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return "Apple GPU (MPS)" if device.type == "mps" else cpu_name()


@functools.cache
def git_commit() -> str | None:
    """The commit of the cnnlab checkout being run (with '+changes' if it has uncommitted ones), or None
    outside a git checkout."""
    root = Path(cnnlab.__file__).resolve().parents[1]
    if not (root / ".git").exists():
        return None
    try:
        commit = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True,
                                timeout=GIT_TIMEOUT, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=GIT_TIMEOUT, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return commit + ("+changes" if dirty else "")


def cnnlab_version() -> str:
    try:
        return metadata.version("cnnlab")
    except metadata.PackageNotFoundError:
        return "unknown (not installed)"


def torchvision_version() -> str:
    """torchvision's `__version__`, read from its version.py without importing it: a run's worker that
    reads its data from disk has no other use for torchvision."""
    spec = importlib.util.find_spec("torchvision")
    text = (Path(spec.origin).parent / "version.py").read_text() if spec and spec.origin else ""
    found = re.search(r"^__version__ = ['\"]([^'\"]+)['\"]", text, re.MULTILINE)
    return found.group(1) if found else metadata.version("torchvision")


def provenance(device: torch.device) -> dict[str, Any]:
    """cnnlab's version and commit, torch and torchvision versions, the device's name, torch's CPU threads
    and the machine's CPU count."""
    return {"cnnlab": cnnlab_version(), "git_commit": git_commit(), "torch": torch.__version__,
            "torchvision": torchvision_version(), "python": platform.python_version(),
            "device": str(device), "device_name": device_name(device), "threads": torch.get_num_threads(),
            "cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()}
