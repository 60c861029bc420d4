"""Search-space dimensions: :class:`Int`, :class:`Real`, :class:`Cat` (their public home is :mod:`bt_optimize.space`).

Dimensions own their validation, sampling, grid enumeration and the normalised ``[0, 1]`` scale of numeric values
(:func:`unit_scale`, :func:`unit_unscale`: the one definition the point encoder of the searches,
:class:`~bt_optimize.search.encoding.Encoder`, also uses). Every value a dimension hands out is a plain Python
``int``, ``float``, ``str``, ``bool`` or ``None`` (never a numpy scalar), so strategies receive the same types a
hand-written script would pass.
"""

from __future__ import annotations

import inspect
import json
import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from .exceptions import SpaceError

__all__ = ["Dimension", "Int", "Real", "Cat", "plain", "choice_label", "as_dimension", "unit_scale", "unit_unscale"]


def plain(value: Any) -> Any:
    """Return ``value`` as a plain Python scalar (numpy scalars become ``int``/``float``/``str``/``bool``)."""
    if isinstance(value, np.generic):
        return value.item()
    return value


def unit_scale(x: Any, lo: float, hi: float, log: bool) -> Any:
    """Numbers in ``[lo, hi]`` on the ``[0, 1]`` scale (log dimensions in log space); arrays or scalars.

    Not clipped: a number outside ``[lo, hi]`` maps outside ``[0, 1]``.
    """
    if log:
        return (np.log(x) - math.log(lo)) / (math.log(hi) - math.log(lo))
    return (x - lo) / (hi - lo)


def unit_unscale(u: Any, lo: float, hi: float, log: bool) -> Any:
    """The inverse of :func:`unit_scale` (not clipped, not snapped to a step); arrays or scalars."""
    if log:
        return np.exp(math.log(lo) + u * (math.log(hi) - math.log(lo)))
    return lo + u * (hi - lo)


class Dimension:
    """Base class of a search dimension. Subclasses: :class:`Int`, :class:`Real`, :class:`Cat`."""

    kind = "dimension"

    @property
    def cardinality(self) -> float:
        """Number of distinct values (``math.inf`` for a continuous :class:`Real`)."""
        raise NotImplementedError

    def sample(self, rng: np.random.Generator, n: int = 1) -> list[Any]:
        """Draw ``n`` values using ``rng`` (uniform, or log-uniform when ``log=True``)."""
        raise NotImplementedError

    def grid(self) -> list[Any]:
        """Every value of the dimension, in increasing (or declared) order."""
        raise NotImplementedError

    def contains(self, value: Any) -> bool:
        """Whether ``value`` is a legal value of this dimension."""
        raise NotImplementedError

    def to_unit(self, value: Any) -> float:
        """Encode ``value`` into ``[0, 1]`` (log dimensions in log space; categories by index)."""
        raise NotImplementedError

    def from_unit(self, u: float) -> Any:
        """Decode a ``[0, 1]`` number into the nearest legal value."""
        raise NotImplementedError

    def describe(self) -> dict[str, Any]:
        """A JSON-safe description; equal descriptions mean equal dimensions."""
        raise NotImplementedError

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Dimension) and self.describe() == other.describe()

    def __hash__(self) -> int:
        return hash(json.dumps(self.describe(), sort_keys=True))

    def __repr__(self) -> str:
        d = self.describe()
        kind = d.pop("kind")
        return f"{kind}({', '.join(f'{k}={v!r}' for k, v in d.items())})"


class _Numeric(Dimension):
    low: float
    high: float
    log: bool

    def _check_bounds(self, name: str) -> None:
        for label, v in (("low", self.low), ("high", self.high)):
            if not math.isfinite(v):
                raise SpaceError(f"{name}: {label}={v!r} must be a finite number")
        if self.low >= self.high:
            raise SpaceError(
                f"{name}(low={self.low!r}, high={self.high!r}): low must be smaller than high; "
                f"swap them, or pass a single fixed value instead of a {name} to keep the parameter constant"
            )
        if self.log and self.low <= 0:
            raise SpaceError(
                f"{name}(low={self.low!r}, high={self.high!r}, log=True): a log scale needs low > 0; "
                "raise low above zero or drop log=True"
            )

    def _u(self, x: float) -> float:
        x = max(x, self.low) if self.log else x
        return min(1.0, max(0.0, float(unit_scale(x, self.low, self.high, self.log))))

    def _x(self, u: float) -> float:
        return float(unit_unscale(min(1.0, max(0.0, float(u))), self.low, self.high, self.log))


