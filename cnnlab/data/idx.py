"""IDX files, LeCun's format for MNIST and Fashion-MNIST, checked and read without torchvision.

An IDX file is two zero bytes, a type byte (0x08: unsigned bytes), the number of dimensions, each
dimension as a big-endian 32-bit count, then the data. A file that is not that is named with what is
wrong before anything is decoded.
"""

from __future__ import annotations

import math
from pathlib import Path

import torch

from cnnlab.errors import ConfigError

# IDX magic numbers: unsigned bytes (0x08) with 3 dimensions (images) or 1 (labels).
MAGIC = {3: 0x00000803, 1: 0x00000801}


def count(path: Path) -> int:
    """Items in an IDX file: the big-endian 32-bit count after its 4-byte magic number."""
    with open(path, "rb") as handle:
        header = handle.read(8)
    if len(header) < 8:
        raise ConfigError(f"{path} is not an IDX file (too short); replace it with an intact copy")
    return int.from_bytes(header[4:8], "big")


def read(dataset: str, path: Path) -> torch.Tensor:
    """The uint8 tensor in IDX file `path` (3 dimensions for an images file, else 1); ConfigError naming
    `dataset` and what is wrong unless the file is an IDX file of unsigned bytes whose size matches its
    header."""
    ndim = 3 if "images" in path.name else 1
    data = path.read_bytes()
    header = 4 + 4 * ndim
    problem = None
    if len(data) < header:
        problem = f"is {len(data)} bytes, shorter than an IDX header"
    elif int.from_bytes(data[:4], "big") != MAGIC[ndim]:
        problem = f"does not start with the IDX magic number 0x{MAGIC[ndim]:08x} (found 0x{data[:4].hex()})"
    else:
        dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
        if len(data) != (expected := header + math.prod(dims)):
            problem = f"is {len(data)} bytes but its header ({' x '.join(map(str, dims))}) says {expected}"
    if problem:
        raise ConfigError(f"{dataset}: {path} {problem}: it is not an intact {path.name}; replace it with an "
                          "intact copy")
    return torch.frombuffer(bytearray(data), dtype=torch.uint8, offset=header).reshape(dims)


def read_split(dataset: str, images_file: Path, labels_file: Path) -> tuple[torch.Tensor, torch.Tensor]:
    """(uint8 images N x 1 x H x W, int64 labels N) from a pair of IDX files that agree on N."""
    images, labels = read(dataset, images_file), read(dataset, labels_file)
    if len(images) != len(labels):
        raise ConfigError(f"{dataset}: {images_file} holds {len(images)} images but {labels_file} "
                          f"{len(labels)} labels; replace them with intact copies")
    return images.unsqueeze(1).contiguous(), labels.to(torch.int64)
