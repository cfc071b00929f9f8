"""Peak memory of the largest requests cnnlab accepts, each in a fresh process, on the CPU.

Run: python benchmarks/bench_limits.py [--repeat N]
Each case is a `cnnlab` command at (or next to) a limit of `cnnlab/limits.py`; it runs N times (default
3), each in a fresh child process, and the child's peak resident memory (ru_maxrss) and wall time are
printed as median and best of the N, with the exit status.
The cases show that the limits bound memory: the analysis traces on the meta device whatever the size,
the effective field computes in chunks under MAX_FIELD_BYTES, and refused requests cost nothing. A row
of docs/BENCHMARKS.md is this script's output with the machine line it prints first.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from machine import describe

from cnnlab import limits

CLI = (sys.executable, "-m", "cnnlab")
WIDE_SEQ = "seq:" + ",".join(["c3-64p1", "relu"] * (limits.MAX_LAYERS // 2 - 1) + ["gap"])
BIG_SIDE = f"3x{limits.MAX_INPUT_SIDE}x{limits.MAX_INPUT_SIDE}"

# (what, argv after `cnnlab`)
CASES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("summary of LeNet (a baseline: the interpreter, torch and cnnlab)", ("summary", "lenet")),
    (f"summary of ResNet-50 at {BIG_SIDE} (the largest side)",
     ("summary", "resnet50", "--input", BIG_SIDE)),
    (f"summary of a {limits.MAX_LAYERS - 1}-layer seq", ("summary", WIDE_SEQ)),
    (f"summary of two {limits.MAX_CHANNELS}-channel 3×3 convs (151M params)",
     ("summary", f"seq:c3-{limits.MAX_CHANNELS}p1,relu,c3-{limits.MAX_CHANNELS}p1,gap", "--input",
      "1x64x64")),
    (f"field of VGG-11/4 block5 over {limits.MAX_INSPECT_IMAGES} images at 1x224x224",
     ("field", "vgg11", "--width-divisor", "4", "--layer", "block5", "--images",
      str(limits.MAX_INSPECT_IMAGES), "--format", "json")),
    ("field of VGG-11/4 block5 over 16 images at 1x512x512",
     ("field", "vgg11", "--width-divisor", "4", "--input", "1x512x512", "--layer", "block5", "--images",
      "16", "--format", "json")),
    (f"summary at {limits.MAX_INPUT_SIDE + 1} px (refused)", ("summary", "vgg11", "--input",
                                                             f"1x{limits.MAX_INPUT_SIDE + 1}x1")),
)


def measure(argv: tuple[str, ...]) -> tuple[int, float, float]:
    """(exit status, wall seconds, peak RSS in MiB) of `cnnlab argv` in a fresh child process."""
    wrapper = ("import resource, subprocess, sys; status = subprocess.run(sys.argv[1:], "
               "stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode; "
               "print(status, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", wrapper, *CLI, *argv], capture_output=True, text=True,
                         check=True).stdout.split()
    return int(out[0]), time.perf_counter() - start, int(out[1]) / 1024  # ru_maxrss is in KiB on Linux


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    repeat = parser.parse_args().repeat
    print(describe())
    print(f"limits: MAX_INPUT_SIDE {limits.MAX_INPUT_SIDE}, MAX_LAYERS {limits.MAX_LAYERS}, "
          f"MAX_CHANNELS {limits.MAX_CHANNELS}, MAX_INSPECT_IMAGES {limits.MAX_INSPECT_IMAGES}, "
          f"MAX_FIELD_BYTES {limits.MAX_FIELD_BYTES / 1024**3:g} GiB; median / best of {repeat}")
    print(f"{'case':<72} {'exit':>4} {'wall s':>11} {'peak MiB':>11}")
    with tempfile.TemporaryDirectory() as home:
        for what, argv in CASES:
            runs = [measure((*argv, "--home", home) if argv[0] == "field" else argv) for _ in range(repeat)]
            statuses, walls, peaks = zip(*runs, strict=True)
            wall = f"{statistics.median(walls):.1f} / {min(walls):.1f}"
            peak = f"{statistics.median(peaks):.0f} / {min(peaks):.0f}"
            print(f"{what:<72} {'/'.join(sorted(set(map(str, statuses)))):>4} {wall:>11} {peak:>11}")
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"(this script itself: {own:.0f} MiB; {Path(__file__).name})")


if __name__ == "__main__":
    main()
