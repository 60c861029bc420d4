"""The storage contract: where a study's configuration and finished trials live.

A storage holds any number of studies, each identified by a unique name. The study loop is the only
writer. Contract, which every backend must meet (``tests/storage`` runs one conformance suite on each):

- ``open_study(name, config)`` creates the study, or loads it when the name exists. A stored study whose
  strategy, space, objective, method or set-up fingerprint (data, broker, sizers, analyzers, strategy
  defaults, window, evaluation options) differ from ``config`` raises :class:`StudyMismatchError` naming
  the differences (:func:`check_config`).
- ``add_trial`` makes the trial durable before it returns (for SQLite: committed), so a process killed at
  any moment loses no trial that was reported.
- ``load_trials`` returns trials in ``number`` order, ``load_trial`` one of them; ``with_analysis=False`` leaves
  each trial's ``analysis`` empty to keep memory flat (``load_analysis`` fetches one). A backend that holds the
  analysis in memory anyway says so (``keeps_analysis_in_memory``), and the study then asks for it: that is the
  only difference a study sees between backends.
- ``set_attr``/``get_attr`` keep small JSON-safe values per study (algorithm state, stop reason).
- A trial's packed per-bar returns (``Trial.returns``, plain bytes) are stored with it in the same write;
  ``load_trials`` may leave them out (SQLite does, to keep memory flat) and ``load_returns`` reads them back.
- Runs that share a study (:mod:`bt_optimize.storage.runs`): ``begin_run`` registers one and names the others
  still active; ``claim`` reserves a point for a run and hands out its trial number, so two runs never run the
  same point or store the same number; ``add_trial`` settles the claim of its number; ``end_run`` drops the
  run's unsettled claims; ``new_trials`` returns the trials other runs stored since a cursor. A backend only
  one process can reach (memory) keeps these trivial.
"""

from __future__ import annotations

from typing import Any

from ..exceptions import StudyMismatchError
from ..trial import Trial
from .runs import CONSTRAINT_REJECTED, RunInfo

__all__ = ["Storage", "check_config"]

#: Keys of a study configuration that must match for a study to resume.
CONFIG_KEYS = ("strategy", "space", "objective", "method")


#: Most differences a mismatch message lists.
MAX_LISTED = 6


def _diff(path: str, a: Any, b: Any, out: list[str]) -> None:
    """Append ``"path: stored a vs now b"`` for every leaf where ``a`` and ``b`` differ."""
    if a == b:
        return
    if isinstance(a, dict) and isinstance(b, dict):
        for k in list(a) + [k for k in b if k not in a]:
            _diff(f"{path}.{k}" if path else str(k), a.get(k), b.get(k), out)
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b)):
            _diff(f"{path}[{i}]", x, y, out)
    else:
        out.append(f"{path}: stored {a!r} vs now {b!r}")


def check_config(name: str, stored: dict[str, Any], config: dict[str, Any]) -> None:
    """Raise :class:`StudyMismatchError` if ``config`` differs from the stored one on a key that matters.

    Besides :data:`CONFIG_KEYS`, a ``"setup"`` fingerprint (data, broker, sizers, analyzers, ... see
    :func:`bt_optimize.engine.fingerprint.describe_setup`) is compared leaf by leaf when both sides have one (a
    study stored before fingerprints existed has none and resumes as before).
    """
    diffs: list[str] = []
    if isinstance(stored.get("setup"), dict) and isinstance(config.get("setup"), dict):
        _diff("", stored["setup"], config["setup"], diffs)
    for key in CONFIG_KEYS:
        a, b = stored.get(key), config.get(key)
        if a == b:
            continue
        if key == "space" and isinstance(a, dict) and isinstance(b, dict):
            for p in sorted(set(a) | set(b)):
                if a.get(p) != b.get(p):
                    diffs.append(f"space[{p!r}]: stored {a.get(p)} vs now {b.get(p)}")
        else:
            diffs.append(f"{key}: stored {a!r} vs now {b!r}")
    if diffs:
        more = f"; and {len(diffs) - MAX_LISTED} more" if len(diffs) > MAX_LISTED else ""
        raise StudyMismatchError(
            f"study {name!r} already exists with a different set-up, so its stored values answer another "
            "question: " + "; ".join(diffs[:MAX_LISTED]) + more
            + ". Use another study_name, or delete the stored study to start over"
        )


