"""The former home of :class:`RayExecutor`, kept so that existing imports work.

The executor now lives in :mod:`bt_optimize.engine.executors.ray`. This name is that same module object (not a
copy), so setting :data:`~bt_optimize.engine.executors.ray.IDLE_TIMEOUT_S` through either name has one effect.
"""

import sys

from .executors import ray as _ray

sys.modules[__name__] = _ray
