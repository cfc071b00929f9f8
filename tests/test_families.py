"""The family contract, over every registered family and a minimal one registered here at run time:
each spec parses back from its name, builds, is analysed, survives JSON, a URL and the CLI's words,
and has its `seq` form and code export or refuses them with one ConfigError naming the family."""

import json
from dataclasses import dataclass, replace
from typing import ClassVar

import pytest
import torch
from torch import nn

from cnnlab import ConfigError, ModelConfig, analyze, build, model_config
from cnnlab.cli import build_parser, main
from cnnlab.cli.options import model_config_from_args
from cnnlab.code_export import python_code
from cnnlab.families import FAMILIES, PRESETS, Family, register
from cnnlab.families.family import SpecData
from cnnlab.families.options import CLASSES
from cnnlab.inputs import InputSpec
from cnnlab.model_words import model_words
from cnnlab.spec import parse_model, spec_from_dict, spec_to_dict, to_seq, with_options
from dashboard import model_state


@dataclass(frozen=True)
class TinySpec(SpecData):
    """The least a family declares: a spec with one field besides the classes, and no seq or code."""

    family: ClassVar[str] = "tiny"
    width: int = 4


def build_tiny(spec: TinySpec, inp: InputSpec) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(inp.channels, spec.width, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                         nn.Flatten(), nn.Linear(spec.width, spec.classes))


TINY = Family(name="tiny", label="Tiny", spec=TinySpec, build=build_tiny, default_input=InputSpec(2, 9, 9),
              presets={"tiny": TinySpec()}, options=(CLASSES,), name_of=lambda spec: "tiny",
              model_help="tiny")


@pytest.fixture(autouse=True, scope="module")
def tiny_registered():
    families, presets = dict(FAMILIES), dict(PRESETS)
    register(TINY)
    yield
    FAMILIES.clear()
    FAMILIES.update(families)
    PRESETS.clear()
    PRESETS.update(presets)


NAMES = [*FAMILIES, "tiny"]


def specs_of(family: Family) -> list:
    """The family's default spec and its presets, each with two classes more than the default."""
    return [replace(spec, classes=12) for spec in (family.spec(), *family.presets.values())]


@pytest.mark.parametrize("name", NAMES)
def test_names_parse_back_to_the_spec(name):
    family = FAMILIES[name]
    for spec in specs_of(family):
        assert with_options(parse_model(family.name_of(spec)), classes=12) == spec
    assert {n: parse_model(n) for n in family.presets} == dict(family.presets)


@pytest.mark.slow  # over a second of CPU: outside the fast tier's budget
@pytest.mark.parametrize("name", NAMES)
def test_the_default_builds_runs_and_is_analysed(name):
    family = FAMILIES[name]
    config = model_config(family.spec())
    c, h, w = family.default_input.as_tuple()
    assert config.input == family.default_input
    model = build(config, device="cpu").eval()
    with torch.no_grad():
        out = model(torch.zeros(1, c, h, w))
    assert out.shape == (1, 10)
    summary = analyze(config)
    assert (summary.model, summary.input, summary.classes) == (config.name, (c, h, w), 10)
    assert summary.totals.params == sum(p.numel() for p in model.parameters())


def test_the_minimal_family_is_analysed_by_hand():
    """conv 3×3 2→4 on 9×9 (7×7 out): 72 weights + 4 biases, 72·49 MACs; fc 4→12: 48 + 12, 48 MACs."""
    summary = analyze("tiny", classes=12)
    assert (summary.totals.params, summary.totals.macs) == (76 + 60, 72 * 49 + 48)
    assert summary.final_field.rf == (3, 3)


@pytest.mark.parametrize("name", NAMES)
def test_specs_survive_json_the_url_and_the_cli_words(name):
    family = FAMILIES[name]
    parser = build_parser()
    for spec in specs_of(family):
        config = model_config(spec)
        assert spec_from_dict(json.loads(json.dumps(spec_to_dict(spec)))) == spec
        assert ModelConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config
        assert model_state.from_params(model_state.to_params(config)) == config
        words = model_words(spec).split(" + ")[0].split()
        args = parser.parse_args(["summary", *words, "--classes", "12", "--input", str(config.input)])
        assert model_config_from_args(args) == config


