"""A run from a RunConfig to a rendered run folder: check names, load data, train and load the zoo,
plan, compute the missing cells, write the manifest, render the reports. The CLI (`bench run`) and
the Python API (`bench.run`) are both thin layers over `execute`."""
from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any, Sequence

import zoo
from common.files import atomic_write_bytes, atomic_write_json

from . import models as bench_models
from . import runfolder
from .config import RunConfig
from .configfile import CONFIG_FILE, WHERE_KEYS, config_toml
from .data import load_dataset, make_splits
from .device import amp_warning, resolve_device
from .errors import BenchError
from .logs import Log, log_stderr
from .phases import PhaseClock
from .rendering import render
from .result import RunResult

def execute(cfg: RunConfig, *, log: Log = log_stderr, command: Sequence[str] | str = "") -> RunResult:
    """Run (or, with `cfg.dry_run`, plan) the grid of `cfg`; every problem a user can fix is a
    one-line BenchError (or ZooError/AttackError) raised before anything is written."""
    from common.machine import device_info

    from .driver import run_grid
    from .manifest import build_manifest
    from .plan import all_keys, plan_grid, run_identity
    from .sanity import check_attacks, check_models
    from .store import Store

    started = time.time()
    clock = PhaseClock()
    shard = cfg.shard_spec()
    left_out = cfg.check_names()
    if cfg.executor == "ray":
        from .ray_executor import check_address, require_ray

        require_ray()
        check_address(cfg.ray_address)
    if not cfg.dry_run:
        check_output(Path(cfg.output))
    run_id = runfolder.resolve_run_id(Path(cfg.output), cfg.run_id)
    if run_id != cfg.run_id:
        log(f"--run-id {cfg.run_id}: run {run_id}")
    device = resolve_device(cfg.device)
    if note := amp_warning(cfg.amp, device):
        log(f"warning: {note}")
    with clock.phase("data"):  # reading (and, for image folders, decoding) only the images used
        ds = load_dataset(cfg.dataset, cfg.data_dir, download=cfg.download, cache_dir=zoo.cache_root(cfg.cache_dir),
                          data_config=bench_models.dataset_transform(cfg, log), n_fit=cfg.n_fit, n=cfg.n,
                          seed=cfg.seed, workers=cfg.workers)
        fit, eval_ = make_splits(ds, cfg.n_fit, cfg.n, cfg.seed, fits=cfg.fits())
        if device.type == "cuda":  # page-locked host memory: batches go to the GPU asynchronously
            fit, eval_ = fit.pinned(), eval_.pinned()
    identity = run_identity(cfg, ds.transform, ds.fingerprint)
    if cfg.dry_run:
        return RunResult(None, plan=_plan_text(cfg, ds, eval_, identity, shard, device, left_out, run_id))
    with clock.phase("zoo"):  # training the mini models not cached yet, loading every model
        cards = bench_models.train_missing(list(cfg.models), ds, seed=cfg.zoo_seed, cache_dir=cfg.cache_dir,
                                           log=log, device=device)
        models = bench_models.load_models(list(cfg.models), ds, device, cache_dir=cfg.cache_dir,
                                          **bench_models.load_options(cfg))
        weights = bench_models.weight_hashes(models)
    identity["weights"] = weights
    groups = plan_grid(cfg, identity)
    run_dir = new_run_dir(Path(cfg.output), run_id)
    if cfg.fresh:
        runfolder.fresh(run_dir)
    runfolder.claim(run_dir, cfg.to_dict(), identity, all_keys(groups))
    write_run_config(run_dir, cfg)
    log(f"run folder: {run_dir}" + ("" if shard.count == 1 else f" (shard {shard})"))
    with clock.phase("sanity"):
        warnings = check_models(models, eval_.x, eval_.y, device) + check_attacks(groups, left_out)
    for w in warnings:
        log(f"warning: {w['message']}")
    atomic_write_json(run_dir / "sanity.json", warnings, indent=1)
    t0 = time.perf_counter()
    result = run_grid(cfg, models, fit, eval_, ds.num_classes, Store(run_dir), device=device, identity=identity,
                      groups=groups, shard=shard, fit_cache=zoo.cache_root(cfg.cache_dir), log=log)
    clock.split_grid(time.perf_counter() - t0, result.fit_seconds, result.perturb_seconds)
    manifest = build_manifest(
        config=cfg.to_dict(), seed=cfg.seed, shard=str(shard),
        dataset={"name": ds.name, "source": ds.source, "classes": list(ds.class_names), "image_shape": list(ds.shape),
                 "unreadable_skipped": ds.skipped, "transform": ds.transform, "fingerprint": ds.fingerprint},
        device=device_info(device),
        weights_sha256=weights, models=bench_models.model_info(models), zoo_cards=cards,
        cells={"computed": result.computed, "skipped": result.skipped,
               "failed": [f.__dict__ for f in result.failures]},
        batch_fallbacks=result.batch_fallbacks, sanity=warnings, wall_seconds=round(time.time() - started, 2),
        phase_seconds=clock.as_dict(), command=list(command) if not isinstance(command, str) else command,
    )
    name = "manifest.json" if shard.count == 1 else f"manifest.shard-{shard.index}-of-{shard.count}.json"
    atomic_write_json(run_dir / name, manifest, indent=2, default=str)
    log(f"{result.computed} cells computed, {result.skipped} already stored; results in {run_dir}")
    for f in result.failures:
        log(f"FAILED cell {f.cell}: {f.error}")
    for fb in result.batch_fallbacks:
        log(f"out of memory on {fb['model']}: batch size {fb['from']} -> {fb['to']} for the rest of the run")
    out = RunResult(run_dir, computed=result.computed, skipped=result.skipped, failures=list(result.failures))
    if shard.count > 1:
        log(clock.text())
        log(f"shard {shard} done; when every shard has finished: bench merge {run_dir}")
        return out
    with clock.phase("reports"):
        out.markdown = render(run_dir, cfg.report_formats, log=log)
        link_latest(run_dir)
    # the reports' time is known only now: the manifest gets it (and the whole wall time) afterwards
    manifest.update(phase_seconds=clock.as_dict(), wall_seconds=round(time.time() - started, 2))
    atomic_write_json(run_dir / name, manifest, indent=2, default=str)
    log(clock.text())
    return out


