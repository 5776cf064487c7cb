"""report.pdf with one pdflatex pass against two, on a finished run folder: seconds each, and whether
the two PDFs are byte-identical (SOURCE_DATE_EPOCH pins pdflatex's dates and ID), which is what lets
`reports.document.compile_pdf` run once when the document has no cross-references.

    python benchmarks/pdf_passes.py reports/runs/latest --out benchmarks/results/pdf_passes_quickstart.json

Writes JSON; asserts nothing.
"""
from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from benchlib import write_result  # noqa: E402
from reports.document import document_source, latex_passes  # noqa: E402


def compile_passes(run: Path, passes: int) -> tuple[float, str]:
    """Seconds for `passes` pdflatex runs on a copy of `run`, and the PDF's sha256."""
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "run"
        shutil.copytree(run, copy, ignore=shutil.ignore_patterns("report.pdf", "cells", "artifacts"))
        env = {**os.environ, "SOURCE_DATE_EPOCH": "0", "FORCE_SOURCE_DATE": "1"}
        t0 = time.perf_counter()
        for _ in range(passes):
            subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "report.tex"], cwd=copy,
                           env=env, check=True, capture_output=True)
        seconds = time.perf_counter() - t0
        return seconds, hashlib.sha256((copy / "report.pdf").read_bytes()).hexdigest()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("run", help="a finished run folder (with report.tex and its plots)")
    p.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "pdf_passes.json"))
    a = p.parse_args()
    run = Path(a.run).resolve()
    one_s, one_hash = compile_passes(run, 1)
    two_s, two_hash = compile_passes(run, 2)
    write_result({
        "benchmark": "pdf_passes", "run": run.name, "cells": len(list((run / "cells").glob("*"))),
        "plots": len(list((run / "plots").glob("*.png"))),
        "passes_compile_pdf_runs": latex_passes(document_source(run, "report.tex")),
        "one_pass_seconds": round(one_s, 2), "two_passes_seconds": round(two_s, 2),
        "identical_pdf": one_hash == two_hash,
    }, a.out)


if __name__ == "__main__":
    main()
