"""Sweeps on a real Ray: the local default, a real two-node cluster on this machine, cancelling, and
the messages when Ray or the cluster is missing. Trials are tiny (a few hundred images, 1-2 epochs)."""

import os
import signal
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import torch

from cnnlab.cli import main
from cnnlab.runs import service
from cnnlab.runs.processes import process_alive
from cnnlab.runs.store import DB_FILE, TERMINAL, RunStore
from cnnlab.runs.weights import WEIGHTS_FILE
from cnnlab.sweep import guard
from cnnlab.train.config import RunConfig
from tests.ray_cluster import audited_cluster, wait_for

ROOT = Path(__file__).resolve().parents[1]
TINY = ["--dataset", "shapes", "--device", "cpu", "--limit-test", "100", "--batch-size", "32"]
# A tiny VGG that reaches ~0.9 test accuracy in one epoch of 4,096 images: next to it, lr 1e-7 learns
# nothing (chance level), so early stopping's decision does not depend on noise.
# At the shapes' own 28 px in batches of 128 (not the VGG recipe's 64 px and 64): the runs these tests judge.
VGG = ["vgg:1x8,1x16", "--fc-width", "32", "--normalize", "--optimizer", "adam", "--resize", "28",
       "--batch-size", "128", "--limit-train", "4096"]

def sweep(*args: str, home: Path) -> int:
    return main(["sweep", *args, *TINY, "--home", str(home)])


