"""Load: server-side cost of Build page sessions, 8 at a time, against a real `streamlit run`.

Each session is a headless WebSocket client speaking Streamlit's own protocol (the messages a browser
sends): it asks for the page with a link's query string and waits for the script to finish. The client
does no rendering, so what is measured is the server's work:
- CPU per session: the server process's CPU time (user + system, from /proc) over a round of 8
  concurrent sessions, divided by 8;
- latency: from the request to the end of the page's script, per session (p50 and p95 over all rounds);
- RSS: the server's resident memory after the rounds.
Two kinds of rounds: "same link" (8 sessions on one model, as a class opening a shared link: what the
cross-session caches serve) and "new links" (8 models never seen before: everything is computed).

    python benchmarks/bench_load.py [--rounds 3] [--sessions 8]
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
from pathlib import Path

import websockets
from machine import describe
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ClientState_pb2 import ClientState
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

ROOT = Path(__file__).resolve().parents[1]
TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def rss_mib(pid: int) -> float:
    line = next(x for x in Path(f"/proc/{pid}/status").read_text().splitlines() if x.startswith("VmRSS"))
    return int(line.split()[1]) / 1024


async def session(port: int, query: str) -> float:
    """Seconds from asking for the Build page (with `query`) to the end of its script."""
    async with websockets.connect(f"ws://127.0.0.1:{port}/_stcore/stream", subprotocols=["streamlit"],
                                  origin=f"http://127.0.0.1:{port}", max_size=None) as ws:
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--sessions", type=int, default=8)
    args = parser.parse_args()
    port, home = free_port(), tempfile.mkdtemp(prefix="cnnlab-load-")
    env = {**os.environ, "CNNLAB_HOME": home, "PYTHONPATH": str(ROOT)}
    server = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "dashboard/app.py", "--server.port",
                               str(port)], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.STDOUT)
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
        print(f"{describe()}; {args.sessions} concurrent sessions per round, {args.rounds} rounds")
        fresh = iter(range(1, 10**6))
        for kind in ("same link", "new links"):
            latencies, cpu = [], []
            for _ in range(args.rounds):
                queries = (["model=vgg16"] * args.sessions if kind == "same link" else
                           [f"model=vgg16&fc_width={next(fresh)}" for _ in range(args.sessions)])
                before = cpu_seconds(server.pid)
                latencies += asyncio.run(round_of(port, queries))
                cpu.append((cpu_seconds(server.pid) - before) / args.sessions)
            p95 = statistics.quantiles(latencies, n=20)[-1]
            print(f"{kind:10} server CPU per session median {statistics.median(cpu) * 1e3:6.0f} ms "
                  f"(best {min(cpu) * 1e3:.0f}); page latency p50 {statistics.median(latencies):5.2f} s "
                  f"p95 {p95:5.2f} s; server RSS {rss_mib(server.pid):.0f} MiB", flush=True)
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
