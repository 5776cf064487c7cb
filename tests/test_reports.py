"""Tables: transfer matrices, summary, LaTeX that a TeX parser would accept."""
from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from reports import summary_table, transfer_matrix, write_tables
from reports.latex import FIT_MACRO
from reports.tables import eps_tag, to_latex


def _rows():
    rows = []
    for attack, base in (("fgsm", 0.5), ("pgd", 0.9)):
        for targeted in (False, True):
            for s in ("mini:a", "mini:b"):
                for t in ("mini:a", "mini:b"):
                    fr = base if s == t else base / 3
                    rows.append(dict(attack=attack, kind="per_input", params="", norm="linf", eps=0.1,
                                     targeted=targeted, source=s, target=t, whitebox=s == t, n=10,
                                     clean_acc=0.9, fooling_rate=fr * 0.95, success_on_correct=fr,
                                     targeted_success=fr / 2 if targeted else float("nan"),
                                     linf_mean=0.1, linf_max=0.1, l2_mean=1.0, ssim_mean=0.8, psnr_mean=22.0,
                                     fit_seconds=0.0, perturb_seconds=1.0, images_per_second=10.0))
    return pd.DataFrame(rows)


def test_transfer_matrix_is_sources_by_targets_in_percent():
    m = transfer_matrix(_rows(), "pgd", 0.1, "linf", False)
    assert list(m.index) == ["mini:a", "mini:b"] and list(m.columns) == ["mini:a", "mini:b"]
    assert m.loc["mini:a", "mini:a"] == pytest.approx(90.0) and m.loc["mini:a", "mini:b"] == pytest.approx(30.0)


def test_summary_separates_whitebox_and_transfer():
    """Untargeted columns are success on correctly classified images (not the fooling rate, which
    differs in these rows); rows stored without outcomes get no interval rather than a wrong one."""
    s = summary_table(_rows()).set_index("attack")
    assert s.loc["pgd", "success_whitebox"] == pytest.approx(90.0)
    assert s.loc["pgd", "success_transfer"] == pytest.approx(30.0)
    assert s.loc["fgsm", "targeted_whitebox"] == pytest.approx(25.0)
    assert s.success_whitebox_lo.isna().all()


def test_the_summary_counts_a_fit_beside_the_perturbing_speed(tmp_path):
    """images/s counts perturbing only: a generator's fit (30 s on one source, 20 on the other, the same for
    both modes) is its own column, the mean over sources; attacks that fit nothing show 0."""
    df = _rows()
    learned = df.attack == "pgd"
    df.loc[learned, "fit_seconds"] = df[learned].source.map({"mini:a": 30.0, "mini:b": 20.0})
    s = summary_table(df).set_index("attack")
    assert s.loc["pgd", "fit_s"] == pytest.approx(25.0) and s.loc["fgsm", "fit_s"] == 0.0
    write_tables(df, tmp_path)
    assert "fit (s)" in (tmp_path / "summary.tex").read_text() and "fit_s" in (tmp_path / "summary.csv").read_text()


