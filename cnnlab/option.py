"""What an option is: a value users set by name — a CLI flag, a URL parameter, a widget, a sweep parameter —
and its one text form (`parse`, `format`). The families' options (cnnlab.families.options), the training
options (cnnlab.train.options) and the sweep space (cnnlab.sweep.space) are all `Option`s."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from cnnlab.errors import ConfigError, quoted

# A flag's words: 1/true/yes and 0/false/no, in any case.
FLAG_WORDS = {"1": True, "true": True, "yes": True, "0": False, "false": False, "no": False}
FLAG_TEXT = "1/true/yes or 0/false/no"
_WHOLE = re.compile(r"^-?[0-9]{1,18}$")


@dataclass(frozen=True)
class Option:
    """One option. `kind` is int, float, bool or str; `default` its value when none is given (None: its
    owner's, e.g. a family spec's field default); `low`/`high` bound numbers (`open_low`/`open_high`: the
    bound itself is excluded), `choices` lists the allowed values; `log`: a sweep's random range draws it
    log-uniformly."""

    name: str
    label: str
    help: str
    kind: type = int
    default: Any = None
    low: float | None = None
    high: float | None = None
    open_low: bool = False
    open_high: bool = False
    choices: tuple[Any, ...] = ()
    log: bool = False

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    def parse(self, text: str) -> Any:
        """The value `text` writes, of the option's kind (a choice by its text); ConfigError
        "'TEXT' is not WHAT" otherwise. Whether a number is within bounds is for validation to say."""
        if self.choices:
            by_text = {str(choice): choice for choice in self.choices}
            if text not in by_text:
                raise ConfigError(f"{quoted(text)} is not one of {', '.join(by_text)}")
            return by_text[text]
        if self.kind is bool:
            return parse_flag(text)
        if self.kind is int:
            if not _WHOLE.match(text):
                raise ConfigError(f"{quoted(text)} is not a whole number")
            return int(text)
        if self.kind is float:
            try:
                value = float(text)
            except ValueError:
                raise ConfigError(f"{quoted(text)} is not a number") from None
            if not math.isfinite(value):
                raise ConfigError(f"{quoted(text)} is not a finite number")
            return value
        return text

    def format(self, value: Any) -> str:
        """`value` as `parse` reads it back (`format_value`)."""
        return format_value(value)

    def bounds(self) -> str:
        """What the option takes, in words: 'a whole number from 1 to 1000', 'one of sgd, adam, adamw'."""
        if self.kind is bool:
            return "true or false"
        if self.choices:
            return f"one of {', '.join(map(str, self.choices))}"
        if self.low is None and self.high is None:
            return "text" if self.kind is str else "a number"
        what = "a whole number" if self.kind is int else "a number"
        low, high = number_text(self.low), number_text(self.high)
        if self.open_low:
            return f"{what} above {low} and {'below' if self.open_high else 'at most'} {high}"
        return f"{what} from {low} to {'below ' if self.open_high else ''}{high}"


def parse_flag(text: str) -> bool:
    """True for 1/true/yes, False for 0/false/no (any case); ConfigError otherwise."""
    if text.lower() not in FLAG_WORDS:
        raise ConfigError(f"{quoted(text)} is not {FLAG_TEXT}")
    return FLAG_WORDS[text.lower()]


def format_value(value: Any) -> str:
    """An option's value as text: '' for unset, 1 or 0 for a flag, a float in its shortest form."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    return f"{value:g}" if isinstance(value, float) else str(value)


def number_text(value: float) -> str:
    """1000 as '1,000', 1e6 as '1,000,000', 0.5 as '0.5'."""
    return f"{int(value):,}" if float(value).is_integer() and abs(value) < 1e15 else f"{value:g}"
