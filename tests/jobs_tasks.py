"""Small jobs for the worker pool's tests (a worker process imports them by name)."""

import time

from cnnlab.errors import ConfigError


def square(x: int, progress) -> int:  # noqa: ANN001
    progress(0.5)
    return x * x


def busy(seconds: float, progress) -> str:  # noqa: ANN001
    """Work for `seconds`, reporting progress every 20 ms."""
    start = time.monotonic()
    while (spent := time.monotonic() - start) < seconds:
        progress(spent / seconds)
        time.sleep(0.02)
    return "finished"


def refused(progress) -> None:  # noqa: ANN001
    raise ConfigError("images per field: 300 asked, the class allows 64")


def blob(size: int, tag: int, progress) -> bytes:  # noqa: ANN001
    return bytes([tag]) * size