def test_a_summary_shows_no_column_for_cells_the_grid_has_none_of(tmp_path):
    """A targeted-only grid has no untargeted rate, robust accuracy or eps threshold to show, and a one-model
    grid no transfer: empty columns and an empty section read as results that were lost. summary.csv keeps
    every column (one schema for scripts)."""
    from reports.tables import THRESHOLD_TITLE, summary_sections

    targeted = _rows()[_rows().targeted]
    (tmp_path / "t").mkdir()
    (tmp_path / "t" / "eps_threshold.csv").write_text("\n")  # an older version's render of this run
    names = {p.name for p in write_tables(targeted, tmp_path / "t")}
    assert "eps_threshold.csv" not in names and "eps_threshold.tex" not in names
    assert not (tmp_path / "t" / "eps_threshold.csv").exists()
    shown = summary_sections(targeted)[0][1]
    assert not {"success_whitebox", "success_transfer", "robust_whitebox"} & set(shown.columns)
    assert {"targeted_whitebox", "targeted_transfer"} <= set(shown.columns)
    assert THRESHOLD_TITLE not in [title for title, _, _ in summary_sections(targeted)]
    md, tex = (tmp_path / "t" / "summary.md").read_text(), (tmp_path / "t" / "summary.tex").read_text()
    assert "success_whitebox" not in md and "Smallest eps" not in md and "{untargeted success (\\%)}" not in tex
    assert "success_whitebox" in pd.read_csv(tmp_path / "t" / "summary.csv").columns

    alone = _rows()[(_rows().source == "mini:a") & (_rows().target == "mini:a")]
    shown = summary_sections(alone)[0][1]
    assert {"success_whitebox", "targeted_whitebox", "robust_whitebox"} <= set(shown.columns)
    assert not {"success_transfer", "targeted_transfer"} & set(shown.columns)
    assert THRESHOLD_TITLE in [title for title, _, _ in summary_sections(alone)]


def _check_latex(tex: str) -> None:
    assert tex.count("\\begin{tabular}") == tex.count("\\end{tabular}") == 1
    assert tex.count("\\begin{table}") == tex.count("\\end{table}") == 1
    assert "\\toprule" in tex and "\\midrule" in tex and "\\bottomrule" in tex
    assert "\\caption{" in tex and "\\label{" in tex
    spec = re.search(r"\\begin\{tabular\}\{([lrc]+)\}", tex).group(1)
    body = tex.split("\\toprule")[1].split("\\bottomrule")[0]
    for line in [ln for ln in body.splitlines() if ln.strip() and not re.match(r"\\(c?midrule)", ln.strip())]:
        assert line.rstrip().endswith("\\\\"), line
        spans = [int(m) for m in re.findall(r"\\multicolumn\{(\d+)\}", line)]
        assert line.count("&") + 1 + sum(spans) - len(spans) == len(spec), line  # every row spans every column
    assert tex.count("{") == tex.count("}")
    text = re.sub(r"(?<!\\)\$.*?(?<!\\)\$", "", body)  # math ($L_\infty$) may use _ as a subscript
    for ch in ("_", "%", "#"):
        assert not re.search(r"(?<!\\)" + re.escape(ch), text), f"unescaped {ch}"


def test_latex_tables_are_balanced_booktabs(tmp_path):
    df = _rows()
    df.loc[df.attack == "fgsm", "attack"] = "torchattacks:MI_FGSM"  # underscores must be escaped
    written = write_tables(df, tmp_path)
    texs = [p for p in written if p.suffix == ".tex"]
    assert len(texs) == 2 * 2 + 3  # attacks x modes, the summary, the eps threshold, tables.tex
    singles = [p for p in texs if p.name != "tables.tex"]
    for p in singles:
        _check_latex(p.read_text())
    combined = (tmp_path / "tables.tex").read_text()
    assert combined.count("\\begin{table}") == combined.count("\\end{table}") == len(singles)
    assert all(p.read_text().removeprefix(FIT_MACRO) in combined for p in singles)
    assert combined.count(FIT_MACRO) == 1  # the fit-to-width macro once, each file alone \\input-able too
    assert all(p.read_text().startswith(FIT_MACRO) for p in singles)


def test_latex_headers_are_human_with_units_and_grouped(tmp_path):
    write_tables(_rows(), tmp_path)
    tex = (tmp_path / "summary.tex").read_text()
    assert "success_whitebox" not in tex and "images_per_s" not in tex
    assert r"\multicolumn{2}{c}{untargeted success (\%)}" in tex and r"\multicolumn{2}{c}{targeted success (\%)}" in tex
    assert r"$\varepsilon$" in tex and "PSNR (dB)" in tex and r"\benchfit{" in tex


