"""`python -m cnnlab`: one parser, one sub-command module per verb.

Every ConfigError (and a missing file) becomes exit status 2 with one line on stderr; a StoreWarning is
one line too. Output piped into a reader that stops early (`| head`) ends quietly.
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from collections.abc import Sequence

from cnnlab.errors import ConfigError, StoreWarning, shortened

# Each module registers itself with `add_parser(subparsers)` and sets `func` on its parser.
COMMAND_MODULES = ("cnnlab.cli.summary", "cnnlab.cli.code", "cnnlab.cli.train", "cnnlab.cli.runs",
                   "cnnlab.cli.field", "cnnlab.cli.compare", "cnnlab.cli.sweep", "cnnlab.cli.import_cmd",
                   "cnnlab.cli.dashboard", "cnnlab.cli.diagram", "cnnlab.cli.explain")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse's usage dump, reduced to one clear line
        raise ConfigError(f"{shortened(message)} (see: {self.prog} --help)")


def build_parser() -> argparse.ArgumentParser:
    import importlib

    parser = _Parser(prog="cnnlab", description="Build, analyse, train and compare CNNs.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for name in COMMAND_MODULES:
        importlib.import_module(name).add_parser(sub)
    return parser


def _show_warning(message, category, *args, **kwargs) -> None:  # noqa: ANN001 (warnings' signature)
    if issubclass(category, StoreWarning):
        print(f"cnnlab: warning: {message}", file=sys.stderr)
    else:
        _default_show_warning(message, category, *args, **kwargs)


_default_show_warning = warnings.showwarning


def main(argv: Sequence[str] | None = None) -> int:
    warnings.showwarning = _show_warning
    try:
        args = build_parser().parse_args(argv)
        return int(args.func(args) or 0)
    except BrokenPipeError:
        # The reader went away: send the rest of stdout nowhere, so the exit does not fail flushing it.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except ConfigError as exc:
        print(f"cnnlab: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("cnnlab: interrupted", file=sys.stderr)
        return 130
