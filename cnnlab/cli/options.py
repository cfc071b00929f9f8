"""Options shared by the verbs: the model's (drawn from the family registry) and the run store's."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from cnnlab.errors import ConfigError

if TYPE_CHECKING:
    from cnnlab.option import Option
    from cnnlab.spec import ModelConfig

CLUSTER_ADDRESSES = "HOST:PORT, ray://HOST:PORT or auto"  # the forms --cluster takes (sweep/engine.py)


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    """MODEL, --input, and one flag per family option (`--classes`, `--depth`, ...)."""
    from cnnlab.families import FAMILIES, all_options, models_help

    parser.add_argument("model", help=models_help())
    defaults = ", ".join(f"{f.label} {f.default_input}" for f in FAMILIES.values())
    parser.add_argument("--input", metavar="CxHxW", help=f"input shape (default: {defaults})")
    for option, families in all_options().values():
        text = option.help if len(families) == len(FAMILIES) else f"{option.help} [{', '.join(families)}]"
        if option.kind is bool:
            parser.add_argument(option.flag, action="store_true", default=None, help=text)
        else:
            parser.add_argument(option.flag, type=option_type(option), metavar=metavar(option), help=text)


def option_type(option: Option) -> Callable[[str], Any]:
    """argparse's `type` for `option`: its own `parse`, so a flag reads its text as a URL parameter or a
    sweep value of the same option does ("argument --lr: 'abc' is not a number")."""
    def parse(text: str) -> Any:
        try:
            return option.parse(text)
        except ConfigError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return parse


def metavar(option: Option) -> str:
    """How the help shows a flag's value: its choices ('sgd|adam|adamw'), N for a number, else its name."""
    if option.choices:
        return "|".join(map(str, option.choices))
    return "N" if option.kind in (int, float) else option.name.upper()


def model_command(sub: argparse._SubParsersAction, name: str, run: Callable[[argparse.Namespace], int],
                  help: str, description: str | None = None) -> argparse.ArgumentParser:
    """The parser of a verb `name` that takes a model (`add_model_arguments`) and calls `run`."""
    parser = sub.add_parser(name, help=help, description=description)
    add_model_arguments(parser)
    parser.set_defaults(func=run)
    return parser


def add_home_argument(parser: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    """--home: the run store folder."""
    parser.add_argument("--home", help="run store folder (default: $CNNLAB_HOME or a per-user folder)")


def model_config_from_args(args: argparse.Namespace) -> ModelConfig:
    from cnnlab.families import all_options
    from cnnlab.spec import model_config

    options = {name: getattr(args, name) for name in all_options()}
    return model_config(args.model, args.input, **options)


def make_model_optional(parser: argparse.ArgumentParser) -> None:
    """MODEL may be left out (a run's id or the detached worker's form, `train --run-id N --home DIR`)."""
    action = next(a for a in parser._actions if a.dest == "model")
    action.nargs, action.required, action.default = "?", False, None


def add_weights_source(parser: argparse.ArgumentParser) -> None:
    """MODEL freshly initialised, or `--run ID`'s saved weights from the run store at `--home`."""
    make_model_optional(parser)
    parser.add_argument("--run", type=int, metavar="ID", help="a finished run with saved weights, "
                        "instead of MODEL freshly initialised")
    add_home_argument(parser)
