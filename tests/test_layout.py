"""The package layout: no import cycle among bt_optimize modules, no module over 500 lines.

The checks are those of ``tools/layout_check.py`` (every module parsed with ``ast``; imports inside functions
count, those under ``if TYPE_CHECKING:`` do not).
"""

from __future__ import annotations

import pytest

from tools.layout_check import MAX_LINES, cycles, import_graph, long_modules

# Nothing is excused.
KNOWN_LONG: set[str] = set()
KNOWN_BACK_EDGES: set[tuple[str, str]] = set()


def test_no_import_cycle():
    graph = import_graph()
    for src, dst in KNOWN_BACK_EDGES:
        graph.get(src, set()).discard(dst)
    found = cycles(graph)
    assert not found, "import cycles (strongly connected components): " + "; ".join(" <-> ".join(c) for c in found)


def test_no_module_over_the_line_limit():
    long = {name: n for name, n in long_modules().items() if name not in KNOWN_LONG}
    assert not long, f"modules over {MAX_LINES} lines: {long}"


def test_the_checker_finds_cycles_inside_functions_and_through_packages(tmp_path):
    pkg = tmp_path / "bt_optimize"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("def f():\n    from .sub import b\n")
    (pkg / "sub" / "__init__.py").write_text("from .b import g\n")
    (pkg / "sub" / "b.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .. import c\n"
                                       "def g():\n    from bt_optimize import a\n")
    (pkg / "c.py").write_text("from bt_optimize.sub import b\n" + "x = 1\n" * MAX_LINES)
    from tools.layout_check import module_files

    files = module_files(tmp_path, "bt_optimize")
    graph = import_graph(files)
    assert graph["bt_optimize.a"] == {"bt_optimize.sub", "bt_optimize.sub.b"}
    assert "bt_optimize.c" not in graph["bt_optimize.sub.b"]  # TYPE_CHECKING imports never run
    assert cycles(graph) == [["bt_optimize.a", "bt_optimize.sub", "bt_optimize.sub.b"]]
    assert long_modules(files) == {"bt_optimize.c": MAX_LINES + 1}


@pytest.mark.parametrize("old, new", [("bt_optimize.engine.ray_executor", "bt_optimize.engine.executors.ray")])
def test_moved_modules_keep_their_old_import_path(old, new):
    import importlib

    assert importlib.import_module(old) is importlib.import_module(new)
