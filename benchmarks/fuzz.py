"""Fuzz the command line: random and adversarial model strings and option sets through `cnnlab summary`.

Every call goes through the CLI's own entry point (`cnnlab.cli.main`: its parser, the model config,
the analysis, the table), with output discarded. Each call must end in one of two ways: accepted
(exit 0) or rejected with a ConfigError (exit 2, one line); anything else — an exception escaping, a
traceback — is counted as "other" and printed, and must stay at 0. Absurd sizes must be refused
before anything is allocated, so the slowest call must stay under 2 s. Cases: presets, VGG block
strings, `seq` layer strings, `tv:` torchvision names, junk and hostile text, with random inputs,
classes, divisors, widths, depths, stems and levels, valid and not.

    python benchmarks/fuzz.py [--cases 10000] [--seed 0]

Prints the counts, the slowest call, the median time and the peak RSS.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import random
import resource
import statistics
import time
import traceback

from machine import describe

from cnnlab.cli import main as cli
from cnnlab.families.seq import KINDS
from cnnlab.families.tv import tv_models

PRESETS = ["lenet", "alexnet", "vgg11", "vgg13", "vgg16", "vgg19", "resnet18", "resnet34", "resnet50"]
JUNK = ["", " ", "vgg:", "seq:", "tv:", "vgg:1x", "vgg:x64", "seq:c", "seq:c3-", "seq:fc", "![x](http://h/p.png)",
        "[click](http://h)", "<script>", "vgg:1x64,,2x128", "seq:c3-8,,relu", "tv:../../etc/passwd", "tv:os",
        "NaN", "inf", "-1", "0x10", "💥", "vgg:١x٦٤", "seq:c3-8p", "seq:c3-8s0", "seq:m2ceilceil",
        "vgg:99999999999x1", "seq:c999999999-999999999", "seq:fc999999999", "seq:drop1.5", "seq:drop-1",
        "lenet\n--input 1x1x1", "VGG11", "resnet18 ", "alexnet;rm -rf /"]
SEQ_TOKENS = ["relu", "sig", "tanh", "bn", "gap", "flat"]


def number(rng: random.Random, small: int = 64) -> str:
    """Mostly sensible sizes, sometimes zero, negative, huge or not a number."""
    if rng.random() < 0.93:
        return str(rng.randint(1, small))
    return rng.choice(["0", str(-rng.randint(1, 9)), str(rng.randint(10**4, 10**12)), "1.5", "x", "",
                       "9" * 30])


def vgg_string(rng: random.Random) -> str:
    blocks = [f"{number(rng, 4)}x{number(rng, 128)}" for _ in range(rng.randint(0, 8))]
    return "vgg:" + ",".join(blocks) + rng.choice([""] * 8 + [",", "x", " ", ";"])


def seq_token(rng: random.Random) -> str:
    kind = rng.choice(list(KINDS))
    if kind == "conv":
        token = f"c{number(rng, 7)}-{number(rng, 64)}"
        for suffix in rng.sample(["s", "p", "d", "g", "nb", "psame"], rng.randint(0, 3)):
            token += suffix if suffix in ("nb", "psame") else f"{suffix}{number(rng, 3)}"
        return token
    if kind in ("max", "avg"):
        token = f"{'m' if kind == 'max' else 'a'}{number(rng, 4)}"
        for suffix in rng.sample(["s", "p", "ceil"], rng.randint(0, 2)):
            token += suffix if suffix == "ceil" else f"{suffix}{number(rng, 3)}"
        return token
    if kind == "drop":
        return f"drop{rng.choice(['0.5', '0', '0.99', '1', '2', '-0.1', 'x'])}"
    if kind == "fc":
        return f"fc{number(rng, 256)}"
    return rng.choice(SEQ_TOKENS)


def seq_string(rng: random.Random) -> str:
    return "seq:" + ",".join(seq_token(rng) for _ in range(rng.randint(0, 12)))


def model_text(rng: random.Random, tv_names: list[str]) -> str:
    kind = rng.random()
    if kind < 0.15:
        return rng.choice(PRESETS)
    if kind < 0.45:
        return vgg_string(rng)
    if kind < 0.80:
        return seq_string(rng)
    if kind < 0.88:
        return "tv:" + rng.choice(tv_names + ["nope", "resnet", "ResNet18", ""])
    return rng.choice(JUNK)


# The options each family takes (the others are refused): half of the cases only use these, with sane
# values, so that many calls get through to the analysis.
FAMILY_OPTIONS = {"lenet": (), "alexnet": ("--fc-width",),
                  "vgg": ("--fc-width", "--width-divisor", "--batch-norm"),
                  "resnet": ("--depth", "--stem", "--width-divisor"), "seq": (), "tv": ()}
SANE = {"--fc-width": lambda rng: str(rng.choice([16, 64, 512, 4096])),
        "--width-divisor": lambda rng: str(rng.randint(1, 8)),
        "--depth": lambda rng: rng.choice(["18", "34", "50"]),
        "--stem": lambda rng: rng.choice(["imagenet", "cifar"]), "--batch-norm": None}


def family(model: str) -> str:
    return next((f for f in FAMILY_OPTIONS if model.startswith(f)), "seq")


def options(rng: random.Random, model: str) -> list[str]:
    if rng.random() < 0.5:
        side = rng.choice([28, 32, 64, 96, 224])
        args = ["--input", f"{rng.choice([1, 3])}x{side}x{side}"] if rng.random() < 0.7 else []
        args += ["--classes", str(rng.randint(2, 1000))] if rng.random() < 0.3 else []
        for flag in FAMILY_OPTIONS[family(model)]:
            if rng.random() < 0.4:
                args += [flag] if SANE[flag] is None else [flag, SANE[flag](rng)]
        return args
    args: list[str] = []
    if rng.random() < 0.6:
        side = rng.choice([28, 32, 64, 96, 224])
        args += ["--input", rng.choice([f"{number(rng, 3)}x{number(rng, 256)}x{number(rng, 256)}",
                                        f"{rng.choice([1, 3])}x{side}x{side}", "3x224", "axbxc",
                                        "1x28x28x1"])]
    for flag, value in (("--classes", lambda: number(rng, 1000)), ("--width-divisor", lambda: number(rng, 8)),
                        ("--fc-width", lambda: number(rng, 4096)), ("--levels", lambda: number(rng, 4)),
                        ("--depth", lambda: rng.choice(["18", "34", "50", "101", "x"])),
                        ("--stem", lambda: rng.choice(["imagenet", "cifar", "none"])),
                        ("--format", lambda: rng.choice(["table", "json", "csv", "xml"]))):
        if rng.random() < 0.25:
            args += [flag, value()]
    if rng.random() < 0.15:
        args.append("--batch-norm")
    if rng.random() < 0.03:
        args.append(rng.choice(["--bogus", "--input", "-x"]))
    return args


def run_case(argv: list[str]) -> tuple[str, float, str]:
    """('accepted' | 'rejected' | 'other', seconds, detail) of one CLI call."""
    out, err = io.StringIO(), io.StringIO()
    start = time.perf_counter()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            status = cli(argv)
    except BaseException:  # noqa: BLE001 (anything escaping the CLI is what the fuzzer looks for)
        return "other", time.perf_counter() - start, traceback.format_exc(limit=3)
    seconds = time.perf_counter() - start
    message = err.getvalue()
    if status == 0:
        return "accepted", seconds, ""
    if status == 2 and message.startswith("cnnlab: error: ") and message.count("\n") == 1:
        return "rejected", seconds, message
    return "other", seconds, f"exit {status}: {message!r}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    tv_names = list(tv_models())
    counts = {"accepted": 0, "rejected": 0, "other": 0}
    times: list[float] = []
    slowest = (0.0, [])
    slowest_by_kind: dict[str, float] = {}
    start = time.perf_counter()
    for _ in range(args.cases):
        model = model_text(rng, tv_names)
        argv = ["summary", model, *options(rng, model)]
        outcome, seconds, detail = run_case(argv)
        counts[outcome] += 1
        times.append(seconds)
        slowest = max(slowest, (seconds, argv))
        kind = family(model) if ":" in model or model in PRESETS else "junk"
        slowest_by_kind[kind] = max(slowest_by_kind.get(kind, 0.0), seconds)
        if outcome == "other":
            print(f"OTHER: {argv!r}\n{detail}", flush=True)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(describe())
    print(f"{args.cases} calls in {time.perf_counter() - start:.0f} s (seed {args.seed}): "
          f"accepted {counts['accepted']}, ConfigError {counts['rejected']}, other {counts['other']}")
    print(f"slowest call {slowest[0]:.3f} s: cnnlab {' '.join(slowest[1])}")
    print("slowest by kind: " + ", ".join(f"{kind} {t:.2f} s" for kind, t in sorted(slowest_by_kind.items())))
    print(f"median call {statistics.median(times) * 1e3:.1f} ms; peak RSS {peak:.0f} MiB")
    if counts["other"] or slowest[0] >= 2.0:
        raise SystemExit("FAILED: an unexpected outcome, or a call of 2 s or more")


if __name__ == "__main__":
    main()
