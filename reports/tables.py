"""Tables from stored result rows: results.csv, transfer matrices and the summary (CSV, LaTeX, Markdown).

Pure functions of a DataFrame of rows: `reports` never imports `attacks` or `zoo`.
Rates are stored as fractions and shown as percentages with one decimal.
"""
from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

RESULT_COLUMNS = [
    "attack", "method", "kind", "params", "norm", "eps", "targeted", "source", "target", "whitebox", "n",
    "clean_acc", "fooling_rate", "success_on_correct", "targeted_success",
    "linf_mean", "linf_max", "l2_mean", "ssim_mean", "psnr_mean",
    "fit_seconds", "perturb_seconds", "images_per_second", "fit_cached",
]
TIMING_COLUMNS = ["fit_seconds", "perturb_seconds", "images_per_second", "fit_cached"]


def rows_frame(rows: list[dict]) -> pd.DataFrame:
    """The long-form results table, columns in a fixed order."""
    df = pd.DataFrame(rows)
    if df.empty:
        return pd.DataFrame(columns=RESULT_COLUMNS)
    extra = [c for c in df.columns if c not in RESULT_COLUMNS]
    return df[[c for c in RESULT_COLUMNS if c in df.columns] + extra]


def eps_tag(eps: float) -> str:
    """File-name form of an eps: 0.1 -> 'eps0.1', 8/255 -> 'eps0.03137'."""
    return "eps" + format(eps, ".4g")


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-")


def transfer_matrix(df: pd.DataFrame, attack: str, eps: float, norm: str, targeted: bool) -> pd.DataFrame:
    """Sources x targets: fooling rate (untargeted) or targeted success (targeted), as percentages."""
    value = "targeted_success" if targeted else "fooling_rate"
    cell = df[(df.attack == attack) & (df.eps == eps) & (df.norm == norm) & (df.targeted == targeted)]
    order = list(dict.fromkeys(cell.source))
    targets = list(dict.fromkeys(cell.target))
    m = cell.pivot(index="source", columns="target", values=value).reindex(index=order, columns=targets) * 100
    m.index.name = "source"
    m.columns.name = None
    return m


def summary_table(df: pd.DataFrame) -> pd.DataFrame:
    """One row per attack x norm x eps: white-box and mean transfer rates, perceptibility, speed.

    White-box = mean over the diagonal (source == target); transfer = mean over the rest.
    Perceptibility and images/s are means over the source models (both targeted modes).
    """
    out = []
    for (attack, norm, eps), g in df.groupby(["attack", "norm", "eps"], sort=False):
        un, tg = g[~g.targeted.astype(bool)], g[g.targeted.astype(bool)]
        diag = g[g.whitebox.astype(bool)]
        out.append({
            "attack": attack, "norm": norm, "eps": eps,
            "fool_whitebox": _mean(un[un.whitebox.astype(bool)].fooling_rate) * 100,
            "fool_transfer": _mean(un[~un.whitebox.astype(bool)].fooling_rate) * 100,
            "targeted_whitebox": _mean(tg[tg.whitebox.astype(bool)].targeted_success) * 100,
            "targeted_transfer": _mean(tg[~tg.whitebox.astype(bool)].targeted_success) * 100,
            "ssim": _mean(diag.ssim_mean), "psnr": _mean(diag.psnr_mean),
            "linf_max": float(diag.linf_max.max()) if len(diag) else math.nan,
            "images_per_s": _mean(diag.images_per_second),
        })
    return pd.DataFrame(out)


def whitebox_table(df: pd.DataFrame, targeted: bool = False) -> pd.DataFrame:
    """attack x eps rows, one column per source model: its white-box fooling rate (or targeted success)."""
    value = "targeted_success" if targeted else "fooling_rate"
    d = df[df.whitebox.astype(bool) & (df.targeted.astype(bool) == targeted)]
    if d.empty:
        return pd.DataFrame()
    t = d.pivot_table(index=["attack", "norm", "eps"], columns="source", values=value, sort=False) * 100
    t = t[list(dict.fromkeys(d.source))]
    t.columns.name = None
    return t.reset_index()


PAPER_FOOLING_RATE = 0.945  # arXiv 2409.13559's headline figure


def eps_threshold_table(df: pd.DataFrame, level: float = PAPER_FOOLING_RATE) -> pd.DataFrame:
    """Per attack and source: the smallest eps whose white-box untargeted fooling rate reaches `level`,
    with SSIM and PSNR there, or "not reached" (within the eps values run)."""
    d = df[df.whitebox.astype(bool) & ~df.targeted.astype(bool)]
    out = []
    for (attack, norm, source), g in d.groupby(["attack", "norm", "source"], sort=False):
        hit = g[g.fooling_rate >= level].sort_values("eps")
        row = {"attack": attack, "norm": norm, "source": source,
               "eps_values": " ".join(format(e, ".4g") for e in sorted(g.eps.unique()))}
        if hit.empty:
            row.update(eps_reached="not reached", fooling_rate=float(g.fooling_rate.max()) * 100,
                       ssim=math.nan, psnr=math.nan)
        else:
            first = hit.iloc[0]
            row.update(eps_reached=format(first.eps, ".4g"), fooling_rate=float(first.fooling_rate) * 100,
                       ssim=float(first.ssim_mean), psnr=float(first.psnr_mean))
        out.append(row)
    return pd.DataFrame(out)


