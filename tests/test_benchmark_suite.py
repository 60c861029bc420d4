"""The search suite's problems: the frozen tune/holdout split and the cached grids (no backtest runs here)."""

from __future__ import annotations

from benchmarks.suite.problems import PROBLEMS, SPLIT, draw_split


def test_split_is_the_seeded_draw_and_halves_the_suite():
    names = [p.name for p in PROBLEMS]
    assert SPLIT == draw_split(names)
    assert sorted(SPLIT) == sorted(names) and len(names) >= 14
    assert sum(h == "tune" for h in SPLIT.values()) == len(names) // 2


def test_every_cached_grid_covers_its_space():
    for prob in PROBLEMS:
        if not prob.cache_path.exists():  # built by benchmarks/suite/build.py
            continue
        table = prob.table()
        assert len(table) == prob.space.cardinality
        assert sum(v is not None for v in table.values()) >= 0.5 * len(table)
