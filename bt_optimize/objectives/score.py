"""Composite objectives: :class:`Score`, an arithmetic expression over metrics and analyzer paths.

The expression is parsed with :mod:`ast` and checked against a whitelist before anything runs; it is never
passed to ``eval``. What it may contain:

- numbers (``0.5``, ``2``, ``1e-3``);
- the built-in metric names (``sharpe_ratio``, ``max_drawdown``, ...; see :data:`bt_optimize.BUILTIN_METRICS`);
- analyzer paths, as in a string objective: the ``_name`` of an analyzer added with ``cerebro.addanalyzer``,
  optionally followed by keys, either dotted (``trades.pnl.net.total``) or subscripted
  (``trades["pnl"]["net"]["total"]``, needed for keys that are not identifiers); a bare name takes the first
  number of the analyzer's output;
- ``+``, ``-``, ``*``, ``/``, ``**``, unary ``-`` and ``+``, parentheses;
- the functions ``abs``, ``min``, ``max``, ``sqrt``, ``log`` (natural), ``exp``.

Anything else (attribute access on numbers, comparisons, lambdas, names that are neither metrics nor
analyzers, keyword arguments, ...) is rejected with a message naming the offending part. The arithmetic runs on
floats: a division by zero or an undefined metric gives NaN, an overflow gives infinity, and the trial then fails
like any trial whose objective is not finite.
"""

from __future__ import annotations

import ast
import difflib
import math
from collections.abc import Iterable, Mapping
from typing import Any

from ..exceptions import ObjectiveError
from ..stats.metrics import METRICS
from .paths import analyzer_value

__all__ = ["Score", "FUNCTIONS"]

#: Functions a score expression may call, with their arity (``None``: one or more arguments).
FUNCTIONS: dict[str, int | None] = {"abs": 1, "sqrt": 1, "log": 1, "exp": 1, "min": None, "max": None}

_BINOPS: dict[type, str] = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**"}
_MAX_LENGTH = 2000

Node = tuple[Any, ...]


def _where(node: ast.AST, text: str) -> str:
    seg = ast.get_source_segment(text, node)
    return repr(seg) if seg else type(node).__name__


def _reference(node: ast.AST, text: str) -> tuple[str, tuple[str, ...]]:
    """``name``, ``name.a.b`` or ``name["a"][0]`` -> ``("name", ("a", "b"))``."""
    path: list[str] = []
    while True:
        if isinstance(node, ast.Name):
            return node.id, tuple(reversed(path))
        if isinstance(node, ast.Attribute):
            path.append(node.attr)
            node = node.value
        elif isinstance(node, ast.Subscript):
            key = node.slice
            if not (isinstance(key, ast.Constant) and isinstance(key.value, (str, int))
                    and not isinstance(key.value, bool)):
                raise ObjectiveError(f"Score: the key {_where(key, text)} is not allowed; keys must be plain strings "
                                     "or whole numbers, e.g. trades[\"pnl\"][\"net\"]")
            path.append(str(key.value))
            node = node.value
        else:
            raise ObjectiveError(f"Score: {_where(node, text)} cannot be followed by keys; only analyzer names can "
                                 "(e.g. trades.pnl.net.total)")


