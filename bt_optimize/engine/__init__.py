"""The engine: trial specs -> backtests in workers -> :class:`~bt_optimize.trial.TrialResult` records."""

from .data import ArrayFeed, FeedSnapshot, build_feed, slice_feeds, snapshot_feeds
from .executors import Executor, ProcessExecutor, SerialExecutor, make_executor
from .worker import Payload, Runtime, TrialSpec, make_template, pack_template

__all__ = [
    "ArrayFeed", "FeedSnapshot", "build_feed", "slice_feeds", "snapshot_feeds",
    "Executor", "ProcessExecutor", "SerialExecutor", "make_executor",
    "Payload", "Runtime", "TrialSpec", "make_template", "pack_template",
]