@pytest.mark.slow  # starts Ray on this machine
def test_local_grid_with_repeats_stops_a_dead_rate_listed_first(tmp_path, capsys):
    assert sweep(*VGG, "--grid", "lr=0.0000001,0.01", "--repeats", "2", "--epochs", "2",
                 "--early-stop", "asha", home=tmp_path) == 0
    out = capsys.readouterr().out
    store = RunStore(tmp_path)
    (record,) = store.list_sweeps()
    runs = store.sweep_runs(record.id)
    assert record.status == "done" and record.cluster is None and len(runs) == 4
    assert [(r.config["lr"], r.config["seed"]) for r in runs] == [(1e-7, 0), (1e-7, 1), (0.01, 0), (0.01, 1)]
    assert [r.group_id for r in runs] == [runs[0].id] * 2 + [runs[2].id] * 2
    assert {r.sweep_id for r in runs} == {record.id} and all(r.node for r in runs)
    dead, good = runs[:2], runs[2:]
    # Trials start interleaved (lr 1e-7 seed 0, lr 0.01 seed 0, then the seeds 1), and a trial at the
    # epoch-1 rung waits for the others that can reach it while a slot is left: with two or more CPUs,
    # each dead trial is judged next to a good one and is in the worse half there.
    for run in dead:
        assert run.status == "stopped early" and run.epochs_done == 1 and run.final_test_acc < 0.3
        assert "early stopping (ASHA) ended it after epoch 1" in run.error
    assert [(r.status, r.epochs_done) for r in good] == [("done", 2), ("done", 2)]
    assert all(r.final_test_acc > 0.6 for r in good)
    # The callback wrote what a single run writes: five train reports an epoch (and two early in the
    # first), test accuracy per epoch,
    # and the latest results, identical to the same run trained by the ordinary runner.
    finished = good[0]
    rows = store.metrics(finished.id)
    assert [r["epoch"] for r in rows if r["name"] == "test_acc"] == [1.0, 2.0]
    assert len([r for r in rows if r["name"] == "train_loss"]) == 2 * 5 + 2
    assert finished.final_test_acc == [r["value"] for r in rows if r["name"] == "test_acc"][-1]
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as in a Ray trial with one CPU: same arithmetic, same numbers
    try:
        plain = RunConfig.from_dict({**finished.config, "speed": "fixed"})  # a trial takes the plain path
        single = service.execute(service.create_run(plain, home=tmp_path),
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


@pytest.mark.slow  # starts Ray on this machine
def test_a_dead_rate_first_in_an_ascending_grid_is_stopped_after_one_epoch(tmp_path):
    """The grid as a user writes it (issue 22): lr 1e-7, 1e-3, 1e-2 on shapes with Adam, 3 epochs."""
    assert sweep(*VGG[:-1], "1024", "--grid", "lr=0.0000001,0.001,0.01", "--epochs", "3", "--early-stop",
                 "asha", home=tmp_path) == 0
    store = RunStore(tmp_path)
    dead, *good = store.sweep_runs(store.list_sweeps()[0].id)
    assert (dead.config["lr"], dead.status, dead.epochs_done) == (1e-7, "stopped early", 1)
    # The rung at epoch 2 judges the two others together: the one below their mean (the median of two)
    # stops there, the other trains its third epoch.
    at_2 = {run.id: next(r["value"] for r in store.metrics(run.id)
                         if r["name"] == "test_acc" and r["epoch"] == 2) for run in good}
    cutoff = sum(at_2.values()) / 2
    assert [(r.status, r.epochs_done) for r in good] == [
        ("stopped early", 2) if at_2[r.id] < cutoff else ("done", 3) for r in good]


@pytest.mark.usefixtures("no_stray_workers")  # the detached driver, should the test fail mid-way
def test_cancelling_a_sweep_ends_every_trial_and_keeps_what_was_recorded(tmp_path, capsys):
    assert sweep("lenet", "--grid", "lr=0.01,0.02,0.03", "--epochs", "200", "--limit-train", "512",
                 "--background", home=tmp_path) == 0
    store = RunStore(tmp_path)
    (record,) = store.list_sweeps()

    def rows() -> dict[int, int]:
        return {r.id: len(store.metrics(r.id)) for r in store.sweep_runs(record.id)}

    wait_for(lambda: any(rows().values()), 300, "a trial's first metrics")
    before = rows()
    assert main(["runs", "cancel", f"sweep:{record.id}", "--home", str(tmp_path)]) == 0
    assert capsys.readouterr().out == f"sweep {record.id}: cancel requested\n"
    wait_for(lambda: store.get_sweep(record.id).status in TERMINAL, 30, "the sweep to end")
    record = store.get_sweep(record.id)
    runs = store.sweep_runs(record.id)
    assert record.status == "cancelled" and [r.status for r in runs] == ["cancelled"] * 3
    assert all(rows()[run_id] >= count for run_id, count in before.items()), "nothing recorded is lost"
    wait_for(lambda: not process_alive(record.pid), 30, "the driver process to exit")


@pytest.mark.usefixtures("no_stray_workers")
def test_a_killed_driver_leaves_no_ray_process_and_its_sweep_ends_interrupted(tmp_path):
    assert sweep("lenet", "--grid", "lr=0.01,0.02", "--epochs", "200", "--limit-train", "512",
                 "--background", home=tmp_path) == 0
    store = RunStore(tmp_path)
    (record,) = store.list_sweeps()
    wait_for(lambda: any(store.metrics(r.id) for r in store.sweep_runs(record.id)), 300, "a trial's metrics")
    driver = store.get_sweep(record.id).pid
    assert os.getpgid(driver) == driver  # the detached driver leads its process group and session
    os.kill(driver, signal.SIGKILL)
    # Nothing reads the store through reconcile here: the driver's guard ends the sweep and its Ray
    # processes (Ray's agents, left alone, would outlive the driver).
    wait_for(lambda: store.get_sweep(record.id).status in TERMINAL, 60, "the sweep to end")
    assert store.get_sweep(record.id).status == "interrupted"
    assert [r.status for r in store.sweep_runs(record.id)] == ["interrupted"] * 2
    wait_for(lambda: not guard.members(driver), 60, "every process of the driver's group to end")


@pytest.mark.slow  # a two-node Ray cluster
def test_two_node_cluster_runs_the_trials_on_both_nodes_and_only_the_driver_writes(tmp_path, monkeypatch):
    home = tmp_path / "home"
    with audited_cluster(tmp_path, monkeypatch) as cluster:
        status = sweep("lenet", "--grid", "lr=0.01,0.02", "--repeats", "2", "--epochs", "1",
                       "--limit-train", "256", "--save-weights", "--cluster", cluster.address, home=home)
    assert status == 0
    store = RunStore(home)
    (record,) = store.list_sweeps()
    runs = store.sweep_runs(record.id)
    assert record.cluster == cluster.address and [r.status for r in runs] == ["done"] * 4
    for run in runs:
        names = [r["name"] for r in store.metrics(run.id)]
        # 16 steps (batch 16): reports at steps 4, 7, 10, 13, 16 and the first epoch's steps 1 and 4
        assert names.count("train_loss") == 6 and names.count("test_acc") == 1
        assert run.final_test_acc is not None and run.epochs_done == 1
    # One CPU per node and a worker of its own per trial: the first two trials take one node each.
    assert len({r.node for r in runs}) == 2
    # The weights came back with the outcome and were saved by the driver, in the run's folder.
    for run in runs:
        assert run.weights_path == str(store.run_dir(run.id) / WEIGHTS_FILE)
    model = service.load_weights(runs[0].id, home)
    assert sum(p.numel() for p in model.parameters()) == runs[0].params
    assert len(cluster.trial_processes()) >= 2, "the trials ran in audited processes"
    assert cluster.store_openers() == set()  # only this process, the driver (not audited), wrote
    assert list(cluster.trap.iterdir()) == []


def test_an_unreachable_cluster_is_refused_quickly_and_records_nothing(tmp_path, capsys):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # free, and nothing listens on it once closed
    import ray

    assert sweep("lenet", "--grid", "lr=0.01,0.1", "--cluster", f"127.0.0.1:{port}", home=tmp_path) == 2
    err = capsys.readouterr().err
    assert not ray.is_initialized(), "refused by the address check, before Ray is started"
    assert err == (f"cnnlab: error: cannot reach the Ray cluster at 127.0.0.1:{port}: Connection refused; "
                   "check the address (`ray status` on the head node) or leave out --cluster to run on this "
                   "machine\n")
    assert not (tmp_path / DB_FILE).exists() or RunStore(tmp_path).list_runs() == []


def test_cluster_auto_with_no_cluster_here_is_refused_before_anything_is_recorded(tmp_path, capsys,
                                                                                 monkeypatch):
    ray_tmp = Path(tempfile.mkdtemp(prefix="ray", dir="/tmp"))  # no `ray start` recorded a cluster here
    monkeypatch.setenv("RAY_TMPDIR", str(ray_tmp))
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    assert sweep("lenet", "--grid", "lr=0.01,0.1", "--cluster", "auto", home=tmp_path) == 2
    assert capsys.readouterr().err == (
        "cnnlab: error: --cluster auto: no Ray cluster was started on this machine (`ray start --head` "
        "records its address, and RAY_ADDRESS names one); start one, give its address, or leave out "
        "--cluster to run on this machine\n")
    # A stale record (its cluster gone): the address it names is refused like any other.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    (ray_tmp / "ray").mkdir()
    (ray_tmp / "ray" / "ray_current_cluster").write_text(f"127.0.0.1:{port}")
    assert sweep("lenet", "--grid", "lr=0.01,0.1", "--cluster", "auto", home=tmp_path) == 2
    assert capsys.readouterr().err == (
        f"cnnlab: error: cannot reach the Ray cluster at 127.0.0.1:{port} (--cluster auto): Connection "
        "refused; check the address (`ray status` on the head node) or leave out --cluster to run on this "
        "machine\n")
    assert not (tmp_path / DB_FILE).exists() or RunStore(tmp_path).list_runs() == []


def test_an_unusable_ray_tmpdir_is_one_line_and_records_nothing(tmp_path, capsys, monkeypatch):
    import ray

    (tmp_path / "a-file").write_text("")
    long = tmp_path / ("x" * 60)
    long.mkdir()
    for folder, reason in [(tmp_path / "a-file", "Not a directory; set RAY_TMPDIR to a writable folder"),
                           (long, "its socket paths there would be longer than 107 bytes; set RAY_TMPDIR "
                                  "to a shorter folder (e.g. /tmp)")]:
        monkeypatch.setenv("RAY_TMPDIR", str(folder))
        assert sweep("lenet", "--grid", "lr=0.01,0.1", home=tmp_path / "home") == 2
        assert capsys.readouterr().err == f"cnnlab: error: Ray cannot start in {folder}/ray: {reason}\n"
    assert not ray.is_initialized()
    assert not (tmp_path / "home" / DB_FILE).exists() or RunStore(tmp_path / "home").list_runs() == []


NO_RAY = '''
import sys
class _NoRay:
    def find_spec(self, name, path=None, target=None):
        if name == "ray" or name.startswith("ray."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
sys.meta_path.insert(0, _NoRay())
'''


@pytest.mark.slow  # a cnnlab process of its own
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
    assert not (home / DB_FILE).exists() or RunStore(home).list_runs() == []

