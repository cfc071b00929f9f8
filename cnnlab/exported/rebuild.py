"""An exported program's graph, parsed from its JSON into a tree of module calls and operations.

Every module call recorded in a node's `nn_module_stack` becomes a `Call` at the same path, holding the
operations (and inner calls) that ran inside it; `cnnlab/exported/modules.py` turns the tree into
modules. Operations are only those of `OPS`, each to be run by the public torch function of the same
name, so the analysis engine's tracer sees a forward pass like the original model's. Names that become
module paths are checked against a strict pattern; nothing from the file is evaluated.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import torch
from torch.nn import functional as F

from cnnlab.errors import ConfigError
from cnnlab.exported.archive import PATH, Archive, not_a_model
from cnnlab.limits import MAX_GRAPH_NODES, MAX_MODULE_DEPTH

# aten operation -> the public function that computes it, with the same arguments in the same order
OPS = {
    "conv2d.default": F.conv2d, "linear.default": F.linear, "batch_norm.default": torch.batch_norm,
    "relu.default": torch.relu, "relu_.default": torch.relu_, "sigmoid.default": torch.sigmoid,
    "tanh.default": torch.tanh, "gelu.default": F.gelu, "silu.default": F.silu,
    "leaky_relu.default": F.leaky_relu, "hardtanh.default": F.hardtanh, "hardtanh_.default": F.hardtanh_,
    "max_pool2d.default": F.max_pool2d, "avg_pool2d.default": F.avg_pool2d,
    "adaptive_avg_pool2d.default": F.adaptive_avg_pool2d, "pad.default": F.pad,
    "dropout.default": torch.dropout, "flatten.using_ints": torch.flatten, "view.default": torch.Tensor.view,
    "reshape.default": torch.reshape, "permute.default": torch.permute, "transpose.int": torch.transpose,
    "unsqueeze.default": torch.unsqueeze, "squeeze.dim": torch.squeeze, "clone.default": torch.clone,
    "add.Tensor": torch.add, "add_.Tensor": torch.Tensor.add_, "sub.Tensor": torch.sub,
    "mul.Tensor": torch.mul, "div.Tensor": torch.div, "cat.default": torch.cat, "mean.dim": torch.mean,
    "softmax.int": torch.softmax, "log_softmax.int": torch.log_softmax, "matmul.default": torch.matmul,
}
_ATEN = re.compile(r"torch\.ops\.aten\.([a-z0-9_]+\.[A-Za-z0-9_]+)")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,200}")
_VALUES = ("as_int", "as_ints", "as_float", "as_floats", "as_bool", "as_bools", "as_string")


@dataclass
class Op:
    """One operation: its function, arguments (('tensor', name) for a value of the graph, ('state', path)
    for a weight, ('value', v) for a constant) and output names."""

    fn: Any
    key: str
    args: list[tuple[str, Any]]
    kwargs: dict[str, tuple[str, Any]]
    outputs: list[str]
    index: int = 0


@dataclass
class Call:
    """One call of the module at `path`: what runs inside it, in order, and the graph values it takes
    and gives back."""

    key: str
    path: str
    kind: str
    body: list[Op | Call] = field(default_factory=list)
    inputs: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)


def _value(arg: dict, name: str, tensor_fqn: dict[str, str]) -> tuple[str, Any]:
    (kind, value), = arg.items()
    if kind == "as_none":
        return ("value", None)
    if kind == "as_tensor":
        ref = value["name"]
        return ("state", tensor_fqn[ref]) if ref in tensor_fqn else ("tensor", ref)
    if kind == "as_tensors":
        return ("list", [_value({"as_tensor": t}, name, tensor_fqn) for t in value])
    if kind in _VALUES:
        return ("value", value)
    raise not_a_model(name, f"an argument of kind {kind} is not supported")


def _op(node: dict, name: str, tensor_fqn: dict[str, str]) -> Op:
    target = node.get("target", "")
    match = _ATEN.fullmatch(target) if isinstance(target, str) else None
    if not match or match.group(1) not in OPS:
        raise ConfigError(f"{name} uses {str(target)[:80]}, which cnnlab does not run (it runs "
                          f"{len(OPS)} ATen operations of convolutional networks)")
    op_name, overload = match.group(1).split(".")
    schema = getattr(getattr(torch.ops.aten, op_name), overload)._schema
    given = {a["name"]: _value(a["arg"], name, tensor_fqn) for a in node["inputs"]}
    args, kwargs = [], {}
    for argument in schema.arguments:
        if argument.name in given:
            value = given.pop(argument.name)
        elif argument.has_default_value():
            value = ("value", argument.default_value)
        else:
            raise not_a_model(name, f"{target} lacks its argument {argument.name}")
        if argument.kwarg_only:
            kwargs[argument.name] = value
        else:
            args.append(value)
    if given:
        raise not_a_model(name, f"{target} has unknown arguments {', '.join(given)}")
    outputs = []
    for out in node["outputs"]:
        (kind, value), = out.items()
        if kind not in ("as_tensor", "as_tensors"):
            raise not_a_model(name, f"{target} returns a {kind}")
        outputs += [value["name"]] if kind == "as_tensor" else [t["name"] for t in value]
    return Op(OPS[match.group(1)], match.group(1), args, kwargs, outputs)


def _stack(node: dict, name: str) -> list[tuple[str, str, str]]:
    """The node's module calls, outermost first, without the root: (key, path, class name)."""
    text = (node.get("metadata") or {}).get("nn_module_stack", "")
    entries = [e for e in text.split(";") if e]
    if len(entries) > MAX_MODULE_DEPTH + 1:  # the root's entry and MAX_MODULE_DEPTH calls
        raise ConfigError(f"{name} nests {len(entries) - 1:,} module calls; at most {MAX_MODULE_DEPTH}")
    calls = []
    for entry in entries:
        parts = entry.split(",")
        if len(parts) != 3:
            raise not_a_model(name, "a module call is described unreadably")
        key, path, kind = parts
        if path:
            calls.append((key, path, kind.rsplit(".", 1)[-1]))
    return calls


