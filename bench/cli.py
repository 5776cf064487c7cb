"""The `bench` command: run the grid, list what is registered, train the mini zoo, re-render reports."""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
import traceback
from pathlib import Path
from typing import Sequence

import attacks
import zoo
from zoo.cache import atomic_write_json

from . import models as bench_models
from .config import DEFAULT_ATTACKS, DEFAULT_MODELS, AttackSpec, RunConfig
from .data import DATASETS, load_dataset, make_splits
from .device import resolve_device
from .errors import BenchError

USER_ERRORS = (BenchError, zoo.ZooError, attacks.AttackError)
MODES = {"both": (False, True), "untargeted": (False,), "targeted": (True,)}


def log(msg: str) -> None:
    """Status lines go to stderr, so stdout carries only the summary."""
    print(msg, file=sys.stderr, flush=True)


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (the problem and where to look), exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"error: {message}; see `{self.prog} --help`\n")


def _csv(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


def _build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="bench", description="Benchmark adversarial attacks (VizPert and baselines) on a model zoo.")
    p.add_argument("--debug", action="store_true", help="show full tracebacks for errors")
    sub = p.add_subparsers(dest="command", parser_class=_Parser)

    r = sub.add_parser("run", help="run the attack x eps x source -> target grid (default: the quickstart)")
    r.add_argument("--config", default=None, help="a TOML run config; flags given here override its keys")
    r.add_argument("--dataset", help="dataset name (`bench list datasets`); default fashion-mnist")
    r.add_argument("--models", help=f"comma-separated zoo names; default {','.join(DEFAULT_MODELS)}")
    r.add_argument("--attacks", help=f"comma-separated attack names; default {','.join(DEFAULT_ATTACKS)}")
    r.add_argument("--eps", help="comma-separated budgets on the [0,1] scale, e.g. 0.1,8/255; default 0.1")
    r.add_argument("--norm", choices=attacks.NORMS, help="default linf")
    r.add_argument("--mode", choices=sorted(MODES), help="untargeted, targeted or both (default)")
    r.add_argument("--n", type=int, help="eval images (from the test split); default 1000")
    r.add_argument("--n-fit", type=int, help="fit images for attacks that learn (from train); default 1000")
    r.add_argument("--seed", type=int, help="default 0")
    r.add_argument("--batch-size", type=int, help="default 250")
    r.add_argument("--device", help="auto (default), cpu, cuda or cuda:<i>")
    r.add_argument("--output", help="folder that receives the run folder; default reports/runs")
    r.add_argument("--run-id", help="run folder name; an existing one is resumed (its missing cells computed)")
    r.add_argument("--fresh", action="store_true", default=None,
                   help="discard the results already in the --run-id folder and start over")
    r.add_argument("--dry-run", action="store_true", default=None,
                   help="print the grid (cells, stored ones, rough cost) and exit without computing")
    r.add_argument("--shard", help="i/n: compute only the i-th of n disjoint shares of the grid "
                                   "(then `bench merge`)")
    r.add_argument("--pretrained", action=argparse.BooleanOptionalAction, default=None,
                   help="timm: models load pretrained weights from the local Hugging Face cache (default: no)")
    r.add_argument("--checkpoint", action="append", metavar="MODEL=PATH",
                   help="weights file (safetensors or weights-only torch) for one model; repeatable")
    r.add_argument("--amp", choices=("none", "bf16"), help="run the models under bf16 autocast (default none)")
    r.add_argument("--channels-last", action=argparse.BooleanOptionalAction, default=None,
                   help="NHWC memory layout for the models (default: no)")
    r.add_argument("--workers", type=int, help="image decoding processes for imagefolder: data (default: up to 8)")
    r.add_argument("--executor", choices=("local", "ray"),
                   help="local (default): groups one after another here; ray: each group a Ray task")
    r.add_argument("--ray-address", help="Ray cluster to use with --executor ray (default: start a local instance)")
    _data_args(r, defaults=False)

    ls = sub.add_parser("list", help="list registered attacks, models or datasets")
    ls.add_argument("what", choices=["attacks", "models", "datasets"])

    z = sub.add_parser("zoo", help="mini-zoo maintenance")
    zsub = z.add_subparsers(dest="zoo_command", parser_class=_Parser)
    zt = zsub.add_parser("train", help="train the mini zoo on the dataset and cache it")
    zt.add_argument("--models", default=",".join(DEFAULT_MODELS))
    zt.add_argument("--dataset", default="fashion-mnist")
    zt.add_argument("--seed", type=int, default=0)
    zt.add_argument("--force", action="store_true", help="retrain even when cached weights are intact")
    _data_args(zt)

    mg = sub.add_parser("merge", help="combine the shards of a run (`bench run --shard i/n`) and render it")
    mg.add_argument("run_dir", help="the run folder that receives the merged cells")
    mg.add_argument("others", nargs="*", help="shard run folders to copy cells from (none: shards shared run_dir)")
    mg.add_argument("--allow-missing", action="store_true", help="render even when some cells are missing")

    rep = sub.add_parser("report", help="re-render a run folder from its stored cells, or compare two runs")
    rep.add_argument("run_dir", nargs="+", help="RUN_DIR to re-render, or RUN_A RUN_B to compare")
    rep.add_argument("--format", default="all",
                     help="all (default) or a comma list of csv,latex,markdown,plots,html,pdf")
    rep.add_argument("--output", default=None, help="folder for a comparison (default RUN_B/compare_vs_<A>)")
    return p


