"""The quickstart on real Fashion-MNIST from a cold cache: the issue's acceptance numbers (minutes)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from bench import data

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def quickstart(tmp_path_factory):
    if not data._has_fashion_mnist(data.DEBIAN_FASHION_MNIST) and not os.environ.get("BENCH_DATA"):
        pytest.skip("Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)")
    work = tmp_path_factory.mktemp("quickstart")
    env = {**os.environ, "BENCH_CACHE": str(work / "cache"), "PYTHONPATH": str(ROOT), "BENCH_PDF": "1"}  # as a user
    proc = subprocess.run([sys.executable, "-m", "bench", "run"], cwd=work, env=env, capture_output=True,
                          text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return work, proc


def test_quickstart_meets_the_acceptance_numbers(quickstart):
    work, proc = quickstart
    run_dir = (work / "reports" / "runs" / "latest").resolve()
    df = pd.read_csv(run_dir / "results.csv")
    wb = df[df.whitebox & ~df.targeted].set_index(["attack", "source"]).fooling_rate
    for source in ("mini:resnet", "mini:densenet", "mini:vgg"):
        assert wb["pgd", source] >= 0.90, f"white-box PGD on {source}: {wb['pgd', source]:.3f}"
        assert wb["pgd", source] >= wb["fgsm", source]
    assert len(df) == 3 * 3 * 2 * 3 and (df.n == 1000).all()  # fgsm, pgd, vizpert x sources x modes x targets
    assert (df.linf_max <= 0.1 + 1e-6).all()
    manifest = json.loads((run_dir / "manifest.json").read_text())
    for card in manifest["zoo_cards"]:
        assert card["test_accuracy"] >= 0.88, card
    assert "## Summary" in proc.stdout


def test_quickstart_folder_holds_every_report(quickstart):
    """Issue 5's acceptance: heatmaps, curves, grids, tables.tex, report.tex (+ PDF when pdflatex is
    installed), summary.md and index.html after the plain quickstart."""
    import shutil

    work, _ = quickstart
    run_dir = (work / "reports" / "runs" / "latest").resolve()
    for name in ("tables.tex", "report.tex", "summary.md", "index.html", "timings.csv", "run.json"):
        assert (run_dir / name).stat().st_size > 0, name
    plots = {p.name for p in (run_dir / "plots").glob("*.png")}
    for name in ("heatmaps_all_eps0.1.png", "heatmap_vizpert_eps0.1_targeted.png", "curves_eps_linf.png",
                 "ssim_vs_fooling_linf.png", "examples_vizpert_linf_eps0.1_mini-resnet_targeted.png",
                 "classviz_vizpert_linf_eps0.1_mini-vgg.png"):
        assert name in plots, name
    if shutil.which("pdflatex"):
        assert (run_dir / "report.pdf").read_bytes()[:5] == b"%PDF-"
