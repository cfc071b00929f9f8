"""The class-score map: each window's scores are the classifier's on that crop; a trained LeNet slid over
a 2×2 mosaic of MNIST test digits names the digit under each window."""

import os
from pathlib import Path

import numpy as np
import pytest
import torch

from cnnlab import ConfigError, model_config
from cnnlab.fc_as_conv import class_score_map, mosaic
from cnnlab.inspect import dataset_images, from_run, initial
from cnnlab.runs import service
from cnnlab.spec import InputSpec
from cnnlab.train.config import RunConfig, fit_input

DATA = os.environ.get("CNNLAB_TEST_DATA")


def test_each_windows_scores_are_the_classifier_on_that_crop():
    # No padding anywhere, so window (i, j) computes exactly what the network computes on the crop at
    # (2i, 2j): a 5×5 conv and a 2×2 pool give a total stride of 2.
    config = model_config("seq:c5-6,relu,m2,fc32,relu,fc10", input="1x16x16")
    model = initial(config, seed=3).model
    picture = torch.rand(1, 24, 30, generator=torch.Generator().manual_seed(0))
    scores = class_score_map(model, config.input, picture)
    assert scores.jump == (2, 2) and scores.window == (16, 16)
    assert scores.scores.shape == (10, (24 - 16) // 2 + 1, (30 - 16) // 2 + 1)  # 5 × 8 windows
    with torch.no_grad():
        for i, j in [(0, 0), (2, 5), (4, 7)]:
            crop = picture[:, 2 * i:2 * i + 16, 2 * j:2 * j + 16]
            np.testing.assert_allclose(scores.scores[:, i, j], model(crop[None])[0].numpy(), atol=1e-5)
            assert scores.box(i, j) == (2 * i, 2 * j, 2 * i + 15, 2 * j + 15)
    cls = 4
    best = scores.best(cls)
    assert scores.scores[cls][best] == scores.scores[cls].max()
    assert (scores.argmax == scores.scores.argmax(axis=0)).all()
    fig = scores.figure(cls)
    [outline] = [s for s in fig.layout.shapes if s.name == "best window"]
    top, left, bottom, right = scores.box(*best)
    assert (outline.y0, outline.x0) == (top - 0.5, left - 0.5)
    assert (outline.y1, outline.x1) == (bottom + 0.5, right + 0.5)


def test_a_picture_smaller_than_the_training_input_is_refused():
    config = model_config("lenet")
    with pytest.raises(ConfigError, match=r"^the picture \(1×20×40\) must have the training input's 1 "
                                          r"channel\(s\) and be at least 28×28$"):
        class_score_map(initial(config).model, config.input, torch.zeros(1, 20, 40))


def test_a_mosaic_tiles_images_row_by_row():
    images = torch.arange(4.0).reshape(4, 1, 1, 1).expand(4, 1, 2, 2)
    assert mosaic(images, 2, 2)[0].tolist() == [[0, 0, 1, 1], [0, 0, 1, 1], [2, 2, 3, 3], [2, 2, 3, 3]]


@pytest.mark.slow
@pytest.mark.mnist
@pytest.mark.skipif(not DATA or not (Path(DATA) / "MNIST" / "raw").is_dir(),
                    reason="MNIST subset absent: set CNNLAB_TEST_DATA to a folder holding MNIST/raw")
def test_a_trained_lenet_finds_each_digit_of_a_mosaic(tmp_path):
    config = RunConfig(model=fit_input(model_config("lenet"), "mnist"), dataset="mnist", data_dir=DATA,
                       device="cpu", optimizer="adam", lr=0.01, batch_size=64, epochs=4, save_weights=True)
    run_id = service.create_run(config, home=tmp_path)
    assert service.execute(run_id, home=tmp_path).status == "done"
    subject = from_run(run_id, tmp_path)
    digits = dataset_images("mnist", 4, InputSpec(1, 28, 28), DATA)
    labels = mnist_labels(4)
    picture = mosaic(digits, 2, 2)  # 56×56: digit k's window starts at (28·(k // 2), 28·(k % 2))
    scores = class_score_map(subject.model, subject.input, picture)
    assert scores.jump == (4, 4)  # LeNet's two 2×2 pools: windows every 4 pixels, 8×8 of them
    found = [int(scores.argmax[28 * (k // 2) // 4, 28 * (k % 2) // 4]) for k in range(4)]
    assert sum(f == label for f, label in zip(found, labels, strict=True)) >= 3, (found, labels)


def mnist_labels(count: int) -> list[int]:
    """The first `count` MNIST test labels, read from the dataset's own files."""
    from cnnlab.data import load_split

    return load_split("mnist", False, DATA, download=False, limit=count).labels[:count].tolist()
