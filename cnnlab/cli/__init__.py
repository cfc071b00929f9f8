"""`python -m cnnlab`: one parser, one sub-command module per verb.

Every ConfigError (and a missing file) becomes exit status 2 with one line on stderr.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from cnnlab.errors import ConfigError

# Each module registers itself with `add_parser(subparsers)` and sets `func` on its parser.
COMMAND_MODULES = ("cnnlab.cli.summary", "cnnlab.cli.code", "cnnlab.cli.train", "cnnlab.cli.runs",
                   "cnnlab.cli.field", "cnnlab.cli.compare", "cnnlab.cli.sweep")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse's usage dump, reduced to one clear line
        raise ConfigError(f"{message} (see: {self.prog} --help)")


def build_parser() -> argparse.ArgumentParser:
    import importlib

    parser = _Parser(prog="cnnlab", description="Build, analyse, train and compare CNNs.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for name in COMMAND_MODULES:
        importlib.import_module(name).add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        return int(args.func(args) or 0)
    except ConfigError as exc:
        print(f"cnnlab: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("cnnlab: interrupted", file=sys.stderr)
        return 130