def parse(archive: Archive, name: str) -> tuple[Call, str, str, tuple[int, ...] | None]:
    """The root call, the graph's input and output names, and the input's recorded shape."""
    try:
        graph, signature = archive.program["graph"], archive.program["signature"]
        tensor_fqn, user_inputs = {}, []
        for spec in signature["input_specs"]:
            (kind, value), = spec.items()
            if kind == "parameter":
                tensor_fqn[value["arg"]["name"]] = value["parameter_name"]
            elif kind == "buffer":
                tensor_fqn[value["arg"]["name"]] = value["buffer_name"]
            elif kind == "user_input" and "as_tensor" in value["arg"]:
                user_inputs.append(value["arg"]["as_tensor"]["name"])
            else:
                raise not_a_model(name, f"an input of kind {kind} is not supported")
        outputs = [spec["user_output"]["arg"]["as_tensor"]["name"] for spec in signature["output_specs"]
                   if "user_output" in spec and "as_tensor" in spec["user_output"]["arg"]]
        nodes = graph["nodes"]
        if len(user_inputs) != 1 or len(outputs) != 1:
            raise ConfigError(f"{name} takes {len(user_inputs)} tensors and returns {len(outputs)}; cnnlab "
                              "analyses models of one image tensor in, one tensor out")
        if len(nodes) > MAX_GRAPH_NODES:
            raise ConfigError(f"{name} has {len(nodes)} operations; at most {MAX_GRAPH_NODES:,}")
        for fqn in tensor_fqn.values():
            if fqn not in archive.tensors or not PATH.fullmatch(fqn):
                raise not_a_model(name, f"weight {str(fqn)[:80]} is missing or misnamed")
        first = (nodes[0].get("metadata") or {}).get("nn_module_stack", "") if nodes else ""
        kind = first.split(";")[0].split(",")[-1].rsplit(".", 1)[-1] if first else "Model"
        root = Call("", "", kind if _NAME.fullmatch(kind) else "Model")
        open_calls = [root]
        for node in nodes:
            stack = _stack(node, name)
            depth = 0
            shared = min(len(stack), len(open_calls) - 1)
            while depth < shared and open_calls[depth + 1].key == stack[depth][0]:
                depth += 1
            del open_calls[depth + 1:]
            for key, path, kind in stack[depth:]:
                if not PATH.fullmatch(path) or not _NAME.fullmatch(kind):
                    raise not_a_model(name, f"a module is named {path[:80]!r} ({kind[:80]!r})")
                call = Call(key, path, kind)
                open_calls[-1].body.append(call)
                open_calls.append(call)
            open_calls[-1].body.append(_op(node, name, tensor_fqn))
        shape = graph["tensor_values"].get(user_inputs[0], {}).get("sizes", [])
        sizes = tuple(s.get("as_int") for s in shape)
    except ConfigError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise not_a_model(name, f"its graph cannot be read ({type(exc).__name__}: {str(exc)[:80]})") from exc
    if not nodes:
        raise not_a_model(name, "its graph is empty")
    _flows(root, outputs[0])
    return root, user_inputs[0], outputs[0], sizes if all(isinstance(s, int) for s in sizes) else None


def _flows(call: Call, output: str) -> None:
    """Fill every call's inputs (graph values it reads that are made before it) and outputs (values it
    makes that are read after it, or the graph's output). Calls span consecutive operations."""
    ops = list(_ops(call))
    last_read: dict[str, int] = {}
    for index, op in enumerate(ops):
        op.index = index
        for n in _reads(op):
            last_read[n] = index
    last_read[output] = len(ops)

    def fill(c: Call) -> None:
        inner = list(_ops(c))
        made = [n for op in inner for n in op.outputs]
        own = set(made)
        c.inputs = [n for n in dict.fromkeys(n for op in inner for n in _reads(op)) if n not in own]
        c.outputs = [n for n in made if last_read.get(n, -1) > inner[-1].index]
        for item in c.body:
            if isinstance(item, Call):
                fill(item)

    fill(call)


def _ops(call: Call):  # noqa: ANN202
    for item in call.body:
        yield from _ops(item) if isinstance(item, Call) else (item,)


def _reads(op: Op) -> list[str]:
    return [n for kind, v in [*op.args, *op.kwargs.values()] for n in _names(kind, v)]


def _names(kind: str, value: Any) -> list[str]:
    if kind == "tensor":
        return [value]
    if kind == "list":
        return [n for k, v in value for n in _names(k, v)]
    return []
