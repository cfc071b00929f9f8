"""A picture of the network: the traced data-flow graph drawn by Graphviz as boxes and arrows.

Every layer call is a box with its output shape (hover: parameters, MACs, receptive field), residual
additions are "+" circles whose shortcut inputs are dashed, concatenations are "concat" boxes. With
`collapse=True`, the layers of one block (a VGG block, a ResNet basic block, a dense layer, an
encoder block: the shallowest module with no stage of blocks inside) become one box, a sequential
block is cut after each pooling layer, and identical consecutive blocks become one "× n" box.

```python
from cnnlab.diagram import diagram
d = diagram("resnet18", collapse=True)
open("resnet18.svg", "wb").write(d.svg())   # or d.png(); in a notebook `d` shows itself
```
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from torch import nn

from cnnlab import limits
from cnnlab.analysis import LayerRow, analyze, format_pair
from cnnlab.analysis.graph import Graph, GraphRecorder, Node
from cnnlab.errors import ConfigError, quoted
from cnnlab.spec import ModelConfig, model_config
from cnnlab.units import format_count
from cnnlab.zoo import build

FORMATS = ("svg", "png")
PNG_DPI = 150  # a slide-sized bitmap
_WINDOW_POOLS = {"MaxPool2d", "AvgPool2d"}  # where a collapsed sequential block is cut
_SEQUENCES = (nn.Sequential, nn.ModuleList, nn.ModuleDict)
_COLOURS = {"conv": "#dbeafe", "pool": "#fde68a", "linear": "#dcfce7", "norm": "#f1f5f9",
            "block": "#e0e7ff", "input": "#e5e7eb", "other": "#ffffff"}
_MERGE_SHAPES = {"add": ("circle", "+"), "multiply": ("circle", "×"), "concat": ("box", "concat")}


@dataclass(frozen=True)
class Box:
    """One box: a layer call, a merge, the input, or (collapsed) a block of them, `repeats` times.
    `layer` is the name of the table row a click on the box selects (its last layer with a spatial
    field), `rf` that row's field; `members` the table rows inside."""

    id: str
    kind: str
    title: str
    detail: str
    shape: tuple[int, ...]
    params: int = 0
    macs: int = 0
    rf: tuple[int, int] | None = None
    layer: str | None = None
    members: tuple[str, ...] = ()
    repeats: int = 1

    def tooltip(self) -> str:
        rows = [f"{self.title}: {self.detail}" if self.detail else self.title,
                f"output {_shape(self.shape)}"]
        if self.kind not in ("input", *_MERGE_SHAPES):
            rows.append(f"params {self.params:,} · MACs {format_count(self.macs)}")
        if self.rf is not None:
            rows.append(f"receptive field {format_pair(self.rf)} px")
        return "\n".join(rows)


@dataclass(frozen=True)
class Link:
    source: str
    target: str
    shortcut: bool = False
    concat: bool = False


@dataclass(frozen=True)
class Diagram:
    """The boxes and links of a network, in the order the network runs; `dot()` lays them out."""

    model: str
    input: tuple[int, int, int]
    boxes: tuple[Box, ...]
    links: tuple[Link, ...]

    def dot(self, href: Callable[[str], str] | None = None) -> Any:
        """The Graphviz graph (a `graphviz.Digraph`); `href(layer)` gives each box with a layer a link."""
        import graphviz

        graph = graphviz.Digraph(self.model, graph_attr={
            "rankdir": "TB", "nodesep": "0.25", "ranksep": "0.3", "fontname": "Helvetica",
            "label": f"{self.model} · input {_shape(self.input)}", "labelloc": "t", "fontsize": "12"},
            node_attr={"fontname": "Helvetica", "fontsize": "10", "penwidth": "0.8"},
            edge_attr={"arrowsize": "0.6", "penwidth": "0.8"})
        for box in self.boxes:
            attrs = {"tooltip": box.tooltip()}
            if href is not None and box.layer is not None:
                attrs |= {"href": href(box.layer), "target": "_top"}
            if box.kind in _MERGE_SHAPES:
                shape, label = _MERGE_SHAPES[box.kind]
                graph.node(box.id, label, shape=shape, width="0.3", height="0.3", fixedsize="false",
                           margin="0.04", **attrs)
            else:
                label = "\n".join(t for t in (box.title, box.detail, _shape(box.shape)) if t)
                graph.node(box.id, label, shape="box", style="rounded,filled", margin="0.12,0.04",
                           fillcolor=_COLOURS[_category(box)], **attrs)
        for link in self.links:
            style = ({"style": "dashed", "color": "#dc2626"} if link.shortcut
                     else {"color": "#2563eb"} if link.concat else {})
            graph.edge(link.source, link.target, **style)
        return graph

    def render(self, fmt: str, href: Callable[[str], str] | None = None) -> bytes:
        """The drawing as `fmt` ("svg" or "png") bytes; ConfigError when Graphviz is missing."""
        import graphviz

        if fmt not in FORMATS:
            raise ConfigError(f"a diagram is drawn as {' or '.join(FORMATS)}, not {quoted(fmt)}")
        graph = self.dot(href)
        if len(self.links) > limits.DIAGRAM_QUICK_LINKS:  # dense graphs: a quicker, rougher layout
            graph.graph_attr.update(nslimit="2", nslimit1="2", mclimit="0.05", splines="line")
        if fmt == "png":
            graph.graph_attr["dpi"] = str(PNG_DPI)
        try:
            return graph.pipe(format=fmt)
        except graphviz.ExecutableNotFound as exc:
            raise ConfigError("drawing a diagram needs Graphviz's dot program "
                              "(apt-get install graphviz)") from exc

    def svg(self, href: Callable[[str], str] | None = None) -> bytes:
        return self.render("svg", href)

    def png(self) -> bytes:
        return self.render("png")

    def _repr_svg_(self) -> str:  # Jupyter shows the diagram
        return self.svg().decode("utf-8")