def test_eps_threshold_table_is_written_and_one_eps_grids_name_the_sweep(tmp_path):
    one = {p.name for p in write_tables(_rows(), tmp_path / "one")}
    assert {"eps_threshold.csv", "eps_threshold.tex"} <= one
    two = pd.concat([_rows(), _rows().assign(eps=0.2)])
    from reports.tables import RATES_NOTE, grid_notes

    assert "configs/vizpert-eps-sweep.toml" in grid_notes(_rows())[-1] and grid_notes(two) == [RATES_NOTE]


def test_best_class_rule_gets_its_cap_stated():
    from reports.tables import grid_notes

    df = _rows().assign(params="")
    df.loc[df.attack == "pgd", "params"] = "steps=5;untargeted=best_class"
    assert any("pgd use the `best_class`" in n and "1 - 1/C" in n for n in grid_notes(df))


def test_latex_escaping_of_special_characters():
    tex = to_latex(pd.DataFrame({"name": ["a_b", "50%"], "v": [1.0, 2.0]}), "cap", "tab:x")
    _check_latex(tex)
    assert "a\\_b" in tex and "50\\%" in tex


def test_write_tables_files(tmp_path):
    names = {p.name for p in write_tables(_rows(), tmp_path)}
    assert {"results.csv", "summary.csv", "summary.tex", "summary.md", "transfer_pgd_eps0.1.csv",
            "transfer_pgd_eps0.1_targeted.tex"} <= names
    assert "| attack" in (tmp_path / "summary.md").read_text()


def test_eps_threshold_finds_the_smallest_eps_reaching_94_5():
    from reports.tables import eps_threshold_table

    rows = []
    for eps, fr in ((0.05, 0.5), (0.1, 0.95), (0.2, 0.99)):
        rows.append(dict(attack="pgd", method="pgd", norm="linf", eps=eps, targeted=False, source="m", target="m",
                         whitebox=True, n=1000, clean_acc=0.9, fooling_rate=fr * 0.9, success_on_correct=fr,
                         ssim_mean=1 - eps, psnr_mean=30 - eps))
    rows.append(dict(attack="weak", method="weak", norm="linf", eps=0.1, targeted=False, source="m", target="m",
                     whitebox=True, n=1000, clean_acc=0.9, fooling_rate=0.2, success_on_correct=0.2, ssim_mean=0.9,
                     psnr_mean=25))
    t = eps_threshold_table(pd.DataFrame(rows)).set_index("attack")
    assert t.loc["pgd", "eps_reached"] == "0.1" and t.loc["pgd", "ssim"] == pytest.approx(0.9)
    assert t.loc["pgd", "success"] == pytest.approx(95.0) and t.loc["pgd", "success_lo"] < 95 < t.loc["pgd", "success_hi"]
    assert t.loc["weak", "eps_reached"] == "not reached" and t.loc["weak", "success"] == pytest.approx(20.0)
    # a model that gets no eval image right (random weights) has no success rate: said, not a crash
    blind = pd.DataFrame(rows).assign(clean_acc=0.0, success_on_correct=float("nan"))
    assert set(eps_threshold_table(blind).eps_reached) == {"no correct images"}


def test_ablation_table_needs_two_variants_of_the_method():
    from reports.tables import ablation_table

    df = _rows()
    df["method"] = df["attack"]
    assert ablation_table(df, "pgd").empty
    df.loc[df.attack == "fgsm", "method"] = "pgd"  # now two variants of one method
    t = ablation_table(df, "pgd")
    assert list(t.variant) == ["fgsm", "pgd"]
    assert t.set_index("variant").loc["pgd", "mini:a untargeted"] == pytest.approx(90.0)
    assert t.set_index("variant").loc["fgsm", "mini:b targeted"] == pytest.approx(25.0)
    from reports.tables import summary_sections

    def title(frame):
        return next(t for t, *_ in summary_sections(frame) if t.startswith("VizPert ablation"))

    viz = df.assign(method="vizpert")  # the summary's ablation section is VizPert's
    assert "seeds" not in title(viz.assign(seed=0))
    two = pd.concat([viz.assign(seed=0), viz.assign(seed=1)], ignore_index=True)
    assert "mean over 2 seeds; bench report RUN --compare A,B" in title(two)


