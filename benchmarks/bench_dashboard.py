"""Server-side time of a Build page rerun after a config edit, VGG-16, through Streamlit's AppTest.

Run: python benchmarks/bench_dashboard.py [--repeat N]
"cold": each edit is a config never seen before (FC width changes), so the analysis runs;
"warm": the edit flips between two configs already analysed, so the cache answers.
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
    print(f"{describe()}, streamlit {st.__version__}")
    print(f"Build page rerun after an edit, VGG-16, cold cache: {statistics.median(cold):7.1f} ms "
          f"(median of {args.repeat}, max {max(cold):.1f})")
    print(f"Build page rerun after an edit, VGG-16, warm cache: {statistics.median(warm):7.1f} ms "
          f"(median of {args.repeat}, max {max(warm):.1f})")
    print("target <= 300 ms:", "met" if statistics.median(cold) <= 300 else "NOT met")


if __name__ == "__main__":
    main()
