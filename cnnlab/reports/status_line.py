"""A run's status line, as the Train page's live panel shows it: 'running · epoch 1.40 of 3 · about 12 s
left · 2.1K examples/s · on cpu'. No Streamlit: the page keeps each run's ETA countdown and passes it in."""

from __future__ import annotations

import pandas as pd

from cnnlab.errors import ConfigError
from cnnlab.reports.eta import Countdown
from cnnlab.reports.runs_table import setting, source_of
from cnnlab.runs.queue import max_runs_per_device, waiting_for
from cnnlab.runs.rows import Run
from cnnlab.train.mfu import utilisation
from cnnlab.train.timings import timings
from cnnlab.units import format_bytes, format_count


def progress(run: Run, metrics: pd.DataFrame, runs: list[Run], now: float,
             countdown: Countdown) -> tuple[float, str]:
    """Fraction done and a status line with an ETA that only counts down (`countdown`: this run's)."""
    epochs = setting(run, int, "epochs")  # an external run's config may have none
    done = float(metrics["epoch"].max()) if len(metrics) else 0.0
    fraction = 1.0 if run.status == "done" else min(done / epochs, 1.0) if epochs else 0.0
    parts = [run.status]
    if run.status == "queued":
        try:
            ahead = waiting_for(run, runs, max_runs_per_device())
        except ConfigError:  # a malformed limit: the launch check says so
            ahead = []
        if ahead:
            parts.append("waiting behind " + ", ".join(f"#{i}" for i in ahead))
    # Claimed, no point reported yet: the data loads and the speed probe compiles (cnnlab's own runs).
    preparing = run.status == "running" and run.started_at is not None and not len(metrics) and not run.source
    if preparing:
        parts.append(f"preparing ({preparation(run.config)}) for {max(now - run.started_at, 0):.0f} s")
    else:
        parts.append(f"epoch {done:.2f}" + (f" of {epochs}" if epochs else ""))
    if run.source:
        parts.append(f"external ({source_of(run)})")
    if run.status == "running" and run.started_at and not preparing:
        eta = countdown.update(run.started_at, fraction, now)
        if eta is not None:
            parts.append(f"about {eta:.0f} s left" if eta >= 1 else "finishing")
    if run.final_test_acc is not None:
        parts.append(f"test acc {run.final_test_acc:.3f}")
    if run.examples_per_sec:
        parts.append(f"{format_count(run.examples_per_sec)} examples/s")
    if run.device:
        parts.append(f"on {run.device}")
    mfu = utilisation(run)
    if mfu is not None:
        parts.append(mfu.describe())
    if not preparing and timings(run).describe():  # the wait, the time to the first point and to done
        parts.append(timings(run).describe())
    if run.peak_memory is not None:
        estimate = "" if run.memory_estimate is None else f" (estimated {format_bytes(run.memory_estimate)})"
        parts.append(f"peak memory {format_bytes(run.peak_memory)}{estimate}")
    return fraction, " · ".join(parts)


def preparation(config: dict) -> str:
    """What a run does before its first report, from its config: loading the data, and compiling the
    model when it asked to be compiled or measures its fastest path (`speed auto`)."""
    if config.get("speed", "auto") == "auto":
        return "loading the data, timing eager, channels-last and compiled steps; compiling takes a while"
    return "loading the data, compiling the model" if config.get("compile") else "loading the data"