def test_drawing_reports_leaves_the_matplotlib_backend_alone(tmp_path):
    """A notebook that imports bench keeps its inline backend: reports draw through matplotlib's object
    API and never call matplotlib.use (which once turned a notebook's own plt.show() into nothing)."""
    import subprocess
    import sys

    code = ("import matplotlib; matplotlib.use('svg'); import sys; sys.path.insert(0, 'tests'); "
            "from test_reports import _rows; from reports.figures import write_figures; from pathlib import Path; "
            f"paths = write_figures(_rows(), Path({str(tmp_path)!r})); "
            "print(matplotlib.get_backend(), len(paths))")
    root = Path(__file__).resolve().parents[1]
    proc = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-1500:]
    backend, count = proc.stdout.split()
    assert backend == "svg" and int(count) > 0


def test_image_grids_show_every_panel_pixel_for_pixel_with_short_titles(tmp_path):
    """The class and example grids are composed into one picture: each panel's pixels are its image's
    (constant grey panels come out as solid blocks of exactly that grey, nothing blurred into them), and
    a long class name is cut so that it cannot run into its neighbour's."""
    import io

    import numpy as np
    from PIL import Image

    from reports.plots import DPI, _image_grid

    levels = np.arange(10) * 25 + 10  # ten distinct greys, none black or white
    images = np.ones((10, 1, 28, 28), np.float32) * (levels / 255.0)[:, None, None, None]
    fig = _image_grid(images, ["great white shark, white shark, man-eater, Carcharodon carcharias"] * 10, "grid")
    buf = io.BytesIO()
    fig.savefig(buf, dpi=DPI, format="png")
    pixels = np.asarray(Image.open(buf).convert("L"))
    values, counts = np.unique(pixels, return_counts=True)
    panel = round(1.2 * DPI) ** 2
    for level in levels:
        assert counts[values == level].sum() >= panel, level  # the whole panel, at its exact grey
    titles = [t.get_text() for t in fig.texts]
    assert all(t.endswith("…") for t in titles[:10]) and titles[-1] == "grid"


@pytest.mark.parametrize("names,panels", [(["WIDE CAPITALS OF A CLASS NAME"], 10), (["clean: Chesapeake Bay retriever",
                                          "clean: German short-haired pointer", "adv: Welsh springer spaniel"], 10),
                                          (["universal"], 1)])
def test_image_grid_titles_are_measured_to_stay_clear_of_each_other_and_inside(names, panels):
    """Panel titles were cut at a character count, which let capitals and long ImageNet names run into the
    next panel's title; the suptitle of a one-panel grid was wrapped the same way. Drawn with Agg, no two
    titles may overlap and none may leave the picture."""
    import numpy as np
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from reports.plots import _panel_figure

    image = np.full((1, 28, 28), 0.5, np.float32)
    rows = [[(image, names[(r + j) % len(names)]) for j in range(panels)] for r in range(2)]
    fig = _panel_figure(rows, "uap linf eps=8/255, source timm:vit_base_patch16_224.augreg_in21k: perturbation "
                              "(grey = 0, black/white = -/+ max)", panel_in=1.3, title_pt=6, suptitle_pt=7)
    renderer = FigureCanvasAgg(fig).get_renderer()
    boxes = [t.get_window_extent(renderer) for t in fig.texts]
    width, height = fig.bbox.width, fig.bbox.height
    assert all(b.x0 >= 0 and b.x1 <= width and b.y0 >= 0 and b.y1 <= height for b in boxes)
    assert not [(i, k) for i in range(len(boxes)) for k in range(i) if boxes[i].overlaps(boxes[k])]


