"""One exception root for bt_optimize, with subclasses that also inherit the matching built-in."""

from __future__ import annotations


class BtOptimizeError(Exception):
    """Root of every error raised by bt_optimize."""


class OptionError(BtOptimizeError, ValueError):
    """An option of an entry point, analyzer, executor or search has a value it does not accept.

    The message names the option, the value given and what to give instead.
    """


class SpaceError(BtOptimizeError, ValueError):
    """A search space or a parameter value is invalid."""


class ObjectiveError(BtOptimizeError, ValueError):
    """An objective or constraint cannot be used."""


class DataError(BtOptimizeError, ValueError):
    """A data feed cannot be snapshotted, sliced or windowed."""


class StorageError(BtOptimizeError, RuntimeError):
    """A study cannot be stored, loaded or resumed."""


class StudyMismatchError(StorageError, ValueError):
    """A stored study with the same name was created with another strategy, space or objective."""


class PicklingError(BtOptimizeError, TypeError):
    """Something the workers need cannot be sent to another process."""


class AllTrialsFailedError(BtOptimizeError, RuntimeError):
    """Every trial of a study failed; the first error is in the message."""


class ConfigError(BtOptimizeError, ValueError):
    """A study file (``bt-optimize run study.toml``) is missing, malformed or names something that does not exist."""


class ClusterError(BtOptimizeError, ConnectionError):
    """A cluster executor cannot reach or use its cluster (the message says how to start or address it)."""


class ObjectiveReadError(ObjectiveError, AllTrialsFailedError):
    """The objective cannot be read from a run that traded (a typo in an analyzer path, say): the study stops there.

    Every trial that ran had failed with it, so it is also an :class:`AllTrialsFailedError`.
    """
