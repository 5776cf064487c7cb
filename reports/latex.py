"""LaTeX tables a researcher pastes without editing: booktabs, human headers with units (grouped
where columns share a quantity: untargeted / targeted success over white-box and transfer),
`\\small`, and scaled down to the text width only when wider than it (`\\benchfit`, defined by
every table file itself, guarded, so each file and `tables.tex` stay `\\input`-able with
booktabs and graphicx loaded).

Written by hand rather than with pandas' Styler: grouped headers with units and the fit-to-width
box are not what Styler emits."""
from __future__ import annotations

from typing import Sequence

import pandas as pd

from .format import best_mask, column_header, display_frame, header_groups

LATEX_SPECIAL = {"\\": r"\textbackslash{}", "_": r"\_", "%": r"\%", "&": r"\&", "#": r"\#", "$": r"\$",
                 "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\^{}",
                 "±": r"$\pm$"}


def latex_escape(text: str) -> str:
    """Plain text (model and attack names, paths) made safe for LaTeX."""
    return "".join(LATEX_SPECIAL.get(ch, ch) for ch in str(text))


FIT_MACRO = (
    "% \\benchfit{...}: the table as it is, or scaled down to \\linewidth when wider (needs graphicx)\n"
    "\\makeatletter\\@ifundefined{benchfitbox}{\\newsavebox{\\benchfitbox}}{}\\makeatother\n"
    "\\providecommand{\\benchfit}[1]{\\sbox{\\benchfitbox}{#1}\\ifdim\\wd\\benchfitbox>\\linewidth"
    "\\resizebox{\\linewidth}{!}{\\usebox{\\benchfitbox}}\\else\\usebox{\\benchfitbox}\\fi}\n")


def latex_header(text: str) -> str:
    """A plain-text header in LaTeX: escaped, with its symbols in math mode."""
    return latex_escape(text).replace("ε", r"$\varepsilon$").replace("L∞", r"$L_\infty$")


def _header_rows(columns: Sequence[str]) -> list[str]:
    """The group row with its rules (when any column has a group) and the header row."""
    runs = header_groups(columns)
    rows = []
    if any(group for group, _, _ in runs):
        cells = [f"\\multicolumn{{{j - i + 1}}}{{c}}{{{latex_header(group)}}}" if group else ""
                 for group, i, j in runs]
        rows.append(" & ".join(cells) + " \\\\")
        rows.append("".join(f"\\cmidrule(lr){{{i + 1}-{j + 1}}}" for group, i, j in runs if group))
    rows.append(" & ".join(latex_header(column_header(c)[1]) for c in columns) + " \\\\")
    return rows


def to_latex(df: pd.DataFrame, caption: str, label: str, index: bool = False,
             bold: Sequence[str] | str = ()) -> str:
    """A booktabs table with caption and label; text escaped for LaTeX; headers from `format.HEADERS`.

    `bold`: columns whose best (largest) value is set in bold, or "all" (see `best_mask`).
    """
    frame = df.reset_index() if index else df
    shown = display_frame(frame)
    best = best_mask(frame, bold)
    columns = list(shown.columns)
    lines = ["\\begin{table}[htbp]", "\\centering", f"\\caption{{{caption}}}", f"\\label{{{label}}}",
             "\\small\\setlength{\\tabcolsep}{4pt}",
             "\\benchfit{%",
             "\\begin{tabular}{" + "l" + "r" * (len(columns) - 1) + "}", "\\toprule"]
    head = _header_rows(columns)
    lines += head[:-1] + [head[-1], "\\midrule"]
    for i in range(len(shown)):
        cells = []
        for c in columns:
            text = latex_escape(shown[c].iloc[i])
            cells.append(f"\\textbf{{{text}}}" if best[c].iloc[i] and text else text)
        lines.append(" & ".join(cells) + " \\\\")
    lines += ["\\bottomrule", "\\end{tabular}}", "\\end{table}"]
    return FIT_MACRO + "\n".join(lines) + "\n"