def test_per_class_grids_get_the_full_page_width(tmp_path):
    """A row of ten or more classes is unreadable at half width: class visualizations and fitted deltas
    are full-width galleries, per-cell heatmaps and examples stay two a row."""
    from reports.html import index_html

    plots = tmp_path / "plots"
    plots.mkdir()
    for name in ("classviz_v_linf_eps0.1_a", "deltas_v_linf_eps0.1_a", "heatmap_pgd_eps0.1", "examples_pgd_a"):
        (plots / f"{name}.png").write_bytes(b"")
    page = index_html(tmp_path, [], [], [])
    gallery = {title: cls for title, cls in re.findall(r'<h2>([^<]+)</h2>\n<div class="([^"]+)">', page)}
    assert gallery["Class visualizations"] == gallery["Fitted universal perturbations"] == "grid wide"
    assert gallery["Transfer heatmap per attack"] == "grid" and gallery[
        "Examples: clean / perturbation (amplified for display) / adversarial"] == "grid"


def test_the_run_facts_name_what_the_floats_depended_on(tmp_path):
    """The device line carries the torch threads and the CPU instruction set (or the GPU), and the
    zoo's training machine gets a line: another of either trains other weights."""
    import json

    from reports.render import run_facts

    cpu = {"device": "cpu", "torch_threads": 2, "cpu_capability": "AVX2"}
    (tmp_path / "manifest.json").write_text(json.dumps({
        "device": {"device": "cuda:0", "gpu": "NVIDIA H200", "torch_threads": 16},
        "zoo_cards": [{"name": "mini:vgg", "machine": cpu}, {"name": "mini:resnet", "machine": cpu},
                      {"name": "mini:vit"}]}))  # a card written before cards recorded the machine
    facts = run_facts(tmp_path)
    assert any(f.startswith("device cuda:0, NVIDIA H200;") for f in facts), facts
    assert "mini zoo trained on cpu, 2 torch threads, AVX2" in facts
    from common.text import machine_text

    assert machine_text({**cpu, "torch_threads": 1}) == "cpu, 1 torch thread, AVX2"


def test_the_run_facts_tell_the_image_seed_from_the_attack_seeds(tmp_path):
    """With --seeds the attacks run once per seed on the images and targets that --seed drew."""
    import json

    from reports.render import run_facts

    cfg = {"dataset": "synthetic", "n": 8, "n_fit": 4, "seed": 5}
    (tmp_path / "manifest.json").write_text(json.dumps({"config": cfg}))
    assert run_facts(tmp_path)[0] == "dataset synthetic: 8 eval images, 4 fit images, seed 5"
    (tmp_path / "manifest.json").write_text(json.dumps({"config": {**cfg, "seeds": [0, 1, 2]}}))
    assert run_facts(tmp_path)[0].endswith("seed 5 (images, targets); attack seeds 0, 1, 2")


def test_the_run_facts_name_attacks_as_the_tables_do(tmp_path):
    """Two variants of one class (`torchattacks:MIFGSM` and `torchattacks:MIFGSM[alpha=0.01]`) were both
    "torchattacks:MIFGSM" in the facts line; now as in the tables, a label where one is given."""
    import json

    from reports.render import run_facts

    attacks = [{"label": "", "name": "torchattacks:MIFGSM", "params": {}},
               {"label": "", "name": "torchattacks:MIFGSM", "params": {"alpha": 0.01, "steps": 20}},
               {"label": "mine", "name": "pgd", "params": {"alpha": 2 / 255}}]
    (tmp_path / "manifest.json").write_text(json.dumps({"config": {"attacks": attacks, "norm": "linf", "eps": [0.1]}}))
    assert run_facts(tmp_path)[2] == ("attacks: torchattacks:MIFGSM, torchattacks:MIFGSM[alpha=0.01,steps=20], mine; "
                                      "linf eps 0.1")


