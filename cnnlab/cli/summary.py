"""`cnnlab summary`: the per-layer table of a model, as text, JSON or CSV."""

from __future__ import annotations

import argparse
import json
import sys

from cnnlab.analysis import Summary, analyze, format_pair
from cnnlab.cli.options import add_model_arguments, model_config_from_args
from cnnlab.cli.table import aligned
from cnnlab.errors import ConfigError
from cnnlab.spec import SCHEMA_VERSION, ModelConfig, model_name, to_seq
from cnnlab.units import format_bytes, format_count

COLUMNS = ("Layer", "Type", "Output shape", "Params", "MACs", "Output", "RF", "Jump")


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("summary", help="per-layer shapes, parameters, MACs, memory, receptive fields")
    add_model_arguments(parser)
    parser.add_argument("--levels", type=int, metavar="L",
                        help="rows at this module nesting level (1: blocks); default: every leaf layer")
    parser.add_argument("--format", choices=("table", "json", "csv"), default="table")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    config = model_config_from_args(args)
    summary = analyze(config, levels=args.levels)
    if args.format == "json":
        print(json.dumps({"schema_version": SCHEMA_VERSION, **summary.to_dict(), "seq": seq_text(config)}))
    elif args.format == "csv":
        summary.to_frame().to_csv(sys.stdout, index=False)
    else:
        print(render_table(summary))
    return 0


def seq_text(config: ModelConfig) -> str | None:
    """The model as a `seq:` string, or None where it has no seq form (ResNet, torchvision)."""
    try:
        return model_name(to_seq(config.arch))
    except ConfigError:
        return None


def render_table(summary: Summary) -> str:
    """An aligned text table with the totals underneath."""
    body = [
        (
            "  " * (row.depth - 1) + row.name, row.type, "×".join(map(str, row.output_shape)),
            f"{row.params:,}", format_count(row.macs), format_bytes(row.output_bytes),
            "-" if row.rf is None else format_pair(row.rf),
            "-" if row.jump is None else format_pair(row.jump),
        )
        for row in summary.layers
    ]
    lines = aligned(COLUMNS, body, right={3, 4, 5, 6, 7})
    t = summary.totals
    final = summary.final_field
    c, h, w = summary.input
    footer = [
        f"{summary.model}  input {c}x{h}x{w}  classes {summary.classes}",
        f"Total params:      {t.params:,} ({format_count(t.params)}), trainable {t.trainable_params:,}",
        f"MACs per image:    {t.macs:,} ({format_count(t.macs)})",
        f"Parameter memory:  {format_bytes(t.param_bytes)}",
        f"Activation memory: {format_bytes(t.activation_bytes)} per image (float32, distinct layer outputs)",
    ]
    if final is not None:
        footer.append(f"Receptive field:   {format_pair(final.rf)} input pixels at {final.name}")
    return "\n".join([*lines, lines[1], *footer])
