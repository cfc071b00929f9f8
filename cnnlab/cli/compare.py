"""`cnnlab compare`: two models side by side, with the ratios B/A and their stages aligned.

Every model option of `summary` applies to both models; prefixed with `--a-` or `--b-` it applies to
one of them only (and wins over the shared one): `compare vgg11 vgg11 --b-width-divisor 4`.
"""

from __future__ import annotations

import argparse
import copy
import json

from cnnlab.analysis import Summary, analyze, format_pair
from cnnlab.cli.options import add_model_arguments, model_config_from_args
from cnnlab.cli.summary import summary_json
from cnnlab.compare import aligned_stages, ratios
from cnnlab.errors import ConfigError
from cnnlab.reports.headline import headline_rows
from cnnlab.spec import JSON_SCHEMA_VERSION, ModelConfig
from cnnlab.tables import aligned
from cnnlab.units import format_count

SIDES = ("a", "b")


def _model_options() -> list[argparse.Action]:
    """The model options `summary` takes (not the MODEL positional), read from its own parser."""
    probe = argparse.ArgumentParser(add_help=False)
    add_model_arguments(probe)
    return [action for action in probe._actions if action.option_strings]


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "compare", help="two models side by side: headline figures, ratios B/A, stages aligned",
        description="Model options apply to both models; --a-OPTION / --b-OPTION apply OPTION to model A "
                    "or B only, e.g. compare vgg11 vgg11 --b-width-divisor 4, or compare vgg11 vgg11 "
                    "--b-input 1x96x96.")
    parser.add_argument("model_a", metavar="MODEL_A", help="model A (as for summary)")
    parser.add_argument("model_b", metavar="MODEL_B", help="model B, compared with A (ratios are B/A)")
    for action in _model_options():
        parser._add_action(action)
        for side in SIDES:
            one = copy.copy(action)
            one.option_strings = [f"--{side}-{s[2:]}" for s in action.option_strings if s.startswith("--")]
            one.dest, one.help = f"{side}_{action.dest}", f"{side.upper()} only: {action.help}"
            if action.nargs != 0 and not action.choices:
                one.metavar = action.metavar or action.dest.upper()
            parser._add_action(one)
    parser.add_argument("--levels", type=int, metavar="L",
                        help="JSON rows at this module nesting level (default: every leaf layer, as summary)")
    parser.add_argument("--format", choices=("table", "json"), default="table")
    parser.set_defaults(func=run)


def side_args(args: argparse.Namespace, side: str) -> argparse.Namespace:
    """The arguments of one model: its own `--a-`/`--b-` options over the shared ones."""
    values = {"model": getattr(args, f"model_{side}")}
    for action in _model_options():
        own = getattr(args, f"{side}_{action.dest}")
        values[action.dest] = own if own is not None else getattr(args, action.dest)
    return argparse.Namespace(**values)


def run(args: argparse.Namespace) -> int:
    levels = args.levels if args.format == "json" else 1
    (ca, a), (cb, b) = (side_summary(args, side, levels) for side in SIDES)
    if args.format == "json":
        print(json.dumps({"schema_version": JSON_SCHEMA_VERSION, "a": summary_json(ca, a),
                          "b": summary_json(cb, b), "ratio": ratios(a, b)}))
    else:
        print(render(a, b))
    return 0


def side_summary(args: argparse.Namespace, side: str, levels: int | None) -> tuple[ModelConfig, Summary]:
    """The config and analysis of model A or B; a ConfigError says which of the two is wrong."""
    try:
        config = model_config_from_args(side_args(args, side))
        return config, analyze(config, levels=levels)
    except ConfigError as exc:
        raise ConfigError(f"model {side.upper()} ({getattr(args, f'model_{side}')}): {exc}") from exc


def render(a: Summary, b: Summary) -> str:
    """The headline figures with B/A, then the stages of A and B row by row (give level-1 summaries)."""
    rows = headline_rows(a, b, missing="-")
    head = [f"A: {a.model} {'x'.join(map(str, a.input))}", f"B: {b.model} {'x'.join(map(str, b.input))}"]
    lines = aligned(["", *head, "B/A"], rows, right={1, 2, 3})
    stage_rows = []
    for i, (sa, sb) in enumerate(aligned_stages(a, b), 1):
        cells = [str(i)]
        for stage in (sa, sb):
            cells += ["", "", "", ""] if stage is None else [
                stage.name, "×".join(map(str, stage.output_shape)), format_count(stage.params),
                "-" if stage.rf is None else format_pair(stage.rf)]
        stage_rows.append(cells)
    header = ["Stage", "A layers", "A output", "A params", "A RF", "B layers", "B output", "B params", "B RF"]
    return "\n".join([*lines, "", *aligned(header, stage_rows, right={0, 3, 4, 7, 8})])
