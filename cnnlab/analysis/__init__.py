"""The analysis engine: per-layer shapes, parameters, MACs, memory and receptive fields.

`analyze` accepts a preset name, a spec, a ModelConfig or any `nn.Module`, and runs on the meta
device: no weights are allocated and nothing is computed.
"""

from __future__ import annotations

from dataclasses import replace
from functools import lru_cache
from typing import Any

from torch import nn

from cnnlab.analysis.calls import Call
from cnnlab.analysis.graph import GraphRecorder
from cnnlab.analysis.memory import TrainingMemory
from cnnlab.analysis.summary import LayerRow, Summary, Totals
from cnnlab.analysis.tracer import trace
from cnnlab.analysis.windows import Window, window_of
from cnnlab.errors import ConfigError, quoted
from cnnlab.families import family_of
from cnnlab.spec import ArchSpec, InputSpec, ModelConfig, model_config
from cnnlab.units import format_pair
from cnnlab.zoo import build

_BUILT = 16  # meta-device modules kept for the next analysis of the same model

__all__ = ["LayerRow", "Summary", "Totals", "TrainingMemory", "Window", "analyze", "format_pair"]


def analyze(model: str | ArchSpec | ModelConfig | nn.Module,
            input_shape: str | InputSpec | tuple[int, int, int] | None = None,
            *, levels: int | None = None, recorder: GraphRecorder | None = None, **options: Any) -> Summary:
    """Analyse `model` on one input of `input_shape` (C, H, W).

    `levels=None` gives one row per leaf layer; `levels=d` one row per module at depth d (a leaf above
    it keeps its own row). `options` (classes, width_divisor, ...) apply to a preset name or spec.
    A `recorder` records the data-flow graph of the same forward pass (`cnnlab.diagram` draws it).
    """
    if levels is not None and (isinstance(levels, bool) or not isinstance(levels, int) or levels < 1):
        raise ConfigError(f"levels must be a whole number of at least 1, got {quoted(levels)}")
    if not isinstance(model, str | ArchSpec | ModelConfig | nn.Module):
        raise ConfigError(f"analyze takes a preset name, a spec, a ModelConfig or an nn.Module, "
                          f"not {type(model).__name__}")
    if isinstance(model, nn.Module):
        if options:
            raise ConfigError(f"options {', '.join(options)} apply to presets and specs, not to a module")
        if input_shape is None:
            raise ConfigError("analysing an nn.Module needs an input shape (C, H, W)")
        shape = _input(input_shape)
        name, module, config = type(model).__name__, model, None
    else:
        if isinstance(model, ModelConfig):
            if options or input_shape is not None:
                raise ConfigError("a ModelConfig already fixes the options and the input")
            config = model
        else:
            config = model_config(model, _input(input_shape) if input_shape is not None else None, **options)
        shape, name, module = config.input, config.name, _built(config)
    try:
        calls, output, macs = trace(module, shape.as_tuple(), recorder)
    except ConfigError:
        raise
    except Exception as exc:  # whatever a model's forward raises on this input, say so in one line
        reason = (str(exc).splitlines() or [type(exc).__name__])[0]
        raise ConfigError(f"{name} cannot run on a {shape} input: {reason}") from exc
    notes = () if config is None else family_of(config.arch).notes(config.arch, config.input)
    return replace(_summarize(name, shape, module, calls, output, macs, levels), config=config, notes=notes)


@lru_cache(maxsize=_BUILT)
def _built(config: ModelConfig) -> nn.Module:
    """The meta-device module of `config`, kept for the next analysis of the same model (the dashboard
    analyses it again on every rerun). It is only ever traced, which changes nothing in it, and it
    stays in eval mode, the mode every trace runs in."""
    return build(config).eval()


def _input(value: str | InputSpec | tuple) -> InputSpec:
    if isinstance(value, InputSpec):
        return value
    if isinstance(value, str):
        return InputSpec.parse(value)
    return InputSpec.from_list(value)


def _summarize(name: str, shape: InputSpec, model: nn.Module, calls: list[Call], output: Any,
               macs: int, depth: int | None) -> Summary:
    seen: set[nn.Module] = set()
    calls_of: dict[str, int] = {}  # how often each name has had a row: the second call is 'name (2)'
    rows = []
    leaf_bytes = 0
    stored: set[int] = set()  # layer outputs that share memory (in-place ReLUs, views) count once
    for call in calls:
        if not call.nested and call.output is not None:
            memory = id(call.output if call.output._base is None else call.output._base)
            if memory not in stored:
                stored.add(memory)
                leaf_bytes += _bytes(call.output)
        if not _is_row(call, depth):
            continue
        first_call = call.module not in seen
        seen.add(call.module)
        params = _parameters(call.module) if first_call else []
        label = call.name or type(call.module).__name__
        calls_of[label] = calls_of.get(label, 0) + 1
        rows.append(_row(call, params, label if calls_of[label] == 1 else f"{label} ({calls_of[label]})"))
    params = list(model.parameters())
    totals = Totals(
        params=sum(p.numel() for p in params),
        trainable_params=sum(p.numel() for p in params if p.requires_grad),
        macs=macs,
        param_bytes=sum(p.numel() * p.element_size() for p in params),
        activation_bytes=leaf_bytes,
    )
    classes = int(output.shape[-1]) if hasattr(output, "shape") and output.dim() >= 1 else 0
    return Summary(name, shape.as_tuple(), classes, tuple(rows), totals)


def _is_row(call: Call, depth: int | None) -> bool:
    """Whether `call` is a row: every layer (a call with no module call inside) with `depth` None; else
    each call at `depth`, and each layer above it or under a call above it (a module list is never
    called, so its children stand in for it)."""
    if call.depth == 0 and call.nested:
        return False
    if depth is None:
        return not call.nested
    if call.nested and call.depth < depth:
        return False
    parent = call.parent
    while parent is not None:
        if parent.depth >= depth:
            return False
        parent = parent.parent
    return True


def _parameters(module: nn.Module) -> list:
    """`module.parameters()`, read directly from a layer's own (each once)."""
    if module._modules:
        return list(module.parameters())
    return list(dict.fromkeys(p for p in module._parameters.values() if p is not None))


def _row(call: Call, params: list, name: str) -> LayerRow:
    field = call.field
    out = call.output
    return LayerRow(
        name=name,
        type=type(call.module).__name__,
        depth=call.depth,
        output_shape=tuple(out.shape[1:]) if out is not None else (),
        params=sum(p.numel() for p in params),
        trainable_params=sum(p.numel() for p in params if p.requires_grad),
        macs=call.macs,
        output_bytes=_bytes(out) if out is not None else 0,
        rf=None if field is None else tuple(int(v) for v in field.rf),
        jump=None if field is None else tuple(int(v) for v in field.jump),
        start=None if field is None else tuple(float(v) for v in field.start),
        input_shape=call.input_shape,
        window=window_of(call.module),
    )


def _bytes(tensor: Any) -> int:
    return tensor.numel() // max(tensor.shape[0], 1) * tensor.element_size() if tensor.dim() else 0
