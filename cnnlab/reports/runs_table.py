"""The runs table: one row per recorded run, the same columns wherever runs are listed (the Compare page,
`cnnlab runs`). Plain data: rows of values (a pandas frame for the page), and their cells as text.
pandas is imported only for the frame, so `cnnlab runs` lists without it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from cnnlab.runs.rows import Run
from cnnlab.train.timings import timings

if TYPE_CHECKING:
    import pandas as pd

MISSING = "—"
PIN = "📌"  # a run the class's teacher pinned
OWN = "cnnlab"  # the source of a run cnnlab trained; external runs have their Run.source kind
KINDS = {int: (int,), float: (int, float), str: (str,)}
# Columns shown as text so a missing value reads MISSING: column -> how a value is written
TEXT_COLUMNS = {"best test acc": "{:.3f}", "examples/s": "{:,.0f}", "epochs": "{:g}",
                "first point (s)": "{:.1f}", "duration (s)": "{:.1f}"}
WHOLE_COLUMNS = ("width ÷",)  # whole numbers a frame holds as floats (NaN for none) shown as whole numbers


def source_of(run: Run) -> str:
    """'cnnlab' for cnnlab's own runs, else where the external run comes from ('track', 'tensorboard')."""
    return str(run.source.get("kind")) if run.source else OWN


def setting(run: Run, kind: type, *path: str) -> int | float | str | None:
    """The value at `path` in the run's config if it is a `kind` (an external run's config is whatever
    its loop recorded), else None."""
    value: object = run.config
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    return value if isinstance(value, KINDS[kind]) and not isinstance(value, bool) else None


def recorded_model(run: Run) -> str:
    """The model name the run recorded."""
    return run.model or MISSING


def mebibytes(value: float | None) -> float | None:
    return None if value is None else round(value / 2**20, 1)


# What tells runs apart first: a narrow window shows these without scrolling.
COLUMNS = ("id", "name", "status", "best test acc", "weights", "model", "dataset", "optimizer", "lr",
           "batch size", "width ÷", "epochs", "params", "macs", "examples/s", "owner", "class pin", "source",
           "peak memory (MiB)", "memory estimate (MiB)", "first point (s)", "duration (s)")


def runs_rows(runs: list[Run], best: Mapping[int, float],
              model_of: Callable[[Run], str] = recorded_model) -> list[dict[str, Any]]:
    """One row per run (`COLUMNS`): its name, status, best test accuracy (`best`: run id -> the highest
    test accuracy it reported) and whether it saved weights; what it trained (model words by
    `model_of`, dataset, optimiser, learning rate, batch size, width divisor); size, speed, owner, where
    it comes from (cnnlab, or external: your loop or TensorBoard), memory and duration."""
    return [dict(zip(COLUMNS, _values(run, best, model_of), strict=True)) for run in runs]


def _values(run: Run, best: Mapping[int, float], model_of: Callable[[Run], str]) -> tuple:
    took = timings(run)
    return (run.id, run.name, run.status, best.get(run.id), bool(run.weights_path), model_of(run),
            run.dataset, setting(run, str, "optimizer"), setting(run, float, "lr"),
            setting(run, int, "batch_size"), setting(run, int, "model", "arch", "width_divisor"),
            run.epochs_done, run.params, run.macs, run.examples_per_sec, run.owner,
            PIN if run.class_pinned else "", source_of(run), mebibytes(run.peak_memory),
            mebibytes(run.memory_estimate), took.first_point, took.done)


def runs_frame(runs: list[Run], best: Mapping[int, float],
               model_of: Callable[[Run], str] = recorded_model) -> pd.DataFrame:
    """`runs_rows` as a pandas frame (the Compare page's table); its columns are `COLUMNS`."""
    import pandas as pd

    return pd.DataFrame(runs_rows(runs, best, model_of), columns=list(COLUMNS))


def best_test_acc(metrics: pd.DataFrame) -> dict[int, float]:
    """Run id -> the highest test accuracy in a store's long metrics table."""
    return metrics[metrics["name"] == "test_acc"].groupby("run_id")["value"].max().to_dict()


def _formatter(column: str) -> Callable[[Any], str]:
    """How a value of `column` is written: a missing one (None, NaN: a cancelled run's accuracy) reads
    MISSING; numbers as `TEXT_COLUMNS` writes them, whole numbers as such, a flag as yes or no."""
    if column in TEXT_COLUMNS:
        text = TEXT_COLUMNS[column].format
    elif column in WHOLE_COLUMNS:
        text = lambda value: str(int(value))  # noqa: E731
    elif column == "weights":
        text = lambda value: "yes" if value else "no"  # noqa: E731
    else:
        text = str
    return lambda value: MISSING if value is None or value != value else text(value)  # NaN != NaN


CELLS = {column: _formatter(column) for column in COLUMNS}  # column -> how its values are written


def text_rows(rows: list[dict[str, Any]]) -> list[list[str]]:
    """`runs_rows` with every value as text, in `COLUMNS` order."""
    cells = [CELLS[column] for column in COLUMNS]
    return [[text(value) for text, value in zip(cells, row.values(), strict=True)] for row in rows]


def table_view(table: pd.DataFrame) -> pd.DataFrame:
    """The runs table as shown: missing results (a cancelled run's accuracy) read MISSING, not None."""
    view = table.copy()
    for column in (*TEXT_COLUMNS, *WHOLE_COLUMNS):
        view[column] = [CELLS[column](value) for value in table[column]]
    return view
