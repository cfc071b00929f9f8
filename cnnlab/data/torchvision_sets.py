"""Fashion-MNIST, MNIST and CIFAR-10 through torchvision's own dataset classes.

Files are read from `<data dir>/FashionMNIST/raw`, `<data dir>/MNIST/raw` and
`<data dir>/cifar-10-batches-py`, exactly where torchvision puts them; when they are missing and
downloading is allowed, torchvision downloads (and md5-checks) them.

CIFAR-10: torchvision also checks the md5 of every local batch file. cnnlab loads local batch files
that are present without that check (torchvision still parses them), so a subset or a re-packed copy
can be used; downloads are still verified by torchvision against the archive's md5.
"""

from __future__ import annotations

import socket
from pathlib import Path

import torch
import torchvision

from cnnlab.errors import ConfigError

DOWNLOAD_TIMEOUT = 10.0
IDX_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
             "t10k-labels-idx1-ubyte")
_CIFAR = torchvision.datasets.CIFAR10
CIFAR_FILES = (*(name for name, _ in _CIFAR.train_list + _CIFAR.test_list), _CIFAR.meta["filename"])


class LocalCIFAR10(_CIFAR):
    """torchvision's CIFAR-10, checking that local batch files exist rather than their md5."""

    train_list = [[name, None] for name, _ in _CIFAR.train_list]
    test_list = [[name, None] for name, _ in _CIFAR.test_list]
    meta = {**_CIFAR.meta, "md5": None}


# name -> (torchvision class, folder under the data dir, files expected there)
SOURCES: dict[str, tuple[type, str, tuple[str, ...]]] = {
    "fashion-mnist": (torchvision.datasets.FashionMNIST, "FashionMNIST/raw", IDX_FILES),
    "mnist": (torchvision.datasets.MNIST, "MNIST/raw", IDX_FILES),
    "cifar10": (LocalCIFAR10, LocalCIFAR10.base_folder, CIFAR_FILES),
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
    return tuple(len(LocalCIFAR10(str(root), train=train, download=False).targets) for train in (True, False))


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
    try:
        dataset = cls(str(root), train=train, download=False)
    except Exception as exc:  # torchvision reports a bad file in several ways (ValueError, RuntimeError, ...)
        raise ConfigError(f"{name}: cannot read the files in {where}: {type(exc).__name__}: {exc}; "
                          "replace them with intact copies") from exc
    data = dataset.data
    if isinstance(data, torch.Tensor):  # MNIST-like: N x H x W
        images = data.unsqueeze(1).contiguous()
    else:  # CIFAR: numpy N x H x W x C
        images = torch.from_numpy(data).permute(0, 3, 1, 2).contiguous()
    labels = torch.as_tensor(dataset.targets, dtype=torch.int64)
    return images, labels, tuple(str(c) for c in dataset.classes)


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
