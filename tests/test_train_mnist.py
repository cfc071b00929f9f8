"""LeNet on the real MNIST subset (4,000 training / 1,000 test images) in `$CNNLAB_TEST_DATA/MNIST/raw`."""

import os
import statistics
from pathlib import Path

import pytest

from cnnlab.cli import build_parser
from cnnlab.cli.train import run_config_from_args
from cnnlab.spec import model_config
from cnnlab.train.config import RunConfig, fit_input
from cnnlab.train.fit import fit
from cnnlab.train.recipes import recipe_for

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


@pytest.mark.slow
def test_the_default_recipe_trains_lenet_past_88_percent_in_3_epochs():
    """What `cnnlab train lenet --dataset mnist --epochs 3` and the Train page start from (the family's
    recipe: Adam, lr 0.003, batch 16), nothing else changed: median of 3 seeds ≥ 0.88 (the issue's bar;
    the page's defaults before, Adam 0.01 in batches of 128, stayed at chance: 0.163)."""
    assert recipe_for(model_config("lenet"), "mnist") == {"optimizer": "adam", "lr": 0.003, "batch_size": 16,
                                                          "resize": None}
    accuracies = []
    for seed in range(3):
        argv = ["train", "lenet", "--dataset", "mnist", "--epochs", "3", "--data-dir", DATA, "--seed",
                str(seed)]
        config = run_config_from_args(build_parser().parse_args(argv))
        assert (config.optimizer, config.lr, config.batch_size) == ("adam", 0.003, 16)
        result = fit(config.replace(device="cpu"))
        assert result.status == "done" and result.steps == 3 * 250  # 4,000 images in batches of 16
        accuracies.append(result.final_test_acc)
    assert statistics.median(accuracies) >= 0.88, accuracies
