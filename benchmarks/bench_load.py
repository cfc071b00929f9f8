"""Load: server-side cost of Build page sessions (8, 30 and 60 at a time) against a real `streamlit
run`, and 10 users launching tiny runs into its store at once.

Each session is a headless WebSocket client speaking Streamlit's own protocol (the messages a browser
sends): it asks for the page with a link's query string and waits for the script to finish. The client
does no rendering, so what is measured is the server's work:
- CPU per session: the CPU time (user + system, from /proc) of the server process and of its worker
  pool (cnnlab.jobs: the fork server and its workers, live or reaped) over a round of N concurrent
  sessions, divided by N;
- latency: from the request to the end of the page's script, per session (p50 and p95 over all rounds);
- RSS: the server's resident memory after the rounds, and its worker pool's.
Two kinds of rounds: "same link" (N sessions on one model, as a class opening a shared link: what the
cross-session caches serve) and "new links" (N models never seen before: everything is computed).
Then `--launchers` users each launch a tiny run at the same moment (`cnnlab train --background` as
that user: the `runner.launch` the Train page calls) into the server's store: every launch must be
recorded and every run must end `done`, one after another in the device queue.

    python benchmarks/bench_load.py [--rounds 3] [--sessions 8 30 60] [--launchers 10]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import websockets
from machine import describe
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ClientState_pb2 import ClientState
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

from cnnlab.runs.store import RunStore

ROOT = Path(__file__).resolve().parents[1]
TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stat(pid: int) -> list[str]:
    """The fields of /proc/PID/stat after the command name (field 3, the state, first)."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def family(pid: int) -> list[int]:
    """`pid` and every process descended from it (the server's worker pool: its fork server and workers)."""
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int(_stat(int(entry.name))[1])
            except (OSError, IndexError):
                continue  # it ended meanwhile
    found, frontier = [pid], [pid]
    while frontier:
        frontier = [child for child, parent in parents.items() if parent in frontier]
        found += frontier
    return found


def cpu_seconds(pid: int) -> float:
    """CPU seconds of the server and its worker pool: each live process's own (utime + stime) and, through
    cutime + cstime, those of the children it has reaped (a pool worker that ended)."""
    total = 0.0
    for member in family(pid):
        try:
            fields = _stat(member)
        except OSError:
            continue
        total += sum(int(fields[i]) for i in (11, 12, 13, 14)) / TICKS
    return total


def rss_mib(pid: int) -> tuple[float, float]:
    """Resident MiB of the server process, and of its worker pool's processes together."""
    sizes = []
    for member in family(pid):
        try:
            status = Path(f"/proc/{member}/status").read_text().splitlines()
        except OSError:
            continue
        sizes += [int(line.split()[1]) / 1024 for line in status if line.startswith("VmRSS")]
    return sizes[0], sum(sizes[1:])


async def session(port: int, query: str) -> float:
    """Seconds from asking for the Build page (with `query`) to the end of its script."""
    # No keepalive pings: a busy server answers them late, and a browser would wait for the page.
    async with websockets.connect(f"ws://127.0.0.1:{port}/_stcore/stream", subprotocols=["streamlit"],
                                  origin=f"http://127.0.0.1:{port}", max_size=None, ping_interval=None) as ws:
        start = time.perf_counter()
        request = BackMsg(rerun_script=ClientState(query_string=query, page_script_hash=""))
        await ws.send(request.SerializeToString())
        while True:
            message = ForwardMsg()
            message.ParseFromString(await ws.recv())
            if message.WhichOneof("type") == "script_finished":
                if message.script_finished != ForwardMsg.FINISHED_SUCCESSFULLY:
                    raise SystemExit(f"the page did not finish ({message.script_finished})")
                return time.perf_counter() - start


async def round_of(port: int, queries: list[str]) -> list[float]:
    return list(await asyncio.gather(*(session(port, q) for q in queries)))


def sessions(port: int, pid: int, count: int, rounds: int, fresh: Iterator[int]) -> None:
    """`rounds` rounds of `count` concurrent sessions of each kind; print CPU, latency and RSS."""
    for kind in ("same link", "new links"):
        latencies, cpu = [], []
        for _ in range(rounds):
            queries = (["model=vgg16"] * count if kind == "same link" else
                       [f"model=vgg16&fc_width={next(fresh)}" for _ in range(count)])
            before = cpu_seconds(pid)
            latencies += asyncio.run(round_of(port, queries))
            cpu.append((cpu_seconds(pid) - before) / count)
        p95 = statistics.quantiles(latencies, n=20)[-1]
        server, workers = rss_mib(pid)
        print(f"{count:3} sessions  {kind:10} server CPU per session median "
              f"{statistics.median(cpu) * 1e3:5.0f} ms (best {min(cpu) * 1e3:.0f}); page latency p50 "
              f"{statistics.median(latencies):5.2f} s "
              f"p95 {p95:5.2f} s; server RSS {server:.0f} MiB, its worker pool's {workers:.0f} MiB",
              flush=True)


def launches(home: str, users: int, env: dict[str, str]) -> None:
    """`users` users launch a tiny run each at once; wait for every run to end; print what landed."""
    tiny = ["--dataset", "shapes", "--device", "cpu", "--limit-train", "256", "--limit-test", "64",
            "--epochs", "1", "--background", "--home", home]
    start = time.monotonic()
    launchers = [subprocess.Popen([sys.executable, "-m", "cnnlab", "train", "lenet", *tiny],
                                  env={**env, "CNNLAB_USER": f"student{i:02}"}, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE) for i in range(users)]
    refused = [p.stderr.read().decode().strip() for p in launchers if p.wait() != 0]
    launched = time.monotonic() - start
    store = RunStore(home)
    while any(run.status in ("queued", "running") for run in store.list_runs()):
        time.sleep(1)
    runs = store.list_runs()
    done = sum(run.status == "done" for run in runs)
    print(f"{users} users launching at once: {users - len(refused)} launches accepted in {launched:.1f} s, "
          f"{len(runs)} runs recorded ({len({r.owner for r in runs})} owners), {done} done, all ended after "
          f"{time.monotonic() - start:.0f} s", flush=True)
    for line in refused:
        print(f"  refused: {line}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--sessions", type=int, nargs="+", default=[8, 30, 60])
    parser.add_argument("--launchers", type=int, default=10)
    args = parser.parse_args()
    port, home = free_port(), tempfile.mkdtemp(prefix="cnnlab-load-")
    env = {**os.environ, "CNNLAB_HOME": home, "PYTHONPATH": str(ROOT)}
    # Started as users start it: `cnnlab dashboard` applies the project's server settings.
    server = subprocess.Popen([sys.executable, "-m", "cnnlab", "dashboard", "--port", str(port)], cwd=ROOT,
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                health = urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2)
                if health.read() == b"ok":
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise SystemExit("streamlit did not start") from None
                time.sleep(0.5)
        asyncio.run(round_of(port, ["model=vgg11"]))  # imports and first analysis, not measured
        print(f"{describe()}; {args.rounds} rounds of each number of concurrent sessions")
        fresh = iter(range(1, 10**6))
        for count in args.sessions:
            sessions(port, server.pid, count, args.rounds, fresh)
        if args.launchers:
            launches(home, args.launchers, env)
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
