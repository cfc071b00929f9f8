"""Fashion-MNIST, MNIST and CIFAR-10 in torchvision's layout, downloaded by torchvision's own classes.

Files are read from `<data dir>/FashionMNIST/raw`, `<data dir>/MNIST/raw` and
`<data dir>/cifar-10-batches-py`, exactly where torchvision puts them; when they are missing and
downloading is allowed, torchvision downloads them, checking the archive's and every file's md5.

The files on disk are read by cnnlab itself, without md5, so a subset or a re-packed copy can be used:
IDX files by `cnnlab.data.idx` (a junk file is named with what is wrong), CIFAR-10's batches by
`cnnlab.data.cifar` (a pickle reader that runs no code). torchvision is imported only to download: a
training worker that reads its data from disk does not need it.
"""

from __future__ import annotations

import socket
from pathlib import Path

import torch

from cnnlab.data import cifar, idx
from cnnlab.errors import ConfigError

DOWNLOAD_TIMEOUT = 10.0
IDX_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
             "t10k-labels-idx1-ubyte")
# The class names torchvision's dataset classes give (CIFAR-10's come from its batches.meta).
MNIST_CLASSES = ("0 - zero", "1 - one", "2 - two", "3 - three", "4 - four", "5 - five", "6 - six",
                 "7 - seven", "8 - eight", "9 - nine")
FASHION_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                   "Ankle boot")

# name -> (the torchvision.datasets class that downloads it, folder under the data dir, files expected there)
SOURCES: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "fashion-mnist": ("FashionMNIST", "FashionMNIST/raw", IDX_FILES),
    "mnist": ("MNIST", "MNIST/raw", IDX_FILES),
    "cifar10": ("CIFAR10", cifar.FOLDER, cifar.FILES),
}
IDX_CLASSES = {"fashion-mnist": FASHION_CLASSES, "mnist": MNIST_CLASSES}


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
        return tuple(idx.count(root / folder / f) for f in IDX_FILES[::2])  # the two images files
    return tuple(len(cifar.load(root / folder, train)[1]) for train in (True, False))  # read safely


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
    images, labels = idx.read_split(name, *(where / file for file in (files[:2] if train else files[2:])))
    return images, labels, IDX_CLASSES[name]


def _download(cls: str, name: str, root: Path, where: Path, files: tuple[str, ...]) -> None:
    import torchvision  # only here: importing it takes a second that reading files from disk does not need

    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(DOWNLOAD_TIMEOUT)
    try:
        getattr(torchvision.datasets, cls)(str(root), train=True, download=True)
    except Exception as exc:  # network errors surface as URLError, OSError or RuntimeError
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ConfigError(_missing(name, where, files, f"the download failed ({reason[:160]})")) from exc
    finally:
        socket.setdefaulttimeout(previous)


def _missing(name: str, where: Path, files: tuple[str, ...], why: str) -> str:
    return (f"dataset {name} not found in {where} and {why}; put {', '.join(files)} there "
            "(or point --data-dir / CNNLAB_DATA at a folder that has them; see docs/DATASETS.md)")
