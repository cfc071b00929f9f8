"""Where a command's result goes: a file named by --output, else standard output."""

from __future__ import annotations

from pathlib import Path

from cnnlab.errors import ConfigError


def emit(data: str | bytes, output: str | None) -> None:
    """Write `data` to `output` (a file that cannot be written is a ConfigError), or print text with one
    final newline."""
    if output:
        try:
            if isinstance(data, bytes):
                Path(output).write_bytes(data)
            else:
                Path(output).write_text(data if data.endswith("\n") else data + "\n")
        except OSError as exc:
            raise ConfigError(f"cannot write {output}: {exc.strerror or exc}") from exc
    else:
        print(data, end="" if data.endswith("\n") else "\n")
