"""What a family declares once: its spec type, model strings, builder, presets, defaults and options.

The CLI, the dashboard, URLs and spec files read these declarations; none of them lists families or
repeats a limit.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, fields, is_dataclass
from typing import TYPE_CHECKING, Any

from cnnlab import limits
from cnnlab.checks import check_int
from cnnlab.errors import ConfigError
from cnnlab.families.options import Option
from cnnlab.inputs import InputSpec

if TYPE_CHECKING:
    from torch import nn


@dataclass(frozen=True)
class Family:
    """One family of networks.

    `parse` reads the text after `name:` in a model string (None: the family has presets only);
    `name_of` gives a spec's model string (a preset's name where it is one). `build` makes the module
    (called on the meta device). `to_seq` gives the same network as a `seq` spec; `code` writes it as
    PyTorch source: (definitions, the expression that builds it), given the spec, the input and the
    built module. Either may be None, `no_seq`/`no_code` saying why: ask through `seq_of` and
    `code_of`, which raise a ConfigError naming the family and the reason for a form it lacks.
    `input_of` gives a spec's own default input (a timm model's pretrained size; else `default_input`).
    `notes` gives what a summary's totals leave out that the model's publisher counts (one line each).
    `spec()`, every field at its default, must be a valid spec.
    """

    name: str
    label: str
    spec: type[SpecData]
    build: Callable[[Any, InputSpec], nn.Module]
    default_input: InputSpec
    presets: Mapping[str, Any]
    options: tuple[Option, ...]
    name_of: Callable[[Any], str]
    model_help: str
    parse: Callable[[str], Any] | None = None
    to_seq: Callable[[Any], SpecData] | None = None
    code: Callable[[Any, InputSpec, nn.Module], tuple[str, str]] | None = None
    no_seq: str = "declares no seq form"
    no_code: str = "declares no code export"
    notes: Callable[[Any, InputSpec], tuple[str, ...]] = lambda spec, inp: ()
    input_of: Callable[[Any], InputSpec] | None = None

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[a-z][a-z0-9_]*", self.name):
            raise ValueError(f"family name {self.name!r} must be a lowercase word")
        spec = self.spec
        if not (is_dataclass(spec) and issubclass(spec, SpecData) and spec.__dataclass_params__.frozen
                and getattr(spec, "family", None) == self.name):
            raise TypeError(f"the {self.name} family's spec must be a frozen dataclass deriving from "
                            f"SpecData with family = {self.name!r}")
        for preset, value in self.presets.items():
            if not isinstance(value, spec) or preset != preset.lower():
                raise TypeError(f"the {self.name} family's preset {preset!r} must be a lowercase name of "
                                f"a {spec.__name__}")

    def input_for(self, spec: Any) -> InputSpec:
        """The input `spec` is analysed at when none is given."""
        return self.default_input if self.input_of is None else self.input_of(spec)

    def seq_of(self, spec: Any) -> SpecData:
        """The same network as a `seq` spec; a ConfigError where the family has none."""
        if self.to_seq is None:
            raise ConfigError(f"{self.name_of(spec)} has no seq form: the {self.label} family {self.no_seq}")
        return self.to_seq(spec)

    def code_of(self, spec: Any, inp: InputSpec, built: Callable[[], nn.Module]) -> tuple[str, str]:
        """(definitions, the call that builds the network), from the module `built()` makes; a
        ConfigError, before anything is built, where the family has none."""
        if self.code is None:
            raise ConfigError(f"{self.name_of(spec)} has no code export: the {self.label} family "
                              f"{self.no_code}")
        return self.code(spec, inp, built())


@dataclass(frozen=True)
class SpecData:
    """The base of every family's spec, a frozen dataclass validated on construction: `classes`, the
    network's outputs, is every spec's (subclasses call `super().__post_init__()`).

    Its JSON form is its fields with tuples as lists, `classes` last; families with nested fields
    override `to_data`/`from_data`.
    """

    classes: int = field(default=10, kw_only=True)

    def __post_init__(self) -> None:
        object.__setattr__(self, "classes", check_int("classes", self.classes, 2, limits.MAX_CLASSES))

    def to_data(self) -> dict[str, Any]:
        data = asdict(self)
        return {**{k: v for k, v in data.items() if k != "classes"}, "classes": data["classes"]}

    @classmethod
    def from_data(cls, values: dict[str, Any]) -> Any:
        return cls(**values)

    @classmethod
    def field_names(cls) -> set[str]:
        return {f.name for f in fields(cls)}  # type: ignore[arg-type]
