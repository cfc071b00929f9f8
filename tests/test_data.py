"""Datasets through the code path users get: real files in torchvision's on-disk formats."""

import os
import pickle
import re
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torchvision
from hypothesis import given, settings
from hypothesis import strategies as st

from cnnlab.data import (
    DATASET_NAMES,
    DeviceLoader,
    TensorData,
    available_datasets,
    channel_stats,
    dataset_info,
    load_split,
    resolve_data_dir,
    split_sizes,
)
from cnnlab.data.builtin import CLASSES
from cnnlab.errors import ConfigError

MNIST_ROOT = os.environ.get("CNNLAB_TEST_DATA")
needs_mnist = pytest.mark.skipif(
    not MNIST_ROOT or not (Path(MNIST_ROOT) / "MNIST" / "raw").is_dir(),
    reason="the MNIST subset is not here: set CNNLAB_TEST_DATA to a folder with MNIST/raw "
           "(.ci/run points it at ../shared/datasets)")


def write_idx(path: Path, array: np.ndarray) -> None:
    """IDX as LeCun defines it: zero bytes, type 0x08 (uint8), rank, big-endian sizes, then the data."""
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    path.write_bytes(header + array.astype(np.uint8).tobytes())


def make_fashion_mnist(root: Path, rng: np.random.Generator) -> dict[str, np.ndarray]:
    raw = root / "FashionMNIST" / "raw"
    raw.mkdir(parents=True)
    arrays = {"train-images-idx3-ubyte": rng.integers(0, 256, (12, 28, 28)),
              "train-labels-idx1-ubyte": rng.integers(0, 10, 12),
              "t10k-images-idx3-ubyte": rng.integers(0, 256, (5, 28, 28)),
              "t10k-labels-idx1-ubyte": rng.integers(0, 10, 5)}
    for name, array in arrays.items():
        write_idx(raw / name, array)
    return arrays


def test_fashion_mnist_loads_from_idx_files_exactly(tmp_path):
    arrays = make_fashion_mnist(tmp_path, np.random.default_rng(1))
    train = load_split("fashion-mnist", True, tmp_path, download=False)
    test = load_split("fashion-mnist", False, tmp_path, download=False, limit=3)
    assert train.shape == (1, 28, 28) and train.images.dtype == torch.uint8
    assert np.array_equal(train.images[:, 0].numpy(), arrays["train-images-idx3-ubyte"])
    assert train.labels.tolist() == arrays["train-labels-idx1-ubyte"].tolist()
    assert np.array_equal(test.images[:, 0].numpy(), arrays["t10k-images-idx3-ubyte"][:3])
    assert train.classes[0] == "T-shirt/top" and available_datasets(tmp_path)["fashion-mnist"]


def make_cifar(root: Path, rng: np.random.Generator) -> dict[str, tuple[np.ndarray, list[int]]]:
    """CIFAR-10's python batches: dicts with 'data' (N x 3072 uint8: R plane, G plane, B plane) and
    'labels', pickled; and batches.meta with 'label_names'."""
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    batches = {}
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        data = rng.integers(0, 256, (4, 3072)).astype(np.uint8)
        labels = rng.integers(0, 10, 4).tolist()
        with open(folder / name, "wb") as f:
            pickle.dump({"batch_label": name, "data": data, "labels": labels, "filenames": []}, f, protocol=2)
        batches[name] = (data, labels)
    names = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
    with open(folder / "batches.meta", "wb") as f:
        pickle.dump({"label_names": names, "num_cases_per_batch": 4, "num_vis": 3072}, f, protocol=2)
    return batches


def test_cifar10_loads_from_python_batches_with_channels_in_order(tmp_path):
    batches = make_cifar(tmp_path, np.random.default_rng(2))
    train = load_split("cifar10", True, tmp_path, download=False)
    test = load_split("cifar10", False, tmp_path, download=False)
    assert len(train) == 20 and len(test) == 4 and train.shape == (3, 32, 32)
    first, labels = batches["data_batch_1"]
    # Image 0, channel 1 (green) is the second 1024 bytes of its row, row-major.
    assert np.array_equal(train.images[0, 1].numpy(), first[0, 1024:2048].reshape(32, 32))
    assert np.array_equal(test.images[3, 2].numpy(), batches["test_batch"][0][3, 2048:].reshape(32, 32))
    assert train.labels[:4].tolist() == labels and train.classes[-1] == "truck"


