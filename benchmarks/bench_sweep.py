"""Sweeps on Ray: start-up time and memory of a local Ray, overhead per trial over today's runner, and
the wall-time ratio of one against two local Ray nodes.

- Ray start-up: `ray.init` on this machine (as a sweep without --cluster does) and `ray.shutdown`; the
  resident memory of the processes Ray starts, read from /proc once it is up.
- Overhead: an 8-trial LeNet sweep on the built-in dataset on a one-node, one-CPU Ray cluster (so the
  trials run one after another) against the same 8 run configs trained one after another in one process
  by today's runner (`service.execute`, one torch thread as in a one-CPU trial). Overhead per trial =
  (sweep wall time - runner wall time) / 8; the sweep's time includes connecting to Ray, not starting it.
- Nodes: the same sweep on a one-node against a two-node local cluster (one CPU each), wall time ratio.

    python benchmarks/bench_sweep.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch
from machine import describe

from cnnlab.runs import service
from cnnlab.runs.cluster import connect
from cnnlab.runs.store import RunStore
from cnnlab.spec import model_config
from cnnlab.sweep import create_sweep, parse_space
from cnnlab.sweep.driver import execute
from cnnlab.train.config import RunConfig, fit_input

TRIALS = 8
BASE = RunConfig(model=fit_input(model_config("lenet"), "shapes"), optimizer="adam", lr=0.01, epochs=2,
                 batch_size=64, limit_train=1024, limit_test=256, device="cpu").to_dict()
GRID = [f"seed={','.join(str(s) for s in range(TRIALS))}"]


def descendants_rss(pid: int) -> int:
    """Resident bytes of every process descended from `pid`, from /proc."""
    parents = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            parents[int(stat.parent.name)] = int(fields[1])
        except (OSError, IndexError, ValueError):
            continue
    family, total = {pid}, 0
    changed = True
    while changed:
        changed = False
        for child, parent in parents.items():
            if parent in family and child not in family:
                family.add(child)
                changed = True
    for child in family - {pid}:
        try:
            status = Path(f"/proc/{child}/status").read_text()
        except OSError:
            continue
        rss = [line for line in status.splitlines() if line.startswith("VmRSS:")]
        total += int(rss[0].split()[1]) * 1024 if rss else 0
    return total


def ray_startup() -> tuple[float, float, int]:
    start = time.perf_counter()
    ray = connect(None)
    up = time.perf_counter() - start
    memory = descendants_rss(__import__("os").getpid())
    start = time.perf_counter()
    ray.shutdown()
    return up, time.perf_counter() - start, memory


def sweep_on(address: str | None, home: Path) -> float:
    sweep_id = create_sweep(BASE, parse_space(GRID, []), cluster=address, home=home)
    start = time.perf_counter()
    final = execute(sweep_id, home=home)
    took = time.perf_counter() - start
    statuses = {r.status for r in RunStore(home).sweep_runs(sweep_id)}
    assert final.status == "done" and statuses == {"done"}, (final, statuses)
    return took


def runner_sequence(home: Path) -> float:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        configs = [RunConfig.from_dict({**BASE, "seed": s}) for s in range(TRIALS)]
        start = time.perf_counter()
        for config in configs:
            assert service.execute(service.create_run(config, home=home), home=home).status == "done"
        return time.perf_counter() - start
    finally:
        torch.set_num_threads(threads)


def cluster_sweep(nodes: int, home: Path) -> float:
    from ray.cluster_utils import Cluster

    cluster = Cluster(initialize_head=True, head_node_args={
        "num_cpus": 1, "include_dashboard": False, "temp_dir": tempfile.mkdtemp(prefix="ray", dir="/tmp")})
    try:
        for _ in range(nodes - 1):
            cluster.add_node(num_cpus=1)
        cluster.wait_for_nodes()
        return sweep_on(cluster.address, home)
    finally:
        cluster.shutdown()


def report(name: str, values: list[float], unit: str = "s") -> None:
    print(f"{name}: median {statistics.median(values):.2f} {unit}, best {min(values):.2f} {unit} "
          f"({', '.join(f'{v:.2f}' for v in values)})")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print(describe())
    starts, stops, memory = zip(*(ray_startup() for _ in range(args.repeats)), strict=True)
    report("ray.init on this machine", list(starts))
    report("ray.shutdown", list(stops))
    print(f"memory of Ray's processes once up: median {statistics.median(memory) / 2**20:.0f} MiB")
    with tempfile.TemporaryDirectory() as folder:
        home = Path(folder)
        plain, one, two = [], [], []
        for _ in range(args.repeats):
            plain.append(runner_sequence(home))
            one.append(cluster_sweep(1, home))
            two.append(cluster_sweep(2, home))
    report(f"{TRIALS} runs one after another, today's runner", plain)
    report(f"{TRIALS}-trial sweep, 1 node x 1 CPU", one)
    report(f"{TRIALS}-trial sweep, 2 nodes x 1 CPU", two)
    overheads = [(s - p) / TRIALS for s, p in zip(one, plain, strict=True)]
    report("overhead per trial (1-node sweep - runner) / 8", overheads)
    ratios = [a / b for a, b in zip(one, two, strict=True)]
    report("wall time 1 node / 2 nodes", ratios, "x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
