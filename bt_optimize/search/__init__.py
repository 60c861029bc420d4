"""Search algorithms behind one ask/tell interface."""

from .base import Search
from .grid import GRID_WARN_SIZE, GridSearch
from .random import RandomSearch

__all__ = ["Search", "GridSearch", "RandomSearch", "GRID_WARN_SIZE"]
