"""Each family's default recipe: one definition for the CLI and the Train page, and the warning that
names a run that cannot leave chance in its steps, with the fix."""

import pytest

from cnnlab.analysis import analyze
from cnnlab.cli import build_parser
from cnnlab.cli.train import run_config_from_args
from cnnlab.families import PRESETS
from cnnlab.spec import model_config
from cnnlab.train.config import RunConfig, fit_input
from cnnlab.train.recipes import chance_warning, recipe_for, steps_to_leave_chance, with_recipe

LENET = model_config("lenet")
VGG11_4 = model_config("vgg11", width_divisor=4)
RESNET18 = model_config("resnet18")


@pytest.mark.parametrize(("model", "dataset", "expected"), [
    (LENET, "mnist", {"optimizer": "adam", "lr": 0.003, "batch_size": 16, "resize": None}),
    (VGG11_4, "mnist", {"optimizer": "adam", "lr": 0.001, "batch_size": 64, "resize": 64}),
    (RESNET18, "mnist", {"optimizer": "adam", "lr": 0.001, "batch_size": 64, "resize": 32}),
    (RESNET18, "cifar10", {"optimizer": "adam", "lr": 0.001, "batch_size": 64, "resize": None}),  # 32 px
])
def test_each_family_has_its_recipe_at_its_suggested_size(model, dataset, expected):
    assert recipe_for(model, dataset) == expected


@pytest.mark.parametrize("dataset", ["mnist", "cifar10"])
def test_every_preset_runs_at_its_suggested_size(dataset):
    """The suggested size is one each preset's layers accept (AlexNet needs at least 65 px)."""
    sides = {"lenet": {"mnist": 28, "cifar10": 32}, "alexnet": 96, "vgg": 64, "resnet": 32}
    for name, spec in PRESETS.items():
        model = model_config(name)
        recipe = recipe_for(model, dataset)
        fitted = fit_input(model, dataset, recipe["resize"])
        side = sides[spec.family]
        assert fitted.input.height == (side[dataset] if isinstance(side, dict) else side), name
        assert analyze(fitted).totals.macs > 0, name  # every layer fits its input (a ConfigError if not)


def test_given_values_win_and_another_optimiser_brings_its_own_rate():
    assert with_recipe(LENET, "mnist", {"batch_size": 32}) == \
        {"optimizer": "adam", "lr": 0.003, "batch_size": 32, "resize": None}
    assert with_recipe(LENET, "mnist", {"optimizer": "sgd"})["lr"] is None  # sgd's default, not adam's 0.003
    assert with_recipe(LENET, "mnist", {"optimizer": "sgd", "lr": 0.9})["lr"] == 0.9
    assert with_recipe(VGG11_4, "mnist", {"resize": 96})["resize"] == 96


def cli(*argv: str) -> RunConfig:
    return run_config_from_args(build_parser().parse_args(["train", *argv]))


def test_the_cli_defaults_are_the_recipe_the_page_reads():
    for argv, model in ((("lenet",), LENET), (("vgg11", "--width-divisor", "4"), VGG11_4),
                        (("resnet18",), RESNET18)):
        recipe = recipe_for(model, "mnist")
        page = RunConfig(model=fit_input(model, "mnist", recipe["resize"]), dataset="mnist", **recipe)
        assert cli(*argv, "--dataset", "mnist") == page
    assert cli("vgg11", "--width-divisor", "4", "--dataset", "mnist").model.input.as_tuple() == (1, 64, 64)
    given = cli("lenet", "--dataset", "mnist", "--optimizer", "sgd", "--batch-size", "256")
    assert (given.optimizer, given.lr, given.batch_size) == ("sgd", 0.05, 256)
    asked = cli("vgg11", "--width-divisor", "4", "--dataset", "mnist", "--input", "1x96x96", "--resize", "96")
    assert asked.resize == 96 and asked.model.input.as_tuple() == (1, 96, 96)  # not the suggested 64


