"""The runs table: one row per recorded run, the same columns wherever runs are listed (the Compare page;
`cnnlab runs` is to use it too). Plain data: a pandas frame, and its cells as text."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import pandas as pd

from cnnlab.runs.store import Run
from cnnlab.train.timings import timings

MISSING = "—"
PIN = "📌"  # a run the class's teacher pinned
OWN = "cnnlab"  # the source of a run cnnlab trained; external runs have their Run.source kind
KINDS = {int: (int,), float: (int, float), str: (str,)}
# Columns shown as text so a missing value reads MISSING: column -> how a value is written
TEXT_COLUMNS = {"best test acc": "{:.3f}", "examples/s": "{:,.0f}", "epochs": "{:g}",
                "first point (s)": "{:.1f}", "duration (s)": "{:.1f}"}


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


def runs_frame(runs: list[Run], best: Mapping[int, float],
               model_of: Callable[[Run], str] = recorded_model) -> pd.DataFrame:
    """One row per run: its name, status, best test accuracy (`best`: run id -> the highest test
    accuracy it reported) and whether it saved weights; what it trained (model words by `model_of`,
    dataset, optimiser, learning rate, batch size, width divisor); size, speed, owner, where it comes
    from (cnnlab, or external: your loop or TensorBoard), memory and duration."""
    return pd.DataFrame([{  # what tells runs apart first: a narrow window shows these without scrolling
        "id": run.id, "name": run.name, "status": run.status, "best test acc": best.get(run.id),
        "weights": bool(run.weights_path), "model": model_of(run), "dataset": run.dataset,
        "optimizer": setting(run, str, "optimizer"), "lr": setting(run, float, "lr"),
        "batch size": setting(run, int, "batch_size"),
        "width ÷": setting(run, int, "model", "arch", "width_divisor"), "epochs": run.epochs_done,
        "params": run.params, "macs": run.macs, "examples/s": run.examples_per_sec,
        "owner": run.owner, "class pin": PIN if run.class_pinned else "",
        "source": source_of(run),
        "peak memory (MiB)": mebibytes(run.peak_memory),
        "memory estimate (MiB)": mebibytes(run.memory_estimate),
        "first point (s)": timings(run).first_point, "duration (s)": timings(run).done,
    } for run in runs])


def best_test_acc(metrics: pd.DataFrame) -> dict[int, float]:
    """Run id -> the highest test accuracy in a store's long metrics table."""
    return metrics[metrics["name"] == "test_acc"].groupby("run_id")["value"].max().to_dict()


def table_view(table: pd.DataFrame) -> pd.DataFrame:
    """The runs table as shown: missing results (a cancelled run's accuracy) read MISSING, not None."""
    view = table.copy()
    for column, text in TEXT_COLUMNS.items():
        view[column] = [MISSING if pd.isna(v) else text.format(v) for v in table[column]]
    view["width ÷"] = [MISSING if pd.isna(v) else str(int(v)) for v in table["width ÷"]]
    return view
