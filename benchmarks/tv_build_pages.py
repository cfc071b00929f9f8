"""Every torchvision classifier on the Build page: no exception box, and any `st.error` one line.

Run: python benchmarks/tv_build_pages.py [--limit N] [--only NAME ...]
Each model's Build link (`?model=tv:NAME`) is opened in a fresh session (Streamlit's AppTest, the page
script as the server runs it, its worker pool included); every tab is drawn, the Training memory tab
included. Prints one line per model (its time, and any exception or error message), then the totals.
Exit status 1 if any model shows an exception or a multi-line error. A check too slow for the suite
(minutes), so it is a script; its result goes in docs/BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from machine import describe
from streamlit.testing.v1 import AppTest

from cnnlab.families.tv import tv_models

APP = str(Path(__file__).resolve().parents[1] / "dashboard" / "app.py")


def open_build(name: str) -> tuple[list[str], list[str]]:
    """The exceptions and error messages the Build page shows for `tv:name`."""
    app = AppTest.from_file(APP, default_timeout=600)
    app.query_params["model"] = f"tv:{name}"
    app.run()
    return [e.message for e in app.exception], [e.value for e in app.error]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int)
    parser.add_argument("--only", nargs="*")
    args = parser.parse_args()
    names = args.only or tv_models()[:args.limit]
    home = tempfile.mkdtemp(prefix="cnnlab-tv-build-")
    os.environ.update(CNNLAB_HOME=home, CNNLAB_DATA=str(Path(home) / "data"))
    from dashboard import jobs

    jobs.INLINE_WAIT_S = 600  # AppTest lets no time pass for a progress bar: wait for the pool's answer
    print(describe())
    bad = 0
    for name in names:
        start = time.perf_counter()
        exceptions, errors = open_build(name)
        seconds = time.perf_counter() - start
        broken = bool(exceptions) or any("\n" in e.strip() for e in errors)
        bad += broken
        said = "; ".join([f"EXCEPTION {e.splitlines()[0]}" for e in exceptions]
                         + [f"error: {e}" for e in errors])
        print(f"{'FAIL' if broken else 'ok  '} tv:{name:<24} {seconds:6.1f} s  {said}", flush=True)
    print(f"{len(names) - bad} of {len(names)} torchvision classifiers open on Build without an exception "
          f"box or a multi-line error")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