class Int(_Numeric):
    """An integer parameter in ``[low, high]`` (both included), on a grid of ``step``.

    Args:
        low: Smallest value.
        high: Largest value; ``high - low`` must be a multiple of ``step``.
        step: Distance between neighbouring values (default 1).
        log: Sample log-uniformly (needs ``low > 0`` and ``step == 1``).

    Example:
        >>> Int(5, 50, step=5).grid()[:3]
        [5, 10, 15]
    """

    kind = "Int"

    def __init__(self, low: int, high: int, step: int = 1, log: bool = False) -> None:
        for label, v in (("low", low), ("high", high), ("step", step)):
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
                if isinstance(v, (float, np.floating)) and float(v).is_integer():
                    continue
                raise SpaceError(f"Int: {label}={v!r} must be an integer; use Real(...) for fractional values")
        self.low, self.high, self.step, self.log = int(low), int(high), int(step), bool(log)
        self._check_bounds("Int")
        if self.step < 1:
            raise SpaceError(f"Int: step={self.step} must be a positive integer")
        span = self.high - self.low
        if span % self.step:
            fixed = self.low + (span // self.step) * self.step
            raise SpaceError(
                f"Int(low={self.low}, high={self.high}, step={self.step}): step does not divide the range "
                f"(high - low = {span}); use high={fixed} or high={fixed + self.step}, or a step that divides {span}"
            )
        if self.log and self.step != 1:
            raise SpaceError(f"Int(..., step={self.step}, log=True): a log scale needs step=1; drop one of them")

    @property
    def cardinality(self) -> int:
        return (self.high - self.low) // self.step + 1

    def _snap(self, x: float) -> int:
        k = round((x - self.low) / self.step)
        k = min(max(k, 0), self.cardinality - 1)
        return int(self.low + k * self.step)

    def sample(self, rng: np.random.Generator, n: int = 1) -> list[int]:
        if self.log:
            # log-uniform over the continuous range widened by half a unit, rounded to the nearest integer
            lo, hi = math.log(self.low - 0.4999), math.log(self.high + 0.4999)
            return [self._snap(math.exp(x)) for x in rng.uniform(lo, hi, n)]
        return [int(self.low + k * self.step) for k in rng.integers(0, self.cardinality, n)]

    def grid(self) -> list[int]:
        return list(range(self.low, self.high + 1, self.step))

    def contains(self, value: Any) -> bool:
        value = plain(value)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return False
        if isinstance(value, float) and not value.is_integer():
            return False
        value = int(value)
        return self.low <= value <= self.high and (value - self.low) % self.step == 0

    def to_unit(self, value: Any) -> float:
        return self._u(float(value))

    def from_unit(self, u: float) -> int:
        return self._snap(self._x(u))

    def clip(self, x: float) -> int:
        """Snap any number to the nearest legal value."""
        return self._snap(x)

    def describe(self) -> dict[str, Any]:
        return {"kind": "Int", "low": self.low, "high": self.high, "step": self.step, "log": self.log}


class Real(_Numeric):
    """A real-valued parameter in ``[low, high]``.

    Args:
        low: Lower bound.
        high: Upper bound.
        step: Optional grid spacing; ``high - low`` must be a multiple of it. Needed for grid search.
        log: Sample log-uniformly (needs ``low > 0``).

    Example:
        >>> Real(0.01, 0.2, log=True).contains(0.05)
        True
    """

    kind = "Real"

    def __init__(self, low: float, high: float, step: float | None = None, log: bool = False) -> None:
        for label, v in (("low", low), ("high", high)):
            if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)):
                raise SpaceError(f"Real: {label}={v!r} must be a number")
        self.low, self.high, self.log = float(low), float(high), bool(log)
        self.step = None if step is None else float(step)
        self._check_bounds("Real")
        if self.step is not None:
            if not (self.step > 0 and math.isfinite(self.step)):
                raise SpaceError(f"Real: step={step!r} must be a positive number")
            n = (self.high - self.low) / self.step
            if abs(n - round(n)) > 1e-9 * max(1.0, abs(n)):
                fixed = self.low + math.floor(n) * self.step
                raise SpaceError(
                    f"Real(low={self.low}, high={self.high}, step={self.step}): step does not divide the range; "
                    f"use high={fixed:g} or a step that divides {self.high - self.low:g}"
                )
            if self.log:
                raise SpaceError("Real(..., step=..., log=True): a stepped grid cannot be log-scaled; drop one")

    @property
    def cardinality(self) -> float:
        if self.step is None:
            return math.inf
        return int(round((self.high - self.low) / self.step)) + 1

    def _snap(self, x: float) -> float:
        x = min(max(float(x), self.low), self.high)
        if self.step is None:
            return x
        k = round((x - self.low) / self.step)
        return float(round(self.low + k * self.step, 12))

    def sample(self, rng: np.random.Generator, n: int = 1) -> list[float]:
        if self.step is not None:
            return [self._snap(self.low + k * self.step) for k in rng.integers(0, int(self.cardinality), n)]
        if self.log:
            xs = np.exp(rng.uniform(math.log(self.low), math.log(self.high), n))
        else:
            xs = rng.uniform(self.low, self.high, n)
        return [min(max(float(x), self.low), self.high) for x in xs]

    def grid(self) -> list[float]:
        if self.step is None:
            raise SpaceError(
                f"{self!r} has no step, so it cannot be enumerated for a grid; give it step=..., "
                "or use optimize_random / optimize_bayes"
            )
        return [self._snap(self.low + k * self.step) for k in range(int(self.cardinality))]

    def contains(self, value: Any) -> bool:
        value = plain(value)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            return False
        if not self.low <= value <= self.high:
            return False
        return self.step is None or abs(self._snap(value) - value) <= 1e-9 * max(1.0, abs(value))

    def to_unit(self, value: Any) -> float:
        return self._u(float(value))

    def from_unit(self, u: float) -> float:
        return self._snap(self._x(u))

    def clip(self, x: float) -> float:
        """Snap any number to the nearest legal value."""
        return self._snap(x)

    def describe(self) -> dict[str, Any]:
        return {"kind": "Real", "low": self.low, "high": self.high, "step": self.step, "log": self.log}


