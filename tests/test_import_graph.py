"""The import graph of cnnlab, read from the source with `ast`: no cycle anywhere (imports inside
functions count; those under `if TYPE_CHECKING:` are for type checkers and do not), training imports
nothing about recorded runs, users, quotas or Ray, and the dashboard nothing from the CLI.

Importing `a.b.c` runs the packages `a.b` first, so an import of a module is an edge to the packages
above it as well (except its importer's own packages, and the root `cnnlab`, whose names load lazily).
"""

import ast
from pathlib import Path

import cnnlab
import dashboard

ROOT = Path(cnnlab.__file__).parent
DASHBOARD = Path(dashboard.__file__).parent
# what cnnlab/train/ may not import: the floors above training
ABOVE_TRAINING = ("cnnlab.runs", "cnnlab.sweep", "cnnlab.quotas", "cnnlab.access", "ray")


def module_name(path: Path, root: Path) -> str:
    parts = path.relative_to(root.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def imports(path: Path, name: str, modules: set[str]) -> set[str]:
    """The modules `name` (at `path`) imports, anywhere but under `if TYPE_CHECKING:`; `from a import b`
    names module a.b where there is one, else a."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join([*parts[:len(parts) - node.level + 1], base]).strip(".")
            for alias in node.names:
                found.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text(encoding="utf-8")))
    return found


def graph(root: Path) -> dict[str, set[str]]:
    """Each module of the package at `root` and the cnnlab modules it imports (with the packages above
    them that its import runs)."""
    paths = {module_name(p, root): p for p in root.rglob("*.py")}
    known = set(paths) | {module_name(p, ROOT) for p in ROOT.rglob("*.py")}
    edges = {}
    for name, path in paths.items():
        targets = set()
        for target in imports(path, name, known):
            parts = target.split(".")
            for depth in range(2, len(parts) + 1):  # the packages above it, then the module
                above = ".".join(parts[:depth])
                if above in known and not name.startswith(above + ".") and above != name:
                    targets.add(above)
        edges[name] = targets
    return edges


def cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of `edges`, as the modules along it, or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for target in sorted(edges.get(node, ())):
            if state.get(target) == 1:
                return [*stack[stack.index(target):], target]
            if target not in state and (found := visit(target)):
                return found
        state[node] = 2
        stack.pop()
        return None

    for node in sorted(edges):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_cnnlab_has_no_import_cycle():
    assert cycle(graph(ROOT)) is None


def test_training_imports_nothing_above_it():
    found = {name: sorted(t for t in targets if t.startswith(ABOVE_TRAINING))
             for name, targets in graph(ROOT).items() if name.startswith("cnnlab.train")}
    assert {name: targets for name, targets in found.items() if targets} == {}


def test_the_dashboard_imports_nothing_from_the_cli():
    found = {name: sorted(t for t in targets if t.startswith("cnnlab.cli"))
             for name, targets in graph(DASHBOARD).items()}
    assert {name: targets for name, targets in found.items() if targets} == {}


def test_the_checks_see_a_cycle_a_lazy_import_and_skip_type_checking(tmp_path):
    package = tmp_path / "cnnlab"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "sub" / "__init__.py").write_text("from cnnlab.sub import b\n")
    (package / "a.py").write_text("def f():\n    from cnnlab.sub.b import g\n")
    (package / "sub" / "b.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                                          "    from cnnlab import c\nimport cnnlab.a\n")
    (package / "c.py").write_text("")
    edges = graph(package)
    assert edges["cnnlab.a"] == {"cnnlab.sub", "cnnlab.sub.b"}
    assert edges["cnnlab.sub.b"] == {"cnnlab.a"}
    assert cycle(edges) == ["cnnlab.a", "cnnlab.sub", "cnnlab.sub.b", "cnnlab.a"]