def _refusal(family: Family, spec, form: str) -> str:
    reason = family.no_seq if form == "seq form" else family.no_code
    return f"{family.name_of(spec)} has no {form}: the {family.label} family {reason}"


@pytest.mark.parametrize("name", NAMES)
def test_seq_form_or_a_refusal_naming_the_family(name):
    family = FAMILIES[name]
    for spec in specs_of(family):
        if family.to_seq is None:
            with pytest.raises(ConfigError) as err:
                to_seq(spec)
            assert str(err.value) == _refusal(family, spec, "seq form")
        else:
            config = model_config(spec)
            ours, theirs = analyze(ModelConfig(to_seq(spec), config.input)), analyze(config)
            assert (ours.totals.params, ours.totals.macs) == (theirs.totals.params, theirs.totals.macs)


@pytest.mark.parametrize("name", NAMES)
def test_code_export_or_a_refusal_naming_the_family(name):
    family = FAMILIES[name]
    config = model_config(family.spec())
    if family.code is None:
        with pytest.raises(ConfigError) as err:
            python_code(config)
        assert str(err.value) == _refusal(family, family.spec(), "code export")
        return
    namespace: dict = {}
    exec(compile(python_code(config), "exported.py", "exec"), namespace)
    with torch.device("meta"):
        exported = namespace["build_model"]()
    assert {k: v.shape for k, v in exported.state_dict().items()} == {
        k: v.shape for k, v in build(config).state_dict().items()}


@pytest.mark.parametrize("name", NAMES)
def test_the_cli_summarises_each_family_and_refuses_in_one_line(name, capsys):
    family = FAMILIES[name]
    spec = family.spec()
    assert main(["summary", family.name_of(spec), "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    seq = None if family.to_seq is None else FAMILIES["seq"].name_of(family.to_seq(spec))
    assert (data["model"], data["classes"], data["seq"]) == (family.name_of(spec), 10, seq)
    status = main(["code", family.name_of(spec)])
    out, err = capsys.readouterr()
    if family.code is None:
        assert (status, out, err) == (2, "", f"cnnlab: error: {_refusal(family, spec, 'code export')}\n")
    else:
        assert (status, err) == (0, "") and out.startswith(f'"""{family.name_of(spec)}: input ')


@pytest.mark.parametrize("model, form, message", [
    ("tiny", to_seq, "tiny has no seq form: the Tiny family declares no seq form"),
    ("tiny", python_code, "tiny has no code export: the Tiny family declares no code export"),
    ("resnet50", to_seq, "resnet50 has no seq form: the ResNet family adds each residual block's input to "
                         "its output (a shortcut around a branch), and seq is a plain chain of layers"),
    ("tv:alexnet", to_seq, "tv:alexnet has no seq form: the torchvision family holds torchvision's own "
                           "models, and seq describes cnnlab's plain chains of layers"),
    ("tv:alexnet", python_code, "tv:alexnet has no code export: the torchvision family holds torchvision's "
                                "own models, not cnnlab's: build one with torchvision.models.get_model(name, "
                                "weights=None, num_classes=...) instead of exporting code"),
])
def test_refusals_name_the_family_and_why(model, form, message):
    config = model_config(model)
    with pytest.raises(ConfigError) as err:
        form(config.arch if form is to_seq else config)
    assert str(err.value) == message


@dataclass(frozen=True)
class OtherSpec(SpecData):
    family: ClassVar[str] = "other"


def test_registering_refuses_a_taken_name_or_preset_and_a_spec_off_the_base():
    with pytest.raises(ValueError, match="a family named 'tiny' is registered already"):
        register(TINY)
    with pytest.raises(ValueError, match="the other family's presets lenet are taken already"):
        register(replace(TINY, name="other", spec=OtherSpec, presets={"lenet": OtherSpec()}))
    assert "other" not in FAMILIES
    plain = dataclass(frozen=True)(type("PlainSpec", (), {"family": "plain"}))
    with pytest.raises(TypeError, match="the plain family's spec must be a frozen dataclass deriving from "
                                        "SpecData with family = 'plain'"):
        replace(TINY, name="plain", spec=plain)
