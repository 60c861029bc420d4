"""Check the package layout: import cycles among ``bt_optimize`` modules and modules over the line limit.

Every module is parsed with :mod:`ast` (nothing is imported or run). All imports count: module level, inside
functions and inside ``try`` blocks; only those under ``if TYPE_CHECKING:`` are skipped, because they never run.
Relative imports are resolved, and ``from pkg import name`` where ``name`` is a submodule counts as importing
that submodule. Importing ``pkg.sub`` also runs ``pkg/__init__.py``, so it counts as importing ``pkg`` too.

Run it from the repository root::

    python tools/layout_check.py            # prints cycles and long modules; exit status 1 if any

``tests/test_layout.py`` asserts the same with :func:`import_graph`, :func:`cycles` and :func:`long_modules`.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "bt_optimize"
MAX_LINES = 500


def module_files(root: Path = ROOT, package: str = PACKAGE) -> dict[str, Path]:
    """Every module of ``package`` under ``root``, by dotted name (a package is its ``__init__.py``)."""
    out: dict[str, Path] = {}
    for path in sorted((root / package).rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _is_type_checking(test: ast.expr) -> bool:
    """True for ``TYPE_CHECKING`` and ``typing.TYPE_CHECKING``."""
    if isinstance(test, ast.Name):
        return test.id == "TYPE_CHECKING"
    return isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"


def _imports(tree: ast.AST) -> list[ast.Import | ast.ImportFrom]:
    """Every import statement in ``tree`` except those in the body of ``if TYPE_CHECKING:``."""
    found: list[ast.Import | ast.ImportFrom] = []
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            found.append(node)
            continue
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            stack.extend(node.orelse)
            continue
        stack.extend(ast.iter_child_nodes(node))
    return found


def _resolve(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    """The absolute module name a (possibly relative) ``from ... import`` names."""
    if not node.level:
        return node.module or ""
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _with_parents(name: str, known: set[str]) -> set[str]:
    """``name`` and every enclosing package of it that is a known module (importing a.b.c runs a and a.b)."""
    parts = name.split(".")
    return {".".join(parts[:i]) for i in range(1, len(parts) + 1)} & known


def import_graph(files: dict[str, Path] | None = None) -> dict[str, set[str]]:
    """Module -> the package modules it imports (directly, anywhere in its code but ``TYPE_CHECKING``).

    A module's own enclosing packages are always imported before it, so the implicit edges to them are left out;
    an explicit ``from <own package> import name`` of a name defined there (not a submodule) is kept.
    """
    files = module_files() if files is None else files
    known = set(files)
    graph: dict[str, set[str]] = {}
    for module, path in files.items():
        is_package = path.name == "__init__.py"
        own = _with_parents(module, known)
        edges: set[str] = set()
        for node in _imports(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    edges |= _with_parents(alias.name, known) - own
                continue
            target = _resolve(module, is_package, node)
            edges |= _with_parents(target, known) - own
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                if sub in known:
                    edges |= _with_parents(sub, known) - own
                elif target in known:
                    edges.add(target)
        edges.discard(module)
        graph[module] = edges
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of ``graph`` with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    out: list[list[str]] = []
    counter = 0

    for start in sorted(graph):
        if start in index:
            continue
        work: list[tuple[str, list[str]]] = [(start, sorted(graph[start]))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, todo = work[-1]
            if todo:
                nxt = todo.pop()
                if nxt not in graph:
                    continue
                if nxt not in index:
                    index[nxt] = low[nxt] = counter
                    counter += 1
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, sorted(graph[nxt])))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    out.append(sorted(component))
    return sorted(out)


def long_modules(files: dict[str, Path] | None = None, limit: int = MAX_LINES) -> dict[str, int]:
    """Modules with more than ``limit`` lines, with their line counts."""
    files = module_files() if files is None else files
    counts = {name: len(path.read_text().splitlines()) for name, path in files.items()}
    return {name: n for name, n in sorted(counts.items()) if n > limit}


def main() -> int:
    """Print the cycles and long modules; 1 if there are any."""
    found = cycles(import_graph())
    long = long_modules()
    for component in found:
        print("cycle:", " <-> ".join(component))
    for name, n in long.items():
        print(f"over {MAX_LINES} lines: {name} ({n})")
    if not found and not long:
        print(f"ok: no import cycle, no module over {MAX_LINES} lines")
    return 1 if found or long else 0


if __name__ == "__main__":
    sys.exit(main())