def _data_args(p: argparse.ArgumentParser, defaults: bool = True) -> None:
    p.add_argument("--data-dir", default=None, help="folder with the dataset files (else $BENCH_DATA, Debian path)")
    p.add_argument("--download", action="store_true", default=False if defaults else None,
                   help="download the dataset with torchvision if not found")
    p.add_argument("--cache-dir", default=None, help="weights cache (default $BENCH_CACHE or ~/.cache/vizpert-bench)")


RUN_DEFAULTS = {
    "dataset": "fashion-mnist", "models": list(DEFAULT_MODELS), "attacks": [AttackSpec(n) for n in DEFAULT_ATTACKS],
    "eps": [0.1], "norm": "linf", "mode": "both", "n": 1000, "n_fit": 1000, "seed": 0, "batch_size": 250,
    "device": "auto", "output": "reports/runs", "run_id": None, "data_dir": None, "download": False,
    "cache_dir": None, "fresh": False, "dry_run": False, "shard": None,
    "pretrained": False, "checkpoints": {}, "amp": "none", "channels_last": False, "workers": None,
    "executor": "local", "ray_address": None,
}


def _resolve_run_options(a: argparse.Namespace) -> argparse.Namespace:
    """Defaults, then the config file, then the flags given on the command line."""
    from .configfile import read_config

    merged = dict(RUN_DEFAULTS)
    if a.config:
        merged.update(read_config(a.config))
    flags = {"models": _csv, "attacks": lambda t: [AttackSpec(n) for n in _csv(t)], "eps": _csv}
    for key in RUN_DEFAULTS:
        value = getattr(a, key, None)
        if value is not None:
            merged[key] = flags[key](value) if key in flags else value
    if a.checkpoint:
        merged["checkpoints"] = {**merged["checkpoints"], **_checkpoint_flags(a.checkpoint)}
    if isinstance(merged["eps"], (int, float, str)):
        merged["eps"] = [merged["eps"]]
    merged["eps"] = tuple(attacks.parse_eps(e) for e in merged["eps"])
    return argparse.Namespace(**{**vars(a), **merged})


def _checkpoint_flags(items: list[str]) -> dict[str, str]:
    """`--checkpoint timm:vgg16=/w/vgg16.safetensors` (repeatable) -> {model: path}."""
    out = {}
    for item in items:
        name, sep, path = item.partition("=")
        if not sep or not name.strip() or not path.strip():
            raise BenchError(f"--checkpoint {item!r} is not MODEL=PATH; e.g. --checkpoint timm:vgg16=vgg16.safetensors")
        out[name.strip()] = path.strip()
    return out


