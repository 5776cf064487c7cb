"""`report.tex`: a standalone LaTeX document that \\input's `tables.tex` and includes the figures,
and its compilation with pdflatex when pdflatex is installed (Debian: texlive-latex-recommended)."""
from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Sequence

from PIL import Image

from .latex import latex_escape
from .plots import DPI

PREAMBLE = r"""\documentclass[10pt]{article}
\usepackage[margin=2cm]{geometry}
\usepackage{booktabs}
\usepackage{graphicx}
\extrafloats{200}
\title{vizpert-bench run %(run)s}
\date{}
\begin{document}
\maketitle
"""


TEXT_WIDTH_IN = 8.5 - 2 * 2 / 2.54  # letter paper (article's default) less the 2 cm margins of PREAMBLE


def _natural_width_in(path: Path) -> float:
    """The width in inches a figure was drawn at (its pixels over the dpi its PNG records, else `DPI`)."""
    with Image.open(path) as im:
        dpi = im.info.get("dpi", (DPI, DPI))[0] or DPI
        return im.size[0] / float(dpi)


def _figure(path: Path, run_dir: Path, caption: str, share: float = 1.0) -> str:
    """A figure at the size it was drawn, at most `share` of the text width: a one-panel grid 1.3 inches wide
    once filled the page, its 8-point title printed at 40 points."""
    rel = path.relative_to(run_dir).as_posix()
    width = f"{min(_natural_width_in(path), share * TEXT_WIDTH_IN):.2f}in"
    return (f"\\begin{{figure}}[htbp]\n\\centering\n\\includegraphics[width={width},height=0.8\\textheight,keepaspectratio]{{{rel}}}\n"
            f"\\caption{{{latex_escape(caption)}}}\n\\end{{figure}}\n")


def _breakable(text: str) -> str:
    """Escaped text whose long paths and option names may break after / and - (a cache path in the
    run facts otherwise runs into the margin)."""
    return latex_escape(text).replace("/", "/\\allowbreak{}").replace("-", "-\\allowbreak{}")


def _plots(run_dir: Path, prefix: str) -> list[Path]:
    return sorted((run_dir / "plots").glob(f"{prefix}*.png"))


FIGURES_PER_FLUSH = 6  # a \\clearpage after every 6 figures: with dozens of figures pdflatex otherwise
                      # piles up floats until it gives up ("Output loop---100 consecutive dead cycles")


def report_tex(run_dir: Path, facts: Sequence[str] = (), warnings: Sequence[str] = (),
               notes: Sequence[str] = ()) -> str:
    """The document text: run facts, sanity warnings, notes on what the grid cannot show, all
    tables, heatmaps, curves, grids."""
    parts = [PREAMBLE % {"run": latex_escape(run_dir.name)}]
    figures = 0

    def figure(path: Path, caption: str, share: float = 1.0) -> None:
        nonlocal figures
        parts.append(_figure(path, run_dir, caption, share))
        figures += 1
        if figures % FIGURES_PER_FLUSH == 0:
            parts.append("\\clearpage\n")

    if facts:
        parts.append("\\section*{Run}\n{\\sloppy\\begin{itemize}\n" + "".join(f"\\item {_breakable(f)}\n" for f in facts)
                     + "\\end{itemize}}\n")
    if warnings:
        parts.append("\\section*{Sanity warnings}\n\\begin{itemize}\n"
                     + "".join(f"\\item {latex_escape(w)}\n" for w in warnings) + "\\end{itemize}\n")
    for note in notes:
        parts.append(f"\\paragraph{{Note.}} {_breakable(note)}\n")
    parts.append("\\section{Tables}\n\\input{tables.tex}\n\\clearpage\n\\section{Figures}\n")
    for path in _plots(run_dir, "heatmaps_all_"):
        figure(path, "Transfer matrices of every attack (rows: source attacked white-box, "
                     "outlined diagonal; columns: target), one colour scale 0-100%.")
    for path in _plots(run_dir, "curves_eps_") + _plots(run_dir, "ssim_vs_fooling_"):
        what = "Rates against eps" if path.name.startswith("curves") else "White-box success against SSIM"
        figure(path, f"{what} ({path.stem.rsplit('_', 1)[-1]}).", 0.85)
    parts.append("\\clearpage\n")
    for path in _plots(run_dir, "classviz_"):
        figure(path, f"Class visualizations: {path.stem}.", 0.9)
    for path in _plots(run_dir, "deltas_"):
        figure(path, f"Fitted universal perturbations: {path.stem}.", 0.9)
    for path in _plots(run_dir, "examples_"):
        figure(path, f"Examples {path.stem[len('examples_'):]}: clean, perturbation (amplified for display), "
                     "adversarial, with predicted classes.", 0.9)
    parts.append("\\end{document}\n")
    return "".join(parts)


CROSS_REFERENCES = re.compile(r"\\(?:ref|pageref|eqref|autoref|cref|Cref|cite|tableofcontents|listoffigures"
                              r"|listoftables)\b")
INPUTS = re.compile(r"\\(?:input|include)\{([^}]+)\}")


def document_source(run_dir: Path, tex: str) -> str:
    """The text of `tex` and of the files it \\input's (one level: the report inputs its tables)."""
    main = (run_dir / tex).read_text()
    parts = [main]
    for name in INPUTS.findall(main):
        path = run_dir / (name if name.endswith(".tex") else f"{name}.tex")
        parts.append(path.read_text() if path.is_file() else "")
    return "\n".join(parts)


def latex_passes(source: str) -> int:
    """pdflatex runs a document needs: two when it reads back what a run wrote to its .aux (references,
    citations, contents), else one (the report has only tables and figures: a second run cost as much
    as the first and changed nothing)."""
    return 2 if CROSS_REFERENCES.search(source) else 1


def compile_pdf(run_dir: Path, tex: str = "report.tex", timeout: float = 120) -> tuple[Path | None, str]:
    """Run pdflatex in `run_dir`, twice if the document has cross-references; (pdf path or None,
    one-line status). Aux files are removed; the log is kept when compilation fails."""
    exe = shutil.which("pdflatex")
    if exe is None:
        return None, "pdflatex not found (Debian: apt-get install texlive-latex-recommended); report.tex not compiled"
    stem = Path(tex).stem
    for _ in range(latex_passes(document_source(run_dir, tex))):
        try:
            proc = subprocess.run([exe, "-interaction=nonstopmode", "-halt-on-error", tex], cwd=run_dir,
                                  capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return None, f"pdflatex took longer than {timeout:.0f} s on {run_dir / tex}"
        if proc.returncode != 0:
            errors = [ln for ln in proc.stdout.splitlines() if ln.startswith("!")]
            return None, f"pdflatex failed on {run_dir / tex}: {errors[0] if errors else 'see ' + stem + '.log'}"
    for ext in (".aux", ".log", ".out"):
        (run_dir / f"{stem}{ext}").unlink(missing_ok=True)
    return run_dir / f"{stem}.pdf", f"compiled {run_dir / (stem + '.pdf')}"
