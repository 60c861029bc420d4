"""Reading a study file: :func:`load_config` checks the whole TOML file before anything runs.

Every error is a :class:`~bt_optimize.exceptions.ConfigError` that names the file, the key and the fix. Paths in
the file (CSV, storage, report) are relative to the file's folder; ``module:name`` references are imported with
the file's folder and the working directory on ``sys.path``.
"""

from __future__ import annotations

import difflib
import importlib
import inspect
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..exceptions import ConfigError

__all__ = ["StudyConfig", "load_config", "METHODS", "Checker"]

#: ``[study] method`` values and the Cerebro methods they call.
METHODS = {"grid": "optimize_grid", "random": "optimize_random", "bayes": "optimize_bayes",
           "genetic": "optimize_genetic"}

_SECTIONS = {"study", "options", "data", "broker", "sizer", "analyzers", "space", "robustness"}
_STUDY_KEYS = {"name", "strategy", "method", "objective", "maximize", "constraint", "storage", "report", "maxcpus"}
_DATA_KEYS = {"dataset", "csv", "factory", "fromdate", "todate", "name", "timeframe", "compression", "args"}
_BROKER_KEYS = {"cash", "commission", "slippage_perc", "slippage_fixed", "coc"}
_ROBUSTNESS_KEYS = {"sensitivity"}
_TIMEFRAMES = ("minutes", "days", "weeks", "months")


@dataclass
class StudyConfig:
    """A checked study file.

    Attributes:
        path: The TOML file.
        name: Study name in the storage.
        strategy: The strategy class.
        method: ``grid``, ``random``, ``bayes`` or ``genetic``.
        objective: The objective (built-in metric or analyzer path).
        maximize: Direction, or ``None`` for the metric's natural one.
        constraint: ``callable(params) -> bool`` or ``None``.
        storage: The SQLite file.
        report: The HTML report to write (``None``: none).
        maxcpus: Worker processes.
        options: Options of ``optimize_<method>``.
        space: The search space, ``name -> bto.Int/Real/Cat``.
        data: One dict per feed (``[data]`` or ``[[data]]``).
        broker: ``[broker]``.
        sizer: ``[sizer]`` (``class`` plus its params) or empty.
        analyzers: ``[[analyzers]]`` (``class``, ``name``, params).
        robustness: ``[robustness]``.
    """

    path: Path
    name: str
    strategy: type
    method: str
    objective: str
    maximize: bool | None
    constraint: Callable[[dict[str, Any]], bool] | None
    storage: Path
    report: Path | None
    maxcpus: int
    options: dict[str, Any]
    space: dict[str, Any]
    data: list[dict[str, Any]]
    broker: dict[str, Any]
    sizer: dict[str, Any] = field(default_factory=dict)
    analyzers: list[dict[str, Any]] = field(default_factory=list)
    robustness: dict[str, Any] = field(default_factory=dict)


# ---------------------------------------------------------------------------------------------------- helpers
def _toml() -> Any:
    if sys.version_info >= (3, 11):
        import tomllib

        return tomllib
    import tomli  # the backport, declared for Python 3.10

    return tomli


