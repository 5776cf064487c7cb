"""`index.html`: one self-contained page per run (inline CSS, tables, figures by relative links,
no scripts, no network fetches)."""
from __future__ import annotations

import html
from pathlib import Path
from typing import Sequence
from urllib.parse import quote

import pandas as pd

from .format import best_mask, column_header, display_frame, header_groups

CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2em auto; max-width: 1200px;
       padding: 0 1em; color: #222; }
h1 { font-size: 1.6em; } h2 { border-bottom: 1px solid #ddd; padding-bottom: .2em; margin-top: 2em; }
table { border-collapse: collapse; margin: 1em 0; font-size: .9em; }
th, td { padding: .3em .7em; border-bottom: 1px solid #e4e4e4; text-align: right; }
th:first-child, td:first-child { text-align: left; }
thead tr:last-child th { border-bottom: 2px solid #444; }
th.group { text-align: center; border-bottom: 1px solid #888; font-weight: 600; }
td.best { font-weight: bold; }
figure { margin: 1em 0; } figure img { max-width: 100%; border: 1px solid #eee; }
figcaption { font-size: .85em; color: #555; }
.warn { background: #fff4e5; border-left: 4px solid #f0a020; padding: .5em 1em; }
.grid { display: flex; flex-wrap: wrap; gap: 1em; } .grid figure { flex: 1 1 45%; }
.wide figure { flex: 1 1 100%; }
.note { background: #eef4fb; border-left: 4px solid #4a7fc1; padding: .5em 1em; }
code { background: #f4f4f4; padding: 0 .2em; }
"""


BEST_TD = '<td class="best">'


def table_html(df: pd.DataFrame, bold: Sequence[str] | str = ()) -> str:
    """An HTML table with the reports' headers (grouped where columns share a quantity) and numbers
    formatted as in the Markdown summary; the best value of the `bold` columns is marked."""
    shown = display_frame(df)
    best = best_mask(df, bold)
    columns = list(shown.columns)
    runs = header_groups(columns)
    head = ""
    if any(group for group, _, _ in runs):
        head = "<tr>" + "".join(f'<th colspan="{j - i + 1}" class="group">{html.escape(group)}</th>' if group
                                else "<th></th>" for group, i, j in runs) + "</tr>"
    head += "<tr>" + "".join(f"<th>{html.escape(column_header(c)[1])}</th>" for c in columns) + "</tr>"
    rows = []
    for i in range(len(shown)):
        cells = [(BEST_TD if best[c].iloc[i] else "<td>") + html.escape(str(shown[c].iloc[i])) + "</td>"
                 for c in columns]
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead>{head}</thead><tbody>{''.join(rows)}</tbody></table>\n"


def _img(path: Path, run_dir: Path, caption: str) -> str:
    rel = quote(path.relative_to(run_dir).as_posix())
    cap = html.escape(caption)
    return f'<figure><img src="{rel}" alt="{cap}" loading="lazy"><figcaption>{cap}</figcaption></figure>\n'


def index_html(run_dir: Path, sections: Sequence[tuple[str, str]], facts: Sequence[str],
               warnings: Sequence[str], notes: Sequence[str] = ()) -> str:
    """The page: run facts, warnings, notes on what the grid cannot show, then (title, HTML body)
    sections, then figure galleries (transfer heatmaps, curves and the per-class grids full width, the
    rest two a row)."""
    parts = [f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
             f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
             f"<title>vizpert-bench run {html.escape(run_dir.name)}</title><style>{CSS}</style></head><body>\n",
             f"<h1>vizpert-bench run <code>{html.escape(run_dir.name)}</code></h1>\n"]
    if facts:
        parts.append("<ul>" + "".join(f"<li>{html.escape(f)}</li>" for f in facts) + "</ul>\n")
    files = [p for p in ("results.csv", "timings.csv", "summary.md", "tables.tex", "report.tex", "report.pdf",
                         "manifest.json", "config.toml") if (run_dir / p).exists()]
    parts.append("<p>Files: " + ", ".join(f'<a href="{quote(f)}">{f}</a>' for f in files)
                 + (" (<code>bench run --config</code> on config.toml reruns this grid)" if "config.toml" in files else "")
                 + "</p>\n")
    if warnings:
        parts.append('<div class="warn"><strong>Sanity warnings</strong><ul>'
                     + "".join(f"<li>{html.escape(w)}</li>" for w in warnings) + "</ul></div>\n")
    for note in notes:
        parts.append(f'<p class="note">{html.escape(note)}</p>\n')
    for title, body in sections:
        parts.append(f"<h2>{html.escape(title)}</h2>\n{body}")
    plots = run_dir / "plots"
    galleries = [  # (title, file prefixes, full width)
        ("Transfer heatmaps (all attacks, one colour scale 0-100%)", ("heatmaps_all_",), True),
        ("Rates against eps, and perceptibility against effectiveness", ("curves_eps_", "ssim_vs_fooling_"), True),
        ("Transfer heatmap per attack", ("heatmap_",), False),
        ("Class visualizations", ("classviz_",), True),  # a row of 10+ classes: too small at half width
        ("Fitted universal perturbations", ("deltas_",), True),
        ("Examples: clean / perturbation (amplified for display) / adversarial", ("examples_",), False),
    ]
    for title, prefixes, wide in galleries:
        found = [p for pre in prefixes for p in sorted(plots.glob(f"{pre}*.png"))] if plots.is_dir() else []
        if found:
            parts.append(f"<h2>{html.escape(title)}</h2>\n<div class=\"grid{' wide' if wide else ''}\">\n"
                         + "".join(_img(p, run_dir, p.stem) for p in found) + "</div>\n")
    parts.append("</body></html>\n")
    return "".join(parts)
