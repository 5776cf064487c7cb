"""Benchmark: drawing a run's image grids (`reports.plots.write_plots`: class visualizations, fitted
deltas, clean/perturbation/adversarial examples) with the current code against `reports/plots.py` as it
was at --baseline (read with `git show`), side by side on the same run folder, interleaved.

    .venv/bin/python benchmarks/plot_speed.py --run reports/runs/latest --baseline 258af3d

Writes JSON; nothing here is asserted (timings are noisy: compare the ratio measured in one run).
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchlib import interleaved_medians, write_result  # noqa: E402
from reports import plots  # noqa: E402


def baseline_module(rev: str, where: Path):
    """`reports/plots.py` at git revision `rev`, imported as a module of its own."""
    path = where / "plots_baseline.py"
    path.write_text(subprocess.run(["git", "show", f"{rev}:reports/plots.py"], cwd=ROOT, check=True,
                                   capture_output=True, text=True).stdout)
    spec = importlib.util.spec_from_file_location("plots_baseline", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--run", required=True, help="a run folder with artifacts/ (e.g. reports/runs/latest)")
    p.add_argument("--baseline", required=True, help="git revision whose reports/plots.py is the baseline")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "plot_speed.json"))
    a = p.parse_args()
    src = Path(a.run).resolve()
    manifest = json.loads((src / "manifest.json").read_text())
    names = manifest.get("dataset", {}).get("classes", [])
    with tempfile.TemporaryDirectory() as tmp:
        old = baseline_module(a.baseline, Path(tmp))
        runs, figures = {}, {}
        for tag, module in (("current", plots), ("baseline", old)):
            work = Path(tmp) / tag
            shutil.copytree(src / "artifacts", work / "artifacts")

            def draw(module=module, work=work, tag=tag) -> None:
                shutil.rmtree(work / "plots", ignore_errors=True)
                figures[tag] = len(module.write_plots(work, names))
            runs[tag] = draw
        med = interleaved_medians(runs, a.repeats)
    write_result({
        "benchmark": "plot_speed", "run": a.run, "run_command": manifest.get("command"),
        "run_cells": manifest.get("cells", {}).get("computed"), "baseline": a.baseline, "figures": figures["current"],
        "repeats": a.repeats, "cpus": os.cpu_count(),
        "seconds": {k: round(v, 2) for k, v in med.items()},
        "baseline_over_current": round(med["baseline"] / med["current"], 2),
    }, a.out)


if __name__ == "__main__":
    main()