class Checker:
    """Checks of a study file's values, with error messages that name the file and the key.

    Args:
        path: The study file (named in every message; relative paths and imports start from its folder).
    """

    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, key: str, problem: str, fix: str) -> ConfigError:
        return ConfigError(f"{self.path}: {key}: {problem}; {fix}")

    def unknown(self, section: str, table: dict[str, Any], allowed: set[str]) -> None:
        for key in table:
            if key not in allowed:
                close = difflib.get_close_matches(key, sorted(allowed), n=1)
                hint = f"did you mean {close[0]!r}?" if close else f"allowed keys: {', '.join(sorted(allowed))}"
                raise self.fail(f"{section}{key}", "unknown key", hint)

    def table(self, doc: dict[str, Any], key: str, required: bool = False) -> dict[str, Any]:
        value = doc.get(key, None)
        if value is None:
            if required:
                raise self.fail(f"[{key}]", "missing section", f"add a [{key}] table (see docs/cli.md)")
            return {}
        if not isinstance(value, dict):
            raise self.fail(f"[{key}]", f"expected a table, got {type(value).__name__}", f"write it as [{key}]")
        return value

    def typed(self, key: str, value: Any, kinds: tuple[type, ...], fix: str) -> Any:
        if isinstance(value, bool) and bool not in kinds:
            raise self.fail(key, f"{value!r} has the wrong type", fix)
        if not isinstance(value, kinds):
            raise self.fail(key, f"{value!r} has the wrong type", fix)
        return value

    def resolve(self, key: str, ref: Any, what: str, default_module: str | None = None) -> Any:
        """Import ``"module:name"`` (or a bare ``name`` from ``default_module``)."""
        if not isinstance(ref, str) or not ref.strip():
            raise self.fail(key, f"{ref!r} is not a reference", f'give "module:Name" of {what}')
        if ":" in ref:
            module_name, _, attr = ref.partition(":")
        elif default_module is not None:
            module_name, attr = default_module, ref
        else:
            raise self.fail(key, f"{ref!r} has no module",
                            f'give "module:Name" of {what}, e.g. "mystrategies:SmaCross"')
        folder = str(self.path.parent.resolve())
        for p in (folder, str(Path.cwd())):
            if p not in sys.path:
                sys.path.insert(0, p)
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            raise self.fail(key, f"cannot import module {module_name!r} ({exc})",
                            f"check the name; the module must be importable from {folder} or the working "
                            "directory") from None
        try:
            return getattr(module, attr)
        except AttributeError:
            names = [n for n in dir(module) if not n.startswith("_")]
            close = difflib.get_close_matches(attr, names, n=1)
            hint = f"did you mean {close[0]!r}?" if close else f"check the name ({what})"
            raise self.fail(key, f"module {module_name!r} has no {attr!r}", hint) from None


def _dimension(c: Checker, name: str, spec: Any) -> Any:
    from ..space import Cat, Int, Real

    key = f"[space] {name}"
    fix = ('write e.g. { int = [5, 50] }, { int = [20, 200], step = 5 }, { real = [0.01, 0.2], log = true } or '
           '{ cat = ["sma", "ema"] }')
    if isinstance(spec, list):
        spec = {"real" if any(isinstance(v, float) for v in spec) else "int": spec}
    if not isinstance(spec, dict):
        raise c.fail(key, f"{spec!r} is not a dimension", fix)
    kinds = [k for k in ("int", "real", "cat") if k in spec]
    if len(kinds) != 1:
        raise c.fail(key, "give exactly one of int, real or cat", fix)
    kind = kinds[0]
    c.unknown(f"{key}.", spec, {kind, "step", "log"} if kind != "cat" else {"cat"})
    bounds = spec[kind]
    try:
        if kind == "cat":
            if not isinstance(bounds, list) or not bounds:
                raise c.fail(key, "cat needs a non-empty list of choices", fix)
            return Cat(bounds)
        if not isinstance(bounds, list) or len(bounds) != 2:
            raise c.fail(key, f"{kind} needs [low, high]", fix)
        cls = Int if kind == "int" else Real
        kw = {k: spec[k] for k in ("step", "log") if k in spec}
        if kind == "int" and "step" not in kw:
            kw["step"] = 1
        return cls(bounds[0], bounds[1], **kw)
    except ConfigError:
        raise
    except (TypeError, ValueError) as exc:
        raise c.fail(key, str(exc), fix) from None


def _date(c: Checker, key: str, value: Any) -> Any:
    import datetime as dt

    if value is None:
        return None
    if isinstance(value, (dt.date, dt.datetime)):
        return value
    if isinstance(value, str):
        try:
            return dt.datetime.fromisoformat(value)
        except ValueError:
            pass
    raise c.fail(key, f"{value!r} is not a date", 'write a TOML date (2005-01-01) or a string "2005-01-01"')


