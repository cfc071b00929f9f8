"""Single runs on a real two-node Ray cluster (`train --cluster`, `service.launch(cluster=...)`): two
users' runs recorded with their metrics on both nodes, cancelled by their owner only, written by
cnnlab's own processes alone, and ended with nothing left running when their driver is killed; an
address that does not answer is refused at once."""

import os
import signal
import socket

import pytest

from cnnlab.access import Actor
from cnnlab.cli import main
from cnnlab.errors import ConfigError
from cnnlab.runs import service
from cnnlab.runs.processes import process_alive
from cnnlab.runs.store import DB_FILE, RunStore
from cnnlab.runs.weights import WEIGHTS_FILE
from cnnlab.train import speed
from cnnlab.train.config import RunConfig
from cnnlab.train.status import TERMINAL
from tests.ray_cluster import audited_cluster, wait_for

TINY = ["--dataset", "shapes", "--device", "cpu", "--limit-train", "256", "--limit-test", "100",
        "--batch-size", "32", "--epochs", "1"]


def tiny(epochs: int = 1) -> RunConfig:
    return RunConfig.from_dict({"model": {"arch": {"family": "lenet"}, "input": [1, 28, 28]},
                                "dataset": "shapes", "device": "cpu", "limit_train": 256, "limit_test": 100,
                                "batch_size": 32, "epochs": epochs, "save_weights": True})


@pytest.mark.usefixtures("no_stray_workers")
def test_two_users_runs_train_on_both_nodes_only_cnnlab_writes_and_only_the_owner_cancels(
        tmp_path, monkeypatch, capsys):
    home = tmp_path / "home"
    with audited_cluster(tmp_path, monkeypatch) as cluster:
        # Alice's long run holds one node's only CPU: the others can only train on the other node.
        long = service.launch(tiny(epochs=500), home=home, owner="alice", cluster=cluster.address)
        store = RunStore(home)
        wait_for(lambda: store.get(long).node is not None, 180, "alice's long run to start on a node")
        short = [service.launch(tiny(), home=home, owner=owner, cluster=cluster.address)
                 for owner in ("alice", "bob")]
        monkeypatch.setenv("CNNLAB_USER", "bob")  # bob's foreground run: this process is its driver
        assert main(["train", "lenet", *TINY, "--save-weights", "--cluster", cluster.address,
                     "--home", str(home)]) == 0
        assert "test acc" in capsys.readouterr().out
        foreground = max(run.id for run in store.list_runs())
        wait_for(lambda: all(store.get(i).status in TERMINAL for i in short), 300, "the short runs to end")
        with pytest.raises(ConfigError, match=f"run {long} belongs to alice: bob may not cancel it"):
            service.cancel(long, home, actor=Actor("bob"))
        service.cancel(long, home, actor=Actor("alice"))
        wait_for(lambda: store.get(long).status in TERMINAL, 60, "the cancelled run to end")
        drivers = {store.get(i).pid for i in (long, *short)}
        trials = cluster.trial_processes()
        # A driver killed mid-run: its guard ends the run, and Ray ends the trial with the driver's job.
        killed = service.launch(tiny(epochs=500), home=home, owner="bob", cluster=cluster.address)
        wait_for(lambda: store.metrics(killed), 180, "bob's long run to report")
        started = cluster.trial_processes() - trials  # the processes of Ray's that imported its trial
        assert started
        os.kill(store.get(killed).pid, signal.SIGKILL)
        wait_for(lambda: store.get(killed).status in TERMINAL, 60, "the killed driver's run to end")
        wait_for(lambda: not any(map(process_alive, started)), 60, "the killed driver's trial to end")
        assert store.get(killed).status == "interrupted"
    runs = [store.get(i) for i in (long, *short, foreground)]
    assert [(r.owner, r.status) for r in runs] == [("alice", "cancelled"), ("alice", "done"), ("bob", "done"),
                                                   ("bob", "done")]
    assert {r.cluster for r in runs} == {cluster.address}
    assert [r.node == runs[0].node for r in runs] == [True, False, False, False]  # two nodes in all
    for run in runs[1:]:
        names = [m["name"] for m in store.metrics(run.id)]
        # 8 steps: reports at steps 2, 4, 5, 7, 8 (five an epoch) and the first epoch's steps 1 and 4
        assert names.count("train_loss") == 6 and names.count("test_acc") == 1 and run.epochs_done == 1
        assert run.weights_path == str(store.run_dir(run.id) / WEIGHTS_FILE)
        assert run.provenance["device"] == "cpu" and run.provenance["speed"]["path"] in speed.PATHS
    assert store.metrics(long) and runs[0].error == "cancelled"
    model = service.load_weights(short[0], home)
    assert sum(p.numel() for p in model.parameters()) == runs[1].params
    # The trials ran in the cluster's worker processes, which never opened a store; the detached drivers
    # (which import the trial's module too, and the killed one's guard) did.
    workers = cluster.trial_processes() - drivers - {store.get(killed).pid}
    assert len(workers) >= 5
    assert drivers <= cluster.store_openers() and not cluster.store_openers() & workers
    assert list(cluster.trap.iterdir()) == []


