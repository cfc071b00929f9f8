"""Census: every torchvision classifier and every timm model analysed at its default input.

Run: python benchmarks/census.py [--family tv|timm|all] [--limit N] [--seconds S] [--out FILE]
Each model gets S seconds (SIGALRM); prints one line per model (time or failure's one-line reason),
then the totals, the failures grouped by reason and the 10 slowest. Timings are CPU-bound wall times
on whatever machine runs it: say which, and whether it was shared.
"""

from __future__ import annotations

import argparse
import collections
import re
import signal
import time

from machine import describe

from cnnlab.analysis import analyze


class TimeLimit(Exception):
    pass


def _alarm(signum, frame):  # noqa: ANN001
    raise TimeLimit


def names(family: str, limit: int | None) -> list[str]:
    found = []
    if family in ("tv", "all"):
        from cnnlab.families.tv import tv_models

        found += [f"tv:{n}" for n in tv_models()]
    if family in ("timm", "all"):
        from cnnlab.families.timm_models import timm_models

        found += [f"timm:{n}" for n in timm_models()]
    return found[:limit] if limit else found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--family", choices=("tv", "timm", "all"), default="all")
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    signal.signal(signal.SIGALRM, _alarm)
    times: dict[str, float] = {}
    failures: dict[str, str] = {}
    out = open(args.out, "w") if args.out else None  # noqa: SIM115
    for model in names(args.family, args.limit):
        start = time.perf_counter()
        signal.alarm(args.seconds)
        try:
            analyze(model)  # at the family's default input (timm: the pretrained configuration's)
            times[model] = time.perf_counter() - start
            line = f"{model}\t{times[model] * 1e3:.0f} ms"
        except TimeLimit:
            failures[model] = f"over the {args.seconds} s limit"
            line = f"{model}\tFAIL\t{failures[model]}"
        except Exception as exc:  # noqa: BLE001 (a census records every failure)
            failures[model] = (str(exc).splitlines() or [type(exc).__name__])[0][:200]
            line = f"{model}\tFAIL\t{failures[model]}"
        finally:
            signal.alarm(0)
        print(line, flush=True)
        if out:
            print(line, file=out, flush=True)
    print(describe())
    total = len(times) + len(failures)
    print(f"analysed {len(times)} of {total}; failed {len(failures)}")
    if times:
        ordered = sorted(times.values())
        print(f"median {ordered[len(ordered) // 2] * 1e3:.0f} ms, best {ordered[0] * 1e3:.0f} ms")
    reasons = collections.Counter(re.sub(r"\d[\d,]*", "N", re.sub(r"(tv|timm):\S+", "MODEL", r))[:100]
                                  for r in failures.values())
    for reason, count in reasons.most_common():
        print(f"{count:4d}  {reason}")
    for model, seconds in sorted(times.items(), key=lambda kv: -kv[1])[:10]:
        print(f"slowest  {model}  {seconds * 1e3:.0f} ms")


if __name__ == "__main__":
    main()
