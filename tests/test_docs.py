"""The documentation's code blocks run, in order, in one namespace per page."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"


def run_page(name: str, min_blocks: int) -> dict:
    """Execute every ```python block of ``docs/<name>`` in order; the shared namespace afterwards."""
    text = (DOCS / name).read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert len(blocks) >= min_blocks
    ns: dict = {"__name__": name.replace(".", "_")}
    for i, block in enumerate(blocks):
        try:
            exec(compile(block, f"{name} block {i + 1}", "exec"), ns)
        except Exception as exc:  # pragma: no cover - the message says which block broke
            raise AssertionError(f"{name} block {i + 1} failed: {exc!r}\n{block}") from exc
    return ns


@pytest.mark.slow
def test_guide_examples_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    ns = run_page("guide.md", 8)
    assert ns["study"].n_trials >= 1


@pytest.mark.slow
def test_walkforward_examples_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    ns = run_page("walkforward.md", 4)
    assert len(ns["wf"].windows) >= 3
    assert (tmp_path / "walkforward.png").stat().st_size > 0
    assert ns["wf"].overfitting().n_trials == sum(s.n_ran for s in ns["wf"].studies)


@pytest.mark.slow
def test_search_examples_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    ns = run_page("search.md", 8)
    assert ns["study"].method == "genetic" and len(ns["study"].generations) >= 1
    for png in ("convergence.png", "objective.png", "evaluations.png", "generations.png"):
        assert (tmp_path / png).stat().st_size > 0


def test_robustness_examples_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    ns = run_page("robustness.md", 2)
    assert ns["noise"]["status"] == "ok" and ns["sens"].n_backtests > 10
    assert "## Summary" in ns["report"]
    assert (tmp_path / "fast.png").stat().st_size > 0 and (tmp_path / "fast_slow.png").stat().st_size > 0
    # the real-data overfitting check: a wide grid on one year is flagged, a slow region over 20 years does better
    short, long = ns["rep_short"], ns["rep_long"]
    assert short.verdict == "likely_overfit" and short.pbo >= 0.5 and short.degradation_slope < 0
    assert 1 < short.n_effective < short.n_trials == ns["short"].n_ran
    assert long.verdict != "likely_overfit"
    assert long.dsr > short.dsr and long.pbo < short.pbo and long.prob_oos_loss < short.prob_oos_loss
    # the check in full (high PBO and DSR < 0.5) holds on the crash year; the survey shows how often
    crash = ns["rep_crash"]
    assert crash.verdict == "likely_overfit" and crash.pbo >= 0.5 and crash.dsr < 0.5 < long.dsr
    assert long.pbo < crash.pbo and long.prob_oos_loss < crash.prob_oos_loss
    assert (tmp_path / "overfitting.png").stat().st_size > 0


def test_objectives_examples_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    ns = run_page("objectives.md", 9)
    assert ns["study"].n_trials >= 1 and abs(ns["imp"].sum() - 1) < 1e-9
    assert (tmp_path / "importances.png").stat().st_size > 0 and (tmp_path / "front.png").stat().st_size > 0
    assert len(ns["pareto"].best_trials) >= 1 and len(ns["bo"].best_trials) >= 1


def test_report_examples_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    ns = run_page("report.md", 3)
    html = (tmp_path / "report.html").read_text()
    assert "Best result" in html and ns["study"].best_params["fast"] >= 3
    import html as html_lib

    wf_page = (tmp_path / "wf.html").read_text()
    assert html_lib.escape(ns["wf"].summary["verdict"]) in wf_page and 'id="windows-table"' in wf_page
    assert wf_page.count("<td class=\"dates\">") == 2 * len(ns["wf"].windows)
    assert ns["html"].startswith("<!DOCTYPE html>") and ns["markdown"].startswith("# Parameter sensitivity")


def test_readme_example_prints_what_it_computes():
    """The README's example is a script: its results are printed, not left as bare expressions."""
    import ast

    text = (DOCS.parent / "README.md").read_text()
    tree = ast.parse(re.findall(r"```python\n(.*?)```", text, flags=re.S)[0])
    bare = [ast.unparse(node) for node in tree.body if isinstance(node, ast.Expr)
            and not isinstance(node.value, ast.Call)]
    assert not bare, f"bare expressions print nothing in a script: {bare}"
    printed = [node for node in ast.walk(tree)
               if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "print"]
    assert len(printed) >= 3