def _config_from_args(a: argparse.Namespace) -> RunConfig:
    eps = a.eps
    if not eps:
        raise BenchError("--eps is empty; give at least one budget, e.g. --eps 0.1")
    for e in eps:
        if e <= 0 or (a.norm == "linf" and e >= 1):
            bound = "0 < eps < 1" if a.norm == "linf" else "eps > 0"
            raise BenchError(f"eps {e:g} is out of range for {a.norm}; use {bound} on the [0, 1] pixel scale")
    for flag, value in (("--n", a.n), ("--n-fit", a.n_fit), ("--batch-size", a.batch_size)):
        if value <= 0:
            raise BenchError(f"{flag} must be a positive integer, got {value}")
    names = list(a.models)
    if not names:
        raise BenchError("--models is empty; list at least one zoo model, e.g. --models mini:resnet")
    if not a.attacks:
        raise BenchError("--attacks is empty; list at least one attack, e.g. --attacks pgd")
    if a.mode not in MODES:
        raise BenchError(f"mode {a.mode!r} is not one of {', '.join(sorted(MODES))}")
    if a.norm not in attacks.NORMS:
        raise BenchError(f"norm {a.norm!r} is not one of {', '.join(attacks.NORMS)}")
    if a.amp not in ("none", "bf16"):
        raise BenchError(f"amp {a.amp!r} is not one of none, bf16")
    if a.executor not in ("local", "ray"):
        raise BenchError(f"executor {a.executor!r} is not one of local, ray")
    if a.ray_address and a.executor != "ray":
        raise BenchError("--ray-address is for --executor ray; add --executor ray or drop the address")
    if a.workers is not None and a.workers < 0:
        raise BenchError(f"--workers must be 0 or more, got {a.workers}")
    for name in a.checkpoints:
        if name not in names:
            raise BenchError(f"a checkpoint is given for {name}, which is not in --models ({', '.join(names)}); "
                             "name a model of the run")
        zoo.check_checkpoint_target(name)
    return RunConfig(dataset=a.dataset, models=tuple(names), attacks=tuple(a.attacks),
                     eps=eps, norm=a.norm, targeted=MODES[a.mode], n=a.n, n_fit=a.n_fit, seed=a.seed,
                     batch_size=a.batch_size, device=a.device, pretrained=a.pretrained,
                     checkpoints=dict(a.checkpoints), amp=a.amp, channels_last=a.channels_last, workers=a.workers,
                     executor=a.executor, ray_address=a.ray_address)


def _validate_names(cfg: RunConfig) -> None:
    """Fail on a bad dataset, model or attack name before any data is loaded or model trained."""
    if cfg.dataset not in DATASETS and not cfg.dataset.startswith("imagefolder:"):
        raise BenchError(attacks.registry.unknown_name_message("dataset", cfg.dataset, DATASETS,
                                                               "bench list datasets"))
    for name in cfg.models:
        zoo.validate_name(name)
        if cfg.models.count(name) > 1:
            raise BenchError(f"model {name} is listed twice in --models; list each model once")
    labels = [spec.display for spec in cfg.attacks]
    for spec in cfg.attacks:
        attack = attacks.create(spec.name, **spec.params)
        for budget in cfg.budgets():
            attack.check_budget_supported(budget)
        if labels.count(spec.display) > 1:
            raise BenchError(f"attack {spec.display!r} is listed twice; give each variant its own label")


def _check_output(output: Path) -> None:
    """Fail early (before data loading and training) when the output folder cannot be written."""
    probe = output
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if not probe.is_dir() or not os.access(probe, os.W_OK):
        raise BenchError(f"cannot write the output folder {output} ({probe} is not a writable folder); "
                         "pass a writable --output")


def _new_run_dir(output: Path, run_id: str | None) -> Path:
    output.mkdir(parents=True, exist_ok=True)
    if run_id is None:
        run_id = time.strftime("%Y%m%d-%H%M%S")
        base, k = run_id, 1
        while (output / run_id).exists():
            k += 1
            run_id = f"{base}-{k}"
    run_dir = output / run_id
    run_dir.mkdir(exist_ok=True)
    return run_dir


def _link_latest(run_dir: Path) -> None:
    latest = run_dir.parent / "latest"
    tmp = run_dir.parent / f".latest.{os.getpid()}"
    try:
        tmp.unlink(missing_ok=True)
        tmp.symlink_to(run_dir.name)
        os.replace(tmp, latest)
    except OSError:
        tmp.unlink(missing_ok=True)  # a file system without symlinks: the run folder is still complete


