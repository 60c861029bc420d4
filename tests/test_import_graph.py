"""Direction of imports: the report and the plots import the core, never back to the study.

STYLE: "nothing imports plotting or reporting, which import the core". ``Study.report()`` and the ``plot_*``
methods import them when called, so the report and the plots must not reach the study, whose module would then
sit in a cycle with them (``tests/test_layout.py`` checks there is no cycle at all; this names the rule the study
and the report follow). The graph is :func:`tools.layout_check.import_graph`: imports inside functions count.
"""

from __future__ import annotations

from tools.layout_check import import_graph


def _reach(graph: dict[str, set[str]], start: str) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        for nxt in graph.get(todo.pop(), set()) - seen:
            seen.add(nxt)
            todo.append(nxt)
    return seen


def test_the_study_imports_the_report_and_the_plots_when_called() -> None:
    graph = import_graph()
    assert "bt_optimize.report" in graph["bt_optimize.study.analysis"]
    assert "bt_optimize.plotting" in graph["bt_optimize.study.analysis"]
    assert "bt_optimize.frames" in graph["bt_optimize.report.data"]  # the trials table, shared with the study


def test_report_and_plots_never_lead_back_to_the_study() -> None:
    graph = import_graph()
    for top in ("bt_optimize.report", "bt_optimize.plotting", "bt_optimize.frames"):
        reached = _reach(graph, top)
        back = sorted(m for m in reached if m == "bt_optimize.study" or m.startswith("bt_optimize.study."))
        assert not back, f"{top} reaches {back}"
        assert "bt_optimize" not in reached, f"{top} imports the package root, which imports everything"
