"""Groups of runs (repeats of one configuration, a sweep's seeds): the mean and spread per point, the
final accuracy per group, and the runs that did not train as their seeds did.

A group's curve at x (an epoch, or a report point within one) is the mean over the group's runs that
reported x; the spread is the sample standard deviation (ddof 1), min and max over the same runs. Runs of
different lengths (one stopped early or cancelled) therefore count only where they reported.
"""

from __future__ import annotations

import pandas as pd

from cnnlab.reports.runs_table import setting
from cnnlab.runs.rows import Run
from cnnlab.train.status import Status

CHANCE_MARGIN = 1.5  # a final test accuracy below this many times chance (1 / classes) "stayed at chance"
# The curves of a cnnlab run that a band compares; its other metrics (lr, seconds_left,
# examples_per_sec) are the run's bookkeeping, not how it learned.
LEARNING_CURVES = ("test_acc", "train_acc", "train_loss")
EMA_CURVE = "ema_test_acc"  # the averaged model's test accuracy, of a run with an EMA (--ema)


def group_bands(metrics: pd.DataFrame, run_ids: list[int], metric: str) -> pd.DataFrame:
    """Per x of `metric` over the runs `run_ids`: epoch, mean, std, min, max, n (runs at that x)."""
    rows = metrics[(metrics["name"] == metric) & metrics["run_id"].isin(run_ids)].dropna(subset=["value"])
    stats = (rows.assign(epoch=rows["epoch"].round(6)).groupby("epoch")["value"]
             .agg(mean="mean", std="std", min="min", max="max", n="count").reset_index())
    return stats.sort_values("epoch", ignore_index=True)


def band_curves(metrics: pd.DataFrame, external: list[int]) -> list[str]:
    """The curves a band offers for these runs' `metrics`: cnnlab's learning curves, then (sorted) an
    EMA's test accuracy where a run kept one and every other metric that an external run (`external`:
    their ids) logged under its own name."""
    theirs = set(metrics.loc[metrics["run_id"].isin(external), "name"])
    extra = (theirs | set(metrics["name"]) & {EMA_CURVE}) - set(LEARNING_CURVES)
    return [*LEARNING_CURVES, *sorted(extra)]


def final_summary(runs: pd.DataFrame) -> pd.DataFrame:
    """Per group: runs, and mean ± std (ddof 1) of the final test accuracy (columns group, final test acc)."""
    table = runs.groupby("group", sort=False)["final test acc"].agg(runs="count", mean="mean", std="std")
    return table.reset_index()


def outliers(runs: list[Run]) -> dict[int, str]:
    """The runs of groups that did not train as their seeds did: {run id: why} ("run #7 stayed at chance
    (final test acc 0.086, chance 0.100)", "run #9 diverged")."""
    found = {}
    for run in runs:
        classes = setting(run, int, "model", "arch", "classes")  # None for an external run's own config
        if run.status == Status.DIVERGED:
            found[run.id] = f"run #{run.id} diverged"
        elif (classes is not None and classes > 1 and run.final_test_acc is not None
              and run.final_test_acc < CHANCE_MARGIN / classes):
            found[run.id] = (f"run #{run.id} stayed at chance (final test acc {run.final_test_acc:.3f}, "
                             f"chance {1 / classes:.3f})")
    return found