def _render(run_dir: Path, formats: Sequence[str] | None = None) -> str:
    """Tables, figures, report.tex/PDF, summary.md and index.html of a run folder from its stored
    cells and files; returns the Markdown summary (with the sanity warnings)."""
    from reports import FORMATS, render_run, rows_frame

    from .runfolder import stored_rows

    df = rows_frame(stored_rows(run_dir))
    sanity = run_dir / "sanity.json"
    warnings = [w["message"] for w in json.loads(sanity.read_text())] if sanity.is_file() else []
    manifest = run_dir / "manifest.json"
    classes = json.loads(manifest.read_text()).get("dataset", {}).get("classes", []) if manifest.is_file() else []
    if formats is None:  # everything, but the PDF only when BENCH_PDF is not 0 (the tests skip it: ~3 s a run)
        formats = [f for f in FORMATS if f != "pdf" or os.environ.get("BENCH_PDF", "1") != "0"]
    return render_run(df, run_dir, class_names=classes, model_warnings=warnings, formats=formats, log=log)


def _models_ready(cfg: RunConfig, ds, cache_dir) -> bool:
    """True when no mini model would need training (dry runs never train)."""
    spec = bench_models.input_spec(ds)
    return all(zoo.mini_status(n, spec, cache_dir) is not None for n in cfg.models if n.startswith("mini:"))


def cmd_run(a: argparse.Namespace) -> int:
    from . import runfolder
    from .manifest import build_manifest, device_info
    from .plan import all_keys, parse_shard, plan_grid, run_identity
    from .runner import run_grid
    from .sanity import check_models
    from .store import Store

    started = time.time()
    a = _resolve_run_options(a)
    cfg = _config_from_args(a)
    shard = parse_shard(a.shard)
    _validate_names(cfg)
    if cfg.executor == "ray":
        from .ray_executor import check_address, require_ray

        require_ray()
        check_address(cfg.ray_address)
    if not a.dry_run:
        _check_output(Path(a.output))
    device = resolve_device(cfg.device)
    ds = load_dataset(cfg.dataset, a.data_dir, download=a.download, cache_dir=zoo.cache_root(a.cache_dir),
                      data_config=bench_models.dataset_transform(cfg, log), n_fit=cfg.n_fit, n=cfg.n,
                      seed=cfg.seed, workers=cfg.workers)
    fit, eval_ = make_splits(ds, cfg.n_fit, cfg.n, cfg.seed)
    if device.type == "cuda":  # page-locked host memory: batches go to the GPU asynchronously
        fit, eval_ = fit.pinned(), eval_.pinned()
    identity = run_identity(cfg, ds.transform)
    existing = Path(a.output) / a.run_id if a.run_id else None
    if a.dry_run:
        return _dry_run(cfg, a, ds, eval_, identity, shard, existing, device)
    cards = bench_models.train_missing(list(cfg.models), ds, cache_dir=a.cache_dir, log=log, device=device)
    models = bench_models.load_models(list(cfg.models), ds, device, cache_dir=a.cache_dir, **bench_models.load_options(cfg))
    weights = bench_models.weight_hashes(models)
    identity["weights"] = weights
    groups = plan_grid(cfg, identity)
    run_dir = _new_run_dir(Path(a.output), a.run_id)
    if a.fresh:
        runfolder.fresh(run_dir)
    runfolder.claim(run_dir, cfg.to_dict(), identity, all_keys(groups))
    log(f"run folder: {run_dir}" + ("" if shard.count == 1 else f" (shard {shard})"))
    warnings = check_models(models, eval_.x, eval_.y, device)
    for w in warnings:
        log(f"warning: {w['message']}")
    atomic_write_json(run_dir / "sanity.json", warnings, indent=1)
    store = Store(run_dir)
    result = run_grid(cfg, models, fit, eval_, ds.num_classes, store, device=device, identity=identity,
                      groups=groups, shard=shard, fit_cache=zoo.cache_root(a.cache_dir), log=log,
                      executor=cfg.executor, ray_address=cfg.ray_address)
    manifest = build_manifest(
        config=cfg.to_dict(), seed=cfg.seed, shard=str(shard),
        dataset={"name": ds.name, "source": ds.source, "classes": list(ds.class_names), "image_shape": list(ds.shape),
                 "unreadable_skipped": ds.skipped, "transform": ds.transform},
        device=device_info(device), weights_sha256=weights, models=bench_models.model_info(models), zoo_cards=cards,
        cells={"computed": result.computed, "skipped": result.skipped,
               "failed": [f.__dict__ for f in result.failures]},
        batch_fallbacks=result.batch_fallbacks, sanity=warnings, wall_seconds=round(time.time() - started, 2), command=sys.argv,
    )
    name = "manifest.json" if shard.count == 1 else f"manifest.shard-{shard.index}-of-{shard.count}.json"
    atomic_write_json(run_dir / name, manifest, indent=2, default=str)
    log(f"{result.computed} cells computed, {result.skipped} already stored; results in {run_dir}")
    for f in result.failures:
        log(f"FAILED cell {f.cell}: {f.error}")
    for fb in result.batch_fallbacks:
        log(f"out of memory on {fb['model']}: batch size {fb['from']} -> {fb['to']} for the rest of the run")
    if shard.count > 1:
        log(f"shard {shard} done; when every shard has finished: bench merge {run_dir}")
        return 1 if result.failures else 0
    summary = _render(run_dir)
    _link_latest(run_dir)
    print(summary)
    return 1 if result.failures else 0


