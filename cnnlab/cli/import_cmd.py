"""`cnnlab import tensorboard LOGDIR`: TensorBoard logs as runs, folders grouped by a regular expression."""

from __future__ import annotations

import argparse
import sys

from cnnlab.cli.options import add_home_argument

EXAMPLE = "e.g. cnnlab import tensorboard runs/ --group-by 'lr=([^_]+)' (lr=0.1_seed=3 is in group 0.1)"


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("import", help="record runs cnnlab did not train (TensorBoard logs)",
                            description="Record logs of runs trained elsewhere as runs, for Compare.")
    sources = parser.add_subparsers(dest="source", metavar="SOURCE", required=True, parser_class=type(parser))
    tensorboard = sources.add_parser(
        "tensorboard", help="every run folder's scalars under LOGDIR",
        description="Record every folder under LOGDIR that holds event files as one run, its scalar tags "
                    "as metrics (x: the step), read with TensorBoard's own reader (pip install "
                    "tensorboard). Folders imported before are skipped; a damaged event file is named and "
                    f"skipped. {EXAMPLE}")
    tensorboard.add_argument("logdir", metavar="LOGDIR", help="the folder given to tensorboard --logdir")
    tensorboard.add_argument("--group-by", metavar="REGEX",
                             help="folders whose names give the same first group form one group")
    add_home_argument(tensorboard)
    tensorboard.set_defaults(func=import_tensorboard)


def import_tensorboard(args: argparse.Namespace) -> int:
    from cnnlab.tbimport import import_logdir

    report = import_logdir(args.logdir, args.group_by, args.home)
    for path, why in report.damaged:
        print(f"cnnlab: warning: skipped the damaged event file {path}: {why}", file=sys.stderr)
    for name, run_id in report.already:
        print(f"{name}: already imported as run {run_id}")
    for run_id, name, group in report.imported:
        print(f"{name}: run {run_id}" + (f" (group {group})" if group is not None else ""))
    groups = {group for _, _, group in report.imported if group is not None}
    print(f"imported {len(report.imported)} runs in {len(groups)} groups; {len(report.already)} already "
          f"imported; {len(report.damaged)} damaged event files skipped")
    return 0
