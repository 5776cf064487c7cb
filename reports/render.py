"""Everything a run folder shows, from its rows and files: tables, figures, report.tex (+ PDF),
summary.md and index.html. `bench run`, `bench merge` and `bench report` all call `render_run`."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Callable, Sequence

import pandas as pd

from common.report_formats import FORMATS
from common.text import attack_label, machine_text

from .document import compile_pdf, report_tex
from .figures import write_figures
from .html import index_html, table_html
from .plots import write_plots
from .sanity import result_warnings
from .tables import grid_notes, summary_markdown, summary_sections, write_tables


def shard_machines(manifest: dict) -> dict[str, list[str]]:
    """A merged manifest's machine setups (`machine_text`) with the shards that ran on each."""
    out: dict[str, list[str]] = {}
    for name, info in manifest.get("devices", {}).items():
        out.setdefault(machine_text(info), []).append(name)
    return out


def _setups(df: pd.DataFrame, column: str, keys: Sequence[str], skip: set[str] = frozenset()) -> dict[str, int]:
    """How many distinct `keys` (cells, fits) each setup in `column` has, leaving out rows without one
    (stored before the column existed) and the setups in `skip`."""
    rows = df.dropna(subset=[column]).drop_duplicates([c for c in keys if c in df.columns])
    rows = rows[~rows[column].isin(skip)]
    return {str(k): int(v) for k, v in rows[column].value_counts(sort=False).items()}


def cell_machines(df: pd.DataFrame | None) -> dict[str, int]:
    """How many cells were computed on each machine setup (the rows' `machine`, set where the cell ran):
    a run resumed on another machine, or computed by Ray workers, mixes setups that round floats otherwise."""
    if df is None or "machine" not in df.columns:
        return {}
    return _setups(df, "machine", ("attack", "norm", "eps", "targeted", "source", "seed"))


def foreign_fits(df: pd.DataFrame | None) -> dict[str, int]:
    """Learned fits (one per attack, budget, source and seed) fitted on a setup that computed none of the
    run's cells: fits come from a shared cache, so a GPU run may reuse a CPU fit, or the other way round."""
    if df is None or "fit_machine" not in df.columns or "machine" not in df.columns:
        return {}
    return _setups(df, "fit_machine", ("attack", "norm", "eps", "source", "seed"), set(df.machine.dropna()))


def run_facts(run_dir: Path, df: pd.DataFrame | None = None) -> list[str]:
    """One-line facts from the manifest (and, given the run's rows `df`, where its cells were computed)
    for the page and the document."""
    path = run_dir / "manifest.json"
    if not path.is_file():
        return []
    m = json.loads(path.read_text())
    cfg = m.get("config", {})
    attacks = [attack_label(a.get("name") or "", a.get("params") or {}, a.get("label") or "")
               for a in cfg.get("attacks", []) if isinstance(a, dict)]  # as the tables name them
    seeds = cfg.get("seeds")  # several attack seeds: `seed` still draws the images and the targets
    facts = [f"dataset {cfg.get('dataset')}: {cfg.get('n')} eval images, {cfg.get('n_fit')} fit images, "
             f"seed {cfg.get('seed')}" + (f" (images, targets); attack seeds {', '.join(map(str, seeds))}"
                                          if seeds else ""),
             f"models: {', '.join(cfg.get('models', []))}",
             f"attacks: {', '.join(a for a in attacks if a)}; {cfg.get('norm')} eps "
             f"{', '.join(format(e, '.4g') for e in cfg.get('eps', []))}",
             f"device {machine_text(m.get('device', {}))}; torch {m.get('versions', {}).get('torch')}; "
             f"git {str(m.get('git_commit'))[:12]}"]
    setups = shard_machines(m)
    if len(setups) > 1:  # a merged grid whose shards ran on machines computing other floats
        facts.append("shards ran on: " + "; ".join(f"{k} ({', '.join(v)})" for k, v in setups.items()))
    cells = cell_machines(df)
    here = {machine_text(m["device"])} if "device" in m else set()
    if len(setups) <= 1 and cells and set(cells) != here:  # resumed elsewhere, or Ray workers' own threads
        facts.append("cells computed on: " + "; ".join(f"{k} ({v} cell{'s' * (v != 1)})" for k, v in cells.items()))
    fits = foreign_fits(df)
    if fits:
        facts.append("fits from the cache computed on another setup: "
                     + "; ".join(f"{k} ({v} fit{'s' * (v != 1)})" for k, v in fits.items()))
    trained = sorted({machine_text(c["machine"]) for c in m.get("zoo_cards", []) if c.get("machine")})
    if trained:  # another thread count or instruction set trains other weights (README, reproducibility)
        facts.append(f"mini zoo trained on {'; '.join(trained)}")
    if cfg.get("sources"):
        facts.insert(2, f"sources (attacked; every model is scored): {', '.join(cfg['sources'])}")
    for a in cfg.get("attacks", []):
        if isinstance(a, dict) and a.get("sources"):
            facts.insert(3, f"{a.get('label') or a.get('name')} is run on {', '.join(a['sources'])} only")
    data = m.get("dataset", {})
    if data.get("source"):
        facts.append(f"data: {data['source']}")
    for name, info in m.get("models", {}).items():
        if info.get("weights"):
            dc = info.get("data_config", {})
            extra = "".join(f", {k} {info[k]}" for k in ("amp",) if info.get(k, "none") != "none")
            extra += "".join(f"; defense {d['name']} ({d['gradient']})" for d in info.get("defenses", []))
            facts.append(f"{name}: {info['weights']}; mean {dc.get('mean')}, std {dc.get('std')}{extra}")
    return facts


def _sections(df: pd.DataFrame) -> list[tuple[str, str]]:
    return [(title, table_html(table, bold)) for title, table, bold in summary_sections(df)]


def render_run(df: pd.DataFrame, run_dir: Path, *, class_names: Sequence[str] = (),
               model_warnings: Sequence[str] = (), formats: Sequence[str] = FORMATS,
               log: Callable[[str], None] | None = None) -> str:
    """Write the chosen formats into `run_dir`; return the Markdown summary (with warnings). The PDF
    brings its LaTeX with it: it is compiled from report.tex and the tables.tex that inputs."""
    if "pdf" in formats and "latex" not in formats:
        formats = (*formats, "latex")
    warnings = list(model_warnings) + result_warnings(df)
    write_tables(df, run_dir, warnings, formats)
    if "plots" in formats:
        write_figures(df, run_dir)
        write_plots(run_dir, class_names)
    facts = run_facts(run_dir, df)
    if "latex" in formats:
        (run_dir / "report.tex").write_text(report_tex(run_dir, facts, warnings, grid_notes(df)))
    if "pdf" in formats and (run_dir / "report.tex").is_file():
        _, status = compile_pdf(run_dir)
        if log:
            log(status)
    if "html" in formats:
        (run_dir / "index.html").write_text(index_html(run_dir, _sections(df), facts, warnings, grid_notes(df)))
    return summary_markdown(df, warnings)