def _dry_run(cfg: RunConfig, a: argparse.Namespace, ds, eval_, identity: dict, shard, existing: Path | None,
             device) -> int:
    """Print the plan (cells, stored ones, rough cost) without training, computing or writing."""
    from .dryrun import describe, seconds_per_pass
    from .plan import plan_grid
    from .store import Store

    pass_seconds = None
    if _models_ready(cfg, ds, a.cache_dir):
        models = bench_models.load_models(list(cfg.models), ds, device, cache_dir=a.cache_dir, **bench_models.load_options(cfg))
        identity["weights"] = bench_models.weight_hashes(models)
        xb, yb = eval_.x[:min(cfg.batch_size, 64)].to(device), eval_.y[:min(cfg.batch_size, 64)].to(device)
        pass_seconds = {name: seconds_per_pass(m, xb, yb) for name, m in models.items()}
    stored = Store(existing).keys() if existing is not None and not a.fresh else set()
    print(describe(cfg, plan_grid(cfg, identity), shard, stored, pass_seconds))
    return 0


def cmd_list(a: argparse.Namespace) -> int:
    if a.what == "attacks":
        rows = attacks.REGISTRY.describe()
    elif a.what == "models":
        rows = zoo.describe()
    else:
        rows = [(d.name, d.description) for d in DATASETS.values()]
        rows.append(("imagefolder:<path>", "one sub-folder of images per class (ImageNet val layout: synset folders "
                                           "get timm's ImageNet-1k labels); the first timm model's eval transform "
                                           "(default 224x224)"))
    width = max(len(n) for n, _ in rows)
    for name, desc in rows:
        print(f"{name:<{width}}  {desc}")
    return 0


def cmd_zoo_train(a: argparse.Namespace) -> int:
    names = _csv(a.models)
    for name in names:
        zoo.validate_name(name)
        if not name.startswith("mini:"):
            raise BenchError(f"{name} is not a mini-zoo model; only mini:<arch> models are trained locally")
    ds = load_dataset(a.dataset, a.data_dir, download=a.download, cache_dir=zoo.cache_root(a.cache_dir))
    cards = bench_models.train_missing(names, ds, seed=a.seed, force=a.force, cache_dir=a.cache_dir, log=log)
    for card in cards:
        print(f"{card['name']:<14} {ds.name}  test accuracy {card['test_accuracy']:.1%}  "
              f"sha256 {card['sha256'][:12]}  ({card['params']} params)")
    return 0


