"""The CLI contracts: fixed commands whose output is recorded in tests/contracts/*.json.

`tests/test_cli_contracts.py` reruns every case and compares its output with the recorded one. Only what
legitimately varies between runs and machines is normalised (`VARYING`, listed below); everything else
must match exactly. Rerun this file (`python tests/contracts/record.py`) only on a deliberate change of
a contract, and say so in the commit.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import sys
import tempfile
from pathlib import Path
from typing import Any

import torch

HERE = Path(__file__).parent
HOME = "<home>"  # the run store folder, a fresh temporary one per recording
USER = "student"  # the user the cases act as ($CNNLAB_USER), so `owner` reads the same on every machine

# (name, argv, stdout form: "json" or "text"). Cases run in this order in one run store: the train case
# creates run 1 that the runs cases read.
CASES: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("summary_lenet", ("summary", "lenet", "--format", "json"), "json"),
    ("summary_vgg11_w4", ("summary", "vgg11", "--width-divisor", "4", "--format", "json"), "json"),
    ("summary_vgg11_w4_levels1", ("summary", "vgg11", "--width-divisor", "4", "--levels", "1"), "text"),
    ("summary_resnet18", ("summary", "resnet18", "--format", "json"), "json"),
    ("summary_seq", ("summary", "seq:c3-16p1,bn,relu,m2,c3-32s2p1,relu,drop0.5,gap,fc10",
                     "--input", "3x32x32", "--format", "json"), "json"),
    ("summary_tv_resnet18", ("summary", "tv:resnet18", "--input", "3x64x64", "--levels", "2",
                             "--format", "json"), "json"),
    ("summary_fc_as_conv", ("summary", "lenet", "--fc-as-conv", "1x36x36", "--format", "json"), "json"),
    ("summary_lenet_csv", ("summary", "lenet", "--format", "csv"), "text"),
    ("code_lenet", ("code", "lenet"), "text"),
    ("code_vgg11_w4", ("code", "vgg11", "--width-divisor", "4", "--batch-norm"), "text"),
    ("code_resnet18", ("code", "resnet18", "--stem", "cifar"), "text"),
    ("code_seq", ("code", "seq:c3-8p1,relu,a2,c3-8g2,tanh,flat,fc32,sig,fc10"), "text"),
    ("compare_vgg11", ("compare", "vgg11", "vgg11", "--b-width-divisor", "4", "--b-input", "1x96x96",
                       "--format", "json"), "json"),
    ("compare_lenet_resnet", ("compare", "lenet", "resnet18", "--b-stem", "cifar", "--b-input", "3x32x32"),
     "text"),
    ("field_lenet", ("field", "lenet", "--layer", "conv2", "--unit", "3,4", "--images", "4",
                     "--format", "json"), "json"),
    ("train_lenet", ("train", "lenet", "--dataset", "shapes", "--epochs", "1", "--batch-size", "64",
                     "--limit-train", "256", "--limit-test", "128", "--optimizer", "adam", "--lr", "0.01",
                     "--speed", "fixed", "--device", "cpu", "--seed", "3", "--home", HOME), "text"),
    ("runs_list_json", ("runs", "--format", "json", "--home", HOME), "json"),
    ("runs_list", ("runs", "--home", HOME), "text"),
    ("runs_show", ("runs", "show", "1", "--home", HOME), "text"),
    ("runs_export_json", ("runs", "export", "1", "--format", "json", "--home", HOME), "json"),
    ("runs_export_csv", ("runs", "export", "1", "--home", HOME), "text"),
    # Refusals: exit status 2 and one line on stderr.
    ("error_summary_model", ("summary", "vgg:1x8,1x8,1x8,1x8,1x8,1x8", "--input", "1x28x28"), "text"),
    ("error_summary_option", ("summary", "lenet", "--depth", "18"), "text"),
    ("error_train_epochs", ("train", "lenet", "--epochs", "0", "--home", HOME), "text"),
    ("error_train_optimizer", ("train", "lenet", "--optimizer", "rmsprop", "--home", HOME), "text"),
    ("error_sweep_param", ("sweep", "lenet", "--grid", "colour=1,2", "--home", HOME), "text"),
    ("error_sweep_value", ("sweep", "lenet", "--grid", "optimizer=sgd,lbfgs", "--home", HOME), "text"),
    ("error_runs_unknown", ("runs", "show", "99", "--home", HOME), "text"),
    ("error_field_layer", ("field", "lenet", "--layer", "conv9"), "text"),
    ("error_compare_model", ("compare", "lenet", "vgg:2x0"), "text"),
)

# What legitimately varies, and nothing else: times, speed, the worker's pid, the measured peak memory
# (the CPU's kernels differ between processors), the machine and the software versions in the provenance
# (its device and speed path stay exact), and the run store's folder. The memory estimate stays exact.
VARYING_KEYS = frozenset({"created_at", "started_at", "finished_at", "heartbeat_at", "examples_per_sec",
                          "tflops", "pid", "pid_start", "peak_memory", "first_point_at"})
VARYING_PROVENANCE = frozenset({"git_commit", "torch", "torchvision", "python", "device_name", "threads",
                                "cpus"})
VARYING_METRICS = frozenset({"examples_per_sec", "tflops", "seconds_left"})  # a speed, or a time from one
_TEXT_RULES = (
    (re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d"), "<time>"),              # runs list / show times
    (re.compile(r"(?m)^(  examples_per_sec +|  pid +|  tflops +|  peak_memory +|  timings +).*$"),
     r"\1<varies>"),
    (re.compile(r"peak memory [0-9.]+ \w+ \("), "peak memory <varies> ("),       # train's memory line
    (re.compile(rf"(?m)^(  (?:{'|'.join(sorted(VARYING_PROVENANCE))}) +).*$"), r"\1<varies>"),
    # runs list: examples/s (before the owner), peak memory, first point, duration (after the estimate)
    (re.compile(rf"(?m)^( *\d+  .*  )\S+(  {USER}  .*  )\S+(  +\S+  +)\S+(  +)\S+$"),
     r"\1<varies>\2<varies>\3<varies>\4<varies>"),
    (re.compile(r"(?m)((?:examples_per_sec|seconds_left) +)\S+$"), r"\1<varies>"),  # show's metric rows
    (re.compile(r"[0-9.]+ examples/sec"), "<varies> examples/sec"),          # train's closing line
    (re.compile(r"(?m)^(\d+,[0-9.]+,(?:examples_per_sec|seconds_left),)\S+$"), r"\1<varies>"),  # csv rows
)


def normalise_json(data: Any) -> Any:
    """`data` with the VARYING_KEYS' values and the speed metrics' values replaced by '<varies>'."""
    if isinstance(data, list):
        return [normalise_json(item) for item in data]
    if not isinstance(data, dict):
        return data
    if data.get("name") in VARYING_METRICS and "value" in data:
        return {**data, "value": "<varies>"}
    return {k: "<varies>" if k in VARYING_KEYS and v is not None else
            {p: "<varies>" if p in VARYING_PROVENANCE else x for p, x in v.items()}
            if k == "provenance" and isinstance(v, dict) else normalise_json(v)
            for k, v in data.items()}


def normalise_text(text: str, home: str) -> str:
    text = text.replace(home, HOME)
    for pattern, replacement in _TEXT_RULES:
        text = pattern.sub(replacement, text)
    return text


def run_case(argv: tuple[str, ...], form: str, home: str) -> dict[str, Any]:
    """Run one command in this process; its exit status and normalised stdout (stderr for a refusal)."""
    from cnnlab.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main([home if a == HOME else a for a in argv])
    result: dict[str, Any] = {"argv": list(argv), "status": status}
    if status != 0:
        result["stderr"] = normalise_text(err.getvalue(), home)
    text = out.getvalue()
    result["stdout"] = normalise_json(json.loads(text)) if form == "json" and status == 0 else \
        normalise_text(text, home)
    return result


def run_all() -> dict[str, dict[str, Any]]:
    """Every case, in order, in a fresh run store, acting as USER; one CPU thread so training's figures
    do not depend on the machine's cores (both restored afterwards)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    user = os.environ.get("CNNLAB_USER")
    os.environ["CNNLAB_USER"] = USER
    try:
        with tempfile.TemporaryDirectory() as home:
            return {name: run_case(argv, form, home) for name, argv, form in CASES}
    finally:
        torch.set_num_threads(threads)
        if user is None:
            del os.environ["CNNLAB_USER"]
        else:
            os.environ["CNNLAB_USER"] = user


def path(name: str) -> Path:
    return HERE / f"{name}.json"


def main() -> None:
    for name, result in run_all().items():
        path(name).write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n")
        print(f"recorded {path(name).name}: status {result['status']}", file=sys.stderr)


if __name__ == "__main__":
    main()
