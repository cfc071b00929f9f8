"""The data-flow graph of a traced forward pass: which layer feeds which, and where paths merge.

A node is the input, a layer call (a module without children, or one whose forward calls none of
them, such as multi-head attention) or a merge of two or more paths outside a layer (a residual
addition, a concatenation, a product). Every other operation between layers (a functional ReLU,
flatten, a view) passes its input's node on. Tensors carry the node that made them, as they carry
their receptive field in the tracer.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from cnnlab.analysis.calls import Call, tensors

_NODE = "_cnnlab_node"
MERGES = {"add": "add", "add_": "add", "__add__": "add", "__iadd__": "add", "__radd__": "add",
          "cat": "concat", "concat": "concat", "concatenate": "concat", "stack": "concat",
          "mul": "multiply", "mul_": "multiply", "__mul__": "multiply", "__imul__": "multiply",
          "__rmul__": "multiply"}


@dataclass(frozen=True)
class Node:
    """`kind`: "input", "layer" or a merge ("add", "concat", "multiply", or the operation's name).
    `call` is the layer's call, or for a merge the call of the module whose forward made it."""

    index: int
    kind: str
    shape: tuple[int, ...]
    call: Call | None = None


@dataclass(frozen=True)
class Edge:
    """Data flows from node `source` to node `target`; `shortcut` marks a merge's second and later
    inputs (a residual addition's identity or projection branch)."""

    source: int
    target: int
    shortcut: bool = False


@dataclass(frozen=True)
class Graph:
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]


def _sources(value: object) -> list[int]:
    """The distinct nodes that made the tensors in `value`, in argument order."""
    found: list[int] = []
    for tensor in tensors(value):
        node = getattr(tensor, _NODE, None)
        if node is not None and node not in found:
            found.append(node)
    return found


def _shape(value: object) -> tuple[int, ...]:
    first = next(iter(tensors(value)), None)
    return () if first is None else tuple(first.shape[1:])


class GraphRecorder:
    """Filled by `trace(..., recorder=)`: `started`/`ended` around each module call, `op` after each
    torch operation outside a layer; `graph()` is the result."""

    def __init__(self) -> None:
        self._nodes: list[Node | None] = []
        self._edges: list[Edge] = []
        self._frames: list[tuple[Call, list[int], list[int]]] = []  # call, its inputs, merges inside
        self._had_children: set[int] = set()

    def _add(self, kind: str, shape: tuple[int, ...], call: Call | None, sources: list[int],
             shortcuts: bool = False) -> int:
        index = len(self._nodes)
        self._nodes.append(Node(index, kind, shape, call))
        self._edges += [Edge(s, index, shortcuts and i > 0) for i, s in enumerate(sources)]
        return index

    @staticmethod
    def _tag(value: object, node: int) -> None:
        for tensor in tensors(value):
            setattr(tensor, _NODE, node)

    def start(self, x: torch.Tensor) -> None:
        self._tag(x, self._add("input", tuple(x.shape[1:]), None, []))

    def _in_leaf(self) -> bool:
        return bool(self._frames) and not any(True for _ in self._frames[-1][0].module.children())

    def started(self, call: Call, args: object) -> None:
        if self._frames:
            self._had_children.add(self._frames[-1][0].order)
        self._frames.append((call, _sources(args), []))

    def ended(self, call: Call, output: object) -> None:
        _, sources, merges = self._frames.pop()
        is_leaf = not any(True for _ in call.module.children())
        if not (is_leaf or call.order not in self._had_children):
            return  # a container: its layers and merges are nodes of their own
        for index in merges:  # merges inside a layer are its own arithmetic
            self._nodes[index] = None
        self._tag(output, self._add("layer", _shape(output), call, sources))

    def op(self, name: str, inputs: object, out: object) -> None:
        if self._in_leaf():
            return
        sources = _sources(inputs)
        if not sources:
            return
        if len(sources) == 1:
            self._tag(out, sources[0])
            return
        kind = MERGES.get(name, name)
        index = self._add(kind, _shape(out), self._frames[-1][0] if self._frames else None, sources,
                          shortcuts=kind == "add")
        if self._frames:
            self._frames[-1][2].append(index)
        self._tag(out, index)

    def graph(self) -> Graph:
        """The nodes in the order they ran (renumbered from 0) and the edges between them."""
        kept = {n.index: i for i, n in enumerate(n for n in self._nodes if n is not None)}
        nodes = tuple(Node(kept[n.index], n.kind, n.shape, n.call) for n in self._nodes if n is not None)
        edges = tuple(Edge(kept[e.source], kept[e.target], e.shortcut) for e in self._edges
                      if e.source in kept and e.target in kept)
        return Graph(nodes, edges)
