"""Tables from stored result rows: results.csv, transfer matrices and the summary (CSV, LaTeX, Markdown).

Pure functions of a DataFrame of rows: `reports` never imports `attacks` or `zoo`.
Rates are stored as fractions and shown as percentages with one decimal.
"""
from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Sequence

import pandas as pd

from .format import display_frame
from .latex import FIT_MACRO, latex_escape, to_latex

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

def to_markdown(df: pd.DataFrame) -> str:
    """GitHub-flavoured Markdown table."""
    return display_frame(df).to_markdown(index=False) + "\n"


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
    if several_eps(df):  # with one eps the table could only say "reached at it" or "not reached"
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
    put("tables.tex", "% every table of this run: \\input{tables.tex} after \\usepackage{booktabs,graphicx}\n"
        + FIT_MACRO + "\n" + "\n".join(t.removeprefix(FIT_MACRO) for n, t in texts.items() if n.endswith(".tex")))
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
    if several_eps(df):
        out.append(("Smallest eps reaching a 94.5% white-box fooling rate (the paper's figure)",
                    eps_threshold_table(df), ()))
    abl = ablation_table(df)
    if not abl.empty:
        out.append(("VizPert ablation (white-box, %; parameters in ablation_vizpert.csv)",
                    abl.drop(columns="params"), "all"))
    out.append(("Clean accuracy (%)", clean_accuracy_table(df), ()))
    return out


EPS_SWEEP_CONFIG = "configs/vizpert-eps-sweep.toml"


def several_eps(df: pd.DataFrame) -> bool:
    """True when some attack ran at more than one eps under one norm: curves against eps, the
    perceptibility/effectiveness trade-off and the eps threshold need that."""
    return bool(len(df)) and bool((df.groupby(["attack", "norm"]).eps.nunique() > 1).any())


def grid_notes(df: pd.DataFrame) -> list[str]:
    """What this grid cannot show, and which config shows it (for the summary, page and document)."""
    if len(df) == 0 or several_eps(df):
        return []
    eps = ", ".join(format(e, ".4g") for e in sorted(df.eps.unique()))
    return [f"This grid runs each attack at one eps ({eps}): rates against eps, the perceptibility/"
            f"effectiveness trade-off and the smallest eps reaching 94.5% need several. "
            f"`bench run --config {EPS_SWEEP_CONFIG}` runs eps 0.02-0.3 (or pass --eps 0.05,0.1,0.2)."]


def summary_markdown(df: pd.DataFrame, warnings: Sequence[str] = ()) -> str:
    """The Markdown summary the CLI prints: sanity warnings, notes on what the grid cannot show, then
    `summary_sections`."""
    parts = []
    if warnings:
        parts += ["## Sanity warnings\n\n"] + [f"- {w}\n" for w in warnings] + ["\n"]
    parts += [f"Note: {n}\n\n" for n in grid_notes(df)]
    parts.append("\n".join(f"## {title}\n{to_markdown(table)}" for title, table, _ in summary_sections(df)))
    return "".join(parts)