def ablation_table(df: pd.DataFrame, method: str = "vizpert") -> pd.DataFrame:
    """The variants of one method (e.g. VizPert ablations): white-box targeted success, fooling rate
    (untargeted) and SSIM per source model, one row per variant and eps."""
    if "method" not in df.columns:
        return pd.DataFrame()
    d = df[(df.method == method) & df.whitebox.astype(bool)]
    if d.attack.nunique() < 2:
        return pd.DataFrame()
    out = []
    for (attack, norm, eps), g in d.groupby(["attack", "norm", "eps"], sort=False):
        row: dict = {"variant": attack, "params": g.params.iloc[0], "norm": norm, "eps": eps}
        for source, gs in g.groupby("source", sort=False):
            row[f"{source} targeted"] = _mean(gs[gs.targeted.astype(bool)].targeted_success) * 100
            row[f"{source} fooling"] = _mean(gs[~gs.targeted.astype(bool)].fooling_rate) * 100
            row[f"{source} ssim"] = _mean(gs.ssim_mean)
        out.append(row)
    return pd.DataFrame(out)


def clean_accuracy_table(df: pd.DataFrame) -> pd.DataFrame:
    """Clean top-1 accuracy per model (percent)."""
    d = df.drop_duplicates("target")[["target", "clean_acc"]]
    return pd.DataFrame({"model": d.target, "clean_acc": d.clean_acc * 100}).reset_index(drop=True)


def _mean(s: pd.Series) -> float:
    s = pd.to_numeric(s, errors="coerce")
    return float(s.mean()) if s.notna().any() else math.nan


# ---------------------------------------------------------------- rendering

PERCENT_COLUMNS = {"fool_whitebox", "fool_transfer", "targeted_whitebox", "targeted_transfer", "clean_acc"}


def _display(df: pd.DataFrame) -> pd.DataFrame:
    """Numbers as text for Markdown/terminal: percents and rates with one decimal, SSIM with three."""
    out = df.copy()
    for c in out.columns:
        if c == "eps":
            out[c] = out[c].map(lambda v: format(v, ".4g"))
        elif c == "ssim" or c.endswith(" ssim"):
            out[c] = out[c].map(lambda v: "" if pd.isna(v) else f"{v:.3f}")
        elif c in ("linf_max",):
            out[c] = out[c].map(lambda v: "" if pd.isna(v) else f"{v:.4f}")
        elif pd.api.types.is_float_dtype(out[c]):
            out[c] = out[c].map(lambda v: "" if pd.isna(v) else ("inf" if np.isinf(v) else f"{v:.1f}"))
    return out


def to_markdown(df: pd.DataFrame) -> str:
    """GitHub-flavoured Markdown table."""
    return _display(df).to_markdown(index=False) + "\n"


def best_mask(frame: pd.DataFrame, bold: Sequence[str] | str = ()) -> pd.DataFrame:
    """True where a value is the largest of its column, for the `bold` columns (or "all": every
    column after the first but eps); non-numeric columns have no best value."""
    columns = [c for c in frame.columns[1:] if c != "eps"] if bold == "all" else list(bold)
    mask = pd.DataFrame(False, index=frame.index, columns=frame.columns)
    for c in columns:
        values = pd.to_numeric(frame[c], errors="coerce") if c in frame.columns else pd.Series(dtype=float)
        if values.notna().any():
            mask[c] = values == values.max()
    return mask


def to_latex(df: pd.DataFrame, caption: str, label: str, index: bool = False,
             bold: Sequence[str] | str = ()) -> str:
    """A booktabs table (toprule/midrule/bottomrule) with caption and label; text escaped for LaTeX.

    `bold`: columns whose best (largest) value is set in bold, or "all" (see `best_mask`).
    """
    frame = df.reset_index() if index else df
    shown = _display(frame)
    styler = shown.style.hide(axis="index").format(escape="latex").format_index(escape="latex", axis=1)
    styles = best_mask(frame, bold).map(lambda best: "textbf:--rwrap;" if best else "")
    styler = styler.apply(lambda _: styles, axis=None)
    return styler.to_latex(hrules=True, caption=caption, label=label, position_float="centering",
                           column_format="l" * 1 + "r" * (shown.shape[1] - 1))


LATEX_SPECIAL = {"\\": r"\textbackslash{}", "_": r"\_", "%": r"\%", "&": r"\&", "#": r"\#", "$": r"\$",
                 "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\^{}"}


def latex_escape(text: str) -> str:
    """Plain text (model and attack names, paths) made safe for LaTeX."""
    return "".join(LATEX_SPECIAL.get(ch, ch) for ch in str(text))


BOLD_SUMMARY = ("fool_whitebox", "fool_transfer", "targeted_whitebox", "targeted_transfer", "ssim", "psnr",
                "images_per_s")