class Storage:
    """Abstract storage. See the module docstring for the contract."""

    def open_study(self, name: str, config: dict[str, Any]) -> tuple[int, list[Trial]]:
        """Create or load study ``name``; returns its id and its finished trials (without analysis).

        Raises:
            StudyMismatchError: the stored study differs from ``config``.
        """
        raise NotImplementedError

    def add_trial(self, study_id: int, trial: Trial) -> None:
        """Store a finished trial durably.

        Raises:
            StorageError: the trial number is already stored.
        """
        raise NotImplementedError

    def load_trials(self, study_id: int, with_analysis: bool = False) -> list[Trial]:
        """The study's trials in number order."""
        raise NotImplementedError

    def load_trial(self, study_id: int, number: int, with_analysis: bool = False) -> Trial:
        """One trial of the study.

        Raises:
            KeyError: no such trial.
        """
        for t in self.load_trials(study_id, with_analysis):
            if t.number == number:
                return t
        raise KeyError(number)

    def load_analysis(self, study_id: int, number: int) -> dict[str, Any]:
        """The analyzer outputs of one trial.

        Raises:
            KeyError: no such trial.
        """
        raise NotImplementedError

    def load_returns(self, study_id: int, numbers: list[int] | None = None) -> dict[int, bytes]:
        """The packed per-bar returns of the study's trials that have them, by trial number.

        Args:
            study_id: The study.
            numbers: Only these trials (``None``: all).
        """
        wanted = None if numbers is None else set(numbers)
        return {t.number: t.returns for t in self.load_trials(study_id)
                if t.returns is not None and (wanted is None or t.number in wanted)}

    def set_attr(self, study_id: int, key: str, value: Any) -> None:
        """Store a small JSON-safe value for the study."""
        raise NotImplementedError

    def get_attr(self, study_id: int, key: str, default: Any = None) -> Any:
        """Read a value stored with :meth:`set_attr`."""
        raise NotImplementedError

    def study_names(self) -> list[str]:
        """Names of the stored studies."""
        raise NotImplementedError

    # ------------------------------------------------------------------ runs sharing a study
    def begin_run(self, study_id: int, run: RunInfo) -> list[RunInfo]:
        """Register ``run`` as working on the study; returns the other runs active on it."""
        return []

    def budget_used(self, study_id: int) -> int:
        """Trials of the study that spend the budget ``n_trials`` (every backtest started: all but constraint
        rejections and cache hits), plus points claimed by live runs and not stored yet."""
        return sum(1 for t in self.load_trials(study_id) if not t.cached and t.error != CONSTRAINT_REJECTED)

    def claim(self, study_id: int, key: str, run: RunInfo, retake: bool = False,
              budget: int | None = None) -> int | None:
        """Reserve point ``key`` for ``run`` and return the trial number to store it under.

        Args:
            study_id: The study.
            key: The point (parameters and window) as text.
            run: The claiming run.
            retake: Claim a point whose stored trial no longer counts (one an earlier constraint rejected)
                under a new number, unless a live run holds it.
            budget: Refuse (``None``) once :meth:`budget_used` has reached this; ``None``: no limit.

        Returns:
            The number, or ``None`` when the point is already stored or claimed by another live run.
        """
        raise NotImplementedError

    def foreign_claims(self, study_id: int, run: RunInfo) -> set[int]:
        """Trial numbers claimed by other live runs and not stored yet."""
        return set()

    def new_trials(self, study_id: int, cursor: int) -> tuple[list[Trial], int]:
        """Trials stored after ``cursor`` (``0``: all), and the cursor to pass next time."""
        return [], cursor

    def end_run(self, study_id: int, run: RunInfo) -> None:
        """Drop ``run``'s claims that no stored trial settled, and its registration."""

    def close(self) -> None:
        """Release resources."""

    @property
    def keeps_analysis_in_memory(self) -> bool:
        """Whether ``with_analysis=True`` costs nothing (the analysis is in memory already), so a study asks for
        it when it loads trials."""
        return False
