"""What a researcher reads: heatmaps, curves, grids, tables.tex / report.tex (compiled by pdflatex),
summary.md, a self-contained index.html, `bench report` (regeneration, formats, comparison)."""
from __future__ import annotations

import html
import html.parser
import os
import re
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from bench.cli import main
from common.report_formats import parse_formats

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory, zoo_cache) -> Path:
    out = tmp_path_factory.mktemp("runs")
    code = main(["run", "--dataset", "synthetic", "--models", "mini:resnet,mini:vgg", "--attacks", "fgsm,pgd",
                 "--eps", "0.05,0.1", "--n", "60", "--cache-dir", str(zoo_cache), "--output", str(out),
                 "--run-id", "r", "--format", "all"])  # every format, report.tex compiled, as a user's run
    assert code == 0
    return out / "r"


def test_figures_exist_and_are_real_pngs(run_dir):
    plots = run_dir / "plots"
    expected = ["heatmaps_all_eps0.05.png", "heatmaps_all_eps0.1_targeted.png", "heatmap_pgd_eps0.1.png",
                "heatmap_fgsm_eps0.05_targeted.png", "curves_eps_linf.png", "ssim_vs_fooling_linf.png",
                "examples_pgd_linf_eps0.1_mini-vgg_targeted.png"]
    for name in expected:
        assert (plots / name).is_file(), name
    for p in plots.glob("*.png"):
        data = p.read_bytes()
        assert data[:8] == PNG and len(data) > 5000, p.name


def test_latex_tables_bold_the_best_value_and_carry_captions(run_dir):
    tables = (run_dir / "tables.tex").read_text()
    assert tables.count(r"\begin{table}") == tables.count(r"\end{table}") >= 2 + 2 * 2 * 2
    assert tables.count(r"\caption{") == tables.count(r"\label{") == tables.count(r"\begin{table}")
    assert r"\toprule" in tables and r"\textbf{" in tables
    summary = (run_dir / "summary.csv").read_text()
    frame = pd.read_csv(run_dir / "summary.csv")
    best = frame.loc[frame.success_whitebox.idxmax()]
    half = (best.success_whitebox_hi - best.success_whitebox_lo) / 2
    assert f"\\textbf{{{best.success_whitebox:.1f} $\\pm$ {half:.1f}}}" in (run_dir / "summary.tex").read_text(), summary
    report = (run_dir / "report.tex").read_text()
    assert r"\input{tables.tex}" in report and r"\includegraphics" in report
    for ref in re.findall(r"\\includegraphics\[[^]]*\]\{([^}]*)\}", report):
        assert (run_dir / ref).is_file(), ref


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex not installed (.ci/run installs texlive)")
def test_report_tex_compiles_with_pdflatex(run_dir, tmp_path):
    work = tmp_path / "doc"
    shutil.copytree(run_dir, work, ignore=shutil.ignore_patterns("report.pdf", "cells", "artifacts"))
    proc = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "report.tex"], cwd=work,
                          capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, [ln for ln in proc.stdout.splitlines() if ln.startswith("!")]
    assert (work / "report.pdf").read_bytes()[:5] == b"%PDF-"
    overfull = [ln for ln in (work / "report.log").read_text(errors="replace").splitlines() if "Overfull \\hbox" in ln]
    assert not overfull, overfull  # several attacks and eps values: every table fits the text width
    assert (run_dir / "report.pdf").is_file()  # `bench run` compiled it too


def test_the_report_needs_one_pdflatex_pass_and_a_cross_reference_makes_two(run_dir, tmp_path, monkeypatch):
    """The report (tables.tex \\input included) reads nothing back from its .aux, so compile_pdf runs
    pdflatex once (the second pass gave a byte-identical PDF, benchmarks/pdf_passes.py); a \\ref in an
    input file makes it two."""
    from reports import document

    work = tmp_path / "doc"
    shutil.copytree(run_dir, work, ignore=shutil.ignore_patterns("report.pdf", "cells", "artifacts"))
    calls = []
    monkeypatch.setattr(document.shutil, "which", lambda exe: "/usr/bin/pdflatex")
    monkeypatch.setattr(document.subprocess, "run",
                        lambda *a, **k: calls.append(a) or subprocess.CompletedProcess(a, 0, "", ""))
    document.compile_pdf(work)
    assert len(calls) == 1
    (work / "tables.tex").write_text((work / "tables.tex").read_text() + "\nsee Table~\\ref{tab:x}\n")
    calls.clear()
    document.compile_pdf(work)
    assert len(calls) == 2


