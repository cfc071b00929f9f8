"""Validators for user-given values: each returns the clean value or raises a ConfigError naming it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from cnnlab.errors import ConfigError, quoted


def check_int(what: str, value: Any, low: int, high: int) -> int:
    """Return `value` if it is an int in [low, high]; else raise a ConfigError naming `what`. A float
    (28.0) or text ('28') is refused even when it holds a whole number: a spec says what it means."""
    if isinstance(value, bool) or not isinstance(value, int):
        whole = isinstance(value, float) and value.is_integer() and abs(value) < 1e15
        hint = f" (write {int(value)}, without the decimal point)" if whole else ""
        raise ConfigError(f"{what} must be a whole number, got {quoted(value)}{hint}")
    if value < low:
        raise ConfigError(f"{what} must be at least {low}, got {quoted(value)}")
    if value > high:
        raise ConfigError(f"{what} is {quoted(value)}; cnnlab caps it at {high}")
    return value


def check_fraction(what: str, value: Any) -> float:
    """A probability in [0, 1), such as a dropout rate."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < 1:
        raise ConfigError(f"{what} must be a number in [0, 1), got {quoted(value)}")
    return float(value)


def check_bool(what: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"{what} must be true or false, got {quoted(value)}")
    return value


def check_choice(what: str, value: Any, choices: Sequence[Any]) -> Any:
    if type(value) is not type(choices[0]) or value not in choices:
        raise ConfigError(f"{what} must be one of {', '.join(map(str, choices))}, got {quoted(value)}")
    return value
