"""Warnings that point at the user's line, not at a line inside bt_optimize (or backtrader, which calls it)."""

from __future__ import annotations

import os
import sys
import warnings

import backtrader as bt

__all__ = ["warn"]

_LIBRARY_DIRS = (os.path.dirname(os.path.abspath(__file__)) + os.sep,
                 os.path.dirname(os.path.abspath(bt.__file__)) + os.sep)


def _in_library(filename: str) -> bool:
    return os.path.abspath(filename).startswith(_LIBRARY_DIRS)


def warn(message: str, category: type[Warning] = UserWarning) -> None:
    """``warnings.warn`` attributed to the first frame outside bt_optimize and backtrader: the user's line.

    A warning raised while ``cerebro.run()`` runs one of our analyzers names the user's ``run()`` call, not a
    line of backtrader.
    """
    frame = sys._getframe(1)
    level = 2  # stacklevel 2 is the frame that called this function
    while frame is not None and frame.f_back is not None and _in_library(frame.f_code.co_filename):
        frame = frame.f_back
        level += 1
    warnings.warn(message, category, stacklevel=level)
