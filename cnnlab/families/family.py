"""What a family declares once: its spec type, model strings, builder, presets, defaults and options.

The CLI, the dashboard, URLs and spec files read these declarations; none of them lists families or
repeats a limit.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, fields
from typing import TYPE_CHECKING, Any

from cnnlab.inputs import InputSpec

if TYPE_CHECKING:
    from torch import nn


@dataclass(frozen=True)
class Option:
    """A spec field that users set directly: a CLI flag (`--fc-width`), a URL parameter, a widget.

    `low`/`high` bound whole numbers; `choices` lists the allowed values of a choice.
    """

    name: str
    label: str
    help: str
    kind: type = int
    low: int | None = None
    high: int | None = None
    choices: tuple[Any, ...] = ()

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")


@dataclass(frozen=True)
class Family:
    """One family of networks.

    `parse` reads the text after `name:` in a model string and `format` writes it back (None: the
    family has presets only); `name_of` gives a spec's model string (a preset's name where it is one).
    `build` makes the module (called on the meta device). `to_seq` gives the same network as a `seq`
    spec, or raises a ConfigError saying why it cannot. `code` writes the network as PyTorch source:
    (definitions, the expression that builds it), given the spec, the input and the built module; None
    where the family's networks are not cnnlab's own.
    """

    name: str
    label: str
    spec: type
    build: Callable[[Any, InputSpec], nn.Module]
    default_input: InputSpec
    presets: Mapping[str, Any]
    options: tuple[Option, ...]
    name_of: Callable[[Any], str]
    model_help: str
    parse: Callable[[str], Any] | None = None
    to_seq: Callable[[Any], Any] | None = None
    code: Callable[[Any, InputSpec, nn.Module], tuple[str, str]] | None = None


class SpecData:
    """JSON form of a family's spec: its fields, with tuples as lists. Families with nested fields
    override `to_data`/`from_data`."""

    def to_data(self) -> dict[str, Any]:
        return asdict(self)  # type: ignore[call-overload]

    @classmethod
    def from_data(cls, values: dict[str, Any]) -> Any:
        return cls(**values)

    @classmethod
    def field_names(cls) -> set[str]:
        return {f.name for f in fields(cls)}  # type: ignore[arg-type]
