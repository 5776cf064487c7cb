"""Tables from stored result rows: results.csv, transfer matrices and the summary (CSV, LaTeX, Markdown).

Pure functions of a DataFrame of rows: `reports` never imports `attacks` or `zoo`.
Rates are stored as fractions and shown as percentages with one decimal, each with its 95%
interval (`reports.stats`): a table's rate column `c` comes with `c_lo` and `c_hi`, which CSV keeps
and the other formats show as `c ± half-width`.

The untargeted headline rate is the attack's success on the images the target classified
correctly (now misclassified), not the fooling rate (label changed): attacks run against the true
label, so an image already misclassified mostly keeps its wrong label and the fooling rate is capped
near clean accuracy. results.csv keeps both.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Sequence

import pandas as pd

from common.eps import eps_text
from common.outcomes import headline_rate
from common.text import file_slug

from .format import display_frame
from .latex import FIT_MACRO, latex_escape, to_latex
from .stats import add_intervals, bootstrap_mean, wilson

# per-cell facts of where and how fast a cell was computed: timings.csv, never results.csv (byte-identical
# under the same seed); `machine` is the setup that computed the cell, `fit_machine` the one that fitted a
# learned attack (maybe another: fits are cached and shared), both `common.machine.setup_text`
TIMING_COLUMNS = ["fit_seconds", "perturb_seconds", "images_per_second", "score_seconds", "fit_cached", "machine",
                  "fit_machine"]
RESULT_COLUMNS = [
    "attack", "method", "kind", "params", "norm", "eps", "targeted", "source", "target", "whitebox", "seed", "n",
    "clean_acc", "fooling_rate", "success_on_correct", "targeted_success", "robust_acc",
    "linf_mean", "linf_max", "l2_mean", "ssim_mean", "psnr_mean", "n_changed", *TIMING_COLUMNS,
]
CELL_COLUMNS = ["attack", "norm", "eps", "targeted", "source", "target"]  # one row per seed of these


def seed_mean(df: pd.DataFrame) -> pd.DataFrame:
    """One row per cell and target: numeric columns averaged over the attack seeds (a single-seed
    run is returned as it is)."""
    if "seed" not in df.columns or df.seed.nunique() <= 1:
        return df
    numeric = [c for c in df.columns if c not in CELL_COLUMNS and pd.api.types.is_numeric_dtype(df[c])
               and not pd.api.types.is_bool_dtype(df[c])]
    first = [c for c in df.columns if c not in CELL_COLUMNS and c not in numeric]
    agg = {**{c: "mean" for c in numeric}, **{c: "first" for c in first}}
    return df.groupby(CELL_COLUMNS, sort=False, as_index=False).agg(agg)[list(df.columns)]


def _with_wilson(value: float, n: float) -> tuple[float, float, float]:
    """(value, lo, hi) in percent for a share `value` of `n` images."""
    lo, hi = wilson(round(value * n), n) if n == n and value == value else (math.nan, math.nan)
    return value * 100, float(lo) * 100, float(hi) * 100


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


def transfer_matrix(df: pd.DataFrame, attack: str, eps: float, norm: str, targeted: bool,
                    intervals: bool = False) -> pd.DataFrame:
    """Sources x targets: success on correct images (untargeted) or targeted success (targeted), as
    percentages (means over attack seeds); with `intervals`, each target's column is followed by its
    95% Wilson bounds `<target>_lo`, `<target>_hi`."""
    value = headline_rate(targeted)
    cell = seed_mean(df[(df.attack == attack) & (df.eps == eps) & (df.norm == norm) & (df.targeted == targeted)])
    order = list(dict.fromkeys(cell.source))
    targets = list(dict.fromkeys(cell.target))
    m = cell.pivot(index="source", columns="target", values=value).reindex(index=order, columns=targets) * 100
    if intervals:
        bounds = add_intervals(cell)
        for target in reversed(targets):
            at = list(m.columns).index(target) + 1
            for k, side in enumerate(("lo", "hi")):
                col = bounds.pivot(index="source", columns="target", values=f"{value}_{side}").reindex(index=order)
                m.insert(at + k, f"{target}_{side}", col[target] * 100)
    m.index.name = "source"
    m.columns.name = None
    return m


SUMMARY_RATES = {"success_whitebox": (False, True), "success_transfer": (False, False),
                 "targeted_whitebox": (True, True), "targeted_transfer": (True, False)}  # (targeted, white-box)


def summary_table(df: pd.DataFrame) -> pd.DataFrame:
    """One row per attack x norm x eps: white-box and mean transfer rates with 95% intervals,
    perceptibility, speed.

    White-box = mean over the diagonal (source == target); transfer = mean over the rest; both over
    the attack seeds too. Their intervals come from a seeded paired bootstrap over the eval images
    (`stats.bootstrap_mean`). Untargeted rates are success on correctly classified images.
    Perceptibility and images/s are means over the source models (both targeted modes); PSNR is over
    the changed images. `fit_s`: the seconds of a fit (learned attacks; 0 for the rest), mean over the
    source models: images/s counts perturbing only, so without it a generator would look free.
    """
    out = []
    for (attack, norm, eps), g in df.groupby(["attack", "norm", "eps"], sort=False):
        diag = g[g.whitebox.astype(bool)]
        row: dict = {"attack": attack, "norm": norm, "eps": eps}
        for column, (targeted, white) in SUMMARY_RATES.items():
            part = g[(g.targeted.astype(bool) == targeted) & (g.whitebox.astype(bool) == white)]
            rate = headline_rate(targeted)
            lo, hi = bootstrap_mean(part, rate) if len(part) and "outcomes" in part.columns else (math.nan, math.nan)
            row.update({column: _mean(part[rate]) * 100, f"{column}_lo": lo * 100, f"{column}_hi": hi * 100})
        wb_untargeted = diag[~diag.targeted.astype(bool)]
        has_robust = "robust_acc" in g.columns and len(wb_untargeted)
        robust = _mean(wb_untargeted.robust_acc) if has_robust else math.nan
        lo, hi = (bootstrap_mean(wb_untargeted, "robust_acc") if has_robust and "outcomes" in g.columns
                  else (math.nan, math.nan))
        row.update({"robust_whitebox": robust * 100, "robust_whitebox_lo": lo * 100, "robust_whitebox_hi": hi * 100})
        row.update({"ssim": _mean(diag.ssim_mean), "psnr": _mean(diag.psnr_mean),
                    "linf_max": float(diag.linf_max.max()) if len(diag) else math.nan,
                    "images_per_s": _mean(diag.images_per_second),
                    "fit_s": _mean(diag.fit_seconds) if "fit_seconds" in diag.columns else math.nan})
        out.append(row)
    return pd.DataFrame(out)


def summary_to_read(df: pd.DataFrame, summ: pd.DataFrame | None = None) -> pd.DataFrame:
    """`summary_table` (or `summ`, already computed from `df`) without the columns of a kind of cell the grid
    has none of (untargeted rates and robust accuracy in a targeted-only run, transfer with one model): shown
    empty, they read as rates that were lost. summary.csv keeps every column, so that scripts see one schema."""
    summ = summary_table(df) if summ is None else summ
    if df.empty:
        return summ
    targeted, white = df.targeted.astype(bool), df.whitebox.astype(bool)
    kinds = {(t, w) for t, w in zip(targeted, white)}
    gone = [c for c, kind in SUMMARY_RATES.items() if kind not in kinds]
    if (False, True) not in kinds:
        gone.append("robust_whitebox")
    return summ.drop(columns=[c + s for c in gone for s in ("", "_lo", "_hi")], errors="ignore")


def whitebox_table(df: pd.DataFrame, targeted: bool = False) -> pd.DataFrame:
    """attack x eps rows, one column per source model: its white-box success on correct images (or
    targeted success), mean over seeds, with 95% Wilson bounds `<source>_lo`, `<source>_hi`."""
    value = headline_rate(targeted)
    d = seed_mean(df[df.whitebox.astype(bool) & (df.targeted.astype(bool) == targeted)])
    if d.empty:
        return pd.DataFrame()
    d = add_intervals(d)
    sources = list(dict.fromkeys(d.source))
    parts = []
    for suffix in ("", "_lo", "_hi"):
        t = d.pivot_table(index=["attack", "norm", "eps"], columns="source", values=value + suffix, sort=False,
                          dropna=False) * 100
        parts.append(t[sources].rename(columns=lambda c: c + suffix))
    t = pd.concat(parts, axis=1)[[s + suffix for s in sources for suffix in ("", "_lo", "_hi")]]
    t.columns.name = None
    return t.reset_index()


PAPER_FOOLING_RATE = 0.945  # arXiv 2409.13559's headline figure
REFERENCE_ATTACK = "autoattack"


def robust_table(df: pd.DataFrame) -> pd.DataFrame:
    """attack x eps rows, one column per target model: untargeted robust accuracy (share of eval images
    still classified correctly), the lowest over the sources that attacked the target (white-box where
    the target is a source, else the best transfer), mean over seeds, with Wilson bounds. Empty for rows
    stored before robust accuracy was kept."""
    if "robust_acc" not in df.columns:
        return pd.DataFrame()
    d = seed_mean(df[~df.targeted.astype(bool)])
    if d.empty:
        return pd.DataFrame()
    targets = list(dict.fromkeys(d.target))
    worst = d.loc[d.groupby(["attack", "norm", "eps", "target"], sort=False).robust_acc.idxmin()]
    worst = add_intervals(worst)
    parts = []
    for suffix in ("", "_lo", "_hi"):
        t = worst.pivot_table(index=["attack", "norm", "eps"], columns="target", values="robust_acc" + suffix,
                              sort=False, dropna=False) * 100
        parts.append(t[targets].rename(columns=lambda c: c + suffix))
    t = pd.concat(parts, axis=1)[[c + suffix for c in targets for suffix in ("", "_lo", "_hi")]]
    t.columns.name = None
    return t.reset_index()


def reference_gap_table(rob: pd.DataFrame, reference: str = REFERENCE_ATTACK) -> pd.DataFrame:
    """From a `robust_table`: per target, each attack's robust accuracy minus the reference attack's
    (AutoAttack's) on the same images and budget, in points: positive = the attack overstates
    robustness by that much. Empty without the reference in the grid."""
    if rob.empty or reference not in set(rob.attack):
        return pd.DataFrame()
    targets = [c for c in rob.columns if c not in ("attack", "norm", "eps") and not c.endswith(("_lo", "_hi"))]
    out = []
    for (norm, eps), g in rob.groupby(["norm", "eps"], sort=False):
        ref = g[g.attack == reference]
        if ref.empty:
            continue
        for _, row in g[g.attack != reference].iterrows():
            out.append({"attack": row.attack, "norm": norm, "eps": eps,
                        **{t: row[t] - float(ref[t].iloc[0]) for t in targets}})
    return pd.DataFrame(out)


def eps_threshold_table(df: pd.DataFrame, level: float = PAPER_FOOLING_RATE) -> pd.DataFrame:
    """Per attack and source: the smallest eps whose white-box untargeted success on correctly
    classified images (mean over seeds) reaches `level`, with its 95% interval, SSIM and PSNR there,
    or "not reached" (within the eps values run) with the best rate seen."""
    d = seed_mean(df[df.whitebox.astype(bool) & ~df.targeted.astype(bool)])
    out = []
    for (attack, norm, source), g in d.groupby(["attack", "norm", "source"], sort=False):
        hit = g[g.success_on_correct >= level].sort_values("eps")
        row = {"attack": attack, "norm": norm, "source": source,
               "eps_values": " ".join(format(e, ".4g") for e in sorted(g.eps.unique()))}
        if g.success_on_correct.isna().all():  # the model got no eval image right: no rate to reach
            row.update(eps_reached="no correct images", success=math.nan, success_lo=math.nan, success_hi=math.nan,
                       ssim=math.nan, psnr=math.nan)
            out.append(row)
            continue
        first = g.loc[g.success_on_correct.idxmax()] if hit.empty else hit.iloc[0]
        rate, lo, hi = _with_wilson(float(first.success_on_correct), float(first.n * first.clean_acc))
        row.update(eps_reached="not reached" if hit.empty else format(first.eps, ".4g"),
                   success=rate, success_lo=lo, success_hi=hi,
                   ssim=math.nan if hit.empty else float(first.ssim_mean),
                   psnr=math.nan if hit.empty else float(first.psnr_mean))
        out.append(row)
    return pd.DataFrame(out)


def ablation_table(df: pd.DataFrame, method: str = "vizpert") -> pd.DataFrame:
    """The variants of one method (e.g. VizPert ablations): white-box targeted success, untargeted
    success on correct images and SSIM per source model (means over seeds), one row per variant and eps."""
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
            row[f"{source} untargeted"] = _mean(gs[~gs.targeted.astype(bool)].success_on_correct) * 100
            row[f"{source} ssim"] = _mean(gs.ssim_mean)
        out.append(row)
    return pd.DataFrame(out)


def _seeds_note(df: pd.DataFrame, hint: bool = True) -> str:
    """", mean over k seeds" when the rows hold several attack seeds (tables that average them say so;
    with `hint`, pointing at the comparison that tells a seed's draw from a difference)."""
    k = df.seed.nunique() if "seed" in df.columns else 1
    if k <= 1:
        return ""
    return f", mean over {k} seeds" + ("; bench report RUN --compare A,B tests two variants over them" if hint else "")


def clean_accuracy_table(df: pd.DataFrame) -> pd.DataFrame:
    """Clean top-1 accuracy per model (percent) with its 95% Wilson interval."""
    d = add_intervals(df.drop_duplicates("target"))
    return pd.DataFrame({"model": d.target, "clean_acc": d.clean_acc * 100, "clean_acc_lo": d.clean_acc_lo * 100,
                         "clean_acc_hi": d.clean_acc_hi * 100}).reset_index(drop=True)


def seeds_table(df: pd.DataFrame) -> pd.DataFrame:
    """With several attack seeds: per attack, budget and mode, the white-box headline rate of each
    seed (mean over source models, percent), and their mean and standard deviation (ddof 1)."""
    if "seed" not in df.columns or df.seed.nunique() <= 1:
        return pd.DataFrame()
    d = df[df.whitebox.astype(bool)].copy()
    d["rate"] = d.targeted_success.where(d.targeted.astype(bool), d.success_on_correct) * 100
    d["mode"] = d.targeted.astype(bool).map({False: "untargeted", True: "targeted"})
    per = d.pivot_table(index=["attack", "norm", "eps", "mode"], columns="seed", values="rate", sort=False)
    per.columns = [f"seed {s}" for s in per.columns]
    per["seed_mean"] = per.mean(axis=1)
    per["seed_sd"] = per[[c for c in per.columns if c.startswith("seed ")]].std(axis=1, ddof=1)
    return per.reset_index()


def _mean(s: pd.Series) -> float:
    s = pd.to_numeric(s, errors="coerce")
    return float(s.mean()) if s.notna().any() else math.nan


# ---------------------------------------------------------------- rendering

def to_markdown(df: pd.DataFrame) -> str:
    """GitHub-flavoured Markdown table."""
    return display_frame(df).to_markdown(index=False) + "\n"


BOLD_SUMMARY = ("success_whitebox", "success_transfer", "targeted_whitebox", "targeted_transfer", "ssim", "psnr",
                "images_per_s")
ROBUST_TITLE = ("Robust accuracy per target model under untargeted attack (%; the lowest over the sources that "
                "attacked it: white-box where the target is a source)")
GAP_TITLE = "Robust accuracy minus AutoAttack's, per target (points; above 0: the attack overstates robustness)"
THRESHOLD_TITLE = ("Smallest eps at which white-box untargeted success on correctly classified images reaches "
                   "94.5% (the paper's figure)")


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
    put("results.csv", add_intervals(df.drop(columns=timing + ["outcomes"], errors="ignore")).to_csv(index=False))
    cell_cols = [c for c in ("attack", "norm", "eps", "targeted", "source") if c in df.columns]
    put("timings.csv", df[cell_cols + timing].drop_duplicates(cell_cols).to_csv(index=False))
    summ = summary_table(df)  # its bootstrap intervals: computed once for the CSV and the LaTeX
    put("summary.csv", summ.to_csv(index=False))
    put("summary.tex", to_latex(summary_to_read(df, summ), "Summary per attack and budget: untargeted success "
                                "on correctly classified images and targeted success (\\%, $\\pm$ half the 95\\% "
                                "bootstrap interval over images), white-box and mean transfer; SSIM, PSNR (dB, "
                                "changed images), images/s (perturbing), a learned attack's fit in seconds; best per "
                                "column in bold.", "tab:summary", bold=BOLD_SUMMARY))

    absent: list[str] = []

    def put_optional(stem: str, table: pd.DataFrame, caption: str) -> None:
        """`stem`.csv and `stem`.tex, for a table only some grids have (skipped when empty)."""
        if table.empty:
            absent.extend((f"{stem}.csv", f"{stem}.tex"))
            return
        put(f"{stem}.csv", table.to_csv(index=False))
        put(f"{stem}.tex", to_latex(table, caption, f"tab:{stem}"))

    put_optional("eps_threshold", eps_threshold_table(df), "Smallest eps (of those run) at which the white-box "
                 "untargeted success on correctly classified images reaches 94.5\\% (the paper's headline figure), "
                 "with SSIM and PSNR (dB) there; else the best rate seen.")
    put_optional("seeds", seeds_table(df), "White-box rate (\\%) per attack seed (mean over source models), with "
                                           "mean and standard deviation over seeds.")
    rob = robust_table(df)
    put_optional("robust", rob, "Robust accuracy (\\%) per target model under untargeted attack: the lowest over the sources "
                 "that attacked it (white-box where the target is a source).")
    put_optional("autoattack_gap", reference_gap_table(rob), "Robust accuracy minus AutoAttack's on the same images, "
                 "per target (points; above 0 the attack overstates robustness).")
    abl = ablation_table(df)
    if not abl.empty:
        put("ablation_vizpert.csv", abl.to_csv(index=False))
        put("ablation_vizpert.tex", to_latex(abl.drop(columns="params"), "VizPert ablation: white-box targeted "
                                             "success and untargeted success (\\%) and SSIM per source model"
                                             f"{_seeds_note(df, hint=False)}; best per column in bold.",
                                             "tab:ablation_vizpert", bold="all"))
    keys = df[["attack", "eps", "norm", "targeted"]].drop_duplicates().itertuples(index=False)
    for attack, eps, norm, targeted in keys:
        m = transfer_matrix(df, attack, eps, norm, bool(targeted), intervals=True)
        stem = f"transfer_{file_slug(attack)}_{eps_tag(eps)}" + ("" if norm == "linf" else f"_{norm}") + (
            "_targeted" if targeted else "")
        what = "targeted success" if targeted else "success on correctly classified images"
        put(stem + ".csv", m.to_csv())
        put(stem + ".tex", to_latex(m, f"{latex_escape(attack)} ({norm}, eps={eps_text(eps)}): {what} (\\%), "
                                       f"sources (rows) attacked white-box, evaluated on targets (columns); best per "
                                       f"column in bold.", f"tab:{stem}", index=True, bold="all"))
    put("summary.md", summary_markdown(df, warnings))
    transfer = has_transfer(df)
    put("tables.tex", "% every table of this run: \\input{tables.tex} after \\usepackage{booktabs,graphicx}\n"
        + FIT_MACRO + "\n" + "\n".join(t.removeprefix(FIT_MACRO) for n, t in texts.items()
                                         if n.endswith(".tex") and (transfer or not n.startswith("transfer_"))))
    written = []
    for name, text in texts.items():
        if SUFFIXES[Path(name).suffix] in formats:
            path = out_dir / name
            path.write_text(text)
            written.append(path)
    for name in absent:  # left by an older version's render (an empty eps_threshold.csv once), never current
        if SUFFIXES[Path(name).suffix] in formats:
            (out_dir / name).unlink(missing_ok=True)
    return written


def summary_sections(df: pd.DataFrame) -> list[tuple[str, pd.DataFrame, Sequence[str] | str]]:
    """The tables a reader sees first, in order, as (title, table, columns whose best value is
    marked): the Markdown summary and the HTML page both show these."""
    out: list[tuple[str, pd.DataFrame, Sequence[str] | str]] = [
        ("Summary (rates in %)", summary_to_read(df), BOLD_SUMMARY)]
    for targeted, title in ((False, "White-box untargeted success on correctly classified images per source "
                                    "model (%)"),
                            (True, "White-box targeted success per source model (%)")):
        wb = whitebox_table(df, targeted)
        if not wb.empty:
            out.append((title, wb, [c for c in wb.columns if c not in ("attack", "norm", "eps")]))
    thresholds = eps_threshold_table(df)
    if not thresholds.empty:  # a targeted-only grid has no untargeted rate to reach
        out.append((THRESHOLD_TITLE, thresholds, ()))
    rob = robust_table(df)
    if not rob.empty:
        out.append((ROBUST_TITLE, rob, ()))
        gap = reference_gap_table(rob)
        if not gap.empty:
            out.append((GAP_TITLE, gap, ()))
    seeds = seeds_table(df)
    if not seeds.empty:
        out.append(("Across attack seeds (white-box, %)", seeds, ()))
    abl = ablation_table(df)
    if not abl.empty:
        out.append((f"VizPert ablation (white-box, %{_seeds_note(df)}; parameters in ablation_vizpert.csv)",
                    abl.drop(columns="params"), "all"))
    out.append(("Clean accuracy (%)", clean_accuracy_table(df), ()))
    return out


EPS_SWEEP_CONFIG = "configs/vizpert-eps-sweep.toml"


def has_transfer(df: pd.DataFrame) -> bool:
    """True when some cell's target is not its source: with one model every transfer matrix is its one
    white-box cell, which the white-box tables show already (no heatmaps, no transfer tables in the document)."""
    return bool(len(df)) and not df.whitebox.astype(bool).all()


def several_eps(df: pd.DataFrame) -> bool:
    """True when some attack ran at more than one eps under one norm: curves against eps, the
    perceptibility/effectiveness trade-off and the eps threshold need that."""
    return bool(len(df)) and bool((df.groupby(["attack", "norm"]).eps.nunique() > 1).any())


RATES_NOTE = ("Rates: untargeted attacks are scored by their success on the images the target classified "
              "correctly (now misclassified); the fooling rate (label changed, the UAP paper's definition) is "
              "in results.csv. ± is half the 95% interval (Wilson per cell; paired bootstrap over images for "
              "means); results.csv has the bounds.")


def grid_notes(df: pd.DataFrame) -> list[str]:
    """How to read the rates, and what this grid cannot show and which config shows it (for the
    summary, page and document)."""
    if len(df) == 0:
        return []
    notes = [RATES_NOTE]
    if "params" in df.columns:
        capped = sorted(set(df[df.params.astype(str).str.contains("untargeted=best_class")].attack))
        if capped:
            notes.append(f"{', '.join(capped)} use the `best_class` untargeted rule: every image gets the one best "
                         f"class's perturbation, which pushes the images of that class toward their own label, so "
                         f"untargeted success is capped near 1 - 1/C (90% on ten classes) at any eps; "
                         f"`best_other` (the default) has no such cap.")
    if not several_eps(df):
        eps = ", ".join(format(e, ".4g") for e in sorted(df.eps.unique()))
        notes.append(f"This grid runs each attack at one eps ({eps}): rates against eps and the perceptibility/"
                     f"effectiveness trade-off need several, and the eps-threshold table can only say whether "
                     f"{eps} suffices. `bench run --config {EPS_SWEEP_CONFIG}` runs eps 0.02-0.3 "
                     f"(or pass --eps 0.05,0.1,0.2).")
    return notes


def summary_markdown(df: pd.DataFrame, warnings: Sequence[str] = ()) -> str:
    """The Markdown summary the CLI prints: sanity warnings, notes on what the grid cannot show, then
    `summary_sections`."""
    parts = []
    if warnings:
        parts += ["## Sanity warnings\n\n"] + [f"- {w}\n" for w in warnings] + ["\n"]
    parts += [f"Note: {n}\n\n" for n in grid_notes(df)]
    parts.append("\n".join(f"## {title}\n{to_markdown(table)}" for title, table, _ in summary_sections(df)))
    return "".join(parts)
