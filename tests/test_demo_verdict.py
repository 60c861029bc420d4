"""`bt-optimize demo` prints the overfitting verdict after the best params, and flags the wide short-stretch grid."""

from __future__ import annotations

from bt_optimize.cli import main


def test_demo_prints_the_verdict_and_flags_the_short_wide_grid(capsys):
    assert main(["demo", "--trials", "4", "--quiet"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert "(bayes, " in lines[0] and any(line.startswith("min_trades=10: ") for line in lines)  # the default search
    checks = [i for i, line in enumerate(lines) if line.startswith("overfitting check:")]
    assert len(checks) == 2
    assert lines[checks[0] - 1].startswith("best sharpe_ratio:")  # right after the best params
    assert "wide grid on one year" in out
    assert "LIKELY OVERFIT" in lines[checks[1]]