def test_a_merged_grid_names_the_machines_its_shards_ran_on(tmp_path):
    """Shards on machines with another thread count compute other floats: the merged manifest keeps each
    shard's device, and the facts list the setups only when they differ."""
    import json

    from bench.manifest import merge_shard_manifests
    from reports.render import run_facts, shard_machines

    def shard(threads: int, computed: int) -> dict:
        return {"device": {"device": "cpu", "torch_threads": threads, "cpu_capability": "AVX2"},
                "cells": {"computed": computed, "failed": []}, "wall_seconds": 1.0, "config": {}}

    same = merge_shard_manifests({"manifest.shard-1-of-2.json": shard(2, 3), "manifest.shard-2-of-2.json": shard(2, 4)})
    assert same["cells"]["computed"] == 7 and len(shard_machines(same)) == 1
    mixed = merge_shard_manifests({"manifest.shard-1-of-2.json": shard(2, 3),
                                   "manifest.shard-2-of-2.json": shard(16, 4)})
    assert shard_machines(mixed) == {"cpu, 2 torch threads, AVX2": ["manifest.shard-1-of-2.json"],
                                     "cpu, 16 torch threads, AVX2": ["manifest.shard-2-of-2.json"]}
    for manifest, listed in ((same, False), (mixed, True)):
        (tmp_path / "manifest.json").write_text(json.dumps(manifest))
        assert any(f.startswith("shards ran on: cpu, 2 torch threads") for f in run_facts(tmp_path)) == listed


def test_cells_computed_on_other_setups_get_a_fact_unless_the_shard_line_says_it(tmp_path):
    """A run resumed on another machine mixes float roundings: the facts count the cells per setup
    (the rows' `machine`), as when all were computed on a setup other than the manifest's; the
    manifest's setup alone, rows from before the column existed, or a merged grid whose shard line
    already names the setups add nothing."""
    import json

    import pandas as pd

    from reports.render import cell_machines, run_facts

    a, b = "cpu, 2 torch threads, AVX2", "cpu, 1 torch thread, AVX2"
    df = pd.DataFrame({"attack": ["fgsm"] * 4 + ["pgd"] * 2, "norm": "linf", "eps": 0.1,
                       "targeted": [False, False, True, True, False, False],
                       "source": "m", "target": ["m", "n"] * 3, "machine": [a, a, a, a, b, b]})
    assert cell_machines(df) == {a: 2, b: 1}  # cells, not rows (one row per target)
    (tmp_path / "manifest.json").write_text(json.dumps({"device": {"device": "cpu", "torch_threads": 2,
                                                                   "cpu_capability": "AVX2"}}))  # setup a
    assert f"cells computed on: {a} (2 cells); {b} (1 cell)" in run_facts(tmp_path, df)
    for one in (df.assign(machine=a), df.drop(columns="machine"), df.assign(machine=[a, a, a, a, None, None])):
        assert not any(f.startswith("cells computed on") for f in run_facts(tmp_path, one))
    # one setup that is not the manifest's (the last invocation's): every cell was computed elsewhere,
    # by one-thread Ray workers or before a resume on another machine that found them all stored
    assert f"cells computed on: {b} (3 cells)" in run_facts(tmp_path, df.assign(machine=b))
    (tmp_path / "manifest.json").write_text(json.dumps({"devices": {
        "manifest.shard-1-of-2.json": {"device": "cpu", "torch_threads": 2}, "manifest.shard-2-of-2.json":
        {"device": "cpu", "torch_threads": 1}}}))
    facts = run_facts(tmp_path, df)
    assert any(f.startswith("shards ran on") for f in facts) and not any(f.startswith("cells computed") for f in facts)



