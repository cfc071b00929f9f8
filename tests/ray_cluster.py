"""A real two-node Ray cluster on this machine whose every process audits itself, for the tests of
sweeps and single runs on a cluster: which processes import the trial, and which open a run store."""

import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from cnnlab.runs.cluster import RAY_ENV

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


def wait_for(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def wait_for_free_cpus(address: str, nodes: int) -> None:
    """Wait until the cluster at `address` has `nodes` alive nodes with their one CPU each free, as a
    driver connecting there sees them: trials started then find both."""
    import ray

    ray.init(address=address, include_dashboard=False, log_to_driver=False)
    try:
        wait_for(lambda: sum(node["Alive"] for node in ray.nodes()) == nodes
                 and ray.available_resources().get("CPU") == nodes, 120, f"{nodes} nodes, a free CPU each")
    finally:
        ray.shutdown()


@dataclass
class Audited:
    address: str  # HOST:PORT, as `ray start --head` prints it
    audit: Path  # one log per audited process, named by its pid
    trap: Path  # CNNLAB_HOME: a store opened without a path would land here

    def logs(self) -> dict[int, list[str]]:
        return {int(path.stem): path.read_text().split("\n") for path in self.audit.glob("*.log")}

    def store_openers(self) -> set[int]:
        return {pid for pid, lines in self.logs().items() if any(line.startswith("store") for line in lines)}

    def trial_processes(self) -> set[int]:
        return {pid for pid, lines in self.logs().items() if "trial" in lines}


@contextmanager
def audited_cluster(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Audited]:
    """Two nodes of one CPU each, alive and free when the block starts; shut down after it. Every
    process started from here on (the cluster's and cnnlab's own) audits itself."""
    from ray.cluster_utils import Cluster

    shim, audit, trap = (tmp_path / name for name in ("shim", "audit", "trap"))
    for folder in (shim, audit, trap):
        folder.mkdir()
    (shim / "sitecustomize.py").write_text(AUDIT)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(shim), os.environ.get("PYTHONPATH", "")]))
    monkeypatch.setenv("CNNLAB_AUDIT_DIR", str(audit))
    monkeypatch.setenv("CNNLAB_HOME", str(trap))
    for name, value in RAY_ENV.items():  # the cluster runs as cnnlab runs its own (trials at nice 0)
        monkeypatch.setenv(name, value)
    ray_dir = tempfile.mkdtemp(prefix="ray", dir="/tmp")  # short: Ray's socket paths have a length limit
    Path("/tmp/ray").mkdir(exist_ok=True)  # where Ray records the cluster's address
    cluster = Cluster(initialize_head=True,
                      head_node_args={"num_cpus": 1, "include_dashboard": False, "temp_dir": ray_dir})
    try:
        cluster.add_node(num_cpus=1)
        cluster.wait_for_nodes()
        wait_for_free_cpus(cluster.address, nodes=2)
        yield Audited(cluster.address, audit, trap)
    finally:
        cluster.shutdown()
