"""The import graph: the report and the plots import the core, never the reverse way round to the study.

Every import counts, those inside functions too (only imports under ``if TYPE_CHECKING:`` are left out): a
cycle hidden in a function still ties the modules together.
"""

from __future__ import annotations

import ast
from pathlib import Path

import bt_optimize

ROOT = Path(bt_optimize.__file__).parent


def _modules() -> dict[str, tuple[Path, bool]]:
    out = {}
    for path in ROOT.rglob("*.py"):
        parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
        is_pkg = parts[-1] == "__init__"
        out[".".join(parts[:-1] if is_pkg else parts)] = (path, is_pkg)
    return out


def _graph() -> dict[str, set[str]]:
    """``{module: modules of bt_optimize it imports}``, from the source."""
    mods = _modules()
    graph: dict[str, set[str]] = {m: set() for m in mods}
    for name, (path, is_pkg) in mods.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        skipped = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If)
                   and "TYPE_CHECKING" in ast.unparse(node.test) for sub in node.body for n in ast.walk(sub)}
        for node in ast.walk(tree):
            if id(node) in skipped:
                continue
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    pkg = name.split(".") if is_pkg else name.split(".")[:-1]
                    pkg = pkg[:len(pkg) - node.level + 1]
                    base = ".".join(pkg + ([base] if base else []))
                targets = [base] + [f"{base}.{a.name}" for a in node.names]
            graph[name].update(t for t in targets if t in mods and t != name)
    return graph


def _reach(graph: dict[str, set[str]], start: str) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        for nxt in graph[todo.pop()] - seen:
            seen.add(nxt)
            todo.append(nxt)
    return seen


def test_the_graph_sees_imports_inside_functions() -> None:
    graph = _graph()
    assert "bt_optimize.report" in graph["bt_optimize.study.analysis"]  # study.report() imports it when called
    assert "bt_optimize.frames" in graph["bt_optimize.report.data"]


def test_report_and_plots_never_lead_back_to_the_study() -> None:
    graph = _graph()
    for top in ("bt_optimize.report", "bt_optimize.plotting", "bt_optimize.frames"):
        reached = _reach(graph, top)
        back = sorted(m for m in reached if m == "bt_optimize.study" or m.startswith("bt_optimize.study."))
        assert not back, f"{top} reaches {back}"
        assert "bt_optimize" not in reached, f"{top} imports the package root, which imports everything"


def test_no_cycle_through_the_study() -> None:
    graph = _graph()
    for name in graph:
        if name == "bt_optimize.study" or name.startswith("bt_optimize.study."):
            # a module of the study package may import its siblings, but nothing it reaches outside the package
            # may import the package back
            outside = {m for m in _reach(graph, name) if not m.startswith("bt_optimize.study") and m != "bt_optimize"}
            back = {m for m in outside if any(t.startswith("bt_optimize.study") for t in graph[m])}
            assert not back, f"{name} reaches {sorted(back)}, which import the study back"