def test_missing_dataset_names_the_folder_and_files(tmp_path):
    with pytest.raises(ConfigError) as err:
        load_split("fashion-mnist", True, tmp_path)
    message = str(err.value)
    assert str(tmp_path / "FashionMNIST" / "raw") in message and "train-images-idx3-ubyte" in message
    assert "download failed" in message
    with pytest.raises(ConfigError, match="downloading is off.*data_batch_1"):
        load_split("cifar10", False, tmp_path, download=False)
    assert not available_datasets(tmp_path)["cifar10"]


@pytest.mark.parametrize(("content", "problem"), [
    (b"\x00\x00\x08\x03garbage", "is 11 bytes, shorter than an IDX header"),
    (b"junk" * 100, r"does not start with the IDX magic number 0x00000803 \(found 0x6a756e6b\)"),
    # a right header on too few pixels (torchvision's own check says only "AssertionError")
    (b"\x00\x00\x08\x03" + (2).to_bytes(4, "big") + (28).to_bytes(4, "big") * 2 + b"\x00" * 100,
     r"is 116 bytes but its header \(2 x 28 x 28\) says 1584"),
])
def test_a_junk_idx_file_is_named_with_what_is_wrong(tmp_path, content, problem):
    make_fashion_mnist(tmp_path, np.random.default_rng(3))
    path = tmp_path / "FashionMNIST" / "raw" / "train-images-idx3-ubyte"
    path.write_bytes(content)
    with pytest.raises(ConfigError, match=f"fashion-mnist: {re.escape(str(path))} {problem}: it is not an "
                                          "intact train-images-idx3-ubyte"):
        load_split("fashion-mnist", True, tmp_path, download=False)
    assert path.read_bytes() == content