class _Refs(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.refs, self.tags = [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        for k, v in attrs:
            if k in ("src", "href"):
                self.refs.append(v)


def test_index_html_is_self_contained_and_every_reference_resolves(run_dir):
    from urllib.parse import unquote

    page = (run_dir / "index.html").read_text()
    parser = _Refs()
    parser.feed(page)
    assert "script" not in parser.tags and "<table>" in page
    imgs = [r for r in parser.refs if r.endswith(".png")]
    assert len(imgs) >= 10
    for ref in parser.refs:
        assert not re.match(r"^[a-z]+://", ref) and not ref.startswith("/"), ref  # no network, relative
        assert (run_dir / unquote(ref)).exists(), ref
    assert "Summary (rates in %)" in page and "mini:vgg" in page


def test_summary_md_is_github_markdown(run_dir):
    md = (run_dir / "summary.md").read_text()
    assert "## Summary (rates in %)" in md
    assert re.search(r"^\|[-:| ]+\|$", md, re.M)  # a GFM header separator row


def test_bench_report_regenerates_identical_tables_and_honours_format(run_dir, tmp_path, capsys):
    work = tmp_path / run_dir.name  # same folder name: report.tex carries it in its title
    shutil.copytree(run_dir, work)
    before = {p.name: p.read_bytes() for p in work.iterdir() if p.suffix in (".csv", ".tex", ".md")}
    for p in work.iterdir():
        if p.is_file() and p.suffix in (".csv", ".tex", ".md", ".html", ".pdf"):
            p.unlink()
    shutil.rmtree(work / "plots")
    assert main(["report", str(work), "--format", "csv"]) == 0
    assert (work / "results.csv").is_file() and not (work / "tables.tex").exists()
    assert not (work / "plots").exists() and not (work / "index.html").exists()
    assert main(["report", str(work)]) == 0
    after = {name: (work / name).read_bytes() for name in before}
    assert after == before
    assert (work / "index.html").is_file() and (work / "plots" / "curves_eps_linf.png").is_file()
    (work / "report.tex").unlink()
    (work / "tables.tex").unlink()
    assert main(["report", str(work), "--format", "pdf"]) == 0  # the PDF brings the LaTeX it is compiled from
    assert (work / "report.tex").is_file() and (work / "tables.tex").is_file()
    capsys.readouterr()
    assert main(["report", str(work), "--format", "csv,pfd"]) == 2
    assert "unknown report format 'pfd' (did you mean 'pdf'?)" in capsys.readouterr().err


def test_bench_run_writes_the_formats_it_is_given(zoo_cache, tmp_path, capsys, monkeypatch):
    """`bench run --format` (and $BENCH_FORMAT when it is not given) chooses what the run folder holds;
    a bad format, on the command line or in the environment, is one line before anything is computed."""
    grid = ["run", "--dataset", "synthetic", "--models", "mini:vgg", "--attacks", "fgsm", "--eps", "0.1", "--n",
            "20", "--mode", "untargeted", "--cache-dir", str(zoo_cache), "--output", str(tmp_path)]
    assert main(grid + ["--run-id", "a", "--format", "csv,plots"]) == 0
    a = tmp_path / "a"
    assert (a / "results.csv").is_file() and (a / "plots" / "examples_fgsm_linf_eps0.1_mini-vgg_untargeted.png").is_file()
    assert not [p.name for p in a.iterdir() if p.suffix in (".tex", ".md", ".html", ".pdf")]
    monkeypatch.setenv("BENCH_FORMAT", "markdown")
    assert main(grid + ["--run-id", "b"]) == 0
    assert (tmp_path / "b" / "summary.md").is_file() and not (tmp_path / "b" / "results.csv").exists()
    capsys.readouterr()
    assert main(grid + ["--run-id", "c", "--format", "html,pfd"]) == 2
    assert capsys.readouterr().err.strip() == ("error: unknown report format 'pfd' (did you mean 'pdf'?); "
                                               "choose from all, csv, latex, markdown, plots, html, pdf")
    monkeypatch.setenv("BENCH_FORMAT", "csv,plot")
    assert main(grid + ["--run-id", "c"]) == 2
    assert "unknown report format 'plot' (did you mean 'plots'?) in $BENCH_FORMAT" in capsys.readouterr().err
    assert not (tmp_path / "c").exists()
    with pytest.raises(ValueError, match=r"^unknown report format 'xls'; choose from"):  # no far-fetched guess
        parse_formats("xls")
    # a file suffix names its format, any case, and a format named twice is written once
    assert parse_formats("MD, tex,png,markdown,htm") == ("markdown", "latex", "plots", "html")
    assert parse_formats(" ALL ") == parse_formats(None)


def test_a_reader_that_leaves_the_pipe_early_is_no_traceback(run_dir):
    """`bench report RUN | head -1`: the summary's reader has gone before it is written."""
    import sys

    proc = subprocess.Popen([sys.executable, "-m", "bench", "report", str(run_dir), "--format", "csv"],
                            cwd=run_dir.parents[1], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])})
    proc.stdout.close()
    err = proc.stderr.read()
    assert proc.wait(timeout=300) == 141 and err == "", err[-1500:]