def diagram(model: str | ModelConfig, input_shape: str | None = None, *, collapse: bool = False,
            **options: Any) -> Diagram:
    """The diagram of `model` (a model string with `options`, or a ModelConfig) from its traced
    forward pass; `collapse` draws blocks instead of layers."""
    config = model if isinstance(model, ModelConfig) else model_config(model, input_shape, **options)
    if isinstance(model, ModelConfig) and (options or input_shape is not None):
        raise ConfigError("a ModelConfig already fixes the options and the input")
    module = build(config)
    recorder = GraphRecorder()
    summary = analyze(module, config.input, recorder=recorder)
    boxes, links = _layer_boxes(recorder.graph(), summary.layers)
    if collapse:
        boxes, links = _collapse(boxes, links, recorder.graph(), module)
    return Diagram(config.name, config.input.as_tuple(), tuple(boxes), tuple(links))


def _shape(shape: tuple[int, ...]) -> str:
    return "×".join(map(str, shape))


def _category(box: Box) -> str:
    if box.kind in ("block", "input"):
        return box.kind
    kind = box.detail.split(" ", 1)[0].lower()
    for name in ("conv", "pool", "linear", "norm"):
        if name in kind:
            return name
    return "other"


def _window_text(row: LayerRow) -> str:
    w = row.window
    if w is None:
        return row.type
    parts = [f"{row.type} {w.kernel[0]}×{w.kernel[1]}"]
    if w.stride != (1, 1):
        parts.append(f"stride {format_pair(w.stride)}")
    if w.padding != (0, 0):
        parts.append(f"pad {format_pair(w.padding)}")
    return ", ".join(parts)


def _layer_boxes(graph: Graph, rows: tuple[LayerRow, ...]) -> tuple[list[Box], list[Link]]:
    """One box per node: a layer gets its table row's name, window, parameters, MACs and field."""
    leaf_rows = iter(rows)  # the leaf layers' rows, in the order the layers ran
    boxes = []
    for node in graph.nodes:
        if node.kind == "input":
            boxes.append(Box(f"n{node.index}", "input", "input", "", node.shape))
        elif node.kind != "layer":
            boxes.append(Box(f"n{node.index}", node.kind, node.kind, "", node.shape))
        elif not any(True for _ in node.call.module.children()):
            row = next(leaf_rows)
            boxes.append(Box(f"n{node.index}", "layer", row.name, _window_text(row), node.shape, row.params,
                             row.macs, row.rf, row.name if row.rf else None, (row.name,)))
        else:  # a module whose forward calls none of its children (multi-head attention): no table row
            params = sum(p.numel() for p in node.call.module.parameters())
            boxes.append(Box(f"n{node.index}", "layer", node.call.name, type(node.call.module).__name__,
                             node.shape, params, node.call.macs))
    kinds = {node.index: node.kind for node in graph.nodes}
    links = [Link(f"n{e.source}", f"n{e.target}", e.shortcut, kinds[e.target] == "concat")
             for e in graph.edges]
    return boxes, links


def _is_stage(module: nn.Module) -> bool:
    """A sequence of blocks of one type (ResNet's layer1, a dense block, ViT's encoder layers)."""
    blocks = {type(c) for c in module.children() if any(True for _ in c.children())}
    return isinstance(module, _SEQUENCES) and len(blocks) == 1


def _block_paths(model: nn.Module) -> set[str]:
    """The modules drawn as one box when collapsed: the shallowest whose subtree holds no stage."""
    has_stage: dict[str, bool] = {}
    for name, module in reversed(list(model.named_modules())):  # children come after their parents
        has_stage[name] = _is_stage(module) or any(has_stage[f"{name}.{c}" if name else c]
                                                   for c, _ in module.named_children())
    blocks: set[str] = set()
    for name, module in model.named_modules():  # parents first: the shallowest block wins
        if (name and not has_stage[name] and any(True for _ in module.children())
                and not any(name.startswith(b + ".") for b in blocks)):
            blocks.add(name)
    return blocks


