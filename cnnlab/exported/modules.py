"""The call tree of an exported program as modules: real layers where a leaf is one known operation,
stand-ins named after their class for everything else, each at its original path with its weights."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from cnnlab.errors import ConfigError
from cnnlab.exported.archive import Archive
from cnnlab.exported.rebuild import Call, Op

_CLASSES: dict[str, type] = {}


class Stand(nn.Module):
    """A module of the exported model that is not one known layer: runs its own operations and calls."""

    def forward(self, call: Call, *values: torch.Tensor) -> Any:
        env = dict(zip(call.inputs, values, strict=True))
        run(self, call, env)
        out = [env[n] for n in call.outputs]
        return out[0] if len(out) == 1 else tuple(out)


class ExportedModel(Stand):
    """The root: one image batch in, the graph's output out. `input_shape` is the recorded (C, H, W)."""

    def __init__(self, root: Call, input_name: str, output_name: str, input_shape: tuple | None) -> None:
        super().__init__()
        self.root, self.input_name, self.output_name = root, input_name, output_name
        self.input_shape = input_shape

    def forward(self, x: torch.Tensor) -> Any:  # type: ignore[override]
        env = {self.input_name: x}
        run(self, self.root, env)
        return env[self.output_name]


def _relative(path: str, base: str) -> str:
    return path[len(base) + 1:] if base else path


def _resolve(module: nn.Module, call: Call, kind: str, value: Any, env: dict) -> Any:
    if kind == "tensor":
        return env[value]
    if kind == "state":
        relative = _relative(value, call.path)
        attr_owner, _, attr = relative.rpartition(".")
        return getattr(module.get_submodule(attr_owner), attr)
    if kind == "list":
        return [_resolve(module, call, k, v, env) for k, v in value]
    return value


def run(module: nn.Module, call: Call, env: dict) -> None:
    """Run `call`'s body inside `module` (the module at `call.path`), writing graph values to `env`."""
    for item in call.body:
        if isinstance(item, Call):
            child = module.get_submodule(_relative(item.path, call.path))
            values = [env[n] for n in item.inputs]
            result = child(item, *values) if isinstance(child, Stand) else child(*values)
        else:
            result = item.fn(*(_resolve(module, call, k, v, env) for k, v in item.args),
                             **{n: _resolve(module, call, k, v, env) for n, (k, v) in item.kwargs.items()})
        outputs = item.outputs
        for name, value in zip(outputs, [result] if len(outputs) == 1 else result, strict=True):
            env[name] = value


def _stand_class(kind: str) -> type:
    if kind not in _CLASSES:
        _CLASSES[kind] = type(kind, (Stand,), {"__module__": __name__, "__doc__": Stand.__doc__})
    return _CLASSES[kind]


def _arg(op: Op, index: int, tensors: dict[str, torch.Tensor]) -> Any:
    kind, value = op.args[index]
    return tensors[value] if kind == "state" else value if kind == "value" else None