def lenet_on_mnist(**values) -> RunConfig:
    return RunConfig(model=fit_input(LENET, "mnist"), dataset="mnist", **values)


def test_the_steps_a_run_needs_scale_with_a_smaller_rate_only():
    # LeNet with Adam at 0.003 left chance after 160 steps (docs/BENCHMARKS.md).
    assert steps_to_leave_chance(lenet_on_mnist(optimizer="adam", lr=0.003)) == 160
    assert steps_to_leave_chance(lenet_on_mnist(optimizer="adamw", lr=0.001)) == 480  # 160 × 3
    assert steps_to_leave_chance(lenet_on_mnist(optimizer="adam", lr=0.01)) == 160  # not counted faster
    assert steps_to_leave_chance(lenet_on_mnist(optimizer="sgd", lr=0.05)) == 7200  # 400 × 0.9 / 0.05
    vgg = RunConfig(model=fit_input(VGG11_4, "mnist", 64), dataset="mnist", resize=64, optimizer="sgd")
    assert steps_to_leave_chance(vgg) is None  # not measured: no warning is made up


def test_the_lecturers_run_is_named_before_launch_with_the_fix():
    # Adam 0.01, batch 128, 3 epochs of the 4,000 images: 32 steps an epoch, 96 in all.
    warning = chance_warning(lenet_on_mnist(optimizer="adam", lr=0.01, batch_size=128, epochs=3), 4000)
    assert warning == ("This run stays at chance: 96 steps (3 epochs of 32 batches of 128) are fewer than "
                       "the 160 that lenet with adam at lr 0.01 needs to leave chance. Try at least 5 "
                       "epochs, a batch size of 64 or less or its recipe (adam, lr 0.003, batch size 16).")
    sgd = chance_warning(lenet_on_mnist(optimizer="sgd", batch_size=128, epochs=10), 4000)
    assert sgd == ("This run stays at chance: 320 steps (10 epochs of 32 batches of 128) are fewer than the "
                   "7200 that lenet with sgd at lr 0.05 needs to leave chance. Try at least 225 epochs, a "
                   "batch size of 4 or less, lr 0.9 or its recipe (adam, lr 0.003, batch size 16).")


def test_the_recipe_and_enough_steps_draw_no_warning():
    recipe = recipe_for(LENET, "mnist")
    assert chance_warning(lenet_on_mnist(**recipe, epochs=1), 4000) is None  # 250 steps ≥ 160
    assert chance_warning(lenet_on_mnist(optimizer="adam", lr=0.01, batch_size=128, epochs=5), 4000) is None
    # The first 1,000 images at the recipe: 63 steps an epoch, so 2 epochs (126) are too few, 3 enough.
    assert chance_warning(lenet_on_mnist(**recipe, epochs=2, limit_train=1000), 4000).startswith(
        "This run stays at chance: 126 steps (2 epochs of 63 batches of 16) are fewer than the 160 ")
    assert chance_warning(lenet_on_mnist(**recipe, epochs=3, limit_train=1000), 4000) is None


def test_the_cli_names_a_run_that_stays_at_chance_and_trains_it(tmp_path, capsys):
    from cnnlab.cli import main

    # 256 images in batches of 64, 1 epoch: 4 steps, fewer than LeNet's 160 at Adam 0.01.
    status = main(["train", "lenet", "--dataset", "shapes", "--limit-train", "256", "--limit-test", "64",
                   "--batch-size", "64", "--epochs", "1", "--optimizer", "adam", "--lr", "0.01",
                   "--device", "cpu", "--speed", "fixed", "--home", str(tmp_path)])
    err = capsys.readouterr().err
    assert status == 0
    assert ("cnnlab: warning: This run stays at chance: 4 steps (1 epoch of 4 batches of 64) are fewer than "
            "the 160 that lenet with adam at lr 0.01 needs to leave chance. Try at least 40 epochs, a batch "
            "size of 1 or its recipe (adam, lr 0.003, batch size 16).\n") in err
