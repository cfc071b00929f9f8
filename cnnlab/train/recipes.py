"""Each family's default training recipe, and the check that a run can leave chance in its steps.

A recipe is the optimiser, learning rate, batch size and image size a first run of the family takes on
the datasets cnnlab offers; `cnnlab train` and the Train page both start from `recipe_for` (one
definition), the user's own values taking precedence (`with_recipe`). The figures behind each row are in
docs/BENCHMARKS.md ("Default recipes and no dead air"), measured on the MNIST subset (4,000 training images).

`chance_warning` names a run that cannot leave chance in its number of steps, with the fix: the steps a
family needs to leave chance (measured at the recipe's rate; a smaller rate needs proportionally more,
a larger one is not counted as faster), against the steps the run will take.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from cnnlab.data import dataset_info, split_sizes
from cnnlab.spec import ModelConfig
from cnnlab.train.config import RunConfig
from cnnlab.train.options import OPTIONS

RECIPE_OPTIONS = ("optimizer", "lr", "batch_size", "resize")  # what a recipe sets; the rest: OPTIONS


@dataclass(frozen=True)
class Recipe:
    """A family's first-run values. `size`: the image side it suggests (None: the dataset's own).
    `leaves_chance`: per optimiser, (learning rate, steps): at that rate the family's loss was measured to
    leave chance (below 2.0, chance being ln 10 ≈ 2.30) after that many steps."""

    optimizer: str
    lr: float
    batch_size: int
    size: int | None = None
    leaves_chance: dict[str, tuple[float, int]] = field(default_factory=dict)


RECIPES: dict[str, Recipe] = {
    # The textbook's sigmoid LeNet: Adam at 0.003 in batches of 16 (250 steps an epoch on the subset)
    # leaves chance after about 160 steps; at batch 128 and 0.01 it stayed at chance for 3 epochs (96
    # steps). With SGD at the textbook's 0.9 it was still at chance after 160 steps; 400 is assumed
    # from the textbook's curve (it leaves chance in its second epoch of 235 steps).
    "lenet": Recipe("adam", 0.003, 16, None, {"adam": (0.003, 160), "sgd": (0.9, 400)}),
    # No batch norm: Adam at 1e-3. AlexNet needs at least 65 px: 96 (the textbook's 224 is 5× the work).
    "alexnet": Recipe("adam", 1e-3, 64, 96),
    # VGG-11/4 at 64 px left chance after 70 steps (test acc 0.899 after 2 epochs, 126 steps).
    # 64 px keeps a CPU epoch short (the textbook's 224 px is 12× the work).
    "vgg": Recipe("adam", 1e-3, 64, 64, {"adam": (1e-3, 70)}),
    # Batch norm: ResNet-18 at 32 px (CIFAR's size) left chance within 4 steps (0.80 after 1 epoch).
    "resnet": Recipe("adam", 1e-3, 64, 32, {"adam": (1e-3, 4)}),
    "seq": Recipe("adam", 1e-3, 64),
    "tv": Recipe("adam", 1e-3, 64, 64),
}
FALLBACK = Recipe("adam", 1e-3, 64)  # a family without a row (one registered at run time)


def recipe_of(model: ModelConfig) -> Recipe:
    """The recipe of `model`'s family."""
    return RECIPES.get(model.arch.family, FALLBACK)


def recipe_for(model: ModelConfig, dataset: str) -> dict[str, Any]:
    """The default values of RECIPE_OPTIONS for a first run of `model` on `dataset`: `resize` is None
    where the suggested size is the dataset's own."""
    recipe = recipe_of(model)
    native = dataset_info(OPTIONS["dataset"].validate(dataset))["size"]
    resize = None if recipe.size in (None, native) else recipe.size
    return {"optimizer": recipe.optimizer, "lr": recipe.lr, "batch_size": recipe.batch_size, "resize": resize}


def with_recipe(model: ModelConfig, dataset: str, given: dict[str, Any]) -> dict[str, Any]:
    """`given` (None: not given) completed from the recipe; a learning rate not given with an optimiser
    other than the recipe's stays None: RunConfig gives it that optimiser's default (DEFAULT_LR)."""
    recipe = recipe_for(model, dataset)
    values = {name: recipe[name] if given.get(name) is None else given[name] for name in RECIPE_OPTIONS}
    if given.get("lr") is None and values["optimizer"] != recipe["optimizer"]:
        values["lr"] = None
    return values


def steps_to_leave_chance(config: RunConfig) -> int | None:
    """The fewest steps in which `config` can leave chance, by its family's measurement for its
    optimiser (adamw counts as adam); None where none was measured."""
    measured = recipe_of(config.model).leaves_chance
    optimizer = "adam" if config.optimizer == "adamw" else config.optimizer
    if optimizer not in measured:
        return None
    lr, steps = measured[optimizer]
    return math.ceil(steps * max(1.0, lr / config.lr))


def chance_warning(config: RunConfig, train_examples: int | None = None) -> str | None:
    """A sentence naming why `config` cannot leave chance in its steps and the fix (more epochs, a
    smaller batch, another learning rate), or None. `train_examples`: the training split's size (by
    default what the data folder holds, cut to `limit_train`)."""
    needed = steps_to_leave_chance(config)
    if needed is None:
        return None
    if train_examples is None:
        sizes = split_sizes(config.dataset, config.data_dir)
        if sizes is None:
            return None
        train_examples = sizes[0]
    if config.limit_train:
        train_examples = min(train_examples, config.limit_train)
    per_epoch = math.ceil(train_examples / config.batch_size)
    steps = config.epochs * per_epoch
    if steps >= needed:
        return None
    family = config.model.arch.family
    recipe = recipe_of(config.model)
    fixes = [f"at least {math.ceil(needed / per_epoch)} epochs" if math.ceil(needed / per_epoch) <= 1000
             else None]
    batch = train_examples * config.epochs // needed
    if batch >= 1 and batch < config.batch_size:
        most = _power_of_two_at_most(batch)
        fixes.append("a batch size of 1" if most == 1 else f"a batch size of {most} or less")
    measured_lr = recipe.leaves_chance["adam" if config.optimizer == "adamw" else config.optimizer][0]
    if config.lr < measured_lr:
        fixes.append(f"lr {measured_lr:g}")
    if config.optimizer != recipe.optimizer or config.lr != recipe.lr:
        fixes.append(f"its recipe ({recipe.optimizer}, lr {recipe.lr:g}, batch size {recipe.batch_size})")
    what = f"{config.optimizer} at lr {config.lr:g}"
    epochs = f"{config.epochs} epoch{'' if config.epochs == 1 else 's'}"
    return (f"This run stays at chance: {steps} steps ({epochs} of {per_epoch} batches of "
            f"{config.batch_size}) are fewer than the {needed} that {family} with {what} needs to leave "
            f"chance. Try {_either(fixes)}.")


def _power_of_two_at_most(n: int) -> int:
    return 1 << (n.bit_length() - 1)


def _either(fixes: list[str | None]) -> str:
    named = [f for f in fixes if f]
    return named[0] if len(named) == 1 else ", ".join(named[:-1]) + f" or {named[-1]}"
