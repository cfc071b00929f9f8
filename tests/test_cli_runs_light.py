"""`cnnlab --help` and the `runs` verbs answer without importing torch, the analysis or pandas, and
their JSON is strict JSON."""

import json
import math
import os
import subprocess
import sys

import pytest

from cnnlab.cli import VERBS, build_parser, main
from cnnlab.runs.store import RunStore

HEAVY = ("torch", "cnnlab.analysis", "cnnlab.zoo", "pandas")
PROBE = f"""
import json, sys
from cnnlab.cli import main
try:
    status = main(sys.argv[1:])
except SystemExit as exc:  # --help
    status = exc.code
print(json.dumps({{"status": status, "heavy": [m for m in {HEAVY!r} if m in sys.modules]}}))
"""


def refuse(token: str) -> None:
    raise ValueError(f"not JSON: {token}")


def recorded(home) -> int:
    """A run with infinite and NaN metrics and an infinite final loss."""
    store = RunStore(home)
    run_id = store.create_run({"epochs": 1}, name="diverged", model="lenet", dataset="shapes")
    store.log_metrics(run_id, 1, 0.5, {"train_loss": float("inf"), "grad": float("-inf"),
                                       "lr": float("nan"), "train_acc": 0.25})
    store.finish(run_id, "diverged", final_train_loss=float("inf"), final_train_acc=0.25)
    return run_id


@pytest.mark.slow  # a process per verb: what is imported is a property of a fresh interpreter
def test_help_and_the_runs_verbs_import_neither_torch_nor_the_analysis(tmp_path):
    run_id = recorded(tmp_path)
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    home = ["--home", str(tmp_path)]
    for argv in (["--help"], ["runs", *home], ["runs", "--format", "json", *home],
                 ["runs", "show", str(run_id), *home],
                 ["runs", "export", str(run_id), "--format", "json", *home],
                 ["runs", "pin", str(run_id), *home], ["runs", "cancel", str(run_id), *home],
                 ["runs", "cancel", "sweep:1", *home], ["runs", "delete", str(run_id), *home]):
        probe = subprocess.run([sys.executable, "-c", PROBE, *argv], capture_output=True, text=True, env=env,
                               timeout=120)
        result = json.loads(probe.stdout.splitlines()[-1])
        assert result["heavy"] == [], (argv, result)
        # the verbs that act on an ended run, a missing sweep or a student's pin are refused in one line
        assert result["status"] == (2 if argv[1:2] in (["cancel"], ["pin"]) else 0), (argv, probe.stderr)
    assert RunStore(tmp_path).list_runs() == []  # the delete went through


def test_runs_export_and_listing_are_strict_json_with_infinities_as_strings(tmp_path, capsys):
    run_id = recorded(tmp_path)
    assert main(["runs", "export", str(run_id), "--format", "json", "--home", str(tmp_path)]) == 0
    data = json.loads(capsys.readouterr().out, parse_constant=refuse)
    assert (data["run"]["final_train_loss"], data["run"]["final_train_acc"]) == ("inf", 0.25)
    assert [(m["name"], m["value"]) for m in data["metrics"]] == [
        ("train_loss", "inf"), ("grad", "-inf"), ("lr", None), ("train_acc", 0.25)]
    assert math.isinf(float(data["metrics"][1]["value"])) and float(data["metrics"][1]["value"]) < 0
    assert main(["runs", "--format", "json", "--home", str(tmp_path)]) == 0
    (listed,) = json.loads(capsys.readouterr().out, parse_constant=refuse)
    assert (listed["id"], listed["status"], listed["final_train_loss"]) == (run_id, "diverged", "inf")


def test_the_help_line_of_every_verb_is_its_modules():
    sub = build_parser()._subparsers._group_actions[0]  # every verb's module imported
    assert {action.dest: action.help for action in sub._choices_actions} == {
        name: text for name, (_, text) in VERBS.items()}
