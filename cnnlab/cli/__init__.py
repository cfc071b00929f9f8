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

# Each verb's module registers its parser with `add_parser(subparsers)` and sets `func` on it. Only the
# verb given is imported (a verb that needs no tensor, such as `runs`, starts without torch); the others
# appear in `cnnlab --help` by the line below, which is the help their module registers (a test holds
# the two together).
VERBS: dict[str, tuple[str, str]] = {
    "summary": ("cnnlab.cli.summary", "per-layer shapes, parameters, MACs, memory, receptive fields"),
    "code": ("cnnlab.cli.code", "the model as a PyTorch file that needs only torch"),
    "train": ("cnnlab.cli.train", "train a model; every run is recorded in the run store"),
    "runs": ("cnnlab.cli.runs", "list, show, cancel, export, delete or pin runs"),
    "field": ("cnnlab.cli.field", "a unit's theoretical and effective receptive field on real images"),
    "compare": ("cnnlab.cli.compare",
                "two models side by side: headline figures, ratios B/A, stages aligned"),
    "sweep": ("cnnlab.cli.sweep", "sweep hyper-parameters or model options on Ray (here, or on a cluster)"),
    "import": ("cnnlab.cli.import_cmd", "record runs cnnlab did not train (TensorBoard logs)"),
    "dashboard": ("cnnlab.cli.dashboard", "start the dashboard in a browser"),
    "diagram": ("cnnlab.cli.diagram", "the network drawn as boxes and arrows (SVG or PNG)"),
    "explain": ("cnnlab.cli.explain", "one unit's arithmetic on a real image"),
}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse's usage dump, reduced to one clear line
        raise ConfigError(f"{shortened(message)} (see: {self.prog} --help)")


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The parser; of the verbs, only the one `argv` names (all with no `argv`) imports its module."""
    import importlib

    parser = _Parser(prog="cnnlab", description="Build, analyse, train and compare CNNs.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    verb = argv[0] if argv else None
    for name, (module, text) in VERBS.items():
        if argv is None or name == verb:
            importlib.import_module(module).add_parser(sub)
        else:
            sub.add_parser(name, help=text, add_help=False)
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
        argv = list(sys.argv[1:] if argv is None else argv)
        args = build_parser(argv).parse_args(argv)
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
