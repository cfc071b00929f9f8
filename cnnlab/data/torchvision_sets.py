"""Fashion-MNIST, MNIST and CIFAR-10 through torchvision's own dataset classes.

Files are read from `<data dir>/FashionMNIST/raw`, `<data dir>/MNIST/raw` and
`<data dir>/cifar-10-batches-py`, exactly where torchvision puts them; when they are missing and
downloading is allowed, torchvision downloads them, checking the archive's and every file's md5.

The IDX files' headers are checked before torchvision parses them, so a junk file is named with what
is wrong. CIFAR-10's local batch files are read by `cnnlab.data.cifar` (a pickle reader that runs no
code), without md5, so a subset or a re-packed copy can be used.
"""

from __future__ import annotations

import math
import socket
from pathlib import Path

import torch
import torchvision

from cnnlab.data import cifar
from cnnlab.errors import ConfigError

DOWNLOAD_TIMEOUT = 10.0
IDX_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
             "t10k-labels-idx1-ubyte")
# IDX magic numbers: unsigned bytes (0x08) with 3 dimensions (images) or 1 (labels).
IDX_MAGIC = {3: 0x00000803, 1: 0x00000801}


# name -> (torchvision class (downloads), folder under the data dir, files expected there)
SOURCES: dict[str, tuple[type, str, tuple[str, ...]]] = {
    "fashion-mnist": (torchvision.datasets.FashionMNIST, "FashionMNIST/raw", IDX_FILES),
    "mnist": (torchvision.datasets.MNIST, "MNIST/raw", IDX_FILES),
    "cifar10": (torchvision.datasets.CIFAR10, cifar.FOLDER, cifar.FILES),
}


def files_present(name: str, root: Path) -> bool:
    _, folder, files = SOURCES[name]
    return all((root / folder / file).is_file() for file in files)


def split_sizes(name: str, root: Path) -> tuple[int, int] | None:
    """(training, test) examples in the files under `root`, None if some are missing. MNIST-like sets:
    the count in each images file's IDX header; CIFAR-10: the labels of its batch files."""
    if not files_present(name, root):
        return None
    _, folder, files = SOURCES[name]
    if files == IDX_FILES:
        return tuple(_idx_count(root / folder / f) for f in IDX_FILES[::2])  # the two images files
    return tuple(len(cifar.load(root / folder, train)[1]) for train in (True, False))  # read safely


def _idx_count(path: Path) -> int:
    """Items in an IDX file: the big-endian 32-bit count after its 4-byte magic number."""
    with open(path, "rb") as handle:
        header = handle.read(8)
    if len(header) < 8:
        raise ConfigError(f"{path} is not an IDX file (too short); replace it with an intact copy")
    return int.from_bytes(header[4:8], "big")


def load(name: str, train: bool, root: Path, download: bool) -> tuple[torch.Tensor, torch.Tensor, tuple]:
    """(uint8 images N x C x H x W, int64 labels, class names) of one split."""
    cls, folder, files = SOURCES[name]
    where = root / folder
    if not files_present(name, root):
        if not download:
            raise ConfigError(_missing(name, where, files, "downloading is off"))
        _download(cls, name, root, where, files)
    if name == "cifar10":
        return cifar.load(where, train)
    for file in files[:2] if train else files[2:]:
        check_idx(name, where / file)
    try:
        dataset = cls(str(root), train=train, download=False)
    except Exception as exc:  # torchvision reports a bad file in several ways (ValueError, RuntimeError, ...)
        raise ConfigError(f"{name}: cannot read the files in {where}: {type(exc).__name__}: {exc}; "
                          "replace them with intact copies") from exc
    images = dataset.data.unsqueeze(1).contiguous()  # N x H x W -> N x 1 x H x W
    labels = torch.as_tensor(dataset.targets, dtype=torch.int64)
    return images, labels, tuple(str(c) for c in dataset.classes)


def check_idx(name: str, path: Path) -> None:
    """ConfigError unless `path` is an IDX file of unsigned bytes whose size matches its header."""
    ndim = 3 if "images" in path.name else 1
    with open(path, "rb") as f:
        header = f.read(4 + 4 * ndim)
    problem = None
    if len(header) < 4 + 4 * ndim:
        problem = f"is {path.stat().st_size} bytes, shorter than an IDX header"
    elif int.from_bytes(header[:4], "big") != IDX_MAGIC[ndim]:
        problem = (f"does not start with the IDX magic number 0x{IDX_MAGIC[ndim]:08x} "
                   f"(found 0x{header[:4].hex()})")
    else:
        dims = [int.from_bytes(header[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
        expected = 4 + 4 * ndim + math.prod(dims)
        if path.stat().st_size != expected:
            problem = (f"is {path.stat().st_size} bytes but its header ({' x '.join(map(str, dims))}) "
                       f"says {expected}")
    if problem:
        raise ConfigError(f"{name}: {path} {problem}: it is not an intact {path.name}; replace it with an "
                          "intact copy")


def _download(cls: type, name: str, root: Path, where: Path, files: tuple[str, ...]) -> None:
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(DOWNLOAD_TIMEOUT)
    try:
        cls(str(root), train=True, download=True)
    except Exception as exc:  # network errors surface as URLError, OSError or RuntimeError
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ConfigError(_missing(name, where, files, f"the download failed ({reason[:160]})")) from exc
    finally:
        socket.setdefaulttimeout(previous)


def _missing(name: str, where: Path, files: tuple[str, ...], why: str) -> str:
    return (f"dataset {name} not found in {where} and {why}; put {', '.join(files)} there "
            "(or point --data-dir / CNNLAB_DATA at a folder that has them; see docs/DATASETS.md)")
