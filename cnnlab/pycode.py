"""PyTorch source for built modules: each layer as the constructor call that makes it.

Families use these to write themselves as code (`Family.code`); `cnnlab.code_export` wraps the result
in a self-contained file.
"""

from __future__ import annotations

from collections.abc import Callable
from inspect import getsource  # the standard library's `inspect`, not the package `cnnlab.inspect`
from typing import Any

from torch import nn


def layer_code(module: nn.Module) -> str:
    """The constructor call of one layer with its non-default arguments: 'nn.Conv2d(3, 64, kernel_size=3)'."""
    if isinstance(module, nn.Conv2d):
        args = [str(module.in_channels), str(module.out_channels), f"kernel_size={_one(module.kernel_size)}"]
        args += [f"{name}={_one(getattr(module, name))!r}" for name, default in
                 (("stride", 1), ("padding", 0), ("dilation", 1)) if _one(getattr(module, name)) != default]
        args += [f"groups={module.groups}"] * (module.groups != 1) + ["bias=False"] * (module.bias is None)
        return f"nn.Conv2d({', '.join(args)})"
    if isinstance(module, nn.MaxPool2d | nn.AvgPool2d):
        args = [f"kernel_size={module.kernel_size}", f"stride={module.stride}"]
        args += [f"padding={module.padding}"] * (module.padding != 0) + ["ceil_mode=True"] * module.ceil_mode
        return f"nn.{type(module).__name__}({', '.join(args)})"
    if isinstance(module, nn.BatchNorm1d | nn.BatchNorm2d):
        return f"nn.{type(module).__name__}({module.num_features})"
    if isinstance(module, nn.Linear):
        return f"nn.Linear({module.in_features}, {module.out_features})"
    if isinstance(module, nn.ReLU):
        return "nn.ReLU(inplace=True)" if module.inplace else "nn.ReLU()"
    if isinstance(module, nn.Dropout):
        return f"nn.Dropout(p={module.p})"
    if isinstance(module, nn.AdaptiveAvgPool2d):
        return f"nn.AdaptiveAvgPool2d({module.output_size})"
    if isinstance(module, nn.Sequential):
        return "nn.Sequential(\n" + "".join(f"    {_indent(layer_code(m))},\n" for m in module) + ")"
    if isinstance(module, nn.Sigmoid | nn.Tanh | nn.Flatten | nn.Identity):
        return f"nn.{type(module).__name__}()"
    raise TypeError(f"no code form for {type(module).__name__}")


def source(*definitions: Callable[..., Any] | type) -> str:
    """The source of functions and classes, as written in cnnlab, one after another."""
    return "\n\n".join(getsource(definition) for definition in definitions)


def sequential_class(name: str, doc: str, model: nn.Sequential) -> str:
    """`class NAME(nn.Sequential)` whose children (and so state_dict keys) are `model`'s."""
    lines = [f"class {name}(nn.Sequential):", f'    """{doc}"""', "", "    def __init__(self) -> None:",
             "        super().__init__()"]
    lines += [f"        self.{child} = {_indent(layer_code(module), 8)}"
              for child, module in model.named_children()]
    return "\n".join(lines) + "\n"


def sequential_code(name: str, doc: str) -> Callable[[Any, Any, nn.Module], tuple[str, str]]:
    """A family's `code` for networks built as one nn.Sequential: the class with its layers spelt out."""
    return lambda spec, inp, model: (sequential_class(name, doc, model), f"{name}()")


def _one(value: object) -> object:
    """(3, 3) -> 3: square kernels, strides and paddings written once."""
    return value[0] if isinstance(value, tuple) and len(set(value)) == 1 else value


def _indent(text: str, by: int = 4) -> str:
    return text.replace("\n", "\n" + " " * by)