def test_bench_report_compares_two_runs(run_dir, zoo_cache, tmp_path, capsys):
    out = tmp_path / "runs"
    assert main(["run", "--dataset", "synthetic", "--models", "mini:resnet,mini:vgg", "--attacks", "pgd",
                 "--eps", "0.1", "--n", "60", "--seed", "0", "--cache-dir", str(zoo_cache), "--output", str(out),
                 "--run-id", "b", "--mode", "untargeted"]) == 0
    capsys.readouterr()
    assert main(["report", str(run_dir), str(out / "b"), "--output", str(tmp_path / "cmp")]) == 0
    text = capsys.readouterr().out
    assert "4 shared rows" in text
    cells = pd.read_csv(tmp_path / "cmp" / "compare.csv")
    assert len(cells) == 4 and set(cells.attack) == {"pgd"}
    assert (cells.fooling_rate_diff == cells.fooling_rate_b - cells.fooling_rate_a).all()
    assert (cells.fooling_rate_diff.abs() < 1e-12).all()  # same seed, same cells: identical
    assert (cells["diff"] == 0).all() and (cells.p_value == 1.0).all() and not cells.significant.any()
    assert (cells.only_a == 0).all() and (cells.only_b == 0).all()  # the McNemar counts, kept in the file
    assert "n.s." in text and "McNemar" in text


def _browser() -> str | None:
    return next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)), None)


@pytest.mark.slow
@pytest.mark.skipif(_browser() is None, reason="no headless Chromium (Debian: apt-get install chromium; .ci/run does)")
def test_the_page_renders_in_a_real_browser(run_dir, tmp_path):
    """index.html as a reader sees it: headless Chromium draws a page that is not blank, and every
    image on it loads (a probe copy of the page records each image's size after loading)."""
    import json

    from PIL import Image, ImageStat

    exe = _browser()
    flags = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars"]
    png = tmp_path / "page.png"
    subprocess.run(flags + ["--window-size=1280,2000", f"--screenshot={png}", (run_dir / "index.html").as_uri()],
                   capture_output=True, timeout=180, check=True)
    gray = Image.open(png).convert("L")
    assert gray.size == (1280, 2000) and ImageStat.Stat(gray).stddev[0] > 20  # text, tables, figures: not blank
    assert sum(1 for count in gray.histogram() if count) > 50  # many grey levels, not a flat page

    page = (run_dir / "index.html").read_text()
    probe = page.replace('loading="lazy"', 'loading="eager"').replace("</body>", (
        "<script>addEventListener('load', () => document.body.setAttribute('data-probe', JSON.stringify("
        "[...document.images].map(i => [i.getAttribute('src'), i.naturalWidth]))));</script></body>"))
    (run_dir / ".probe.html").write_text(probe)
    try:
        dom = subprocess.run(flags + ["--virtual-time-budget=20000", "--dump-dom", (run_dir / ".probe.html").as_uri()],
                             capture_output=True, text=True, timeout=180, check=True).stdout
    finally:
        (run_dir / ".probe.html").unlink()
    found = re.search(r'data-probe="([^"]*)"', dom)
    assert found, dom[:500]
    images = json.loads(html.unescape(found.group(1)))
    assert len(images) == page.count("<img ") > 10
    assert not [src for src, width in images if width == 0], "images that did not load"