class Score:
    """A composite objective: an arithmetic expression over built-in metrics and analyzer paths.

    Parsed safely (an :mod:`ast` whitelist, never ``eval``); bad expressions are rejected here, and names
    that match no analyzer are rejected by the ``optimize_*`` call, both before any backtest. Picklable, so
    it travels to worker processes. The direction is explicit: a score is maximised unless ``maximize=False``,
    whatever metrics it contains. Grammar: :mod:`bt_optimize.objectives.score`.

    Args:
        expression: E.g. ``"sharpe_ratio - 0.5 * max_drawdown"`` or ``"trades.pnl.net.total / 1000"``.
        maximize: ``True`` to maximise the score, ``False`` to minimise it.

    Raises:
        ObjectiveError: a syntax error or a part outside the whitelist; the message names it.

    Example:
        >>> s = Score("sharpe_ratio - 0.5 * max_drawdown")
        >>> s.value({"sharpe_ratio": 1.5, "max_drawdown": 0.2})
        1.4
        >>> s.metrics
        ('sharpe_ratio', 'max_drawdown')
    """

    def __init__(self, expression: str, maximize: bool = True) -> None:
        if not isinstance(expression, str) or not expression.strip():
            raise ObjectiveError(f"Score({expression!r}): give the expression as a non-empty string, e.g. "
                                 "Score(\"sharpe_ratio - 0.5 * max_drawdown\")")
        if len(expression) > _MAX_LENGTH:
            raise ObjectiveError(f"Score: the expression is {len(expression)} characters long; keep it under "
                                 f"{_MAX_LENGTH}")
        if not isinstance(maximize, bool):
            raise ObjectiveError(f"Score(maximize={maximize!r}): give True or False")
        self.expression = expression
        self.maximize = maximize
        self._compile()

    def _compile(self) -> None:
        text = self.expression.strip()
        try:
            tree = ast.parse(text, mode="eval")
        except SyntaxError as exc:
            raise ObjectiveError(f"Score({self.expression!r}) is not a valid expression: {exc.msg} at column "
                                 f"{exc.offset}") from None
        self._refs: list[tuple[str, tuple[str, ...]]] = []
        self._tree = self._build(tree.body, text)
        self.text = ast.unparse(tree.body)

    def __getstate__(self) -> dict[str, Any]:
        return {"expression": self.expression, "maximize": self.maximize}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.expression, self.maximize = state["expression"], state["maximize"]
        self._compile()

    # ------------------------------------------------------------------ parsing
    def _build(self, node: ast.AST, text: str) -> Node:
        if isinstance(node, ast.Constant):
            if isinstance(node.value, bool) or not isinstance(node.value, (int, float)):
                raise ObjectiveError(f"Score: {_where(node, text)} is not allowed; only numbers may appear as "
                                     "constants")
            return ("num", float(node.value))
        if isinstance(node, ast.BinOp):
            op = _BINOPS.get(type(node.op))
            if op is None:
                raise ObjectiveError(f"Score: the operator in {_where(node, text)} is not allowed; use "
                                     f"{', '.join(_BINOPS.values())}")
            return ("bin", op, self._build(node.left, text), self._build(node.right, text))
        if isinstance(node, ast.UnaryOp):
            if isinstance(node.op, ast.USub):
                return ("neg", self._build(node.operand, text))
            if isinstance(node.op, ast.UAdd):
                return self._build(node.operand, text)
            raise ObjectiveError(f"Score: {_where(node, text)} is not allowed; only unary - and + are")
        if isinstance(node, ast.Call):
            fname = node.func.id if isinstance(node.func, ast.Name) else None
            if fname not in FUNCTIONS:
                raise ObjectiveError(f"Score: the call {_where(node, text)} is not allowed; the functions are "
                                     f"{', '.join(FUNCTIONS)}")
            arity = FUNCTIONS[fname]
            if node.keywords or any(isinstance(a, ast.Starred) for a in node.args) or not node.args or (
                    arity is not None and len(node.args) != arity):
                want = "one argument" if arity == 1 else "one or more arguments"
                raise ObjectiveError(f"Score: {_where(node, text)}: {fname}() takes {want}, positional")
            return ("call", fname, tuple(self._build(a, text) for a in node.args))
        if isinstance(node, (ast.Name, ast.Attribute, ast.Subscript)):
            name, path = _reference(node, text)
            if name in FUNCTIONS:
                raise ObjectiveError(f"Score: {name} is a function; call it, e.g. {name}(sharpe_ratio)")
            if name in METRICS:
                if path:
                    raise ObjectiveError(f"Score: {_where(node, text)}: the built-in metric {name} is a number and "
                                         "has no keys")
                self._refs.append((name, ()))
                return ("metric", name)
            self._refs.append((name, path))
            return ("analyzer", name, path, ast.get_source_segment(text, node) or name)
        raise ObjectiveError(f"Score: {_where(node, text)} is not allowed in a score; use numbers, metric names, "
                             f"analyzer paths, + - * / ** and {', '.join(FUNCTIONS)}()")

    # ------------------------------------------------------------------ inspection and validation
    @property
    def metrics(self) -> tuple[str, ...]:
        """The built-in metrics the expression uses, in order of first appearance."""
        return tuple(dict.fromkeys(n for n, p in self._refs if n in METRICS and not p))

    @property
    def analyzers(self) -> tuple[str, ...]:
        """The analyzer names the expression uses, in order of first appearance."""
        return tuple(dict.fromkeys(n for n, _p in self._refs if n not in METRICS))

    def validate(self, analyzer_names: Iterable[str]) -> None:
        """Check every name is a built-in metric or one of ``analyzer_names`` (the run's user analyzers).

        Raises:
            ObjectiveError: a name matches neither; the message suggests the closest and lists what exists.
        """
        names = list(analyzer_names)
        for name in self.analyzers:
            if name in names:
                continue
            close = difflib.get_close_matches(name, list(METRICS) + names, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise ObjectiveError(
                f"Score({self.expression!r}): {name!r} is neither a built-in metric nor an analyzer.{hint} Built-in "
                f"metrics: {', '.join(METRICS)}; analyzers added to the Cerebro: "
                f"{', '.join(names) or '(none; add one with cerebro.addanalyzer(..., _name=...))'}")

    # ------------------------------------------------------------------ evaluation
    def value(self, metrics: Mapping[str, float | None], strategy: Any = None) -> float:
        """The score from built-in ``metrics`` (and ``strategy``'s analyzers, when the expression names any).

        ``None`` or a missing metric counts as NaN. Returns NaN for a division by zero or a math domain error
        (``log(-1)``), infinity on overflow.

        Raises:
            ObjectiveError: the expression names an analyzer but no strategy is given, or its path is wrong.
        """
        try:
            return float(self._eval(self._tree, metrics, strategy))
        except (ZeroDivisionError, ValueError):
            return math.nan
        except OverflowError:
            return math.inf

    def _eval(self, node: Node, metrics: Mapping[str, float | None], strategy: Any) -> float:
        kind = node[0]
        if kind == "num":
            return node[1]
        if kind == "metric":
            v = metrics.get(node[1])
            return math.nan if v is None else float(v)
        if kind == "analyzer":
            if strategy is None:
                raise ObjectiveError(f"Score({self.expression!r}) reads analyzer {node[1]!r}: it needs the strategy")
            return analyzer_value(strategy, node[1], node[2], node[3])
        if kind == "neg":
            return -self._eval(node[1], metrics, strategy)
        if kind == "bin":
            a, b = self._eval(node[2], metrics, strategy), self._eval(node[3], metrics, strategy)
            op = node[1]
            if op == "+":
                return a + b
            if op == "-":
                return a - b
            if op == "*":
                return a * b
            if op == "/":
                return a / b
            r = a ** b
            return math.nan if isinstance(r, complex) else r
        args = [self._eval(a, metrics, strategy) for a in node[2]]
        fname = node[1]
        if fname == "abs":
            return abs(args[0])
        if fname in ("min", "max"):
            if any(math.isnan(a) for a in args):
                return math.nan
            return min(args) if fname == "min" else max(args)
        return {"sqrt": math.sqrt, "log": math.log, "exp": math.exp}[fname](args[0])

    def describe(self) -> str:
        """The normalised expression (spacing and redundant parentheses removed), used to recognise a study."""
        return self.text

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Score) and (self.text, self.maximize) == (other.text, other.maximize)

    def __hash__(self) -> int:
        return hash((self.text, self.maximize))

    def __repr__(self) -> str:
        return f"Score({self.text!r}, maximize={self.maximize})"
