"""`cnnlab explain`: one unit's arithmetic on a real image (window, kernel, products, sum, real output)."""

from __future__ import annotations

import argparse
import json

import numpy as np

from cnnlab.cli.field import parse_unit, subject_from_args
from cnnlab.cli.options import add_weights_source, model_command
from cnnlab.cli.output import emit
from cnnlab.inspect.unit import UnitComputation, explain_subject

TOP = 8  # input channels (or features) listed by |contribution|; the rest are summed


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = model_command(sub, "explain", run, help="one unit's arithmetic on a real image",
                           description="What one unit of a convolution, pooling or linear layer computes on "
                                       "a test image: the input window it reads (padding included), the "
                                       "kernel, the products, their sum plus the bias, and the layer's real "
                                       "output there from a forward pass (docs/SEE.md).")
    add_weights_source(parser)
    parser.add_argument("--layer", required=True, help="a convolution, pooling or linear layer, named as in "
                        "`cnnlab summary` (e.g. conv2, block4.2, layer1.0.conv1, fc1)")
    parser.add_argument("--channel", type=int, required=True, metavar="K",
                        help="the output channel (a linear layer's output feature)")
    parser.add_argument("--unit", metavar="ROW,COL", help="the unit in the layer's map (default: its centre; "
                        "none for a linear layer)")
    parser.add_argument("--image", type=int, default=0, metavar="N",
                        help="index in the test split (default 0)")
    parser.add_argument("--dataset", help="images from this dataset's test split (default: the run's, "
                        "else shapes or shapes-rgb)")
    parser.add_argument("--data-dir", help="datasets folder (default: $CNNLAB_DATA or a per-user folder)")
    parser.add_argument("--seed", type=int, default=0, help="initialisation seed of MODEL (default 0)")
    parser.add_argument("--format", choices=("text", "json"), default="text")


def run(args: argparse.Namespace) -> int:
    unit = parse_unit(args.unit)
    subject = subject_from_args(args)
    got = explain_subject(subject, args.layer, args.channel, unit, image=args.image, dataset=args.dataset,
                          data_dir=args.data_dir)
    if args.format == "json":
        emit(json.dumps({**got.to_dict(TOP), "image": args.image, "weights": subject.weights}), None)
    else:
        emit(as_text(got, subject.weights, args.image), None)
    return 0


def _grid(values: np.ndarray, padding: np.ndarray) -> list[str]:
    return ["  " + " ".join("     pad" if pad else f"{v:8.4f}" for v, pad in zip(row, pads, strict=True))
            for row, pads in zip(values, padding, strict=True)]


def as_text(got: UnitComputation, weights: str, image: int) -> str:
    """The unit's arithmetic as lines a reader follows from the window to the value."""
    where = "" if got.unit is None else f", unit {got.unit}"
    lines = [f"{got.layer} ({got.kind}), channel {got.channel}{where}; {weights}, test image {image}"]
    if got.unit is not None:
        kh, kw = got.padding.shape
        lines.append(f"window: {len(got.inputs)} input channel(s) × {kh}×{kw} at input rows "
                     f"{got.rows.tolist()}, columns {got.cols.tolist()} "
                     f"({int(got.padding.sum())} padding cell(s))")
    if got.kernel is None:  # pooling: the window itself
        lines += _grid(got.window[0], got.padding)
        lines.append(f"max at cell {got.winner} = {got.sum:.6g}" if got.winner is not None
                     else f"sum {got.window.sum():.6g} ÷ {got.divisor} = {got.sum:.6g}")
    else:
        if len(got.inputs) == 1 and got.unit is not None:
            lines += ["window:", *_grid(got.window[0], got.padding), "kernel:",
                      *_grid(got.kernel[0], np.zeros_like(got.padding))]
        best = got.top(TOP)
        what = "input feature" if got.kind == "linear" else "input channel"
        lines.append(f"{what}  contribution (Σ window × kernel)")
        lines += [f"{index:>13}  {total:.6g}" for index, total in zip(best.inputs, best.sums, strict=True)]
        if best.rest_count:
            lines.append(f"{best.rest_count:>7} others  {best.rest:.6g}")
        bias = "no bias" if got.bias is None else f"bias {got.bias:.6g}"
        lines.append(f"sum: {float(got.channel_sums.sum()):.6g} + {bias} = {got.sum:.6g}")
    lines.append(f"the layer's real output there: {got.value:.6g}")
    if got.activation is not None:
        lines.append(f"then {got.activation}: {got.activated:.6g}")
    return "\n".join(lines)
