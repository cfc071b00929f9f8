"""CIFAR-10's python batches, read without running code.

The batches are pickles, and a pickle can name any function to call while it loads. These are read by
an unpickler that resolves only what a CIFAR-10 batch holds (dicts, lists, strings, bytes, ints and
numpy uint8 arrays; the array's reconstructor, its dtype and the bytes codec), so a planted file is
refused with a clear message before anything in it runs. Each batch is then checked for its shape.
torchvision's md5 checks stay on where cnnlab downloads the official files (torchvision_sets).
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import numpy as np
import torch

from cnnlab.errors import ConfigError

FOLDER = "cifar-10-batches-py"
TRAIN_FILES = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_FILES = ("test_batch",)
META_FILE = "batches.meta"
FILES = (*TRAIN_FILES, *TEST_FILES, META_FILE)
SIDE, CHANNELS, CLASSES = 32, 3, 10
# (module, name) pairs a CIFAR-10 pickle refers to: numpy arrays, written by numpy 1 or 2, and the
# codec protocol-2 pickles use for bytes.
ALLOWED_GLOBALS = frozenset({("numpy.core.multiarray", "_reconstruct"),
                             ("numpy._core.multiarray", "_reconstruct"), ("numpy", "ndarray"),
                             ("numpy", "dtype"), ("_codecs", "encode")})


class _DataOnlyUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in ALLOWED_GLOBALS:
            raise pickle.UnpicklingError(f"it refers to {module}.{name}, which a CIFAR-10 batch never holds "
                                         "(refused without running it)")
        return super().find_class(module, name)


def read_pickle(path: Path) -> Any:
    """The object pickled in `path`, resolving only ALLOWED_GLOBALS; ConfigError for anything else."""
    try:
        with open(path, "rb") as f:
            return _DataOnlyUnpickler(f, encoding="latin1").load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError,
            KeyError, MemoryError, OverflowError) as exc:
        raise ConfigError(f"cifar10: {path} is not a CIFAR-10 batch file: {exc}; replace it with an intact "
                          "copy") from exc


def _batch(path: Path) -> tuple[np.ndarray, list[int]]:
    entry = read_pickle(path)
    data = entry.get("data") if isinstance(entry, dict) else None
    labels = entry.get("labels") if isinstance(entry, dict) else None
    if not (isinstance(data, np.ndarray) and data.dtype == np.uint8 and data.ndim == 2
            and data.shape[1] == CHANNELS * SIDE * SIDE):
        raise ConfigError(f"cifar10: {path} has no 'data' array of N x {CHANNELS * SIDE * SIDE} bytes; "
                          "replace it with an intact copy")
    if not (isinstance(labels, list) and len(labels) == len(data)
            and all(type(label) is int and 0 <= label < CLASSES for label in labels)):
        raise ConfigError(f"cifar10: {path} has no list of {len(data)} labels from 0 to {CLASSES - 1}; "
                          "replace it with an intact copy")
    return data, labels


def load(folder: Path, train: bool) -> tuple[torch.Tensor, torch.Tensor, tuple[str, ...]]:
    """(uint8 images N x 3 x 32 x 32, int64 labels N, class names) of one split in `folder`."""
    batches = [_batch(folder / name) for name in (TRAIN_FILES if train else TEST_FILES)]
    meta = read_pickle(folder / META_FILE)
    names = meta.get("label_names") if isinstance(meta, dict) else None
    if not (isinstance(names, list) and len(names) == CLASSES and all(isinstance(n, str) for n in names)):
        raise ConfigError(f"cifar10: {folder / META_FILE} has no list of {CLASSES} label names; replace it "
                          "with an intact copy")
    images = np.concatenate([data for data, _ in batches]).reshape(-1, CHANNELS, SIDE, SIDE)
    labels = [label for _, batch_labels in batches for label in batch_labels]
    return torch.from_numpy(images), torch.tensor(labels, dtype=torch.int64), tuple(names)