_JSON_SCALARS = (str, int, float, bool, type(None))


def _is_json_scalar(value: Any) -> bool:
    return isinstance(value, _JSON_SCALARS) and not (isinstance(value, float) and not math.isfinite(value))


def choice_label(value: Any) -> str:
    """A readable label of a :class:`Cat` choice that JSON cannot hold, equal in every run.

    Tuples show their items (``"(10, 30)"``), classes and functions their full name
    (``"backtrader.indicators.sma.MovingAverageSimple"``), other values their ``repr``.

    Raises:
        SpaceError: the value has no label that stays the same from run to run (an object whose ``repr`` shows
            its memory address, a lambda).
    """
    if isinstance(value, tuple):
        inner = ", ".join(json.dumps(v) if _is_json_scalar(v) else choice_label(v) for v in value)
        return f"({inner}{',' if len(value) == 1 else ''})"
    if isinstance(value, type) or inspect.isfunction(value) or inspect.isbuiltin(value):
        name = f"{value.__module__}.{value.__qualname__}"
        if "<lambda>" in name or "<locals>" in name:
            raise SpaceError(f"Cat choice {value!r} cannot be stored: it is defined inside a function, so it has no "
                             "name that a later run can find; define it at module level")
        return name
    text = repr(value)
    if " at 0x" in text:
        raise SpaceError(f"Cat choice {text} cannot be stored: its repr changes from run to run, so a stored study "
                         "could not tell it apart on resume; give it a __repr__ that names it, or use a string choice "
                         "and map it to the object inside the strategy")
    return text


