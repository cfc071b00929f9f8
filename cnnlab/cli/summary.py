"""`cnnlab summary`: the per-layer table of a model, as text, JSON or CSV."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace

from cnnlab.analysis import Summary, analyze, format_pair
from cnnlab.cli.fc_as_conv import add_fc_as_conv_argument, analyze_fc_as_conv
from cnnlab.cli.model_file import file_subject
from cnnlab.cli.options import model_command, model_config_from_args
from cnnlab.cli.table import aligned
from cnnlab.errors import ConfigError
from cnnlab.exported import is_model_file
from cnnlab.spec import JSON_SCHEMA_VERSION, ModelConfig, model_name, to_seq
from cnnlab.units import format_bytes, format_count

COLUMNS = ("Layer", "Type", "Output shape", "Kernel", "Stride", "Pad", "Params", "MACs", "Output", "RF",
           "Jump")
# Shown only when some row has a value other than 1: column -> the row's value
RARE_COLUMNS = {"Dilation": lambda w: format_pair(w.dilation), "Groups": lambda w: str(w.groups)}


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = model_command(sub, "summary", run,
                           help="per-layer shapes, parameters, MACs, memory, receptive fields")
    parser.add_argument("--levels", type=int, metavar="L",
                        help="rows at this module nesting level (1: blocks); default: every leaf layer")
    parser.add_argument("--format", choices=("table", "json", "csv"), default="table")
    add_fc_as_conv_argument(parser)


def run(args: argparse.Namespace) -> int:
    if is_model_file(args.model):
        config, summary = None, file_summary(args)
    else:
        config = model_config_from_args(args)
        summary = analyze_fc_as_conv(config, args)
    if args.format == "json":
        print(json.dumps(summary_json(config, summary)))
    elif args.format == "csv":
        summary.to_frame().to_csv(sys.stdout, index=False)
    else:
        print(render_table(summary))
    return 0


def summary_json(config: ModelConfig | None, summary: Summary) -> dict:
    """The JSON contract of `summary --format json`: the summary, its schema version and the seq form
    (null for a model file)."""
    return {"schema_version": JSON_SCHEMA_VERSION, **summary.to_dict(),
            "seq": seq_text(config) if config else None}


def file_summary(args: argparse.Namespace) -> Summary:
    """The summary of a model file, named after the file."""
    subject = file_subject(args)
    return replace(analyze(subject.model, subject.input, levels=args.levels), model=subject.weights)


def seq_text(config: ModelConfig) -> str | None:
    """The model as a `seq:` string, or None where its family has no seq form (ResNet, torchvision)."""
    try:
        return model_name(to_seq(config.arch))
    except ConfigError:
        return None


def render_table(summary: Summary) -> str:
    """An aligned text table with the totals underneath; kernel, stride and padding on convolution and
    pooling rows (dilation and groups too where one is not 1; none of them in a table of blocks)."""
    windows = [row.window for row in summary.layers if row.window is not None]
    rare = {name: cell for name, cell in RARE_COLUMNS.items() if any(cell(w) != "1" for w in windows)}
    shown = 3 if windows else 0
    body = []
    for row in summary.layers:
        w = row.window
        window = (format_pair(w.kernel), format_pair(w.stride), format_pair(w.padding)) if w else ("",) * 3
        body.append((
            "  " * (row.depth - 1) + row.name, row.type, "×".join(map(str, row.output_shape)),
            *window[:shown],
            *(cell(w) if w else "" for cell in rare.values()),
            f"{row.params:,}", format_count(row.macs), format_bytes(row.output_bytes),
            "-" if row.rf is None else format_pair(row.rf),
            "-" if row.jump is None else format_pair(row.jump),
        ))
    header = (*COLUMNS[:3 + shown], *rare, *COLUMNS[6:])
    lines = aligned(header, body, right=set(range(3, len(header))))
    t = summary.totals
    final = summary.final_field
    c, h, w = summary.input
    footer = [
        f"{summary.model}  input {c}x{h}x{w}  classes {summary.classes}",
        f"Total params:      {t.params:,} ({format_count(t.params)}), trainable {t.trainable_params:,}",
        f"MACs per image:    {t.macs:,} ({format_count(t.macs)})",
        f"FLOPs per image:   {t.flops:,} ({format_count(t.flops)}), 2 per MAC",
        f"Parameter memory:  {format_bytes(t.param_bytes)}",
        f"Activation memory: {format_bytes(t.activation_bytes)} per image (float32, distinct layer outputs)",
    ]
    if final is not None:
        footer.append(f"Receptive field:   {format_pair(final.rf)} input pixels at {final.name}")
    return "\n".join([*lines, lines[1], *footer])
