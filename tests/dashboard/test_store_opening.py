"""Every page and panel of the dashboard opens the run store one way: `dashboard.run_store.open_store`,
which keeps one connection per store folder and shows in the page why it cannot be read. No other
dashboard code calls RunStore(...) itself."""

import ast
from pathlib import Path

import dashboard

DASHBOARD = Path(dashboard.__file__).parent
STORES = {"RunStore"}


def constructions(path: Path) -> list[int]:
    """The lines of `path` that call RunStore(...) (by name or as an attribute)."""
    calls = [node for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
             if isinstance(node, ast.Call)]
    return [call.lineno for call in calls
            if (isinstance(call.func, ast.Name) and call.func.id in STORES)
            or (isinstance(call.func, ast.Attribute) and call.func.attr in STORES)]


def test_only_open_store_constructs_a_store():
    found = {str(path.relative_to(DASHBOARD)): lines for path in sorted(DASHBOARD.rglob("*.py"))
             if (lines := constructions(path))}
    assert found == {"run_store.py": found.get("run_store.py")} and len(found["run_store.py"]) == 1  # _kept


def test_the_check_sees_a_construction(tmp_path):
    page = tmp_path / "page.py"
    page.write_text("from cnnlab.runs.store import RunStore\nstore = RunStore()\n"
                    "import cnnlab.runs.store as runs\nagain = runs.RunStore(store.home)\n")
    assert constructions(page) == [2, 4]
