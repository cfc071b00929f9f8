"""The input a network sees: one image of channels x height x width."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from cnnlab import limits
from cnnlab.checks import check_int
from cnnlab.errors import ConfigError, quoted, shortened

# ASCII digits only; a number of more than nine digits exceeds every cap, and is named as it was written.
_INPUT = re.compile(r"^\s*([0-9]+)\s*[x×]\s*([0-9]+)\s*[x×]\s*([0-9]+)\s*$")
_DIGITS = 9


@dataclass(frozen=True)
class InputSpec:
    """One input image: channels x height x width."""

    channels: int
    height: int
    width: int

    def __post_init__(self) -> None:
        object.__setattr__(self, "channels", check_int("input channels", self.channels, 1,
                                                       limits.MAX_CHANNELS))
        for side in ("height", "width"):
            object.__setattr__(self, side, check_int(f"input {side}", getattr(self, side),
                                                     limits.MIN_INPUT_SIDE, limits.MAX_INPUT_SIDE))
        values = self.channels * self.height * self.width
        if values > limits.MAX_INPUT_VALUES:
            raise ConfigError(f"input {self} holds {values:,} values per image; cnnlab caps an input at "
                              f"{limits.MAX_INPUT_VALUES:,} (e.g. 16x1024x1024, 64x512x512, 256x256x256)")

    @classmethod
    def parse(cls, text: str) -> InputSpec:
        """Parse 'CxHxW' (e.g. '3x224x224')."""
        match = _INPUT.match(str(text).lower())
        if not match:
            raise ConfigError(f"input {quoted(text)} is not of the form CxHxW (e.g. 1x28x28)")
        caps = {"channels": limits.MAX_CHANNELS, "height": limits.MAX_INPUT_SIDE,
                "width": limits.MAX_INPUT_SIDE}
        for (name, cap), part in zip(caps.items(), match.groups(), strict=True):
            if len(part.lstrip("0")) > _DIGITS:  # too long for int() to be worth it; echoed as typed
                raise ConfigError(f"input {name} is {shortened(part)}; cnnlab caps it at {cap}")
        return cls(*(int(p) for p in match.groups()))

    @classmethod
    def from_list(cls, values: Any) -> InputSpec:
        if not isinstance(values, list | tuple) or len(values) != 3:
            raise ConfigError(f"input must be a list [C, H, W], got {quoted(values)}")
        return cls(*values)

    def as_tuple(self) -> tuple[int, int, int]:
        return (self.channels, self.height, self.width)

    def __str__(self) -> str:
        return f"{self.channels}x{self.height}x{self.width}"
