"""Run every benchmark script in ``benchmarks/`` one after another, then rebuild ``docs/benchmarks.md``.

``make bench`` calls this. Each script writes its own fragment ``docs/benchmarks_<name>.md``; a script that fails
is reported and the others still run. Pass script names to run only those::

    python benchmarks/run_all.py walkforward_parallel grid_vs_optstrategy

This takes a long time (tens of minutes on two cores): the benchmarks measure side by side, with repeats.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SKIP = {"run_all", "collect_docs"}


def scripts(names: list[str]) -> list[Path]:
    """The benchmark scripts to run: the given names, or every ``benchmarks/*.py`` but this one and the collector.

    Raises:
        SystemExit: a given name has no script.
    """
    found = {p.stem: p for p in sorted(HERE.glob("*.py")) if p.stem not in SKIP and not p.stem.startswith("_")}
    if not names:
        return list(found.values())
    missing = [n for n in names if n.removesuffix(".py") not in found]
    if missing:
        raise SystemExit(f"no benchmark named {missing}; choose from {', '.join(found)}")
    return [found[n.removesuffix(".py")] for n in names]


def main(argv: list[str]) -> int:
    """Run the scripts, then the collector; the exit status is 1 when a script failed."""
    failed = []
    for path in scripts(argv):
        t0 = time.perf_counter()
        print(f"== {path.name}", flush=True)
        code = subprocess.call([sys.executable, str(path)], cwd=HERE.parent)
        print(f"== {path.name}: exit {code} after {time.perf_counter() - t0:.0f} s", flush=True)
        if code:
            failed.append(path.name)
    subprocess.check_call([sys.executable, str(HERE / "collect_docs.py")], cwd=HERE.parent)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
