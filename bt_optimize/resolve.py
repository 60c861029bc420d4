"""Reading an ``optimize_*`` call: which strategy, which space, which fixed arguments and ``run()`` options.

:func:`resolve_call` is the first step of every entry point of :class:`~bt_optimize.Cerebro` (and of a study
file's :func:`~bt_optimize.config.open_stored_study`). Without a strategy it reads the last ``optstrategy``
registration as backtrader would (every iterable is the list of its values); ``Cerebro.run()`` options given
among the parameters apply to every trial; the keyword arguments of an earlier ``addstrategy`` of the same
strategy stay fixed. Every problem is a :class:`~bt_optimize.exceptions.SpaceError` raised before any backtest.
"""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import backtrader as bt

from .exceptions import SpaceError
from .space import Cat, Dimension, Space, check_param_names, plain

__all__ = ["CallSetup", "resolve_call", "strategy_name"]


#: ``Cerebro.run()`` options that mean nothing to ``optimize_*``, and why.
_REFUSED_RUN_OPTIONS = {
    "optreturn": "it trims the results of optstrategy runs; optimize_* trials always return plain results",
    "optdatas": "it preloads the data once for optstrategy runs; optimize_* always loads the data once per study",
    "live": "optimize_* runs on historical data only",
    "writer": "trials run no writers; write the best run with study.run_best() instead",
}


@dataclass
class CallSetup:
    """What an ``optimize_*`` call runs, read from its arguments and the Cerebro.

    Attributes:
        strategy: The strategy class (or factory).
        space: The search space.
        args: Fixed positional arguments of the strategy (from ``optstrategy`` or ``addstrategy``).
        kwargs: Fixed keyword parameters of the strategy (from an earlier ``addstrategy``).
        run_options: ``Cerebro.run()`` options given among the keywords (``maxcpus`` included).
    """

    strategy: Any
    space: Space
    args: tuple
    kwargs: dict[str, Any]
    run_options: dict[str, Any]


def strategy_name(strategy: Any) -> str:
    """The name a study of ``strategy`` is called by default (its class or function name)."""
    return getattr(strategy, "__name__", None) or type(strategy).__name__


def _user_stacklevel() -> int:
    """The ``stacklevel`` of ``warnings.warn`` (called by the caller of this function) that points at user code."""
    frame, level = sys._getframe(1), 1
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE_DIR):
        frame, level = frame.f_back, level + 1
    return level


_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


def _check_strategy(strategy: Any) -> None:
    """A backtrader Strategy class, or a strategy factory (a class or function returning a strategy, as
    ``optstrategy`` accepts: e.g. a class whose ``__new__`` picks one of several strategies)."""
    if isinstance(strategy, bt.Strategy) or (not isinstance(strategy, type) and not callable(strategy)):
        what = "a strategy instance" if isinstance(strategy, bt.Strategy) else f"{strategy!r}"
        raise SpaceError(f"strategy={what}: pass a backtrader Strategy class (cerebro.optimize_grid(MyStrategy, "
                         "...)) or a factory that returns a strategy, as cerebro.optstrategy accepts")


def _param_names(strategy: Any) -> list[str] | None:
    """The strategy's parameter names (``None`` for a factory, whose parameters are not known in advance)."""
    if isinstance(strategy, type) and issubclass(strategy, bt.Strategy):
        return list(strategy.params._getkeys())
    return None


def _split_run_options(dims: dict[str, Any], names: list[str] | None) -> tuple[dict[str, Any], dict[str, Any]]:
    """Take ``Cerebro.run()`` options (``stdstats=False``, ...) out of ``dims``; a strategy param of the same name
    wins."""
    run_keys = set(bt.Cerebro.params._getkeys())
    space, run = {}, {}
    for k, v in dims.items():
        if k not in run_keys or (names is not None and k in names):
            space[k] = v
        elif k in _REFUSED_RUN_OPTIONS:
            raise SpaceError(f"{k}= is an option of Cerebro.run() that optimize_* does not take: "
                             f"{_REFUSED_RUN_OPTIONS[k]}; drop it")
        elif k == "maxcpus":
            if v is not None and (not isinstance(v, int) or isinstance(v, bool) or v < 0):
                raise SpaceError(f"maxcpus={v!r}: give the number of worker processes (None or 0: all cores)")
            run[k] = v
        elif isinstance(v, Dimension):
            raise SpaceError(f"{k}= is an option of Cerebro.run(), not a strategy parameter; give it one value "
                             f"({k}=...) to apply it to every trial")
        else:
            run[k] = v
    return space, run