def test_fits_from_another_setup_get_a_fact(tmp_path):
    """A learned fit read from the shared cache may come from another setup (a CPU fit in a GPU run):
    the facts count such fits, once per fit, and say nothing when every fit was made where cells ran."""
    import json

    import pandas as pd

    from reports.render import foreign_fits, run_facts

    gpu, cpu = "cuda, NVIDIA H200", "cpu, 2 torch threads, AVX2"
    df = pd.DataFrame({"attack": ["vizpert"] * 4 + ["fgsm"] * 2, "norm": "linf", "eps": 0.1,
                       "targeted": [False, True] * 3, "source": ["a", "a", "b", "b", "a", "a"],
                       "machine": gpu, "fit_machine": [cpu, cpu, gpu, gpu, None, None]})
    assert foreign_fits(df) == {cpu: 1}  # vizpert on a: one fit serves both modes
    (tmp_path / "manifest.json").write_text(json.dumps({"device": {"device": "cuda"}}))
    assert f"fits from the cache computed on another setup: {cpu} (1 fit)" in run_facts(tmp_path, df)
    assert foreign_fits(df.assign(fit_machine=[gpu] * 4 + [None] * 2)) == {}
    assert foreign_fits(df.drop(columns="fit_machine")) == {}


def _drawn_figures(df, monkeypatch, tmp_path):
    """Every figure `write_figures` draws, laid out as saved, with an Agg renderer to measure its text."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from reports import figures

    drawn, save = [], figures._save

    def keep(fig, run_dir, stem, tight=True):
        path = save(fig, run_dir, stem, tight)
        drawn.append((stem, fig, FigureCanvasAgg(fig).get_renderer()))
        return path

    monkeypatch.setattr(figures, "_save", keep)
    figures.write_figures(df, tmp_path)
    return drawn


@pytest.mark.parametrize("names", [["pgd"], ["vizpert_without_skip_connections"],
                                   ["vizpert_without_skip_connections", "torchattacks:AutoAttack(version=standard)",
                                    "pgd", "fgsm", "uap"]])
def test_heatmap_titles_stay_inside_their_figure_and_clear_of_each_other(names, monkeypatch, tmp_path):
    """A one-attack report once cut its transfer figure's title at both edges (centred, 90 characters on a
    one-panel figure), and a long attack name ran past its heatmap; five attacks put the second row's title
    on the first row's target names, and a one-row figure cut the bottom of its slanted target names. Every
    title is now wrapped to the room it has, and the margins are measured from the text."""
    one = _rows()[lambda d: d.attack == "pgd"].replace({"mini:a": "mini:densenet", "mini:b": "timm:efficientnet_b0"})
    df = pd.concat([one.assign(attack=name) for name in names], ignore_index=True)
    drawn = _drawn_figures(df, monkeypatch, tmp_path)
    assert {stem for stem, _, _ in drawn} >= {"heatmaps_all_eps0.1", f"heatmap_{names[0]}_eps0.1_targeted"}
    for stem, fig, r in drawn:
        def box(artist):
            return artist.get_window_extent(r).transformed(fig.transFigure.inverted())

        titles = [box(ax.title) for ax in fig.axes if ax.title.get_text()]
        tops = [box(t) for t in fig.texts if t.get_text()]
        ticks = [box(t) for ax in fig.axes for t in ax.get_xticklabels() + ax.get_yticklabels() if t.get_text()]
        for b in titles + tops + ticks:
            assert 0 <= b.x0 and b.x1 <= 1 and 0 <= b.y0 and b.y1 <= 1, (stem, b)
        for i, b in enumerate(titles):
            assert not any(b.overlaps(o) for o in titles[i + 1:] + tops + ticks), stem


def test_an_eps_of_pixel_levels_is_titled_as_it_was_given(monkeypatch, tmp_path):
    """`--eps 8/255` is shown as 8/255 in figure titles and table captions, as in the logs, not 0.03137."""
    df = _rows().assign(eps=8 / 255)
    titles = [t.get_text() for _, fig, _ in _drawn_figures(df, monkeypatch, tmp_path)
              for t in fig.texts + [ax.title for ax in fig.axes] if "eps=" in t.get_text()]
    assert titles and all("eps=8/255" in t.replace("\n", " ") for t in titles)
    write_tables(df, tmp_path)
    assert "eps=8/255" in (tmp_path / f"transfer_pgd_{eps_tag(8 / 255)}.tex").read_text()


@pytest.mark.parametrize("targeted", [False, True])
def test_an_eps_sweep_in_one_mode_draws_no_empty_panel(targeted, monkeypatch, tmp_path):
    """A one-mode sweep once drew the other mode's rate curves as an empty panel beside its own, and a
    targeted-only sweep an empty perceptibility plot: each figure shows the rates the grid has."""
    rows = _rows()
    df = pd.concat([rows, rows.assign(eps=0.2)])
    df = df[df.targeted == targeted]
    drawn = {stem: fig for stem, fig, _ in _drawn_figures(df, monkeypatch, tmp_path)}
    (panel,) = drawn["curves_eps_linf"].axes
    assert panel.get_title() == ("targeted success (%)" if targeted else "untargeted success on correct (%)")
    assert all(len(line.get_xdata()) == 2 for line in panel.lines)
    (ssim,) = drawn["ssim_vs_fooling_linf"].axes
    assert ssim.get_ylabel().startswith("white-box targeted" if targeted else "white-box untargeted")
    assert all(pd.notna(line.get_ydata()).all() for line in ssim.lines)


def test_the_pdf_prints_a_figure_no_larger_than_it_was_drawn(tmp_path):
    """A one-panel universal perturbation (1.3 inches drawn) once filled the page width, its 8-point title
    printed at about 40: figures keep the size they were drawn at, up to their share of the text width."""
    from PIL import Image

    from reports.document import TEXT_WIDTH_IN, report_tex
    from reports.plots import DPI

    plots = tmp_path / "plots"
    plots.mkdir()
    Image.new("RGB", (160, 300), "white").save(plots / "deltas_uap_linf_eps0.1_a.png", dpi=(DPI, DPI))
    Image.new("RGB", (1600, 300), "white").save(plots / "examples_pgd_linf_eps0.1_a_untargeted.png", dpi=(DPI, DPI))
    widths = {name: width for width, name in
              re.findall(r"includegraphics\[width=([0-9.]+)in,[^]]*\]\{plots/(\w+)", report_tex(tmp_path))}
    assert float(widths["deltas_uap_linf_eps0"]) == pytest.approx(160 / DPI, abs=0.01)
    assert float(widths["examples_pgd_linf_eps0"]) == pytest.approx(0.9 * TEXT_WIDTH_IN, abs=0.01)


def test_a_one_model_grid_draws_no_transfer_figure_and_prints_no_transfer_table(monkeypatch, tmp_path):
    """With one model every transfer matrix is its single white-box cell: the report once spent a page of
    1x1 heatmaps and six 1x1 tables on numbers the white-box table shows. The transfer CSVs stay."""
    alone = _rows()[(_rows().source == "mini:a") & (_rows().target == "mini:a")]
    stems = [stem for stem, _, _ in _drawn_figures(alone, monkeypatch, tmp_path)]
    assert not [s for s in stems if s.startswith("heatmap")]
    names = {p.name for p in write_tables(alone, tmp_path)}
    assert "transfer_pgd_eps0.1.csv" in names and "tab:transfer" not in (tmp_path / "tables.tex").read_text()
    both = _rows()
    assert any(s.startswith("heatmaps_all") for s, _, _ in _drawn_figures(both, monkeypatch, tmp_path / "two"))
    write_tables(both, tmp_path / "two")
    assert "tab:transfer_pgd_eps0.1" in (tmp_path / "two" / "tables.tex").read_text()
