"""`cnnlab summary`: the per-layer table of a model, as text, Markdown, JSON or CSV."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace

from cnnlab.analysis import Summary, analyze
from cnnlab.cli.fc_as_conv import add_fc_as_conv_argument, analyze_fc_as_conv
from cnnlab.cli.model_file import file_subject
from cnnlab.cli.options import model_command, model_config_from_args
from cnnlab.errors import ConfigError
from cnnlab.exported import is_model_file
from cnnlab.spec import JSON_SCHEMA_VERSION, ModelConfig, model_name, to_seq


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = model_command(sub, "summary", run,
                           help="per-layer shapes, parameters, MACs, memory, receptive fields")
    parser.add_argument("--levels", type=int, metavar="L",
                        help="rows at this module nesting level (1: blocks); default: every leaf layer")
    parser.add_argument("--format", choices=("table", "markdown", "json", "csv"), default="table")
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
        print(summary.to_markdown() if args.format == "markdown" else summary.to_text())
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
