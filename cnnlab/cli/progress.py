"""A one-line epoch progress bar on stderr (redrawn in place on a terminal, one line per epoch otherwise)."""

from __future__ import annotations

import sys
import time
from typing import TextIO

WIDTH = 20


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes:02d}:{secs:02d}"


class EpochBar:
    """`100%|████████████████████| 5.00/5 epochs [00:02<00:00, loss=0.111, ...]`."""

    def __init__(self, total: int, out: TextIO | None = None) -> None:
        self.total, self.out, self.done, self.start = total, out or sys.stderr, 0.0, time.monotonic()
        self.live = self.out.isatty()
        self.shown = -1  # the last whole epoch written when not on a terminal

    def update(self, epoch: float, postfix: dict[str, str]) -> None:
        self.done = min(epoch, self.total)
        if not self.live and int(self.done) == self.shown:
            return
        self.shown = int(self.done)
        elapsed = time.monotonic() - self.start
        left = elapsed / self.done * (self.total - self.done) if self.done else 0.0
        filled = int(WIDTH * self.done / self.total) if self.total else WIDTH
        extra = "".join(f", {k}={v}" for k, v in postfix.items())
        line = (f"{self.done / self.total:4.0%}|{'█' * filled}{' ' * (WIDTH - filled)}| "
                f"{self.done:.2f}/{self.total} epochs [{_clock(elapsed)}<{_clock(left)}{extra}]")
        self.out.write(f"\r{line}" if self.live else f"{line}\n")
        self.out.flush()

    def close(self) -> None:
        if self.live:
            self.out.write("\n")
            self.out.flush()
