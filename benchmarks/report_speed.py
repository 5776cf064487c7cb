"""How long `bench report RUN` takes, this tree against a git revision (`--baseline`, checked out in a
temporary worktree), interleaved, and whether both write the same tables.

`bench report` re-renders a finished run from its store: the statistics (Wilson intervals, paired
bootstrap means), the CSV, LaTeX and Markdown tables and, with `--formats all`, the plots, the page and
the PDF. Each tree writes into its own copy of the run folder.

    .venv/bin/python benchmarks/report_speed.py reports/runs/latest --baseline 207c276
    .venv/bin/python benchmarks/report_speed.py RUN --baseline 207c276 --formats all --repeats 3

Writes JSON (benchmarks/results/report_speed.json); asserts nothing.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchlib import baseline_tree, interleaved_medians, write_result

ROOT = Path(__file__).resolve().parents[1]
COMPARED = ("*.csv", "*.tex", "summary.md")  # what both trees must write byte for byte


def report(tree: Path, run: Path, formats: str) -> None:
    """`python -m bench report RUN --format FORMATS` with `tree` first on the path, run from the run's
    parent folder (`python -m` puts the working folder first: this checkout would shadow the baseline)."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    subprocess.run([sys.executable, "-m", "bench", "--quiet", "report", str(run), "--format", formats], env=env,
                   cwd=run.parent, check=True, capture_output=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("run", help="a finished run folder (made by `bench run`)")
    p.add_argument("--baseline", required=True, help="git revision to compare with")
    p.add_argument("--formats", default="csv,latex,markdown", help="what to render (`all` for everything)")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "report_speed.json"))
    a = p.parse_args()
    source = Path(a.run).resolve()
    with tempfile.TemporaryDirectory() as tmp:
        with baseline_tree(ROOT, a.baseline, Path(tmp) / "baseline") as old:
            runs = {}
            for tag, tree in (("current", ROOT), ("baseline", old)):
                folder = Path(tmp) / tag / source.name
                shutil.copytree(source, folder, symlinks=True)
                runs[tag] = lambda tree=tree, folder=folder: report(tree, folder, a.formats)
            med = interleaved_medians(runs, a.repeats)
            same, changed = {}, {}
            for pattern in COMPARED:
                for f in sorted((Path(tmp) / "current" / source.name).glob(pattern)):
                    twin = Path(tmp) / "baseline" / source.name / f.name
                    same[f.name] = twin.is_file() and twin.read_bytes() == f.read_bytes()
                    if twin.is_file() and not same[f.name]:  # the lines that differ, for the reader
                        new, old_lines = f.read_text().splitlines(), twin.read_text().splitlines()
                        changed[f.name] = [f"{o} -> {n}" for o, n in zip(old_lines, new) if o != n][:5]
    sys.path.insert(0, str(ROOT))
    from reports.stats import BOOTSTRAP_DRAWS, bootstrap_weights

    draw_seconds = {}  # one resampling draw, what each bootstrap mean paid before the weights were shared
    for n in (1000, 5000):
        t0 = time.perf_counter()
        bootstrap_weights.__wrapped__(n, BOOTSTRAP_DRAWS, 0)
        draw_seconds[str(n)] = round(time.perf_counter() - t0, 3)
    write_result({
        "benchmark": "report_speed", "run": source.name, "baseline": a.baseline, "formats": a.formats,
        "repeats": a.repeats, "cpus": os.cpu_count(),
        "seconds": {k: round(v, 2) for k, v in med.items()},
        "baseline_over_current": round(med["baseline"] / med["current"], 2),
        "identical_outputs": all(same.values()) and bool(same), "compared_files": len(same),
        "different_lines": changed,
        "bootstrap_draw_seconds_by_images": draw_seconds,
    }, a.out)


if __name__ == "__main__":
    main()