class _Planted:
    """A pickle that, loaded by plain `pickle`, creates the file `marker`."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def test_a_planted_cifar_pickle_is_refused_without_running(tmp_path):
    make_cifar(tmp_path, np.random.default_rng(4))
    marker = tmp_path / "ran.txt"
    batch = tmp_path / "cifar-10-batches-py" / "data_batch_1"
    batch.write_bytes(pickle.dumps({"data": _Planted(marker), "labels": [1]}, protocol=2))
    with pytest.raises(ConfigError, match=r"data_batch_1 is not a CIFAR-10 batch file: it refers to "
                                          r"__builtin__.getattr, which a CIFAR-10 batch never holds"):
        load_split("cifar10", True, tmp_path, download=False)
    assert not marker.exists()
    pickle.loads(batch.read_bytes())  # the same file does run code through plain pickle
    assert marker.exists()


@pytest.mark.parametrize(("entry", "problem"), [
    ({"data": np.zeros((2, 100), np.uint8), "labels": [0, 1]}, "has no 'data' array of N x 3072 bytes"),
    ({"data": np.zeros((2, 3072), np.float32), "labels": [0, 1]}, "has no 'data' array of N x 3072 bytes"),
    ({"data": np.zeros((2, 3072), np.uint8), "labels": [0, 10]}, "has no list of 2 labels from 0 to 9"),
    ({"data": np.zeros((2, 3072), np.uint8), "labels": [0]}, "has no list of 2 labels from 0 to 9"),
    ([1, 2, 3], "has no 'data' array"),
])
def test_a_cifar_batch_of_the_wrong_shape_is_named(tmp_path, entry, problem):
    make_cifar(tmp_path, np.random.default_rng(5))
    (tmp_path / "cifar-10-batches-py" / "test_batch").write_bytes(pickle.dumps(entry, protocol=2))
    with pytest.raises(ConfigError, match=f"cifar10: .*test_batch {re.escape(problem)}"):
        load_split("cifar10", False, tmp_path, download=False)


def test_a_truncated_cifar_batch_is_named(tmp_path):
    make_cifar(tmp_path, np.random.default_rng(6))
    path = tmp_path / "cifar-10-batches-py" / "data_batch_3"
    path.write_bytes(path.read_bytes()[:500])
    with pytest.raises(ConfigError, match="data_batch_3 is not a CIFAR-10 batch file"):
        load_split("cifar10", True, tmp_path, download=False)


def test_unknown_dataset_lists_the_choices():
    with pytest.raises(ConfigError, match="unknown dataset 'imagenet'; choose one of shapes"):
        load_split("imagenet", True)
    assert [dataset_info(n)["channels"] for n in DATASET_NAMES] == [1, 3, 1, 1, 3]


def test_data_dir_comes_from_the_argument_then_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("CNNLAB_DATA", str(tmp_path / "env"))
    assert resolve_data_dir() == tmp_path / "env"
    assert resolve_data_dir(tmp_path / "arg") == tmp_path / "arg"
    monkeypatch.delenv("CNNLAB_DATA")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert resolve_data_dir() == tmp_path / "cache" / "cnnlab" / "data"


@needs_mnist
def test_the_real_mnist_subset_loads_as_torchvision_reads_it():
    train = load_split("mnist", True, MNIST_ROOT, download=False)
    test = load_split("mnist", False, MNIST_ROOT, download=False)
    assert (len(train), len(test)) == (4000, 1000) and train.shape == (1, 28, 28)
    assert sorted(train.labels.unique().tolist()) == list(range(10))
    assert 20 < train.images.float().mean() < 60  # ink on black, as MNIST is
    for split, ours in ((True, train), (False, test)):
        theirs = torchvision.datasets.MNIST(MNIST_ROOT, train=split, download=False)
        assert torch.equal(ours.images[:, 0], theirs.data) and torch.equal(ours.labels, theirs.targets)
        assert ours.classes == tuple(theirs.classes)


def test_fashion_mnist_reads_as_torchvision_reads_it(tmp_path):
    make_fashion_mnist(tmp_path, np.random.default_rng(6))
    ours = load_split("fashion-mnist", False, tmp_path, download=False)
    theirs = torchvision.datasets.FashionMNIST(str(tmp_path), train=False, download=False)
    assert torch.equal(ours.images[:, 0], theirs.data) and torch.equal(ours.labels, theirs.targets)
    assert ours.classes == tuple(theirs.classes)


def test_images_and_labels_that_disagree_in_number_are_named(tmp_path):
    make_fashion_mnist(tmp_path, np.random.default_rng(7))
    raw = tmp_path / "FashionMNIST" / "raw"
    write_idx(raw / "train-labels-idx1-ubyte", np.zeros(11))  # 12 images
    with pytest.raises(ConfigError, match=f"fashion-mnist: {re.escape(str(raw / 'train-images-idx3-ubyte'))} "
                                          "holds 12 images but .*train-labels-idx1-ubyte 11 labels"):
        load_split("fashion-mnist", True, tmp_path, download=False)


def test_a_worker_reading_its_data_from_disk_never_imports_torchvision():
    """Importing torchvision costs a run's worker a second before its first point (see cnnlab.data.idx)."""
    code = ("import sys, cnnlab.cli.train, cnnlab.runs.executors.local, cnnlab.train.provenance as p; "
            "p.provenance(__import__('torch').device('cpu')); print('torchvision' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True).stdout.strip() == "False"


def test_builtin_shapes_are_deterministic_and_balanced():
    a, b = load_split("shapes", True), load_split("shapes", True)
    assert a.images.data_ptr() == b.images.data_ptr()  # cached in-process
    from cnnlab.data.builtin import generate
    generate.cache_clear()
    c = load_split("shapes", True)
    assert torch.equal(a.images, c.images) and torch.equal(a.labels, c.labels)
    assert a.labels.bincount().tolist() == [600] * 10 and a.classes == CLASSES
    rgb = load_split("shapes-rgb", False)
    assert rgb.shape == (3, 32, 32) and len(rgb) == 1000
    # classes differ visibly: the mean image of each class is distinct
    means = torch.stack([a.images[a.labels == k].float().mean(0) for k in range(10)])
    assert torch.cdist(means.flatten(1), means.flatten(1)).fill_diagonal_(1e9).min() > 50


def tiny(n: int) -> TensorData:
    images = torch.arange(n, dtype=torch.int64).remainder(256).to(torch.uint8).view(n, 1, 1, 1).expand(
        n, 1, 4, 4).contiguous()
    return TensorData(images, torch.arange(n), tuple("ab"), "tiny")


@settings(max_examples=50, deadline=None)
@given(n=st.integers(1, 300), batch=st.integers(1, 64), seed=st.integers(0, 99))
def test_device_loader_visits_every_example_once_per_epoch(n, batch, seed):
    loader = DeviceLoader(tiny(n), batch, "cpu", shuffle=True, seed=seed)
    epochs = [[y for _, y in loader] for _ in range(2)]
    assert len(loader) == -(-n // batch)
    for batches in epochs:
        assert len(batches) == len(loader) and all(len(y) == batch for y in batches[:-1])
        assert sorted(torch.cat(batches).tolist()) == list(range(n))
    again = DeviceLoader(tiny(n), batch, "cpu", shuffle=True, seed=seed)
    assert torch.equal(torch.cat([y for _, y in again]), torch.cat(epochs[0]))


def test_device_loader_pairs_images_with_labels_resizes_and_normalises():
    data = tiny(100)
    loader = DeviceLoader(data, 32, "cpu", shuffle=True, seed=1)
    first, second = [torch.cat([y for _, y in loader]) for _ in range(2)]
    assert not torch.equal(first, second)  # a new order each epoch
    for x, y in loader:
        assert x.dtype == torch.float32 and torch.allclose(x[:, 0, 0, 0] * 255, y.float())
    up = DeviceLoader(data, 8, "cpu", shuffle=False, resize=20, channels_last=True)
    x, y = next(iter(up))
    assert x.shape == (8, 1, 20, 20) and x.is_contiguous(memory_format=torch.channels_last)
    assert torch.allclose(x[3], torch.full((1, 20, 20), 3 / 255))
    stats = channel_stats(data)
    x, _ = next(iter(DeviceLoader(data, 100, "cpu", shuffle=False, normalize=stats)))
    assert abs(x.mean().item()) < 1e-4 and abs(x.std().item() - 1) < 0.01
    other = tiny(50)  # another split is scaled with the given statistics, not its own
    x, _ = next(iter(DeviceLoader(other, 50, "cpu", shuffle=False, normalize=stats)))
    expected = (other.images.float() / 255 - stats[0].view(1, -1, 1, 1)) / stats[1].view(1, -1, 1, 1)
    assert torch.allclose(x, expected)
    with pytest.raises(ConfigError, match="batch size"):
        DeviceLoader(data, 0, "cpu", shuffle=False)


def test_split_sizes_count_what_the_files_hold(tmp_path):
    arrays = make_fashion_mnist(tmp_path, np.random.default_rng(4))
    expected = (len(arrays["train-labels-idx1-ubyte"]), len(arrays["t10k-labels-idx1-ubyte"]))
    assert split_sizes("fashion-mnist", tmp_path) == expected
    assert split_sizes("mnist", tmp_path) is None  # its files are missing
    assert split_sizes("shapes") == (6000, 1000)


@needs_mnist
def test_split_sizes_of_the_real_mnist_subset_match_what_loads():
    sizes = split_sizes("mnist", MNIST_ROOT)
    assert sizes == (len(load_split("mnist", True, MNIST_ROOT, download=False)),
                     len(load_split("mnist", False, MNIST_ROOT, download=False)))


def test_split_sizes_of_cifar_count_its_batches(tmp_path):
    make_cifar(tmp_path, np.random.default_rng(5))
    assert split_sizes("cifar10", tmp_path) == (20, 4)