def _optstrategy_dim(name: str, value: Any) -> Any:
    """A value of an ``optstrategy`` registration as backtrader reads it: every iterable (a tuple too) is the list
    of its values, anything else one fixed value (``range`` stays an evenly spaced ``Int``)."""
    if isinstance(value, (Dimension, range)):
        return value
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        return Cat([value])
    vals = [plain(v) for v in value]
    if not vals:
        raise SpaceError(f"optstrategy {name}={value!r} holds no value, so backtrader would run no backtest; "
                         "give at least one value")
    unique: list[Any] = []
    for v in vals:  # backtrader runs a repeated value twice; the search runs it once
        if not any(type(u) is type(v) and u == v for u in unique):
            unique.append(v)
    try:
        return Cat(unique)
    except SpaceError as exc:
        raise SpaceError(f"optstrategy {name}=...: {exc}") from None


def _fixed_optargs(args: tuple) -> tuple:
    """Positional ``optstrategy`` arguments with a single value each (as backtrader iterates them)."""
    out = []
    for a in args:
        vals = [a] if isinstance(a, (str, bytes)) or not isinstance(a, Iterable) else list(a)
        if len(vals) != 1:
            raise SpaceError("optstrategy positional arguments with several values cannot be searched; pass them as "
                             "keyword params (cerebro.optstrategy(MyStrategy, period=range(10, 30)))")
        out.append(vals[0])
    return tuple(out)


def resolve_call(cerebro: bt.Cerebro, strategy: Any, dims: dict[str, Any]) -> CallSetup:
    """The strategy, space, fixed strategy arguments and run options of an ``optimize_*`` call on ``cerebro``.

    Without a strategy, the last ``optstrategy`` registration gives the strategy and, read as backtrader
    reads it, the space (``dims`` override it). ``run()`` options among ``dims`` are taken out; the kwargs
    of an earlier ``addstrategy`` of the same strategy become fixed params (with a warning).

    Raises:
        SpaceError: no strategy and no registration, a strategy instance, no parameter to search, a run()
            option that optimize_* refuses, or a name the strategy does not have.
    """
    args: tuple = ()
    if strategy is None:
        reg = getattr(cerebro, "_bto_optreg", None)
        if reg is None:
            raise SpaceError(
                "no strategy given: pass the strategy class as the first argument "
                "(cerebro.optimize_random(MyStrategy, fast=(5, 50), ...)) or register one with cerebro.optstrategy"
            )
        strategy, reg_args, reg_kwargs = reg
        args = _fixed_optargs(reg_args)
        merged = {k: _optstrategy_dim(k, v) for k, v in reg_kwargs.items()}
        merged.update(dims)
        dims = merged
    _check_strategy(strategy)
    names = _param_names(strategy)
    dims, run_options = _split_run_options(dims, names)
    fixed: dict[str, Any] = {}
    added = [e[0] for e in cerebro.strats if isinstance(e, list) and len(e) == 1 and e[0][0] is strategy]
    if added:
        add_args, add_kwargs = added[-1][1], added[-1][2]
        args = args or tuple(add_args)
        fixed = {k: v for k, v in add_kwargs.items() if k not in dims}
        over = [k for k in add_kwargs if k in dims]
        if add_kwargs:
            label = strategy_name(strategy)
            given = ", ".join(f"{k}={v!r}" for k, v in add_kwargs.items())
            parts = [f"every trial keeps {', '.join(f'{k}={v!r}' for k, v in fixed.items())} (pass name=... "
                     "to optimize_* to search one)"] if fixed else []
            if over:
                parts.append(f"the search space overrides {', '.join(over)}")
            warnings.warn(f"{label} was added with cerebro.addstrategy({label}, {given}): " + "; ".join(parts),
                          UserWarning, stacklevel=_user_stacklevel())
    if not dims:
        known = f" ({', '.join(names)})" if names else ""
        raise SpaceError(
            f"no parameters to optimize; pass some of {strategy_name(strategy)}'s parameters{known} as "
            "keywords, e.g. fast=bto.Int(5, 50)"
        )
    if names is not None:
        check_param_names(strategy, dims)
    return CallSetup(strategy, Space(dims), args, fixed, run_options)
