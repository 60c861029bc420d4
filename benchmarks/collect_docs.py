"""Assemble docs/benchmarks.md from the fragments each benchmark script writes (docs/benchmarks_*.md).

Run after the benchmarks: ``python benchmarks/collect_docs.py``.
"""

from __future__ import annotations

from pathlib import Path

DOCS = Path(__file__).resolve().parents[1] / "docs"
ORDER = ["grid", "search", "suite", "bayes", "genetic", "importance", "pareto", "montecarlo", "noise",
         "walkforward", "overfitting", "overfitting_survey",
         "overfitting_neff", "ray"]

HEADER = """# Benchmarks

Measured on this project's 2-core machine, shared with other work: every comparison is run side by side in
one process run (alternating where it matters), and reported as a ratio. Absolute seconds are given only as
context. Each section below is written by the script named in it; `python benchmarks/collect_docs.py`
rebuilds this page from those sections.
"""


def main() -> None:
    """Concatenate the fragments in a fixed order (unknown fragments last, alphabetically)."""
    frags = {p.stem.removeprefix("benchmarks_"): p for p in DOCS.glob("benchmarks_*.md")}
    names = [n for n in ORDER if n in frags] + sorted(n for n in frags if n not in ORDER)
    parts = [HEADER]
    for name in names:
        text = frags[name].read_text().strip()
        if text.startswith("# "):
            text = "#" + text  # demote each fragment's title one level
        parts.append(text)
    (DOCS / "benchmarks.md").write_text("\n\n".join(parts) + "\n")
    print(f"wrote {DOCS / 'benchmarks.md'} from {len(names)} fragments: {', '.join(names)}")


if __name__ == "__main__":
    main()
