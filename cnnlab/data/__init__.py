"""Datasets as tensors: Fashion-MNIST, MNIST and CIFAR-10 (torchvision) and the built-in offline set."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from cnnlab.data import builtin, torchvision_sets
from cnnlab.data.loader import DeviceLoader, channel_stats
from cnnlab.errors import ConfigError, quoted

__all__ = ["DATASET_NAMES", "DeviceLoader", "TensorData", "available_datasets", "channel_stats",
           "dataset_info", "load_split", "resolve_data_dir", "split_sizes"]

# name -> (channels, side, number of classes, description)
_CATALOG: dict[str, tuple[int, int, int, str]] = {
    "shapes": (1, 28, 10, "built-in: ten classes of shapes and textures, 28×28 grey"),
    "shapes-rgb": (3, 32, 10, "built-in: ten classes of shapes and textures, 32×32 colour"),
    "fashion-mnist": (1, 28, 10, "Fashion-MNIST: 28×28 grey clothing images"),
    "mnist": (1, 28, 10, "MNIST: 28×28 grey handwritten digits"),
    "cifar10": (3, 32, 10, "CIFAR-10: 32×32 colour photos of ten object classes"),
}
DATASET_NAMES: tuple[str, ...] = tuple(_CATALOG)
BUILTIN = ("shapes", "shapes-rgb")


@dataclass(frozen=True)
class TensorData:
    """One decoded split: uint8 images N x C x H x W, int64 labels N."""

    images: torch.Tensor
    labels: torch.Tensor
    classes: tuple[str, ...]
    name: str

    @property
    def shape(self) -> tuple[int, int, int]:
        return tuple(self.images.shape[1:])

    def __len__(self) -> int:
        return len(self.labels)


def resolve_data_dir(data_dir: str | os.PathLike | None = None) -> Path:
    """`data_dir`, else $CNNLAB_DATA, else $XDG_CACHE_HOME/cnnlab/data (~/.cache/cnnlab/data)."""
    if data_dir is None:
        data_dir = os.environ.get("CNNLAB_DATA") or Path(
            os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "cnnlab" / "data"
    return Path(data_dir).expanduser()


def _check_name(name: str) -> str:
    if name not in _CATALOG:
        raise ConfigError(f"unknown dataset {quoted(name)}; choose one of {', '.join(DATASET_NAMES)}")
    return name


def dataset_info(name: str) -> dict[str, Any]:
    """What a dataset is, without loading it."""
    channels, size, classes, description = _CATALOG[_check_name(name)]
    return {"name": name, "channels": channels, "size": size, "classes": classes,
            "offline": name in BUILTIN, "description": description}


def available_datasets(data_dir: str | os.PathLike | None = None) -> dict[str, bool]:
    """Which datasets load now without a network: the built-in ones, and those whose files are present."""
    root = resolve_data_dir(data_dir)
    return {name: name in BUILTIN or torchvision_sets.files_present(name, root) for name in DATASET_NAMES}


def split_sizes(name: str, data_dir: str | os.PathLike | None = None) -> tuple[int, int] | None:
    """(training, test) examples that `name` has here: the built-in sets' fixed sizes, or what the files
    on disk hold (a subset holds fewer than the full set); None when its files are missing."""
    if _check_name(name) in BUILTIN:
        return builtin.SIZES["train"], builtin.SIZES["test"]
    return torchvision_sets.split_sizes(name, resolve_data_dir(data_dir))


def load_split(name: str, train: bool, data_dir: str | os.PathLike | None = None, download: bool = True,
               limit: int | None = None) -> TensorData:
    """The training (`train=True`) or test split of `name`, optionally only its first `limit` examples."""
    _check_name(name)
    if name in BUILTIN:
        channels, size, _, _ = _CATALOG[name]
        images, labels = builtin.generate("train" if train else "test", channels, size)
        classes = builtin.CLASSES
    else:
        images, labels, classes = torchvision_sets.load(name, train, resolve_data_dir(data_dir), download)
    if limit is not None:
        images, labels = images[:limit], labels[:limit]
    return TensorData(images, labels, classes, name)