def _check_data(c: Checker, raw: Any) -> list[dict[str, Any]]:
    from .. import datasets

    tables = raw if isinstance(raw, list) else [raw]
    if not tables or raw == {}:
        raise c.fail("[data]", "missing section", 'add [data] with dataset = "orcl", csv = "prices.csv" or '
                     'factory = "module:function"')
    out = []
    for i, t in enumerate(tables):
        sec = "[data]" if not isinstance(raw, list) else f"[[data]] #{i + 1}"
        if not isinstance(t, dict):
            raise c.fail(sec, "expected a table", "write [data] or [[data]] tables")
        c.unknown(f"{sec} ", t, _DATA_KEYS)
        sources = [k for k in ("dataset", "csv", "factory") if k in t]
        if len(sources) != 1:
            raise c.fail(sec, f"give exactly one source, found {sources or 'none'}",
                         'use dataset = "orcl" (bundled), csv = "prices.csv" or factory = "module:function"')
        d = dict(t)
        d["fromdate"] = _date(c, f"{sec} fromdate", t.get("fromdate"))
        d["todate"] = _date(c, f"{sec} todate", t.get("todate"))
        if "dataset" in t and t["dataset"] not in datasets.available():
            close = difflib.get_close_matches(str(t["dataset"]), datasets.available(), n=1)
            raise c.fail(f"{sec} dataset", f"unknown dataset {t['dataset']!r}",
                         (f"did you mean {close[0]!r}? " if close else "") + "bundled: "
                         + ", ".join(datasets.available()))
        if "csv" in t:
            p = Path(str(t["csv"]))
            p = p if p.is_absolute() else c.path.parent / p
            if not p.is_file():
                raise c.fail(f"{sec} csv", f"file {str(p)!r} not found", "give a path relative to the config file")
            d["csv"] = p
        if "factory" in t:
            d["factory"] = c.resolve(f"{sec} factory", t["factory"], "a function returning a backtrader feed")
            if not callable(d["factory"]):
                raise c.fail(f"{sec} factory", f"{t['factory']!r} is not callable", "name a function")
        tf = t.get("timeframe", "days")
        if tf not in _TIMEFRAMES:
            raise c.fail(f"{sec} timeframe", f"{tf!r} is not a timeframe", f"use one of {', '.join(_TIMEFRAMES)}")
        out.append(d)
    return out


def _check_options(c: Checker, method: str, options: dict[str, Any]) -> None:
    from ..cerebro import Cerebro

    func = getattr(Cerebro, METHODS[method])
    params = inspect.signature(func).parameters
    owned = {"strategy", "objective", "maximize", "constraint", "storage", "study_name", "progress", "params",
             "self", "executor"}
    allowed = {k for k, p in params.items() if p.kind is p.KEYWORD_ONLY} - owned
    for key in options:
        if key in owned:
            raise c.fail(f"[options] {key}", "is set elsewhere", "set it in [study] (or [space] for parameters)")
        if key not in allowed:
            close = difflib.get_close_matches(key, sorted(allowed), n=1)
            raise c.fail(f"[options] {key}", f"not an option of method {method!r}",
                         f"did you mean {close[0]!r}?" if close else f"options: {', '.join(sorted(allowed))}")


