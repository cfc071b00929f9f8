"""Before and after, side by side: the analysis and the training-memory estimate of this checkout against
an earlier commit's, in one run.

Run: python benchmarks/bench_ab.py --before REV [--repeat N] [--models tv:densenet121,vgg16 | --all-tv]
     [--memory vgg16,resnet18]
The earlier commit's `cnnlab/` is exported to a temporary folder; two worker processes (one per version)
each warm up on a model, then take turns, one call each per repeat, so both see the same machine load.
Each call is timed in wall time and in process CPU time (a meta-device analysis and the simulation are
single-threaded: on a shared machine the CPU time is what a quiet one's wall clock would show). Prints
the median and best of each, and whether the two versions' results are identical (the whole summary's
JSON; every field of the memory model).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from machine import describe

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_MODELS = ("vgg16", "tv:densenet121", "tv:swin_t", "tv:resnet50", "tv:vit_b_16")


def _input_of(name: str) -> str:
    return "3x518x518" if name == "tv:vit_h_14" else "3x224x224"


def _call(request: dict) -> tuple[float, float, str]:
    """Run one request in this process: (wall ms, CPU ms, digest of the result)."""
    from cnnlab import model_config
    from cnnlab.analysis import analyze

    if request["kind"] == "analyze":
        def run() -> object:
            return analyze(request["model"], _input_of(request["model"])).to_dict()
    else:
        from cnnlab.analysis import memory

        config = model_config(request["model"], "3x224x224", classes=1000)

        def run() -> object:
            memory._cache.clear()
            model = memory.training_memory(config, request["optimizer"])
            return [getattr(model, phase).to_dict() for phase in ("step", "backward_base",
                                                                     "backward_per_sample")]
    wall, cpu = time.perf_counter(), time.process_time()
    result = run()
    wall, cpu = (time.perf_counter() - wall) * 1e3, (time.process_time() - cpu) * 1e3
    return wall, cpu, hashlib.sha256(json.dumps(result, sort_keys=True).encode()).hexdigest()


def worker() -> None:
    """Answer one JSON request per line with one JSON line: [wall ms, CPU ms, result digest]."""
    for line in sys.stdin:
        print(json.dumps(_call(json.loads(line))), flush=True)


class Worker:
    def __init__(self, path: Path) -> None:
        env = {**os.environ, "PYTHONPATH": str(path)}
        self.process = subprocess.Popen([sys.executable, __file__, "--worker"], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, text=True, env=env, cwd=path)

    def ask(self, request: dict) -> tuple[float, float, str]:
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        return tuple(json.loads(self.process.stdout.readline()))

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait()


def _line(label: str, runs: list[tuple[float, float, str]]) -> str:
    wall, cpu = [r[0] for r in runs], [r[1] for r in runs]
    return (f"{label:6s} wall median {statistics.median(wall):8.1f} best {min(wall):8.1f} ms | "
            f"CPU median {statistics.median(cpu):8.1f} best {min(cpu):8.1f} ms")


def compare(before: Worker, after: Worker, request: dict, repeat: int) -> tuple[float, float]:
    """Warm both, then alternate; print both lines and whether the results agree. (before, after) CPU
    medians."""
    before.ask(request), after.ask(request)
    runs: dict[str, list] = {"before": [], "after": []}
    for _ in range(repeat):
        runs["before"].append(before.ask(request))
        runs["after"].append(after.ask(request))
    same = {r[2] for r in runs["before"] + runs["after"]}
    name = request["model"] + (f" memory ({request['optimizer']})" if request["kind"] == "memory" else "")
    print(f"{name}: results {'identical' if len(same) == 1 else 'DIFFERENT'}")
    print("  " + _line("before", runs["before"]))
    print("  " + _line("after", runs["after"]))
    return tuple(statistics.median(r[1] for r in runs[k]) for k in ("before", "after"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--before", default="HEAD", help="the earlier commit (default: HEAD)")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--models", default=",".join(DEFAULT_MODELS))
    parser.add_argument("--all-tv", action="store_true", help="every torchvision classifier")
    parser.add_argument("--memory", default="vgg16", help="models whose training-memory estimate to time")
    parser.add_argument("--optimizer", default="adam")
    args = parser.parse_args()
    if args.worker:
        worker()
        return
    print(describe())
    print(f"load average at the start: {os.getloadavg()}")
    with tempfile.TemporaryDirectory() as folder:
        archive = subprocess.run(["git", "archive", args.before, "cnnlab"], cwd=ROOT, check=True,
                                 capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", folder], input=archive, check=True)
        before, after = Worker(Path(folder)), Worker(ROOT)
        try:
            models = [m for m in args.models.split(",") if m]
            if args.all_tv:
                from cnnlab.families.tv import tv_models

                models = [f"tv:{name}" for name in tv_models()]
            over = []
            for model in models:
                _, cpu = compare(before, after, {"kind": "analyze", "model": model}, args.repeat)
                over += [model] if cpu > 30 else []
            print(f"after, over 30 ms of CPU (median): {len(over)} of {len(models)}: {', '.join(over)}")
            for model in filter(None, args.memory.split(",")):
                compare(before, after, {"kind": "memory", "model": model, "optimizer": args.optimizer},
                        args.repeat)
        finally:
            before.close()
            after.close()
    print(f"load average at the end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
