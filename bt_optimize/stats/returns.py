"""Per-bar returns of a trial, packed small: float32, bytes regrouped by significance, then zlib.

A trial's returns are kept so that overfitting statistics (:mod:`bt_optimize.stats.overfitting`) can be computed
after the search from every trial, not only the best. The packed form is plain bytes (a SQLite BLOB), never a
pickle: reading a study file runs no code. Regrouping the four bytes of each float32 (all first bytes, then
all second bytes, ...) puts the sign/exponent bytes, which repeat a lot, next to each other; zlib then packs
a typical daily strategy to roughly half of its raw float32 size, and a strategy that is flat most days to
much less (``docs/benchmarks_overfitting.md`` has the measured sizes).
"""

from __future__ import annotations

import struct
import zlib

import numpy as np
import numpy.typing as npt

__all__ = ["pack_returns", "unpack_returns", "packed_length", "equity_returns"]

_MAGIC = b"R1"


def equity_returns(equity: npt.ArrayLike, start_value: float) -> npt.NDArray[np.float64]:
    """Simple bar returns ``v_i / v_{i-1} - 1`` of ``[start_value, *equity]`` (a zero value gives a 0 return)."""
    v = np.concatenate([[float(start_value)], np.asarray(equity, dtype=float)])
    prev = v[:-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(prev != 0, v[1:] / np.where(prev != 0, prev, 1.0) - 1.0, 0.0)
    return np.nan_to_num(r, nan=0.0, posinf=0.0, neginf=0.0)


def pack_returns(returns: npt.ArrayLike) -> bytes:
    """Pack returns as float32, byte-regrouped and zlib-compressed (see the module docstring)."""
    a = np.ascontiguousarray(np.asarray(returns, dtype="<f4"))
    shuffled = a.view(np.uint8).reshape(-1, 4).T.tobytes() if a.size else b""
    return _MAGIC + struct.pack("<I", a.size) + zlib.compress(shuffled, 6)


def packed_length(blob: bytes) -> int:
    """Number of returns in a blob made by :func:`pack_returns`, without unpacking it."""
    _check(blob)
    return int(struct.unpack("<I", bytes(blob[2:6]))[0])


def _check(blob: bytes) -> None:
    if not isinstance(blob, (bytes, bytearray, memoryview)) or len(blob) < 6 or bytes(blob[:2]) != _MAGIC:
        raise ValueError("not a packed returns blob (made by bt_optimize.stats.returns.pack_returns)")


def unpack_returns(blob: bytes) -> npt.NDArray[np.float64]:
    """The returns packed by :func:`pack_returns`, as float64.

    Raises:
        ValueError: ``blob`` was not made by :func:`pack_returns`.
    """
    n = packed_length(blob)
    raw = zlib.decompress(bytes(blob[6:]))
    if len(raw) != 4 * n:
        raise ValueError(f"corrupt packed returns: {len(raw)} bytes for {n} returns")
    grouped = np.frombuffer(raw, dtype=np.uint8).reshape(4, n)
    return np.ascontiguousarray(grouped.T).view("<f4").reshape(n).astype(np.float64)
