"""What a summary or a run is about: an architecture spec (of a registered family) and an input.

A spec says *what* network to build; its family (`cnnlab.families`) parses, validates and builds it.
Every constructor validates, so a spec that exists is a spec that makes sense.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from cnnlab.checks import check_int
from cnnlab.errors import ConfigError, listed, quoted
from cnnlab.families import FAMILIES, PRESETS, family_of, parse_model
from cnnlab.families.family import SpecData
from cnnlab.families.seq import SeqSpec
from cnnlab.formats import JSON_SCHEMA_VERSION
from cnnlab.inputs import InputSpec

# Every family's spec is a frozen dataclass deriving from SpecData.
ArchSpec = SpecData

__all__ = ["JSON_SCHEMA_VERSION", "PRESETS", "ArchSpec", "InputSpec", "ModelConfig", "check_int",
           "model_config", "model_name", "parse_model", "spec_from_dict", "spec_to_dict", "to_seq",
           "with_options"]


def model_name(spec: ArchSpec) -> str:
    """The model string: a preset's name where the spec's structure is a preset, else the family's form."""
    return family_of(spec).name_of(spec)


def to_seq(spec: ArchSpec) -> SeqSpec:
    """The same network as a `seq` spec; a ConfigError says why a family has none."""
    return family_of(spec).seq_of(spec)


def with_options(spec: ArchSpec, **options: Any) -> ArchSpec:
    """Return `spec` with the given fields changed (None values are ignored).

    An option that the family does not have is an error naming both.
    """
    given = {k: v for k, v in options.items() if v is not None}
    known = {option.name for option in family_of(spec).options}
    for key in given:
        if key not in known:
            raise ConfigError(f"option {quoted(key.replace('_', '-'))} does not apply to {spec.family}; "
                              f"it takes {', '.join(sorted(k.replace('_', '-') for k in known))}")
    return replace(spec, **given) if given else spec


def spec_to_dict(spec: ArchSpec) -> dict[str, Any]:
    return {"family": spec.family, **spec.to_data()}


def spec_from_dict(data: Any) -> ArchSpec:
    """Inverse of `spec_to_dict`; every field is validated and unknown fields are rejected."""
    if not isinstance(data, dict):
        raise ConfigError(f"an architecture spec must be a JSON object, got {type(data).__name__}")
    family = data.get("family")
    if not isinstance(family, str) or family not in FAMILIES:
        raise ConfigError(f"unknown architecture family {quoted(family)}; expected one of "
                          f"{', '.join(FAMILIES)}")
    cls = FAMILIES[family].spec
    extra = sorted(set(data) - cls.field_names() - {"family"})
    if extra:
        raise ConfigError(f"unknown {family} field(s): {listed(extra)}")
    return cls.from_data({k: v for k, v in data.items() if k != "family"})


@dataclass(frozen=True)
class ModelConfig:
    """What a summary or a run is about: an architecture and the input it sees."""

    arch: ArchSpec
    input: InputSpec

    @property
    def name(self) -> str:
        return model_name(self.arch)

    def to_dict(self) -> dict[str, Any]:
        return {"schema_version": JSON_SCHEMA_VERSION, "arch": spec_to_dict(self.arch),
                "input": list(self.input.as_tuple())}

    @classmethod
    def from_dict(cls, data: Any) -> ModelConfig:
        """Inverse of `to_dict`; a dict without `schema_version` is read as version 1."""
        if not isinstance(data, dict) or not {"arch", "input"} <= set(data) <= {"schema_version", "arch",
                                                                               "input"}:
            raise ConfigError("a model config must be a JSON object with the keys 'arch' and 'input' "
                              "(and optionally 'schema_version')")
        version = data.get("schema_version", 1)
        if type(version) is not int or not 1 <= version <= JSON_SCHEMA_VERSION:
            raise ConfigError(f"model config schema_version {quoted(version)} is not one this cnnlab reads "
                              f"(1 to {JSON_SCHEMA_VERSION})")
        return cls(spec_from_dict(data["arch"]), InputSpec.from_list(data["input"]))


def model_config(model: str | ArchSpec, input: str | InputSpec | None = None, **options: Any) -> ModelConfig:
    """Build a ModelConfig from a model string or spec, an optional 'CxHxW' input and family options.

    This is the one entry point the CLI and the dashboard share.
    """
    spec = parse_model(model) if isinstance(model, str) else model
    spec = with_options(spec, **options)
    if input is None:
        shape = family_of(spec).input_for(spec)
    elif isinstance(input, InputSpec):
        shape = input
    else:
        shape = InputSpec.parse(input)
    return ModelConfig(spec, shape)
