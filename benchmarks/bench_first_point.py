"""No dead air: the time from Launch to a run's first point, and the error of its first time-left figure.

Each model is launched as the Train page launches it (`service.launch`: a queued row, then a detached
worker process that imports torch, loads the data, builds the model and trains), with its family's
recipe (cnnlab.train.recipes) on the MNIST subset at its suggested size, in a fresh run store. The
store is polled every POLL_S: the first point is the run's recorded `first_point_at` less its
`created_at` (the launch); the first time-left figure is the first `seconds_left` metric row, seen at
the poll that finds it, against the time the run then really took to finish. On a shared machine the
wall times stretch with the load, so the CPU seconds the worker process had used by its first point are
read too (/proc/PID/stat, at the poll that sees the point): about the wall time on a quiet machine for
the single-threaded start (imports, data), more than it where the first step runs on several threads.
Figures for
docs/BENCHMARKS.md ("No dead air"):
    python benchmarks/bench_first_point.py --data-dir ../shared/datasets
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import torch
from machine import cpu_name

from cnnlab.runs import service
from cnnlab.runs.store import RunStore
from cnnlab.spec import model_config
from cnnlab.train.config import RunConfig, fit_input
from cnnlab.train.recipes import recipe_for

POLL_S = 0.05
MODELS = {"lenet": ("lenet", {}), "vgg11/4": ("vgg11", {"width_divisor": 4}), "resnet18": ("resnet18", {})}


def launch_and_watch(config: RunConfig, home: str) -> dict[str, float]:
    """Launch `config` in the store at `home`; seconds to the first point, the first time-left figure,
    when it was seen (since the launch) and the seconds the run took from then to its end."""
    store = RunStore(home)
    run_id = service.launch(config, home=home)
    first_eta: tuple[float, float] | None = None
    cpu: float | None = None
    while True:
        run = store.get(run_id)
        if cpu is None and run.first_point_at is not None and run.pid is not None:
            cpu = cpu_seconds(run.pid)
        if first_eta is None:
            figures = [row for row in store.metrics(run_id) if row["name"] == "seconds_left"]
            if figures:
                first_eta = (time.time(), figures[0]["value"])
        if run.status in ("done", "failed", "cancelled", "diverged"):
            break
        time.sleep(POLL_S)
    if run.status != "done" or first_eta is None or run.first_point_at is None:
        raise SystemExit(f"run {run_id} ended {run.status}: {run.error}")
    seen, figure = first_eta
    return {"first_point": run.first_point_at - run.created_at, "eta_figure": figure,
            "eta_seen": seen - run.created_at, "eta_truth": run.finished_at - seen,
            "total": run.finished_at - run.created_at, "test_acc": run.final_test_acc,
            "cpu_to_first_point": cpu}


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds process `pid` has used so far (None once it has gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", required=True, help="the folder holding MNIST/raw")
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print(f"CPU {cpu_name()}, {torch.get_num_threads()} threads, torch {torch.__version__}; MNIST subset, "
          f"{args.epochs} epochs, each family's recipe")
    for label in args.models:
        name, options = MODELS[label]
        model = model_config(name, **options)
        recipe = recipe_for(model, "mnist")
        config = RunConfig(model=fit_input(model, "mnist", recipe["resize"]), dataset="mnist",
                           data_dir=args.data_dir, epochs=args.epochs, **recipe)
        rows = []
        for repeat in range(1, args.repeats + 1):
            with tempfile.TemporaryDirectory() as home:
                row = launch_and_watch(config, home)
            ratio = row["eta_figure"] / row["eta_truth"]
            rows.append((row["first_point"], ratio))
            cpu = row["cpu_to_first_point"]
            print(f"  {label} {config.model.input} repeat {repeat}: first point {row['first_point']:.2f} s "
                  f"(the worker's CPU time by then {'?' if cpu is None else f'{cpu:.2f}'} s); "
                  f"first time left {row['eta_figure']:.1f} s at {row['eta_seen']:.1f} s, truth "
                  f"{row['eta_truth']:.1f} s (ratio {ratio:.2f}); done after {row['total']:.1f} s, test acc "
                  f"{row['test_acc']:.3f}", flush=True)
        points, ratios = zip(*rows, strict=True)
        print(f"{label}: first point median {statistics.median(points):.2f} s, best {min(points):.2f} s; "
              f"first time left / truth median {statistics.median(ratios):.2f} "
              f"(range {min(ratios):.2f}-{max(ratios):.2f})", flush=True)


if __name__ == "__main__":
    main()
