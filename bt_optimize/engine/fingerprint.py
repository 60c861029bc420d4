"""The set-up fingerprint: everything besides the parameters that changes what a trial is worth.

A stored study resumes only when the data, broker, sizers, analyzers, strategy defaults, window and evaluation
options it was created with are the ones given now; otherwise its stored values would silently answer for
another question. :func:`describe_setup` turns a study's :class:`~bt_optimize.engine.worker.Payload` into a
JSON-safe, human-readable dict (arrays enter as SHA-256 digests), stored with the study and compared key by key
on resume (:func:`bt_optimize.storage.base.check_config`), so the error names what changed.

Left out on purpose: Cerebro settings that only change speed or output (``maxcpus``, ``preload``, ``runonce``,
``exactbars``, ``stdstats``, ``writer``, ``optdatas``, ``optreturn``, ``objcache``), observers, and the
constraint, which is re-applied to the stored points instead (see :class:`bt_optimize.study.Study`).
"""

from __future__ import annotations

import hashlib
import pickle
import re
from typing import Any

import backtrader as bt
import numpy as np

from ..trial import Window
from .worker import Payload

__all__ = ["describe_setup", "SPEED_ONLY_PARAMS"]

#: Cerebro parameters that do not change a trial's value.
SPEED_ONLY_PARAMS = frozenset({"maxcpus", "preload", "runonce", "exactbars", "stdstats", "writer", "optdatas",
                               "optreturn", "objcache", "live"})

_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")


def _name(obj: Any) -> str:
    return f"{getattr(obj, '__module__', '?')}.{getattr(obj, '__qualname__', repr(obj))}"


def _plain(obj: Any, depth: int = 0) -> Any:
    """A JSON-safe, address-free description of ``obj`` (classes by name, backtrader objects by their params)."""
    if depth > 8:
        return _ADDRESS.sub("", repr(obj))
    if obj is None or isinstance(obj, (bool, int, str)):
        return obj
    if isinstance(obj, float):
        return obj if np.isfinite(obj) else repr(obj)
    if isinstance(obj, np.generic):
        return _plain(obj.item(), depth)
    if isinstance(obj, type):
        return _name(obj)
    if isinstance(obj, dict):
        return {str(k): _plain(v, depth + 1) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v, depth + 1) for v in obj]
    params = getattr(obj, "params", None)
    if params is not None and hasattr(params, "_getkeys"):
        return {"class": _name(type(obj)),
                "params": {k: _plain(getattr(params, k, None), depth + 1) for k in params._getkeys()}}
    if callable(obj) and hasattr(obj, "__qualname__"):
        return _name(obj)
    return _ADDRESS.sub("", repr(obj))


def _digest(arrays: dict[str, np.ndarray]) -> str:
    h = hashlib.sha256()
    for key in sorted(arrays):
        h.update(key.encode())
        h.update(np.ascontiguousarray(arrays[key], dtype=np.float64).tobytes())
    return h.hexdigest()[:20]


def _when(num: float) -> str:
    return bt.num2date(float(num)).replace(microsecond=0).isoformat(sep=" ")


def describe_setup(payload: Payload, window: Window, options: dict[str, Any] | None = None) -> dict[str, Any]:
    """The fingerprint of a study: feeds, broker, sizers, analyzers, Cerebro settings, strategy defaults, window.

    Args:
        payload: What the workers receive (the user's Cerebro configuration and the snapshotted feeds).
        window: The measured window.
        options: Evaluation options of the method that change values (e.g. ``fidelity``, ``cv``).

    Returns:
        A JSON-safe dict with the keys ``data``, ``broker``, ``sizers``, ``analyzers``, ``cerebro``,
        ``strategy_defaults``, ``strategy_fixed`` (only when an earlier ``addstrategy`` gave fixed arguments),
        ``window`` and ``options``.
    """
    tpl = payload.template if not isinstance(payload.template, bytes) else pickle.loads(payload.template)
    feeds = []
    for k, f in enumerate(payload.feeds):
        feeds.append({"name": f.name or f"data{k}", "bars": len(f), "first": _when(f.datetime[0]),
                      "last": _when(f.datetime[-1]), "timeframe": f.timeframe, "compression": f.compression,
                      "sha256": _digest(f.lines)})
    broker = tpl.getbroker()
    b: dict[str, Any] = {"class": _name(type(broker)), "cash": _plain(getattr(broker, "startingcash", None))}
    params = getattr(broker, "params", None)
    if params is not None and hasattr(params, "_getkeys"):
        for key in params._getkeys():
            if key not in ("cash", "commission"):
                b[key] = _plain(getattr(params, key, None))
    comminfo = getattr(broker, "comminfo", None)
    if isinstance(comminfo, dict):
        b["commission"] = {("default" if k is None else str(k)): _plain(v) for k, v in comminfo.items()}
    sizers = {("default" if k is None else str(k)): _plain(list(v)) for k, v in dict(tpl.sizers).items()}
    analyzers = [_plain([cls, list(args), dict(kwargs)]) for cls, args, kwargs in tpl.analyzers]
    cerebro = {k: _plain(getattr(tpl.p, k, None)) for k in tpl.params._getkeys() if k not in SPEED_ONLY_PARAMS}
    strat = payload.strategy
    sparams = getattr(strat, "params", None)  # a strategy factory (backtrader's StFetcher style) has none
    defaults = ({k: _plain(getattr(sparams, k, None)) for k in sparams._getkeys()}
                if hasattr(sparams, "_getkeys") else {})
    fixed = {}  # arguments of an earlier cerebro.addstrategy(S, ...) that every trial gets; left out when none,
    # so a study stored before they were fingerprinted still matches a set-up without them
    if getattr(payload, "strategy_args", ()):
        fixed["args"] = _plain(list(payload.strategy_args))
    if getattr(payload, "strategy_kwargs", {}):
        fixed["kwargs"] = _plain(dict(payload.strategy_kwargs))
    return {
        "data": feeds, "broker": b, "sizers": sizers, "analyzers": analyzers, "cerebro": cerebro,
        "strategy_defaults": defaults, **({"strategy_fixed": fixed} if fixed else {}), "window": window.to_dict(),
        # options left at None are left out, so a caller that does not know an option matches a study without it
        "options": _plain({**{k: v for k, v in (options or {}).items() if v is not None},
                           **({"perf_kwargs": payload.perf_kwargs} if payload.perf_kwargs else {})}),
    }
