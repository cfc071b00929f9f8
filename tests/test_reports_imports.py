"""cnnlab/reports is backend: it imports neither Streamlit, the dashboard nor the CLI (lazy imports
included), so the CLI, the dashboard and a notebook all build on it."""

import ast
from pathlib import Path

REPORTS = Path(__file__).resolve().parents[1] / "cnnlab" / "reports"
FORBIDDEN = ("streamlit", "dashboard", "cnnlab.cli")


def imported(source: str) -> set[str]:
    """Every module a source imports, wherever the import statement is."""
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_reports_import_nothing_above_them():
    found = {path.name: sorted(name for name in imported(path.read_text(encoding="utf-8"))
                               if name.split(".")[0] in FORBIDDEN[:2] or name.startswith(FORBIDDEN[2]))
             for path in sorted(REPORTS.glob("*.py"))}
    assert len(found) >= 8 and all(names == [] for names in found.values()), found


def test_the_check_sees_a_lazy_import():
    assert imported("def f():\n    import streamlit as st\n    from cnnlab.cli.runs import show\n") == \
        {"streamlit", "cnnlab.cli.runs"}
