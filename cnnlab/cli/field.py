"""`cnnlab field`: a unit's theoretical and effective receptive field, as JSON or as a PNG."""

from __future__ import annotations

import argparse
import json
import re

from cnnlab.cli.model_file import file_subject
from cnnlab.cli.options import add_weights_source, model_command, model_config_from_args
from cnnlab.cli.output import emit
from cnnlab.errors import ConfigError, quoted
from cnnlab.exported import is_model_file
from cnnlab.families import all_options
from cnnlab.heat import SCALES
from cnnlab.inspect import (
    Subject,
    dataset_images,
    default_dataset,
    effective_field,
    find_layer,
    from_run,
    initial,
    model_input,
    spatial_layers,
)
from cnnlab.inspect.render import field_png

_UNIT = re.compile(r"^\s*([0-9]{1,6})\s*,\s*([0-9]{1,6})\s*$")


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = model_command(sub, "field", run,
                           help="a unit's theoretical and effective receptive field on real images",
                           description="The theoretical receptive field of one unit (from the analysis) "
                                       "and its effective field: the mean absolute input gradient over "
                                       "N test images (docs/SEE.md).")
    add_weights_source(parser)
    parser.add_argument("--layer", required=True, help="layer name as in `cnnlab summary` (e.g. block3, "
                        "layer4, pool3; a second call of a module: 'relu (2)')")
    parser.add_argument("--unit", metavar="ROW,COL", help="the unit in the layer's map (default: its centre)")
    parser.add_argument("--images", type=int, default=16, metavar="N", help="test images to average over")
    parser.add_argument("--dataset", help="images from this dataset's test split (default: the run's, "
                        "else shapes or shapes-rgb)")
    parser.add_argument("--data-dir", help="datasets folder (default: $CNNLAB_DATA or a per-user folder)")
    parser.add_argument("--seed", type=int, default=0, help="initialisation seed of MODEL (default 0)")
    parser.add_argument("--format", choices=("json", "png"), default="json")
    parser.add_argument("--scale", choices=SCALES, default="linear", help="the png's heat: each pixel's "
                        "share of the peak (linear, the default) or its square root (sqrt: lifts the tails)")
    parser.add_argument("--output", metavar="FILE", help="write here instead of standard output "
                        "(required for png)")


def parse_unit(text: str | None) -> tuple[int, int] | None:
    if text is None:
        return None
    match = _UNIT.match(text)
    if not match:
        raise ConfigError(f"unit {quoted(text)} is not of the form ROW,COL (e.g. 3,4)")
    return (int(match.group(1)), int(match.group(2)))


def subject_from_args(args: argparse.Namespace) -> Subject:
    if args.run is None:
        if args.model is None:
            raise ConfigError(f"{args.command} needs a MODEL or --run ID (see: cnnlab {args.command} --help)")
        if is_model_file(args.model):
            return file_subject(args)
        return initial(model_config_from_args(args), seed=args.seed)
    named = ("model", "input", *all_options())
    given = [f"--{o.replace('_', '-')}" for o in named if getattr(args, o) is not None]
    if given:
        raise ConfigError(f"--run takes the model from the run; drop {', '.join(given)}")
    return from_run(args.run, args.home)


def run(args: argparse.Namespace) -> int:
    unit = parse_unit(args.unit)
    if args.format == "png" and args.output is None:
        raise ConfigError("--format png needs --output FILE")
    subject = subject_from_args(args)
    inp = subject.input
    layer = find_layer(subject.model, spatial_layers(subject.model, inp.as_tuple()), args.layer)
    unit = layer.check_unit(unit)
    dataset = args.dataset or subject.dataset or default_dataset(inp)
    images = dataset_images(dataset, args.images, inp, args.data_dir or subject.data_dir)
    field = effective_field(subject.model, model_input(images, subject.normalize), layer, unit)
    if args.format == "png":
        emit(field_png(images[0].numpy(), field, args.scale), args.output)
    else:
        emit(json.dumps(to_json(field, layer, inp.as_tuple(), dataset, subject.weights)), args.output)
    return 0


def to_json(field, layer, inp: tuple[int, int, int], dataset: str, weights: str) -> dict:  # noqa: ANN001
    """The JSON contract of `cnnlab field --format json`."""
    return {
        "layer": layer.name, "unit": list(field.unit), "input": list(inp),
        "theoretical": {"rf": list(layer.rf), "jump": list(layer.jump), "start": list(layer.start),
                        "box": list(field.box)},
        "effective": {"heatmap": field.heatmap.tolist(), "side50": field.side50, "side95": field.side95,
                      "area_ratio95": field.area_ratio95},
        "images": field.images, "dataset": dataset, "weights": weights,
    }
