"""`cnnlab train`: train a model in the foreground (recorded in the run store) or launch it detached."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from cnnlab.cli.options import (
    CLUSTER_ADDRESSES,
    add_home_argument,
    add_model_arguments,
    make_model_optional,
    metavar,
    model_config_from_args,
    option_type,
)
from cnnlab.cli.progress import EpochBar
from cnnlab.errors import ConfigError
from cnnlab.spec import ModelConfig, with_options
from cnnlab.units import format_bytes, format_count

if TYPE_CHECKING:
    from cnnlab.train.config import RunConfig
    from cnnlab.train.options import TrainOption

PROGRESS_NAMES = {"train_loss": "loss", "train_acc": "train acc", "test_acc": "test acc",
                  "examples_per_sec": "examples/s"}


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("train", help="train a model; every run is recorded in the run store",
                            description="Train MODEL on a dataset. Runs in the foreground with a progress "
                                        "bar unless --background is given.")
    runs = add_run_arguments(parser)["run"]
    runs.add_argument("--name", help="a name for the run (default: MODEL on DATASET)")
    runs.add_argument("--repeats", type=int, default=1, metavar="N",
                      help="N runs with seeds SEED..SEED+N-1, one group (Compare draws its mean and band)")
    add_home_argument(runs)
    runs.add_argument("--cluster", metavar="ADDRESS",
                      help=f"train on an existing Ray cluster: {CLUSTER_ADDRESSES} "
                           "(default: this machine's queue)")
    runs.add_argument("--background", action="store_true", help="launch detached, print the run id, return")
    runs.add_argument("--run-id", type=int, help=argparse.SUPPRESS)  # the detached worker's form
    parser.set_defaults(func=run)


def add_run_arguments(parser: argparse.ArgumentParser) -> dict[str, argparse._ArgumentGroup]:
    """MODEL (optional: the detached worker's form has none), its options, and one flag per training
    option (cnnlab.train.options), in the option's help group; returns the groups by title."""
    from cnnlab.train.options import GROUPS, options
    from cnnlab.train.recipes import RECIPE_OPTIONS

    add_model_arguments(parser)
    make_model_optional(parser)
    groups = {title: parser.add_argument_group(title) for title in GROUPS}
    for option in options():
        recipe = option.name in RECIPE_OPTIONS  # None until the model and dataset are known
        text = _help(option, recipe)
        group = groups[option.group]
        if option.kind is bool:
            action = argparse.BooleanOptionalAction if option.default else "store_true"
            group.add_argument(option.flag, action=action, default=option.default, help=text)
        else:
            default = None if recipe else option.default
            group.add_argument(option.flag, type=option_type(option), default=default,
                               metavar=metavar(option), help=text)
    return groups


def _help(option: TrainOption, recipe: bool = False) -> str:
    """The option's help with what it takes and its default: 'passes over ... (a whole number from 1 to
    1,000; default 10)'; for an option the family's recipe sets, 'default: the model family's recipe'."""
    if option.kind is bool:
        return option.help + (" (default on)" if option.default else "")
    takes = "" if option.kind is str and not option.choices else f"{option.bounds()}; "
    default = "default: the model family's recipe (docs/TRAINING.md)" if recipe else \
        f"default {option.default_text()}"
    return f"{option.help} ({takes}{default})".replace("%", "%%")


def run(args: argparse.Namespace) -> int:
    from cnnlab.runs import service

    if args.run_id is not None:
        if args.model is not None or args.home is None:
            raise ConfigError("the worker form is: train --run-id N --home DIR")
        return service.run_worker(args.run_id, args.home)
    if args.model is None:
        raise ConfigError("train needs a MODEL, e.g. lenet (see: cnnlab train --help)")
    config = run_config_from_args(args)
    if args.repeats != 1:
        return train_repeats(config, args)
    if args.background:
        run_id = service.launch(config, name=args.name, home=args.home, cluster=args.cluster)
        home = f" --home {args.home}" if args.home else ""
        where = f" on the Ray cluster at {args.cluster}" if args.cluster else ""
        print(f"run {run_id} launched ({service.run_name(config, args.name)}){where}")
        print(f"watch it: python -m cnnlab runs show {run_id}{home}   "
              f"cancel it: python -m cnnlab runs cancel {run_id}{home}")
        warn_if_at_chance(config)
        return 0
    return train_foreground(config, args)


def train_repeats(config: RunConfig, args: argparse.Namespace) -> int:
    """--repeats N: N runs of `config` with consecutive seeds, recorded as one group; launched detached
    (--background) or trained one after another here. Exit status 1 if any run did not finish."""
    from cnnlab.runs import service
    from cnnlab.runs.store import RunStore
    from cnnlab.sweep import repeat_configs

    configs = repeat_configs(config, args.repeats)
    store = RunStore(args.home)
    if args.background:
        ids = [service.launch(c, name=args.name, home=store.home, cluster=args.cluster) for c in configs]
        store.tag_group(ids)
        print(f"runs {ids[0]}-{ids[-1]} launched as group {ids[0]} (seeds {config.seed}-{configs[-1].seed})")
        return 0
    ids = [service.create_run(c, name=args.name, home=store.home, cluster=args.cluster) for c in configs]
    store.tag_group(ids)
    finals = [train_foreground(c, args, run_id) for c, run_id in zip(configs, ids, strict=True)]
    accuracies = [store.get(i).final_test_acc for i in ids]
    if all(a is not None for a in accuracies):
        mean = sum(accuracies) / len(accuracies)
        std = (sum((a - mean) ** 2 for a in accuracies) / (len(accuracies) - 1)) ** 0.5
        print(f"group {ids[0]}: test acc {mean:.3f} ± {std:.3f} (mean ± std over {len(ids)} seeds)")
    return max(finals)


def run_config_from_args(args: argparse.Namespace) -> RunConfig:
    """The RunConfig the arguments describe. Without --input, the model's input (and, without --classes,
    its classes) are fitted to the dataset."""
    from cnnlab.train.config import RunConfig, fit_input
    from cnnlab.train.options import OPTIONS
    from cnnlab.train.recipes import with_recipe

    model = model_config_from_args(args)
    values = {name: getattr(args, name) for name in OPTIONS}
    values |= with_recipe(model, args.dataset, values)  # the family's recipe fills what is not given
    if args.input is None:
        given = model.arch.classes
        model = fit_input(model, args.dataset, values["resize"])
        if args.classes is not None:
            model = ModelConfig(with_options(model.arch, classes=given), model.input)
    else:  # the input given is the model's: no resize but the one asked for
        values["resize"] = args.resize
    return RunConfig(model=model, **values)


def warn_if_at_chance(config: RunConfig) -> None:
    """The warning of a run too short to leave chance (cnnlab.train.recipes), on stderr; the run goes on."""
    from cnnlab.train.recipes import chance_warning

    warning = chance_warning(config)
    if warning:
        print(f"cnnlab: warning: {warning}", file=sys.stderr)


def train_foreground(config: RunConfig, args: argparse.Namespace, run_id: int | None = None) -> int:
    """Train in this process (run `run_id` if already recorded) with a progress bar; print the textbook's
    closing lines."""
    from cnnlab.runs import service

    if run_id is None:
        run_id = service.create_run(config, name=args.name, home=args.home, cluster=args.cluster)
    print(f"run {run_id}: {service.run_name(config, args.name)}", file=sys.stderr)
    warn_if_at_chance(config)
    latest: dict[str, str] = {}
    bar = EpochBar(config.epochs)

    def progress(step: int, epoch: float, metrics: dict[str, float]) -> None:
        latest.update({PROGRESS_NAMES[k]: format_count(v) if k == "examples_per_sec" else f"{v:.3f}"
                       for k, v in metrics.items() if k in PROGRESS_NAMES})
        bar.update(epoch, latest)

    try:
        final = service.execute(run_id, home=args.home, progress=progress)
    finally:
        bar.close()
    if final.status != "done":
        print(f"run {run_id} {final.status}: {final.error or ''}".rstrip(": "), file=sys.stderr)
        return 1
    if final.peak_memory is not None:  # before the textbook's two closing lines, which stay last
        estimate = final.memory_estimate
        print(f"peak memory {format_bytes(final.peak_memory)}"
              + ("" if estimate is None else f" (estimated {format_bytes(estimate)})"))
    print(f"loss {final.final_train_loss:.3f}, train acc {final.final_train_acc:.3f}, "
          f"test acc {final.final_test_acc:.3f}")
    print(f"{final.examples_per_sec:.1f} examples/sec on {final.device}")
    return 0