def load_config(path: str | Path) -> StudyConfig:
    """Read and check a study file; nothing runs yet.

    Args:
        path: The TOML file.

    Returns:
        The checked :class:`StudyConfig`.

    Raises:
        ConfigError: the file is missing, not valid TOML, or a key is missing, unknown or wrong; the message
            names the key and the fix.
    """
    path = Path(path)
    c = Checker(path)
    if not path.is_file():
        raise ConfigError(f"{path}: no such file; give the path of a study TOML file (example in docs/cli.md)")
    try:
        doc = _toml().loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not a text file; give a study TOML file") from None
    except Exception as exc:  # tomllib.TOMLDecodeError
        raise ConfigError(f"{path}: not valid TOML: {exc}; fix the syntax at that line") from None
    c.unknown("", doc, _SECTIONS)
    study = c.table(doc, "study", required=True)
    c.unknown("[study] ", study, _STUDY_KEYS)
    if "strategy" not in study:
        raise c.fail("[study] strategy", "missing", 'give the strategy as "module:Class", e.g. '
                     '"sample_strategies:SmaCross"')
    import backtrader as bt

    strategy = c.resolve("[study] strategy", study["strategy"], "a backtrader Strategy class")
    if not (isinstance(strategy, type) and issubclass(strategy, bt.Strategy)):
        raise c.fail("[study] strategy", f"{study['strategy']!r} is not a backtrader Strategy class",
                     'name a class that subclasses bt.Strategy')
    method = study.get("method", "random")
    if method not in METHODS:
        raise c.fail("[study] method", f"unknown method {method!r}", f"use one of {', '.join(METHODS)}")
    objective = c.typed("[study] objective", study.get("objective", "sharpe_ratio"), (str,),
                        'give a built-in metric ("sharpe_ratio") or an analyzer name ("trades.pnl.net.total")')
    maximize = study.get("maximize")
    if maximize is not None:
        c.typed("[study] maximize", maximize, (bool,), "write true or false")
    constraint = None
    if "constraint" in study:
        constraint = c.resolve("[study] constraint", study["constraint"], "a function of the params dict")
        if not callable(constraint):
            raise c.fail("[study] constraint", f"{study['constraint']!r} is not callable", "name a function")
    name = c.typed("[study] name", study.get("name", path.stem), (str,), 'give a name, e.g. name = "smacross"')
    storage = Path(c.typed("[study] storage", study.get("storage", f"{path.stem}.db"), (str,),
                           'give a SQLite file, e.g. storage = "runs.db"'))
    storage = storage if storage.is_absolute() else path.parent / storage
    report = study.get("report", f"{path.stem}.html")
    if report is not False:
        report = Path(c.typed("[study] report", report, (str,), 'give an HTML file name, or report = false'))
        report = report if report.is_absolute() else path.parent / report
    else:
        report = None
    maxcpus = c.typed("[study] maxcpus", study.get("maxcpus", 1), (int,), "give a whole number of processes")
    if maxcpus < 1:
        raise c.fail("[study] maxcpus", f"{maxcpus} is below 1", "give 1 or more")
    space_t = c.table(doc, "space", required=True)
    if not space_t:
        raise c.fail("[space]", "no parameter", "add at least one, e.g. fast = { int = [5, 50] }")
    space = {k: _dimension(c, k, v) for k, v in space_t.items()}
    from ..space import check_param_names

    try:
        check_param_names(strategy, space)
    except ValueError as exc:
        raise c.fail("[space]", str(exc), "use the strategy's parameter names") from None
    options = c.table(doc, "options")
    _check_options(c, method, options)
    broker = c.table(doc, "broker")
    c.unknown("[broker] ", broker, _BROKER_KEYS)
    for k in ("cash", "commission", "slippage_perc", "slippage_fixed"):
        if k in broker:
            c.typed(f"[broker] {k}", broker[k], (int, float), "give a number")
    sizer = c.table(doc, "sizer")
    if sizer:
        if "class" not in sizer:
            raise c.fail("[sizer] class", "missing", 'give a sizer, e.g. class = "PercentSizer"')
        sizer = {**sizer, "class": c.resolve("[sizer] class", sizer["class"], "a backtrader Sizer",
                                             default_module="backtrader.sizers")}
    analyzers = doc.get("analyzers", [])
    if not isinstance(analyzers, list):
        raise c.fail("[[analyzers]]", "expected an array of tables", "write each analyzer as an [[analyzers]] table")
    checked = []
    for i, a in enumerate(analyzers):
        if not isinstance(a, dict) or "class" not in a:
            raise c.fail(f"[[analyzers]] #{i + 1} class", "missing", 'give e.g. class = "SharpeRatio" or '
                         '"bt_optimize.analyzers:MonteCarlo"')
        cls = c.resolve(f"[[analyzers]] #{i + 1} class", a["class"], "a backtrader Analyzer",
                        default_module="backtrader.analyzers")
        if not (isinstance(cls, type) and issubclass(cls, bt.Analyzer)):
            raise c.fail(f"[[analyzers]] #{i + 1} class", f"{a['class']!r} is not a backtrader Analyzer",
                         "name a bt.Analyzer subclass")
        checked.append({**a, "class": cls})
    robustness = c.table(doc, "robustness")
    c.unknown("[robustness] ", robustness, _ROBUSTNESS_KEYS)
    if "sensitivity" in robustness and not isinstance(robustness["sensitivity"], dict):
        raise c.fail("[robustness] sensitivity", "expected a table", "write sensitivity = { n_points = 7 }")
    return StudyConfig(path=path, name=name, strategy=strategy, method=method, objective=objective,
                       maximize=maximize, constraint=constraint, storage=storage, report=report, maxcpus=maxcpus,
                       options=options, space=space, data=_check_data(c, doc.get("data", {})), broker=broker,
                       sizer=sizer, analyzers=checked, robustness=robustness)
