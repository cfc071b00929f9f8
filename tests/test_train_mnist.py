"""LeNet on the real MNIST subset (4,000 training / 1,000 test images) in `$CNNLAB_TEST_DATA/MNIST/raw`."""

import os
from pathlib import Path

import pytest

from cnnlab.spec import model_config
from cnnlab.train.config import RunConfig, fit_input
from cnnlab.train.fit import fit

DATA = os.environ.get("CNNLAB_TEST_DATA")
pytestmark = [
    pytest.mark.slow,  # real training, epochs of it
    pytest.mark.mnist,
    pytest.mark.skipif(not DATA or not (Path(DATA) / "MNIST" / "raw").is_dir(),
                       reason="MNIST subset absent: set CNNLAB_TEST_DATA to a folder holding MNIST/raw"),
]


def lenet_on_mnist(**changes) -> RunConfig:
    return RunConfig(model=fit_input(model_config("lenet"), "mnist"), dataset="mnist", data_dir=DATA,
                     device="cpu", **changes)


def test_lenet_recipe_reaches_80_percent_within_10_epochs():
    """The documented recipe (docs/TRAINING.md): Adam, lr 0.01, batch 64, 10 epochs."""
    result = fit(lenet_on_mnist(optimizer="adam", lr=0.01, batch_size=64, epochs=10))
    assert result.status == "done" and result.final_test_acc >= 0.8, result


def test_textbook_sgd_recipe_barely_moves_in_160_steps():
    """The textbook's sigmoid LeNet with SGD lr 0.9, batch 256: 16 steps per epoch on this subset."""
    result = fit(lenet_on_mnist(optimizer="sgd", lr=0.9, batch_size=256, epochs=10))
    assert result.status == "done" and result.steps == 160 and result.final_test_acc < 0.5
