"""Sweeps on a real Ray: the local default, a real two-node cluster on this machine, cancelling, and
the messages when Ray or the cluster is missing. Trials are tiny (a few hundred images, 1-2 epochs)."""

import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import torch

from cnnlab.cli import main
from cnnlab.sweep import SweepStore
from cnnlab.train import runner
from cnnlab.train.config import RunConfig
from cnnlab.train.store import DB_FILE, TERMINAL, process_alive
from cnnlab.train.weights import WEIGHTS_FILE

ROOT = Path(__file__).resolve().parents[1]
TINY = ["--dataset", "shapes", "--device", "cpu", "--limit-test", "100", "--batch-size", "32"]
# A tiny VGG that reaches ~0.9 test accuracy in one epoch of 4,096 images: next to it, lr 1000 is
# clearly bad (chance level), so ASHA's decision does not depend on noise.
VGG = ["vgg:1x8,1x16", "--fc-width", "32", "--normalize", "--optimizer", "adam", "--limit-train", "4096"]

def sweep(*args: str, home: Path) -> int:
    return main(["sweep", *args, *TINY, "--home", str(home)])


def wait_for(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def test_local_grid_with_repeats_and_asha_stops_the_bad_rate(tmp_path, capsys):
    assert sweep(*VGG, "--grid", "lr=0.01,1000", "--repeats", "2", "--epochs", "2", "--early-stop", "asha",
                 home=tmp_path) == 0
    out = capsys.readouterr().out
    store = SweepStore(tmp_path)
    (record,) = store.list_sweeps()
    runs = store.sweep_runs(record.id)
    assert record.status == "done" and record.cluster is None and len(runs) == 4
    assert [(r.config["lr"], r.config["seed"]) for r in runs] == [(0.01, 0), (0.01, 1), (1000, 0), (1000, 1)]
    assert [r.group_id for r in runs] == [runs[0].id] * 2 + [runs[2].id] * 2
    assert {r.sweep_id for r in runs} == {record.id} and all(r.node for r in runs)
    good, bad = runs[:2], runs[2:]
    # Both good trials start first (grid order, one per CPU) and set the bar at epoch 1; the bad rate
    # falls below it, so ASHA ends both bad trials after their first epoch.
    for run in bad:
        assert run.status == "stopped early" and run.epochs_done == 1 and run.final_test_acc < 0.3
        assert "early stopping (ASHA) ended it after epoch 1" in run.error
    assert any(r.status == "done" and r.epochs_done == 2 for r in good)
    assert all(r.final_test_acc > 0.6 for r in good)
    # The callback wrote what a single run writes: five train reports an epoch, test accuracy per epoch,
    # and the latest results, identical to the same run trained by the ordinary runner.
    finished = next(r for r in good if r.status == "done")
    rows = store.metrics(finished.id)
    assert [r["epoch"] for r in rows if r["name"] == "test_acc"] == [1.0, 2.0]
    assert len([r for r in rows if r["name"] == "train_loss"]) == 10
    assert finished.final_test_acc == [r["value"] for r in rows if r["name"] == "test_acc"][-1]
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as in a Ray trial with one CPU: same arithmetic, same numbers
    try:
        single = runner.execute(runner.create_run(RunConfig.from_dict(finished.config), home=tmp_path),
                                home=tmp_path)
    finally:
        torch.set_num_threads(threads)
    reference = store.metrics(single.id)
    assert [(r["step"], r["epoch"], r["name"]) for r in rows if r["name"] != "examples_per_sec"] == [
        (r["step"], r["epoch"], r["name"]) for r in reference if r["name"] != "examples_per_sec"]
    assert [r["value"] for r in rows if r["name"] == "train_loss"] == pytest.approx(
        [r["value"] for r in reference if r["name"] == "train_loss"], rel=1e-6)
    # The summary table ranks the trials, best first.
    best = max(runs, key=lambda r: r.final_test_acc)
    assert out.splitlines()[2].split()[:3] == ["*", str(best.id), best.status.split()[0]]


@pytest.mark.usefixtures("no_stray_workers")  # the detached driver, should the test fail mid-way
def test_cancelling_a_sweep_ends_every_trial_and_keeps_what_was_recorded(tmp_path, capsys):
    assert sweep("lenet", "--grid", "lr=0.01,0.02,0.03", "--epochs", "200", "--limit-train", "512",
                 "--background", home=tmp_path) == 0
    store = SweepStore(tmp_path)
    (record,) = store.list_sweeps()

    def rows() -> dict[int, int]:
        return {r.id: len(store.metrics(r.id)) for r in store.sweep_runs(record.id)}

    wait_for(lambda: any(rows().values()), 120, "a trial's first metrics")
    before = rows()
    assert main(["runs", "cancel", f"sweep:{record.id}", "--home", str(tmp_path)]) == 0
    assert capsys.readouterr().out == f"sweep {record.id}: cancel requested\n"
    wait_for(lambda: store.get_sweep(record.id).status in TERMINAL, 30, "the sweep to end")
    record = store.get_sweep(record.id)
    runs = store.sweep_runs(record.id)
    assert record.status == "cancelled" and [r.status for r in runs] == ["cancelled"] * 3
    assert all(rows()[run_id] >= count for run_id, count in before.items()), "nothing recorded is lost"
    wait_for(lambda: not process_alive(record.pid), 30, "the driver process to exit")


AUDIT = '''
import os, sys
_log = os.path.join(os.environ["CNNLAB_AUDIT_DIR"], f"{os.getpid()}.log")
def _hook(event, args):
    if event == "sqlite3.connect" or (event == "open" and "runs.sqlite" in str(args[0])):
        with open(_log, "a") as f:
            f.write(f"store {args[0]}\\n")
    elif event == "import" and args[0] == "cnnlab.sweep.trial":
        with open(_log, "a") as f:
            f.write("trial\\n")
sys.addaudithook(_hook)
'''


def test_two_node_cluster_runs_the_trials_on_both_nodes_and_only_the_driver_writes(tmp_path, monkeypatch):
    from ray.cluster_utils import Cluster

    shim, audit, trap, home = (tmp_path / name for name in ("shim", "audit", "trap", "home"))
    for folder in (shim, audit, trap):
        folder.mkdir()
    (shim / "sitecustomize.py").write_text(AUDIT)
    # Every process of the cluster audits itself: which ones import the trial, and any SQLite file or
    # runs.sqlite it opens. A store opened without a path would land in the trap folder.
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(shim), os.environ.get("PYTHONPATH", "")]))
    monkeypatch.setenv("CNNLAB_AUDIT_DIR", str(audit))
    monkeypatch.setenv("CNNLAB_HOME", str(trap))
    ray_dir = tempfile.mkdtemp(prefix="ray", dir="/tmp")  # short: Ray's socket paths have a length limit
    cluster = Cluster(initialize_head=True,
                      head_node_args={"num_cpus": 1, "include_dashboard": False, "temp_dir": ray_dir})
    try:
        cluster.add_node(num_cpus=1)
        cluster.wait_for_nodes()
        address = cluster.address  # HOST:PORT, as `ray start --head` prints it
        status = sweep("lenet", "--grid", "lr=0.01,0.02", "--repeats", "2", "--epochs", "1",
                       "--limit-train", "256", "--save-weights", "--cluster", address, home=home)
    finally:
        cluster.shutdown()
    assert status == 0
    store = SweepStore(home)
    (record,) = store.list_sweeps()
    runs = store.sweep_runs(record.id)
    assert record.cluster == address and [r.status for r in runs] == ["done"] * 4
    for run in runs:
        names = [r["name"] for r in store.metrics(run.id)]
        assert names.count("train_loss") == 5 and names.count("test_acc") == 1
        assert run.final_test_acc is not None and run.epochs_done == 1
    assert len({r.node for r in runs}) == 2, "one CPU per node: the first two trials take one node each"
    # The weights came back with the outcome and were saved by the driver, in the run's folder.
    for run in runs:
        assert run.weights_path == str(store.run_dir(run.id) / WEIGHTS_FILE)
    model = runner.load_weights(runs[0].id, home)
    assert sum(p.numel() for p in model.parameters()) == runs[0].params
    logs = {path.stem: path.read_text().split("\n") for path in audit.glob("*.log")}
    assert sum("trial" in lines for lines in logs.values()) >= 2, "the trials ran in audited processes"
    assert not [line for lines in logs.values() for line in lines if line.startswith("store")]
    assert list(trap.iterdir()) == []