class Cat(Dimension):
    """A categorical parameter taking one of ``choices`` (any hashable, picklable values).

    Choices that JSON cannot hold (tuples, indicator classes, ...) are stored in a study file as their position
    plus a readable label (:func:`choice_label`) and rebuilt from the space; a choice without a stable label is
    refused here, before any backtest.

    Example:
        >>> Cat(["sma", "ema"]).grid()
        ['sma', 'ema']
    """

    kind = "Cat"

    def __init__(self, choices: Iterable[Any]) -> None:
        if isinstance(choices, (str, bytes)) or not isinstance(choices, Iterable):
            raise SpaceError(f"Cat: choices must be a list of values, got {choices!r}; write Cat([{choices!r}])")
        self.choices = [plain(c) for c in choices]
        if len(self.choices) < 1:
            raise SpaceError("Cat: needs at least one choice, got an empty list")
        seen: list[Any] = []
        for c in self.choices:
            try:
                hash(c)
            except TypeError:
                raise SpaceError(f"Cat: choice {c!r} is not hashable; use strings, numbers or tuples") from None
            if c in seen and any(type(c) is type(s) and c == s for s in seen):
                raise SpaceError(f"Cat: choice {c!r} is listed twice; remove the duplicate from {self.choices!r}")
            if isinstance(c, float) and not math.isfinite(c):
                raise SpaceError(f"Cat: choice {c!r} cannot be stored (JSON has no {c!r}); use a finite number or None")
            seen.append(c)
        labels = [self._label(c) for c in self.choices]
        dup = next((x for x in labels if labels.count(x) > 1 and not isinstance(x, (int, float, bool))), None)
        if dup is not None:
            raise SpaceError(f"Cat: two choices have the label {dup!r}, so a stored study could not tell them apart; "
                             "give them distinct names")

    @property
    def cardinality(self) -> int:
        return len(self.choices)

    def sample(self, rng: np.random.Generator, n: int = 1) -> list[Any]:
        return [self.choices[int(k)] for k in rng.integers(0, len(self.choices), n)]

    def grid(self) -> list[Any]:
        return list(self.choices)

    def index(self, value: Any) -> int:
        """Position of ``value`` among the choices (type-strict: ``1`` and ``True`` differ)."""
        value = plain(value)
        for i, c in enumerate(self.choices):
            if type(c) is type(value) and c == value:
                return i
        for i, c in enumerate(self.choices):
            if c == value:
                return i
        raise SpaceError(f"{value!r} is not one of {self.choices!r}")

    def contains(self, value: Any) -> bool:
        try:
            self.index(value)
        except (SpaceError, TypeError):
            return False
        return True

    def to_unit(self, value: Any) -> float:
        n = len(self.choices)
        return 0.0 if n == 1 else self.index(value) / (n - 1)

    def from_unit(self, u: float) -> Any:
        n = len(self.choices)
        return self.choices[min(n - 1, max(0, int(round(float(u) * (n - 1)))))]

    @staticmethod
    def _label(c: Any) -> Any:
        return c if _is_json_scalar(c) else choice_label(c)

    def describe(self) -> dict[str, Any]:
        return {"kind": "Cat", "choices": [self._label(c) for c in self.choices]}

    def encode(self, value: Any) -> Any:
        """``value`` as JSON: itself when JSON holds it, else ``{"cat_index": i, "label": ...}``."""
        value = plain(value)
        if _is_json_scalar(value):
            return value
        i = self.index(value)
        return {"cat_index": i, "label": choice_label(self.choices[i])}

    def decode(self, stored: Any) -> Any:
        """The choice that :meth:`encode` stored (other values are returned as they are).

        Raises:
            SpaceError: the stored index or label does not match this dimension's choices.
        """
        if not (isinstance(stored, dict) and "cat_index" in stored):
            return stored
        i = stored["cat_index"]
        if not (isinstance(i, int) and 0 <= i < len(self.choices)) or choice_label(self.choices[i]) != stored.get(
                "label"):
            raise SpaceError(f"stored choice {stored!r} does not match the choices {self.describe()['choices']}")
        return self.choices[i]


def as_dimension(name: str, spec: Any) -> Dimension:
    """Turn a user's shorthand into a dimension.

    ``Int``/``Real``/``Cat`` pass through; ``(low, high)`` of ints -> ``Int``, with a float -> ``Real``;
    ``range(a, b, s)`` -> ``Int`` with step ``s``; a list (or other iterable) -> ``Cat``; a single value ->
    a one-choice ``Cat`` (the parameter is fixed).
    """
    if isinstance(spec, Dimension):
        return spec
    if isinstance(spec, range):
        vals = sorted(spec)
        if not vals:
            raise SpaceError(f"{name}={spec!r} is empty; give a range with at least one value")
        if len(vals) == 1:
            return Cat(vals)
        return Int(vals[0], vals[-1], step=abs(spec.step))
    if isinstance(spec, tuple) and len(spec) == 2 and all(
        isinstance(plain(v), (int, float)) and not isinstance(plain(v), bool) for v in spec
    ):
        lo, hi = (plain(v) for v in spec)
        if isinstance(lo, int) and isinstance(hi, int):
            return Int(lo, hi)
        return Real(lo, hi)
    if isinstance(spec, (str, bytes)) or not isinstance(spec, Iterable):
        return Cat([spec])
    try:
        return Cat(list(spec))
    except SpaceError as exc:
        raise SpaceError(f"{name}: {exc}") from None