SUFFIXES = {".csv": "csv", ".tex": "latex", ".md": "markdown"}


def write_tables(df: pd.DataFrame, out_dir: Path, warnings: Sequence[str] = (),
                 formats: Sequence[str] = ("csv", "latex", "markdown")) -> list[Path]:
    """Write results.csv (metrics only: byte-identical under the same seed), timings.csv, every
    transfer matrix, the summary and `tables.tex` (every LaTeX table) into `out_dir`, in the
    chosen `formats` (csv, latex, markdown); return the paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    texts: dict[str, str] = {}

    def put(name: str, text: str) -> None:
        texts[name] = text

    timing = [c for c in TIMING_COLUMNS if c in df.columns]
    put("results.csv", df.drop(columns=timing).to_csv(index=False))
    cell_cols = [c for c in ("attack", "norm", "eps", "targeted", "source") if c in df.columns]
    put("timings.csv", df[cell_cols + timing].drop_duplicates(cell_cols).to_csv(index=False))
    summ = summary_table(df)
    put("summary.csv", summ.to_csv(index=False))
    put("summary.tex", to_latex(summ, "Summary per attack and budget: fooling rate and targeted success (\\%), "
                                      "white-box and mean transfer; SSIM, PSNR (dB), images/s; best per column in bold.",
                                "tab:summary", bold=BOLD_SUMMARY))
    thresholds = eps_threshold_table(df)
    put("eps_threshold.csv", thresholds.to_csv(index=False))
    put("eps_threshold.tex", to_latex(thresholds, "Smallest eps at which the white-box untargeted fooling rate "
                                                  "reaches 94.5\\% (the paper's headline figure), with SSIM and "
                                                  "PSNR (dB) there.", "tab:eps_threshold"))
    abl = ablation_table(df)
    if not abl.empty:
        put("ablation_vizpert.csv", abl.to_csv(index=False))
        put("ablation_vizpert.tex", to_latex(abl.drop(columns="params"), "VizPert ablation: white-box targeted "
                                             "success and untargeted fooling rate (\\%) and SSIM per source model; "
                                             "best per column in bold.", "tab:ablation_vizpert", bold="all"))
    keys = df[["attack", "eps", "norm", "targeted"]].drop_duplicates().itertuples(index=False)
    for attack, eps, norm, targeted in keys:
        m = transfer_matrix(df, attack, eps, norm, bool(targeted))
        stem = f"transfer_{_slug(attack)}_{eps_tag(eps)}" + ("" if norm == "linf" else f"_{norm}") + (
            "_targeted" if targeted else "")
        what = "targeted success" if targeted else "fooling rate"
        put(stem + ".csv", m.to_csv())
        put(stem + ".tex", to_latex(m, f"{latex_escape(attack)} ({norm}, eps={eps:.4g}): {what} (\\%), sources (rows) "
                                       f"attacked white-box, evaluated on targets (columns); best per "
                                       f"column in bold.", f"tab:{stem}", index=True, bold="all"))
    put("summary.md", summary_markdown(df, warnings))
    put("tables.tex", "% every table of this run (booktabs): \\input{tables.tex} after \\usepackage{booktabs}\n\n"
        + "\n".join(t for n, t in texts.items() if n.endswith(".tex")))
    written = []
    for name, text in texts.items():
        if SUFFIXES[Path(name).suffix] in formats:
            path = out_dir / name
            path.write_text(text)
            written.append(path)
    return written


def summary_sections(df: pd.DataFrame) -> list[tuple[str, pd.DataFrame, Sequence[str] | str]]:
    """The tables a reader sees first, in order, as (title, table, columns whose best value is
    marked): the Markdown summary and the HTML page both show these."""
    out: list[tuple[str, pd.DataFrame, Sequence[str] | str]] = [
        ("Summary (rates in %)", summary_table(df), BOLD_SUMMARY)]
    for targeted, title in ((False, "White-box fooling rate per source model (%)"),
                            (True, "White-box targeted success per source model (%)")):
        wb = whitebox_table(df, targeted)
        if not wb.empty:
            out.append((title, wb, [c for c in wb.columns if c not in ("attack", "norm", "eps")]))
    out.append(("Smallest eps reaching a 94.5% white-box fooling rate (the paper's figure)",
                eps_threshold_table(df), ()))
    abl = ablation_table(df)
    if not abl.empty:
        out.append(("VizPert ablation (white-box, %; parameters in ablation_vizpert.csv)",
                    abl.drop(columns="params"), "all"))
    out.append(("Clean accuracy (%)", clean_accuracy_table(df), ()))
    return out


def summary_markdown(df: pd.DataFrame, warnings: Sequence[str] = ()) -> str:
    """The Markdown summary the CLI prints: sanity warnings, then `summary_sections`."""
    parts = []
    if warnings:
        parts += ["## Sanity warnings\n\n"] + [f"- {w}\n" for w in warnings] + ["\n"]
    parts.append("\n".join(f"## {title}\n{to_markdown(table)}" for title, table, _ in summary_sections(df)))
    return "".join(parts)
