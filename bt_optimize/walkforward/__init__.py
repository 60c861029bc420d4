"""Walk-forward optimization: optimize on one stretch, pick on the next, trade the one after, roll forward.

The entry point is :meth:`bt_optimize.Cerebro.walk_forward`; this package holds the parts it composes:

- :mod:`.windows` (pure): :func:`make_windows`, the windows from the first feed's datetimes, in bar positions;
  :func:`~.windows.expanding_folds`, the folds of a study's ``cv=`` (which the engine uses: this package's
  namespace therefore leaves out the run loop, so importing it never imports the engine's runner).
- :mod:`.selection`: ranking the train search and choosing on validation (:data:`TOP_K` candidates).
- :mod:`.run`: :func:`~.run.run_walk_forward`, per window a search of the train stretch (any method of
  :data:`bt_optimize.engine.plans.PLANS`), re-scoring on the validation stretch and one run of the pick on the
  test stretch, every window side by side through one pool of workers.
- :mod:`.result`: :class:`WalkForward`, what the user reads (``windows``, ``oos_equity``, ``oos_trades``,
  ``summary``, ``plot``).
- :mod:`bt_optimize.stats.walkforward` (pure): :func:`stitch_equity`, :func:`parameter_stability`,
  :func:`walk_forward_efficiency`, :func:`verdict`, the stitched out-of-sample (OOS) result and its diagnostics.

Windows
-------
Sizes (``train``, ``validation``, ``test``, ``step``) are all whole numbers of bars, or all calendar offsets
(``"3Y"``, ``"6M"``, ``"2W"``, ``"10D"``, ``"4h"``, ``"30min"``, a ``pandas.DateOffset(years=..., months=...)`` or
a ``Timedelta``). The first ``warmup`` bars of the data are only ever fed as warmup: the first train stretch starts
at bar ``warmup``, so every stretch, the first one included, has ``warmup`` bars of history before it. With
offsets, stretch boundaries are ``t0 + k`` for sums ``k`` of the sizes, with ``t0`` the time of bar ``warmup``,
and a boundary is the first bar at or after that time.

Window ``i`` (from 0), rolling::

    train      [t0 + i*step,                    t0 + i*step + train)
    validation [t0 + i*step + train,            t0 + i*step + train + validation)
    test       [t0 + i*step + train + validation, ... + test)

Anchored (expanding) windows keep every train stretch starting at ``t0``. ``step`` defaults to ``test``: the
test stretches are then back to back and never overlap. A smaller ``step`` makes them overlap (each pick is
still measured on a full test stretch), a larger one leaves gaps between them that no window trades (see
stitching below). Windows are checked at construction (:func:`check_windows`): train < validation < test in time
with no overlap inside a window, test stretches back to back when ``step == test`` and starting later window
after window otherwise.

The last window: when the data ends inside a test stretch, that window is kept with its test stretch cut at the
last bar (``partial=True``) if the cut stretch still holds at least ``min_last_test`` of a full one (a share of
the bars for bar sizes, of the time for offsets; default 0.5), and dropped otherwise. Data too short for even
one window raises :class:`~bt_optimize.DataError` saying how much is needed.

Several feeds: positions and boundaries come from the first feed; the other feeds are cut by time to the same
stretches (the engine's window semantics).

Selection, no look-ahead
------------------------
Each stretch runs on sliced copies of the study's preloaded feeds that end at the stretch's last bar, with
``warmup`` bars before its first: no order, no analyzer and no metric sees anything before the stretch, and
nothing after it exists in the run. Per window: the chosen ``optimize_*`` method searches the train stretch; with
a validation stretch the :data:`TOP_K` best distinct train candidates run on it and the best validation value
wins (ties: the better train rank; when no candidate gives a finite validation value, the train best is kept);
without one (or with ``select="train"``) the train best is the pick. The pick then runs once on the test stretch.

Windows run side by side: the feeds are snapshotted and the workers started once for the whole walk-forward,
and every window's pipeline (its search, its validation candidates, its test run) sends its trials to the same
workers (``maxcpus``; :class:`~bt_optimize.engine.pool.SharedPool`). A window's choice depends only on its own
stretches, so the result is the one a window-by-window run gives.

Storage and resume
------------------
With ``storage``, the walk-forward keeps, under its ``study_name``: a manifest study ``study_name`` (no trials;
its set-up records the windows, method and selection, so resuming with other windows or data raises
:class:`~bt_optimize.StudyMismatchError`), and per window ``study_name/w{i}`` (the search on train),
``study_name/w{i}/validation`` and ``study_name/w{i}/test``. Every finished trial is committed at once, so a
killed run resumes at the windows and trials where it stopped and runs nothing twice (windows run side by
side, so several windows may be part-way through).

Stitched OOS equity
-------------------
Every test run starts from the broker's starting cash, flat. The curves are chained with capital carried over:
window ``i``'s curve is multiplied by ``C_i / S_i``, where ``S_i`` is its starting cash and ``C_i`` the stitched
value at the end of window ``i - 1`` (``C_0 = S_0``). This is exact when position sizes are proportional to
the account value (e.g. ``bt.sizers.PercentSizer``) and commissions are proportional to traded value; with fixed
stakes or fixed per-order fees it is an approximation that compounds each window's returns. A position still
open at the end of a test stretch is valued at the last close and not carried into the next window (each
window starts flat), and it is not among the trades. Trade P&L is scaled by the same factor; each trade's
``return`` (P&L over the account value at the close before it opened) is unaffected by the scaling.

With ``step`` other than ``test``:

- *Overlapping test stretches* (``step < test``): each bar of the stitched curve comes from the latest window
  whose test stretch covers it, so window ``i`` contributes its test bars before window ``i + 1``'s test start.
  Its curve is cut there (the position open at the cut is valued at that bar's close and dropped, as at the end
  of any test stretch) and only its trades closed before the cut are kept. The ``windows`` table still reports
  each window's full test stretch (``oos_value``, ``oos_total_return``, ...).
- *Gapped test stretches* (``step > test``): the bars between two test stretches are not traded; the stitched
  curve goes straight from one window's last test bar to the next window's first (the capital carried over is
  flat across the gap) and buy-and-hold is taken on the same bars.
"""

from ..stats.walkforward import (
    CV_THRESHOLD,
    EFFICIENCY_THRESHOLD,
    MODE_SHARE_THRESHOLD,
    parameter_stability,
    stitch_equity,
    verdict,
    walk_forward_efficiency,
)
from .result import WalkForward
from .selection import TOP_K
from .windows import WalkForwardWindow, check_windows, make_windows

__all__ = [
    "TOP_K",
    "CV_THRESHOLD",
    "MODE_SHARE_THRESHOLD",
    "EFFICIENCY_THRESHOLD",
    "WalkForwardWindow",
    "make_windows",
    "check_windows",
    "stitch_equity",
    "parameter_stability",
    "walk_forward_efficiency",
    "verdict",
    "WalkForward",
]
