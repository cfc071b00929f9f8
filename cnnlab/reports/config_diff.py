"""The config diff of chosen runs (the Compare page's): the settings and the provenance on which they
differ, in words."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from cnnlab.reports.runs_table import MISSING, recorded_model
from cnnlab.runs.rows import Run
from cnnlab.train.options import OPTIONS


def cell(value: object) -> str:
    """A diff cell in words: a number to four significant digits (0.164, not 0.16398436433337338)."""
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def flatten(config: dict, prefix: str = "") -> dict[str, str]:
    """Nested config -> {'speed.path': 'eager', 'lr': '0.05', ...}."""
    flat = {}
    for key, value in config.items():
        if isinstance(value, dict):
            flat |= flatten(value, f"{prefix}{key}.")
        else:
            flat[f"{prefix}{key}"] = cell(value)
    return flat


def settings(run: Run, model_of: Callable[[Run], str] = recorded_model) -> dict[str, str]:
    """What a run was asked to do, by the option table's labels: its model (`model_of`: as the words that
    rebuild it), its input, then every training option ('Learning rate': '0.01')."""
    config = dict(run.config)
    model = config.pop("model", None)
    rows = {"Model": model_of(run)}
    if isinstance(model, dict) and isinstance(model.get("input"), list):
        rows["Input"] = "×".join(map(str, model["input"]))
    return rows | {(OPTIONS[key].label if key in OPTIONS else key): text
                   for key, text in flatten(config).items()}


def differing(rows: dict[str, dict[str, str]]) -> pd.DataFrame:
    """One row per field on which the runs (columns) differ; every field for a single run."""
    table = pd.DataFrame(rows, dtype=object).fillna(MISSING)
    return table[table.nunique(axis=1) > 1] if len(rows) > 1 else table


def config_diff(runs: list[Run], model_of: Callable[[Run], str] = recorded_model
                ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The settings and the provenance (versions, machine, speed probe) on which the runs differ."""
    columns = [f"#{run.id} {run.name}" for run in runs]
    return (differing({c: settings(run, model_of) for c, run in zip(columns, runs, strict=True)}),
            differing({c: flatten(run.provenance or {}) for c, run in zip(columns, runs, strict=True)}))