def test_an_unreachable_cluster_is_refused_quickly_and_records_nothing(tmp_path, capsys):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # free, and nothing listens on it once closed
    start = time.monotonic()
    assert sweep("lenet", "--grid", "lr=0.01,0.1", "--cluster", f"127.0.0.1:{port}", home=tmp_path) == 2
    err = capsys.readouterr().err
    assert time.monotonic() - start < 30
    assert err == (f"cnnlab: error: cannot reach the Ray cluster at 127.0.0.1:{port}: Connection refused; "
                   "check the address (`ray status` on the head node) or leave out --cluster to run on this "
                   "machine\n")
    assert not (tmp_path / DB_FILE).exists() or SweepStore(tmp_path).list_runs() == []


NO_RAY = '''
import sys
class _NoRay:
    def find_spec(self, name, path=None, target=None):
        if name == "ray" or name.startswith("ray."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
sys.meta_path.insert(0, _NoRay())
'''


def test_without_ray_a_sweep_says_how_to_install_it(tmp_path):
    (tmp_path / "shim").mkdir()
    (tmp_path / "shim" / "sitecustomize.py").write_text(NO_RAY)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path / "shim"), str(ROOT)])}
    home = tmp_path / "home"
    done = subprocess.run([sys.executable, "-m", "cnnlab", "sweep", "lenet", "--grid", "lr=0.01,0.1",
                           "--home", str(home)], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr == ("cnnlab: error: sweeps run on Ray, which is not installed here (No module named "
                           "'ray'); install it with pip install 'ray[tune]==2.60.0' (it is pinned in "
                           "requirements.txt)\n")
    assert not (home / DB_FILE).exists() or SweepStore(home).list_runs() == []