def test_bench_report_compares_two_attacks_of_one_run(run_dir, tmp_path, capsys):
    """PGD against FGSM on the same images: per cell B - A with its interval and a McNemar p; the
    rows match the stored rates; a typo gets a one-line error naming the run's attacks."""
    assert main(["report", str(run_dir), "--compare", "fgsm,pgd", "--output", str(tmp_path / "c")]) == 0
    text = capsys.readouterr().out
    cells = pd.read_csv(tmp_path / "c" / "compare.csv")
    assert len(cells) == 2 * 2 * 2 * 2  # eps x mode x source x target
    assert ((cells["diff"] - (cells.rate_b - cells.rate_a)).abs() < 1e-12).all()
    assert ((cells.p_value > 0) & (cells.p_value <= 1)).all() and (cells.diff_lo <= cells["diff"]).all()
    assert "pgd (B) vs fgsm (A)" in text and "McNemar" in text
    assert "Over seeds" not in text and not (tmp_path / "c" / "compare_seeds.csv").exists()  # one seed
    assert main(["report", str(run_dir), "--compare", "fgsm,pgd"]) == 0  # default folder: in the run
    assert (run_dir / "compare_fgsm_vs_pgd" / "compare.csv").is_file()
    shutil.rmtree(run_dir / "compare_fgsm_vs_pgd")  # the run folder is shared with other tests
    capsys.readouterr()
    assert main(["report", str(run_dir), "--compare", "fgsm,pdg"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "did you mean 'pgd'" in err


def test_file_names_from_labels_are_portable():
    """Attack labels become file-name parts without `:` or brackets (the compare folder of
    `torchattacks:MIFGSM[alpha=0.01]` had both), as the tables' and plots' names always did."""
    from common.text import file_slug

    assert file_slug("torchattacks:MIFGSM[alpha=0.01]") == "torchattacks-MIFGSM-alpha-0.01"
    assert file_slug("pgd[alpha=2/255,steps=20]") == "pgd-alpha-2-255-steps-20"
    assert file_slug("mini:resnet+jpeg75") == "mini-resnet-jpeg75"


def test_results_csv_has_intervals_and_the_store_has_outcomes(run_dir):
    import json

    from reports.stats import wilson

    df = pd.read_csv(run_dir / "results.csv")
    assert "outcomes" not in df.columns and {"robust_acc", "robust_acc_lo", "seed", "n_changed"} <= set(df.columns)
    lo, hi = wilson((df.fooling_rate * df.n).round(), df.n)
    assert (abs(df.fooling_rate_lo - lo) < 1e-9).all() and (abs(df.fooling_rate_hi - hi) < 1e-9).all()
    assert ((df.success_on_correct_lo <= df.success_on_correct) & (df.success_on_correct <= df.success_on_correct_hi)).all()
    record = json.loads(next((run_dir / "cells").glob("*.json")).read_text())
    assert set(record["rows"][0]["outcomes"]) >= {"clean_correct", "adv_correct", "fooled"}
    summary = (run_dir / "summary.md").read_text()
    assert " ± " in summary and "success on the images the target classified correctly" in summary


def test_compare_with_several_seeds_adds_the_verdict_over_seeds(zoo_cache, tmp_path, capsys):
    """Two seeds of a run: `--compare` keeps its per-seed cells and adds one row per cell over the
    seeds (compare_seeds.csv and a section of compare.md), whose mean is the per-seed mean."""
    out = tmp_path / "runs"
    assert main(["run", "--dataset", "synthetic", "--models", "mini:resnet", "--attacks", "fgsm,pgd",
                 "--eps", "0.05", "--n", "60", "--seeds", "0,1", "--mode", "untargeted", "--cache-dir", str(zoo_cache),
                 "--output", str(out), "--run-id", "s"]) == 0
    capsys.readouterr()
    assert main(["report", str(out / "s"), "--compare", "fgsm,pgd", "--output", str(tmp_path / "c")]) == 0
    text = capsys.readouterr().out
    cells = pd.read_csv(tmp_path / "c" / "compare.csv")
    seeds = pd.read_csv(tmp_path / "c" / "compare_seeds.csv")
    assert len(cells) == 2 and sorted(cells.seed) == [0, 1] and len(seeds) == 1
    assert seeds["diff"].iloc[0] == pytest.approx(cells["diff"].mean()) and seeds.seeds.iloc[0] == 2
    assert seeds.seeds_b_ahead.iloc[0] + seeds.seeds_a_ahead.iloc[0] + seeds.seeds_ns.iloc[0] == 2
    assert "## Over seeds: 1 cells" in text and "Student t" in (tmp_path / "c" / "compare.md").read_text()
