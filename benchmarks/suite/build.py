"""Backtest every grid point of the suite's problems once and cache the values (``optimize_grid(maxcpus=2)``).

Usage::

    python benchmarks/suite/build.py              # every problem whose cache is missing
    python benchmarks/suite/build.py NAME ...     # only these (rebuilt even when cached)
"""

from __future__ import annotations

import pathlib
import sys
import warnings

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2]))

from benchmarks.suite.problems import BY_NAME, PROBLEMS  # noqa: E402


def main(argv: list[str]) -> None:
    """Build the caches named in ``argv`` (all missing ones when empty)."""
    warnings.simplefilter("ignore")
    todo = [BY_NAME[n] for n in argv] if argv else [p for p in PROBLEMS if not p.cache_path.exists()]
    for prob in sorted(todo, key=lambda p: p.space.cardinality):
        prob.build(maxcpus=2)


if __name__ == "__main__":
    main(sys.argv[1:])