def _plan_text(cfg: RunConfig, ds, eval_, identity: dict[str, Any], shard, device, left_out: list[str],
               run_id: str | None) -> str:
    """The dry run's table: cells, stored ones, cached fits, rough cost (a forward+backward pass and a
    forward measured on every model once the mini zoo is trained; dry runs never train)."""
    from common.machine import busy_note, cpu_share

    from .dryrun import describe, generator_probe, seconds_per_pass
    from .sanity import check_attacks
    from .fitcache import is_cached
    from .plan import plan_grid
    from .runner import fit_identity, fit_seed
    from .store import Store

    pass_seconds = fit_cached = fit_extra = None
    share = 1.0
    spec = bench_models.input_spec(ds)
    if all(zoo.mini_status(n, spec, cfg.cache_dir, seed=cfg.zoo_seed) is not None
           for n in cfg.models if n.startswith("mini:")):
        models = bench_models.load_models(list(cfg.models), ds, device, cache_dir=cfg.cache_dir,
                                          **bench_models.load_options(cfg))
        identity["weights"] = bench_models.weight_hashes(models)
        xb, yb = eval_.x[:min(cfg.batch_size, 64)].to(device), eval_.y[:min(cfg.batch_size, 64)].to(device)
        pass_seconds, share = cpu_share(lambda: {name: seconds_per_pass(m, xb, yb) for name, m in models.items()})
        fit_extra = generator_probe(xb, ds.num_classes, cfg.n_fit)
        fit_cache = zoo.cache_root(cfg.cache_dir)

        def in_cache(g) -> bool:  # the weights are known: the same fit key as the run's
            return is_cached(g.attack, g.budget, seed=fit_seed(g), identity=fit_identity(identity, g.source),
                             cache_dir=fit_cache)
        fit_cached = in_cache
    existing = Path(cfg.output) / run_id if run_id else None
    stored = Store(existing).keys() if existing is not None and not cfg.fresh else set()
    groups = plan_grid(cfg, identity)
    text = describe(cfg, groups, shard, stored, pass_seconds, ds.num_classes, fit_cached, fit_extra,
                    n_features=eval_.x[0].numel())
    note = busy_note(share) if pass_seconds is not None and device.type == "cpu" else None  # a GPU's host waits
    warnings = [f"warning: {w['message']}" for w in check_attacks(groups, left_out)]
    return "\n".join([text, *([note] if note else []), *warnings])


def check_output(output: Path) -> None:
    """Fail early (before data loading and training) when the output folder cannot be written."""
    probe = output
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if not probe.is_dir() or not os.access(probe, os.W_OK):
        raise BenchError(f"cannot write the output folder {output} ({probe} is not a writable folder); "
                         "pass a writable --output")


def new_run_dir(output: Path, run_id: str | None) -> Path:
    """`output/run_id`, or a new time-stamped folder (never an existing one) when run_id is None."""
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


def link_latest(run_dir: Path) -> None:
    """Point `<output>/latest` at the run folder (skipped where the file system has no symlinks)."""
    latest = run_dir.parent / runfolder.LATEST
    tmp = run_dir.parent / f".latest.{os.getpid()}"
    try:
        tmp.unlink(missing_ok=True)
        tmp.symlink_to(run_dir.name)
        os.replace(tmp, latest)
    except OSError:
        tmp.unlink(missing_ok=True)  # a file system without symlinks: the run folder is still complete


def write_run_config(run_dir: Path, cfg: RunConfig) -> None:
    """The run's options as `config.toml` in its folder: `bench run --config` on it reruns the same grid
    elsewhere (the manifest records them too, but as JSON that no command reads)."""
    path = run_dir / CONFIG_FILE
    header = (f"The options of run {run_dir.name}, written by `bench run`: every recorded option, defaults too.\n"
              f"Rerun the same grid: bench run --config {path}  (a new run folder; --run-id {run_dir.name} "
              "resumes this one)\n"
              f"Left out, so that a rerun picks its own: where it runs ({', '.join(WHERE_KEYS)}).")
    atomic_write_bytes(path, config_toml(cfg, header).encode())
