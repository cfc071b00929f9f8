"""`python -m cnnlab train` and `runs` as a user runs them: real subprocesses, a real run store."""

import csv
import io
import json
import re
import subprocess
import sys
import time

import pytest
import torch

SMALL = ["--dataset", "shapes", "--limit-train", "256", "--limit-test", "128", "--batch-size", "64",
         "--device", "cpu"]
RUN_KEYS = {"id", "name", "status", "model", "dataset", "config", "params", "macs", "epochs_done",
            "final_train_loss", "final_train_acc", "final_test_acc", "examples_per_sec", "error",
            "created_at", "finished_at"}


pytestmark = pytest.mark.usefixtures("no_stray_workers")


def runs_json(cnnlab, home) -> list[dict]:
    status, out, err = cnnlab("runs", "--format", "json", home=home)
    assert status == 0, err
    return json.loads(out)


def test_foreground_training_prints_the_textbook_closing_lines_and_is_recorded(tmp_path, cnnlab):
    result = subprocess.run([sys.executable, "-m", "cnnlab", "train", "lenet", *SMALL, "--epochs", "2",
                             "--name", "cli run", "--home", str(tmp_path)],
                            capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr
    loss_line, speed_line = result.stdout.strip().splitlines()[-2:]
    assert loss_line.startswith("loss ") and ", train acc " in loss_line and ", test acc " in loss_line
    assert speed_line.endswith(" examples/sec on cpu")
    assert "epochs" in result.stderr  # the progress bar
    [run] = runs_json(cnnlab, tmp_path)
    assert set(run) >= RUN_KEYS and run["status"] == "done" and run["name"] == "cli run"
    assert run["config"]["epochs"] == 2 and run["config"]["model"]["input"] == [1, 28, 28]
    assert f"{run['final_test_acc']:.3f}" in loss_line

    run_id = str(run["id"])
    status, out, _ = cnnlab("runs", home=tmp_path)
    row = re.split(r" {2,}", out.splitlines()[2].strip())
    assert status == 0 and (row[:3], row[11]) == ([run_id, "cli run", "done"], "2")  # …, epochs
    status, out, _ = cnnlab("runs", "show", run_id, home=tmp_path)
    assert status == 0 and re.search(r"^  epochs +2$", out, re.M) and "test_acc" in out
    status, out, _ = cnnlab("runs", "export", run_id, home=tmp_path)
    rows = list(csv.DictReader(io.StringIO(out)))
    assert status == 0 and sum(r["name"] == "test_acc" for r in rows) == 2
    path = tmp_path / "metrics.json"
    assert cnnlab("runs", "export", run_id, "--format", "json", "--output", str(path), home=tmp_path)[0] == 0
    assert json.loads(path.read_text())
    status, _, err = cnnlab("runs", "export", run_id, "--output", str(tmp_path), home=tmp_path)
    assert status == 2 and f"cannot write {tmp_path}" in err and "Traceback" not in err
    assert cnnlab("runs", "delete", run_id, home=tmp_path)[0] == 0 and runs_json(cnnlab, tmp_path) == []


def test_background_launch_prints_the_id_and_can_be_cancelled(tmp_path, cnnlab):
    status, out, err = cnnlab("train", "lenet", *SMALL, "--epochs", "1000", "--speed", "fixed",
                              "--background", home=tmp_path)
    assert status == 0, err
    assert out.startswith("run 1 launched") and "runs show 1" in out

    def current() -> str:
        return runs_json(cnnlab, tmp_path)[0]["status"]

    deadline = time.monotonic() + 60
    while current() != "running" and time.monotonic() < deadline:
        time.sleep(0.2)
    assert cnnlab("runs", "cancel", "1", home=tmp_path)[0] == 0
    deadline = time.monotonic() + 120  # a liveness bound; how soon: benchmarks/bench_runner.py
    while current() == "running" and time.monotonic() < deadline:
        time.sleep(0.2)
    assert current() == "cancelled"


@pytest.mark.parametrize(("args", "message"), [
    (["train", "lenett"], "unknown model 'lenett'"),
    (["train", "lenet", "--epochs", "0"], "epochs must be at least 1"),
    (["train", "lenet", "--optimizer", "rmsprop"],
     "argument --optimizer: 'rmsprop' is not one of sgd, adam, adamw"),
    (["train", "lenet", "--dataset", "imagenet"], "argument --dataset: 'imagenet' is not one of shapes, "),
    (["train", "lenet", "--input", "3x32x32"], "does not match shapes"),
    (["train", "lenet", "--lr", "fast"], "argument --lr: 'fast' is not a number"),
    (["train", "lenet", "--dataset", "mnist", "--data-dir", "{tmp}/absent", "--device", "cpu"],
     "mnist"),
    (["train"], "train needs a MODEL"),
    (["runs", "show", "42"], "42"),
    (["runs", "cancel", "42"], "42"),
    (["runs", "delete", "42"], "42"),
    (["runs", "export", "42", "--format", "xml"], "invalid choice: 'xml'"),
    (["train", "--run-id", "42"], "no run with id 42"),
])
def test_bad_input_is_one_line_and_exit_status_2(tmp_path, cnnlab, args, message):
    status, out, err = cnnlab(*(a.format(tmp=tmp_path) for a in args), home=tmp_path)
    assert status == 2, out + err
    assert err.startswith("cnnlab: error: ") and err.count("\n") == 1 and message in err, err


def test_worker_form_needs_run_id_and_home(cnnlab):
    status, _, err = cnnlab("train", "--run-id", "1")
    assert status == 2 and "train --run-id N --home DIR" in err


def test_a_batch_too_large_for_the_machine_is_refused_before_anything_is_allocated(tmp_path, cnnlab):
    from cnnlab.devices import device_total
    from cnnlab.spec import model_config
    from cnnlab.train.config import RunConfig, fit_input
    from cnnlab.train.memory import run_memory

    status, out, err = cnnlab("train", "vgg11", "--width-divisor", "4", "--dataset", "shapes",
                              "--resize", "224", "--batch-size", "4096", "--epochs", "1", "--device", "cpu",
                              home=tmp_path)
    assert status == 2 and err.count("\n") == 1, out + err
    found = re.fullmatch(r"cnnlab: error: batch size 4096 needs about (.+) to train vgg11, "
                         r"more than 80% of cpu's (.+); batch size (\d+) fits\n", err)
    assert found, err
    assert runs_json(cnnlab, tmp_path) == []  # nothing recorded
    config = RunConfig(model=fit_input(model_config("vgg11", width_divisor=4), "shapes", resize=224),
                       dataset="shapes", resize=224, batch_size=4096, device="cpu",
                       optimizer="adam")  # the family's recipe (cnnlab.train.recipes): Adam's state counts
    memory, budget = run_memory(config), 0.8 * device_total(torch.device("cpu"))
    # By hand, a lower bound: block1's first ReLU alone keeps 16 × 224 × 224 float32 values per image.
    assert memory.at(4096).total >= 4096 * 16 * 224 * 224 * 4
    fits = int(found.group(3))
    assert memory.at(fits).total <= budget < memory.at(fits + 1).total