def _pair(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def layer(call: Call, tensors: dict[str, torch.Tensor]) -> nn.Module | None:
    """The real torch layer a leaf call is, or None: one operation of the layer's own kind, on one input,
    with weights at the layer's own names."""
    if len(call.body) != 1 or not isinstance(call.body[0], Op) or len(call.inputs) != 1:
        return None
    op = call.body[0]
    state = [v for k, v in op.args if k == "state"]
    if any(not fqn.startswith(f"{call.path}.") or "." in fqn[len(call.path) + 1:] for fqn in state):
        return None
    a = [_arg(op, i, tensors) for i in range(len(op.args))]
    built = _build(call.kind, op.key, a)
    if built is None:
        return None
    own = {f"{call.path}.{name}" for name, _ in built.named_parameters()} | \
        {f"{call.path}.{name}" for name, _ in built.named_buffers()}
    return built if set(state) <= own else None


def _build(kind: str, key: str, a: list) -> nn.Module | None:  # noqa: PLR0911 (one line per layer)
    meta = {"device": "meta"}
    if (kind, key) == ("Conv2d", "conv2d.default") and not isinstance(a[4], str):
        w = a[1]
        return nn.Conv2d(w.shape[1] * a[6], w.shape[0], tuple(w.shape[2:]), _pair(a[3]), _pair(a[4]),
                         _pair(a[5]), a[6], bias=a[2] is not None, **meta)
    if (kind, key) == ("Linear", "linear.default"):
        return nn.Linear(a[1].shape[1], a[1].shape[0], bias=a[2] is not None, **meta)
    if (kind, key) == ("BatchNorm2d", "batch_norm.default") and a[3] is not None:
        return nn.BatchNorm2d(a[3].shape[0], eps=a[7], momentum=a[6], affine=a[1] is not None, **meta)
    if kind == "ReLU" and key in ("relu.default", "relu_.default"):
        return nn.ReLU(inplace=key == "relu_.default")
    if (kind, key) in (("Sigmoid", "sigmoid.default"), ("Tanh", "tanh.default")):
        return getattr(nn, kind)()
    if (kind, key) == ("MaxPool2d", "max_pool2d.default"):
        return nn.MaxPool2d(_pair(a[1]), _pair(a[2]) or None, _pair(a[3]), _pair(a[4]), ceil_mode=a[5])
    if (kind, key) == ("AvgPool2d", "avg_pool2d.default"):
        return nn.AvgPool2d(_pair(a[1]), _pair(a[2]) or None, _pair(a[3]), a[4], a[5], a[6])
    if (kind, key) == ("AdaptiveAvgPool2d", "adaptive_avg_pool2d.default"):
        return nn.AdaptiveAvgPool2d(_pair(a[1]))
    if (kind, key) == ("Flatten", "flatten.using_ints"):
        return nn.Flatten(a[1], a[2])
    if (kind, key) == ("Dropout", "dropout.default"):
        return nn.Dropout(a[1])
    return None


def _calls(call: Call):  # noqa: ANN202
    for item in call.body:
        if isinstance(item, Call):
            yield item
            yield from _calls(item)


def _check_free(module: nn.Module, name: str, path: str) -> None:
    """A ConfigError if `name` is already something of `module` (an attribute such as `training` or
    `forward`, another module or weight): a file's names never replace a module's own."""
    if hasattr(module, name):
        raise ConfigError(f"the model file names a module or weight {path[:80]!r}, which would replace "
                          f"{type(module).__name__}'s own {name!r}")


def assemble(root: Call, archive: Archive, input_name: str, output_name: str,
             input_shape: tuple | None) -> ExportedModel:
    """The model: every called path a module (the first call's real layer if every call of that path is
    that layer's operation), every weight at its qualified name."""
    model = type(root.kind, (ExportedModel,), {"__module__": __name__})(root, input_name, output_name,
                                                                        input_shape)
    by_path: dict[str, list[Call]] = {}
    for call in _calls(root):
        by_path.setdefault(call.path, []).append(call)
    parents = {p.rsplit(".", 1)[0] for p in by_path if "." in p}
    for path in sorted(by_path, key=lambda p: p.count(".")):
        calls = by_path[path]
        built = None if path in parents else layer(calls[0], archive.tensors)
        first = calls[0].body[0]
        if built is not None and any(layer(c, archive.tensors) is None or c.body[0].key != first.key
                                     for c in calls[1:]):
            built = None
        owner, _, name = path.rpartition(".")
        parent = model.get_submodule(owner) if owner else model
        if built is None:
            built = _stand_class(calls[0].kind)()
        _check_free(parent, name, path)
        parent.add_module(name, built)
    for fqn, tensor in archive.tensors.items():
        owner, _, name = fqn.rpartition(".")
        module = model
        for part in filter(None, owner.split(".")):
            if part not in module._modules:
                _check_free(module, part, fqn)
                module.add_module(part, _stand_class("Module")())
            module = module._modules[part]
        if name not in module._parameters and name not in module._buffers:
            _check_free(module, name, fqn)
        if fqn in archive.parameters:
            module._parameters[name] = nn.Parameter(tensor, requires_grad=tensor.is_floating_point())
        else:
            module._buffers[name] = tensor
    state = [*model.named_parameters(), *model.named_buffers()]
    left = [n for n, t in state if t.device.type == "meta"]
    if left:
        raise ConfigError(f"the model file has no weights for {', '.join(left[:3])}")
    broken = [n for n, t in state if t.is_floating_point() and not bool(torch.isfinite(t).all())]
    if broken:
        raise ConfigError(f"the model file's weights hold NaN or infinite values ({', '.join(broken[:3])}); "
                          "every map and field of this model would be NaN")
    return model.eval()