def _block_of(path: str, blocks: set[str], include_self: bool) -> str | None:
    parts = path.split(".")
    for i in range(1, len(parts) + (1 if include_self else 0)):
        prefix = ".".join(parts[:i])
        if prefix in blocks:
            return prefix
    return None


def _member_text(boxes: list[Box]) -> str:
    """'Conv2d 3×3, pad 1 ×2 · ReLU ×2 · MaxPool2d 2×2, stride 2': the layers of a sequential block."""
    counts: dict[str, int] = {}
    for box in boxes:
        if box.kind == "layer":
            counts[box.detail] = counts.get(box.detail, 0) + 1
    return " · ".join(text if n == 1 else f"{text} ×{n}" for text, n in counts.items())


def _groups(boxes: list[Box], graph: Graph, model: nn.Module) -> list[tuple[str | None, list[Box]]]:
    """Consecutive boxes of one block, as (its path, the boxes); a sequential block is cut after each
    pooling layer; a box outside every block is a group of its own (path None)."""
    modules = dict(model.named_modules())
    blocks = _block_paths(model)
    groups: list[tuple[str | None, list[Box]]] = []
    for node, box in zip(graph.nodes, boxes, strict=True):
        block = _group_of(node, blocks)
        last = groups[-1] if groups else None
        cut = (isinstance(modules.get(block), nn.Sequential)
               and last is not None and last[1][-1].detail.split(" ")[0] in _WINDOW_POOLS)
        if block is not None and last is not None and last[0] == block and not cut:
            last[1].append(box)
        else:
            groups.append((block, [box]))
    return groups


def _collapse(boxes: list[Box], links: list[Link], graph: Graph, model: nn.Module,
              ) -> tuple[list[Box], list[Link]]:
    """Boxes of blocks: a block's layers and merges in one box, identical consecutive blocks as one
    box × n; links between boxes (a shortcut only if every link it stands for is one)."""
    modules = dict(model.named_modules())
    groups = _groups(boxes, graph, model)
    pieces = {block: sum(b == block for b, _ in groups) for block, _ in groups}
    runs: list[tuple[list[str | None], list[list[Box]]]] = []  # identical consecutive blocks
    for block, members in groups:
        last = runs[-1] if runs else None
        if (last is not None and block is not None and last[0][0] is not None and pieces[block] == 1
                and pieces[last[0][0]] == 1
                and _signature(modules[block], members) == _signature(modules[last[0][0]], last[1][0])):
            last[0].append(block)
            last[1].append(members)
        else:
            runs.append(([block], [members]))
    new_boxes, box_of = [], {}
    for paths, repeats in runs:
        block, members = paths[0], [box for members in repeats for box in members]
        if block is None or len(members) == 1:
            box = members[0]
        else:
            spatial = [m for m in members if m.layer is not None]
            names = [m.title for m in members if m.kind == "layer"]
            kind = type(modules[block]).__name__
            if len(repeats) > 1:
                title, detail = f"{block} … {paths[-1]}", f"{kind} × {len(repeats)}"
            elif pieces[block] > 1:  # one run of a cut sequential block
                title, detail = f"{names[0]} … {names[-1]}", _member_text(members)
            else:
                title = block
                detail = _member_text(members) if isinstance(modules[block], nn.Sequential) else kind
            detail += "".join(f" + {k}" for k in ("add", "concat") if any(m.kind == k for m in members))
            box = Box(f"b{len(new_boxes)}", "block", title, detail, members[-1].shape,
                      sum(m.params for m in members), sum(m.macs for m in members),
                      spatial[-1].rf if spatial else None, spatial[-1].layer if spatial else None,
                      tuple(name for m in members for name in m.members), len(repeats))
        new_boxes.append(box)
        box_of.update({m.id: box.id for m in members})
    merged: dict[tuple[str, str], Link] = {}
    for link in links:
        key = (box_of[link.source], box_of[link.target])
        if key[0] != key[1]:
            seen = merged.get(key, link)
            merged[key] = Link(*key, seen.shortcut and link.shortcut, seen.concat and link.concat)
    return new_boxes, list(merged.values())


def _group_of(node: Node, blocks: set[str]) -> str | None:
    if node.call is None:
        return None
    if node.kind == "layer":
        return _block_of(node.call.name, blocks, include_self=False)
    return _block_of(node.call.name, blocks, include_self=True) if node.call.name else None


def _signature(module: nn.Module, members: list[Box]) -> tuple:
    """What makes two blocks the same: the block's type and each member's kind, layer, shape and
    parameter count."""
    return (type(module).__name__, tuple((m.kind, m.detail, m.shape, m.params) for m in members))