def free_port() -> int:
    """A port that is free, and nothing listens on it once this returns."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def refusal(port: int) -> str:
    return (f"cnnlab: error: cannot reach the Ray cluster at 127.0.0.1:{port}: Connection refused; check the "
            "address (`ray status` on the head node) or leave out --cluster to run on this machine\n")


def test_an_unreachable_cluster_is_one_line_at_once_and_records_nothing(tmp_path, capsys, monkeypatch):
    port = free_port()
    import ray

    connect, tries = socket.create_connection, []

    def counted(address, timeout=None, *args, **kwargs):
        tries.append((address, timeout))
        return connect(address, timeout, *args, **kwargs)

    monkeypatch.setattr(socket, "create_connection", counted)
    status = main(["train", "lenet", *TINY, "--cluster", f"127.0.0.1:{port}", "--background",
                   "--home", str(tmp_path)])
    # At once: one connection try, with a timeout (a silent address costs seconds, not Ray's minutes of
    # retries), and Ray never started (below).
    [(address, timeout)] = tries
    assert status == 2 and address == ("127.0.0.1", port) and 0 < timeout <= 10
    assert capsys.readouterr().err == refusal(port)
    assert not ray.is_initialized()
    assert not (tmp_path / DB_FILE).exists() or RunStore(tmp_path).list_runs() == []


def test_a_dashboard_sending_runs_to_a_cluster_that_does_not_answer_does_not_start(tmp_path, capsys):
    port = free_port()
    status = main(["dashboard", "--cluster", f"127.0.0.1:{port}", "--port", str(free_port()),
                   "--home", str(tmp_path)])
    assert status == 2 and capsys.readouterr().err == refusal(port)


def test_the_train_page_sending_runs_to_a_cluster_that_stopped_answering_says_so_and_records_nothing(
        tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    from cnnlab.runs.cluster import CLUSTER_ENV
    from tests.dashboard.conftest import APP, shown

    port = free_port()  # the dashboard was started with --cluster; the cluster has gone since
    monkeypatch.setenv(CLUSTER_ENV, f"127.0.0.1:{port}")
    monkeypatch.setenv("CNNLAB_HOME", str(tmp_path))
    app = AppTest.from_file(APP, default_timeout=60)
    app.query_params["model"] = "lenet"
    app.switch_page("views/train.py").run()
    next(b for b in app.button if b.label == "Launch run").click().run()
    assert [shown(e) for e in app.error] == [refusal(port).removeprefix("cnnlab: error: ").rstrip("\n")]
    assert not (tmp_path / DB_FILE).exists() or RunStore(tmp_path).list_runs() == []
