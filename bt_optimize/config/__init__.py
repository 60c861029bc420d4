"""A study described by a TOML file: what ``bt-optimize run study.toml`` reads (layout in ``docs/cli.md``).

- :mod:`.load`: :func:`load_config` reads and checks the whole file before anything runs; every error is a
  :class:`~bt_optimize.exceptions.ConfigError` that names the file, the key and the fix.
- :mod:`.run`: :func:`build_cerebro` turns the checked file into a :class:`bt_optimize.Cerebro` (data, broker,
  sizer, analyzers); :func:`run_study` runs the search (resuming a stored study of the same name), the optional
  robustness checks on the best params and writes the report; :func:`open_stored_study` opens a stored study.
"""

from .load import METHODS, StudyConfig, load_config
from .run import build_cerebro, open_stored_study, run_study

__all__ = ["StudyConfig", "load_config", "build_cerebro", "run_study", "open_stored_study", "METHODS"]
