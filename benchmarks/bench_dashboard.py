"""Server-side time of a Build page rerun after a config edit, through Streamlit's AppTest.

Run: python benchmarks/bench_dashboard.py [--repeat N]
VGG-16, "cold": each edit is a config never seen before (FC width changes), so the analysis runs;
"warm": the edit flips between two configs already analysed, so the cache answers.
A 20-layer seq model, cold: each edit changes a cell of the layer table (a convolution's channels).
AppTest runs the whole script as the server would, without a browser or network. Target <= 300 ms.
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import tempfile
import time
from pathlib import Path

import streamlit as st
from machine import describe
from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[1] / "dashboard" / "app.py")


def rerun_ms(app: AppTest, fc_width: int) -> float:
    """Set the FC width and time the rerun it triggers."""
    widget = app.number_input(key="fc_width").set_value(fc_width)
    start = time.perf_counter()
    widget.run()
    elapsed = (time.perf_counter() - start) * 1e3
    assert not app.exception and not app.error, "the Build page failed during the benchmark"
    return elapsed


# 20 layers (the classifier included): four conv-bn-relu layers with pooling, then the FC head.
SEQ20 = ("seq:c3-32p1,bn,relu,c3-32p1,bn,relu,m2,c3-64p1,bn,relu,c3-64p1,bn,relu,m2,"
         "gap,flat,fc64,relu,drop0.5,fc10")


def seq_rerun_ms(app: AppTest, channels: int) -> float:
    """Change the first convolution's channels in the layer table and time the rerun."""
    app.session_state["seq_layers"] = {"edited_rows": {0: {"out": channels}}, "added_rows": [],
                                       "deleted_rows": []}
    start = time.perf_counter()
    app.run()
    elapsed = (time.perf_counter() - start) * 1e3
    assert not app.exception and not app.error, "the Build page failed during the benchmark"
    return elapsed


def report(what: str, times: list[float]) -> None:
    print(f"Build page rerun after an edit, {what}: {statistics.median(times):7.1f} ms "
          f"(median of {len(times)}, best {min(times):.1f}, max {max(times):.1f}); target <= 300 ms:",
          "met" if statistics.median(times) <= 300 else "NOT met")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    logging.getLogger("streamlit").setLevel(logging.ERROR)  # AppTest's "no runtime" warnings
    os.environ.setdefault("CNNLAB_HOME", tempfile.mkdtemp(prefix="cnnlab-bench-"))
    st.cache_data.clear()
    app = AppTest.from_file(APP, default_timeout=120)
    app.run()
    app.selectbox(key="vgg_preset").select("VGG-16").run()
    rerun_ms(app, 4096)  # warm-up: imports, first figures

    cold = [rerun_ms(app, 1024 + i) for i in range(args.repeat)]
    warm = [rerun_ms(app, 4096 if i % 2 else 1024) for i in range(args.repeat)]

    seq = AppTest.from_file(APP, default_timeout=120)
    seq.query_params.update(model=SEQ20, input="3x64x64")
    seq.run()
    assert len(seq.session_state["seq_base"]) == 19, "the benchmark model should have 19 + 1 layers"
    seq_rerun_ms(seq, 16)  # warm-up
    seq_cold = [seq_rerun_ms(seq, 17 + i) for i in range(args.repeat)]
    print(f"{describe()}, streamlit {st.__version__}")
    report("VGG-16, cold cache", cold)
    report("VGG-16, warm cache", warm)
    report("20-layer seq, cold cache", seq_cold)


if __name__ == "__main__":
    main()
