"""`cnnlab runs`: list, show, cancel, export and delete the runs in the run store; a teacher pins runs for
the class."""

from __future__ import annotations

import argparse
import json
from datetime import datetime
from typing import TYPE_CHECKING, Any

from cnnlab.cli.options import add_home_argument
from cnnlab.cli.output import emit
from cnnlab.errors import quoted
from cnnlab.reports.runs_table import COLUMNS, runs_rows, text_rows
from cnnlab.runs.jsontext import json_text
from cnnlab.tables import aligned, clipped
from cnnlab.train.mfu import utilisation
from cnnlab.train.timings import timings
from cnnlab.units import format_bytes

if TYPE_CHECKING:
    from cnnlab.runs.rows import Run
    from cnnlab.runs.store import RunStore

METRICS_TAIL = 10
NAME = COLUMNS.index("name")
RIGHT = {COLUMNS.index(column) for column in ("id", "best test acc", "lr", "batch size", "width ÷", "epochs",
                                              "params", "macs", "examples/s", "peak memory (MiB)",
                                              "memory estimate (MiB)", "first point (s)", "duration (s)")}
MEMORY_FIELDS = ("peak_memory", "memory_estimate")


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("runs", help="list, show, cancel, export, delete or pin runs",
                            description="With no action: list the runs.")
    add_home_argument(parser)
    parser.add_argument("--format", choices=("table", "json"), default="table", help="listing format")
    parser.set_defaults(func=list_runs)
    actions = parser.add_subparsers(dest="action", metavar="ACTION", parser_class=type(parser))
    home = argparse.ArgumentParser(add_help=False)
    home.add_argument("--home", default=argparse.SUPPRESS, help="run store folder")
    for name, func, text in (("show", show, "config, status, final metrics and the last metrics"),
                             ("cancel", cancel, "ask a queued or running run to stop"),
                             ("export", export, "the run's metrics as CSV or JSON"),
                             ("delete", delete, "remove a run, its metrics and its files"),
                             ("pin", pin, "pin a run for the class, shown first to everyone (teachers only)"),
                             ("unpin", pin, "unpin a run pinned for the class (teachers only)")):
        action = actions.add_parser(name, help=text, parents=[home])
        action.add_argument("id", type=_cancel_target if name == "cancel" else int,
                            metavar="ID" if name != "cancel" else "ID|sweep:ID")
        action.set_defaults(func=func)
        if name == "export":
            action.add_argument("--format", dest="export_format", choices=("csv", "json"), default="csv")
            action.add_argument("--output", metavar="FILE", help="write to FILE instead of stdout")


def _store(args: argparse.Namespace, dispatch: bool = False) -> RunStore:
    """The run store, with runs and sweeps whose process is gone already ended (`reconcile`); with
    `dispatch` (a look: list, show), the queued runs whose turn has come started too (`dispatch_all`:
    should their dispatcher have died, this look starts them; a cancel or a delete starts nothing)."""
    from cnnlab.runs.store import RunStore

    store = RunStore(args.home)
    store.reconcile()
    if dispatch and store.awaiting_dispatch():  # only then the queue (and torch) is imported
        from cnnlab.runs.queue import dispatch_all

        dispatch_all(store)
    return store


def list_runs(args: argparse.Namespace) -> int:
    store = _store(args, dispatch=True)
    runs = store.list_runs()
    if args.format == "json":
        print(json_text([run.to_dict() for run in runs]))
    else:
        print(render_table(runs, store.highest("test_acc")) if runs
              else "no runs yet (start one: python -m cnnlab train lenet)")
    return 0


def render_table(runs: list[Run], best: dict[int, float]) -> str:
    """The runs table (cnnlab.reports.runs_table, the Compare page's columns) as aligned text; `best`:
    run id -> its highest test accuracy."""
    body = text_rows(runs_rows(runs, best))
    for row in body:
        row[NAME] = clipped(row[NAME])
    return "\n".join(aligned(COLUMNS, body, right=RIGHT))


def _shown(key: str, value: Any) -> Any:
    """A run field as `runs show` prints it: times as dates, memory in bytes with its unit."""
    if key.endswith("_at"):
        return _time(value)
    return format_bytes(value) if key in MEMORY_FIELDS else value


def show(args: argparse.Namespace) -> int:
    store = _store(args, dispatch=True)
    run = store.get(args.id)
    data = run.to_dict()
    config, provenance = data.pop("config"), data.pop("provenance")
    print(f"run {run.id}: {clipped(run.name or '')}  [{run.status}]")
    for key, value in data.items():
        hidden = key in ("id", "name", "status", "cancel_requested", "pid_start") or value is False
        if value is not None and not hidden:
            print(f"  {key:18} {_shown(key, value)}")
    took, mfu = timings(run).describe(), utilisation(run)
    if took:
        print(f"  {'timings':18} {took}")
    if mfu is not None:
        print(f"  {'mfu':18} {mfu.describe()}")
    print("config:")
    for key, value in config.items():
        print(f"  {key:18} {json.dumps(value)}")
    if provenance:
        print("provenance:")
        for key, value in provenance.items():
            print(f"  {key:18} {value}")
    rows = store.metrics(args.id)
    if rows:
        print(f"last {min(len(rows), METRICS_TAIL)} of {len(rows)} metric rows (step, epoch, name, value):")
        for row in rows[-METRICS_TAIL:]:
            print(f"  {row['step']:>7}  {row['epoch']:8.3f}  {row['name']:16} {_metric(row['value'])}")
    return 0


def cancel(args: argparse.Namespace) -> int:
    kind, target = args.id
    store = _store(args)
    (store.request_cancel_sweep if kind == "sweep" else store.request_cancel)(target)
    print(f"{kind} {target}: cancel requested")
    return 0


def _cancel_target(text: str) -> tuple[str, int]:
    """'12' is run 12, 'sweep:3' is sweep 3 (all its trials)."""
    kind, _, number = text.rpartition(":")
    if kind not in ("", "sweep") or not number.isdigit():
        raise argparse.ArgumentTypeError(f"{quoted(text)} is not a run id (12) or a sweep id (sweep:3)")
    return kind or "run", int(number)


def export(args: argparse.Namespace) -> int:
    emit(_store(args).export(args.id, args.export_format), args.output)
    return 0


def delete(args: argparse.Namespace) -> int:
    _store(args).delete(args.id)
    print(f"run {args.id} deleted")
    return 0


def pin(args: argparse.Namespace) -> int:
    pinned = args.action == "pin"
    _store(args).pin_for_class(args.id, pinned)
    print(f"run {args.id} {'pinned for the class' if pinned else 'unpinned'}")
    return 0


def _metric(value: float | None) -> str:
    """A metric value; the store keeps a NaN (a diverged loss) as NULL, read back as None."""
    return "nan" if value is None else f"{value:.6g}"


def _time(value: float | None) -> str:
    return "-" if value is None else datetime.fromtimestamp(value).strftime("%Y-%m-%d %H:%M:%S")
