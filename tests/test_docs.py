"""The user guide's code blocks run, in order, in one namespace."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"


@pytest.mark.slow
def test_guide_examples_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    text = (DOCS / "guide.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert len(blocks) >= 8
    ns: dict = {"__name__": "guide"}
    for i, block in enumerate(blocks):
        try:
            exec(compile(block, f"guide.md block {i + 1}", "exec"), ns)
        except Exception as exc:  # pragma: no cover - the message says which block broke
            raise AssertionError(f"guide.md block {i + 1} failed: {exc!r}\n{block}") from exc
    assert ns["study"].n_trials >= 1


@pytest.mark.slow
def test_walkforward_examples_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    text = (DOCS / "walkforward.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert len(blocks) >= 4
    ns: dict = {"__name__": "walkforward_doc"}
    for i, block in enumerate(blocks):
        try:
            exec(compile(block, f"walkforward.md block {i + 1}", "exec"), ns)
        except Exception as exc:  # pragma: no cover - the message says which block broke
            raise AssertionError(f"walkforward.md block {i + 1} failed: {exc!r}\n{block}") from exc
    assert len(ns["wf"].windows) >= 3
    assert (tmp_path / "walkforward.png").stat().st_size > 0
