"""One self-contained HTML page per result: a study, a walk-forward, a sensitivity analysis.

Entry points are the results' own methods, which import this package lazily (nothing in the core imports it)::

    study.report("report.html")            # bt_optimize.Study.report
    wf.report("wf.html")                   # bt_optimize.WalkForward.report
    sens.report(format="html")             # bt_optimize.robustness.SensitivityResult.report

Layout: :mod:`.data` computes plain data, :mod:`.importance` the parameter importances, :mod:`.figures` draws
(matplotlib, embedded as base64 PNG), :mod:`.render` fills the Jinja2 templates in ``templates/``. A page has no
script and loads nothing from the network; it reads on a laptop and on a phone.
"""

from .importance import binned_grid, variance_importance
from .render import sensitivity_html, stored_study_html, study_html, walk_forward_html

__all__ = ["study_html", "stored_study_html", "walk_forward_html", "sensitivity_html", "variance_importance",
           "binned_grid"]