def cmd_report(a: argparse.Namespace) -> int:
    from reports import parse_formats

    from .store import Store

    try:
        formats = parse_formats(a.format)
    except ValueError as exc:
        raise BenchError(str(exc)) from None
    runs = [Path(r) for r in a.run_dir]
    for run_dir in runs:
        if not Store(run_dir).keys():
            raise BenchError(f"no stored results in {run_dir}/cells; pass a run folder made by `bench run`")
    if len(runs) == 1:
        print(_render(runs[0], formats))
        return 0
    if len(runs) > 2:
        raise BenchError("bench report compares two runs at most: bench report RUN_A RUN_B")
    return _compare(runs[0], runs[1], Path(a.output) if a.output else None)


def _compare(run_a: Path, run_b: Path, output: Path | None) -> int:
    """`bench report A B`: the cells both runs have, metrics side by side with B - A."""
    from reports import compare_runs, compare_summary, rows_frame, to_markdown

    from .runfolder import stored_rows

    a, b = rows_frame(stored_rows(run_a)), rows_frame(stored_rows(run_b))
    cells = compare_runs(a, b)
    if cells.empty:
        raise BenchError(f"{run_a} and {run_b} share no cell (attack, norm, eps, mode, source, target); "
                         "compare runs of the same grid")
    out = output or run_b / f"compare_vs_{run_a.resolve().name}"
    out.mkdir(parents=True, exist_ok=True)
    summ = compare_summary(a, b)
    cells.to_csv(out / "compare.csv", index=False)
    summ.to_csv(out / "compare_summary.csv", index=False)
    text = (f"# {run_b.resolve().name} (B) vs {run_a.resolve().name} (A): {len(cells)} shared rows\n\n"
            "## Summary (rates in %)\n" + to_markdown(summ))
    (out / "compare.md").write_text(text)
    print(text)
    only = (len(a) - len(cells), len(b) - len(cells))
    log(f"compared {len(cells)} shared rows ({only[0]} only in A, {only[1]} only in B); tables in {out}")
    return 0


def cmd_merge(a: argparse.Namespace) -> int:
    from . import runfolder
    from .store import Store

    run_dir = Path(a.run_dir)
    if runfolder.read_run(run_dir) is None:
        raise BenchError(f"{run_dir} is not a run folder (no {runfolder.RUN_FILE}); pass one made by `bench run`")
    added = runfolder.merge_into(run_dir, [Path(o) for o in a.others])
    store = Store(run_dir)
    missing = runfolder.missing_cells(run_dir, store.keys())
    total = len(runfolder.read_run(run_dir)["cells"])
    if missing and not a.allow_missing:
        raise BenchError(f"{len(missing)} of {total} cells are missing in {run_dir} (a shard not finished or "
                         "failed?); run the missing shard again with the same --run-id, or pass --allow-missing")
    shards = sorted(run_dir.glob("manifest.shard-*.json"))
    if shards and not (run_dir / "manifest.json").exists():
        parts = [json.loads(p.read_text()) for p in shards]
        merged = {**parts[0], "shard": "merged", "shards": [p.name for p in shards],
                  "cells": {"computed": sum(p["cells"]["computed"] for p in parts),
                            "failed": [f for p in parts for f in p["cells"]["failed"]]},
                  "wall_seconds": [p["wall_seconds"] for p in parts]}
        atomic_write_json(run_dir / "manifest.json", merged, indent=2, default=str)
    summary = _render(run_dir)
    _link_latest(run_dir)
    print(summary)
    log(f"merged {added} cells from {len(a.others)} folder(s); {total - len(missing)} of {total} cells in {run_dir}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = _build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    a = parser.parse_args(argv)
    if a.command is None:  # plain `bench` is the quickstart
        a = parser.parse_args(argv + ["run"])
    handlers = {"run": cmd_run, "list": cmd_list, "report": cmd_report, "merge": cmd_merge}
    try:
        if a.command == "zoo":
            if a.zoo_command != "train":
                parser.error("`bench zoo` needs a subcommand: train")
            return cmd_zoo_train(a)
        return handlers[a.command](a)
    except USER_ERRORS as exc:
        if a.debug:
            traceback.print_exc()
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; finished cells are kept, run again with the same --run-id to resume", file=sys.stderr)
        return 130
