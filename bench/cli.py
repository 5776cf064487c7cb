"""The `bench` command: run the grid, list what is registered, train the mini zoo, re-render reports."""
from __future__ import annotations

import argparse
import json
import os
import re
import sys
import traceback
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from common.progress import show_bars
from common.text import close_names, did_you_mean, file_slug

from .config import DEFAULT_MODELS, MODES, OPTIONS, OTHER_NAMES, iter_options, report_formats, split_csv
from .configfile import resolve_config
from .errors import BenchError
from .logs import log_stderr, quiet

if TYPE_CHECKING:  # pandas is imported by the commands that need it (see below)
    import pandas as pd

# Only what parsing and checking the options needs is imported here: torch, timm and the attack
# libraries take about 10 s to import on two cores, so each command imports them itself, and help
# texts and one-line usage errors (`bench run --eps abc`) answer at once.
# The user-fixable errors, by module: one whose module was never imported cannot have been raised.
USER_ERRORS = {"bench.errors": "BenchError", "zoo.errors": "ZooError", "attacks.errors": "AttackError"}
log = log_stderr  # `--quiet` swaps in `quiet` for the process (main)


def is_user_error(exc: BaseException) -> bool:
    """A problem the user can fix (printed as its one-line message, exit 2), not a bug."""
    return any(isinstance(exc, getattr(sys.modules[m], name)) for m, name in USER_ERRORS.items() if m in sys.modules)


# subcommands users look for under another command: (parser, what they typed) -> the command that does it
ELSEWHERE = {("bench zoo", "list"): "bench list models", ("bench zoo", "status"): "bench list models",
             ("bench cache", "train"): "bench zoo train"}


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (the problem and where to look), exit code 2, and no flag
    is taken from its first letters: `bench cache prune --al` once removed every fit as `--all`, and a
    recorded command line's `--attack` would change meaning once another flag starts the same way."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> None:  # type: ignore[override]
        choice = re.match(r"argument .*: invalid choice: '([^']*)' \(choose from (.*)\)$", message)
        if choice:  # `bench list torchatacks`, `bench run --norm L2`: argparse (3.11) guesses nothing
            elsewhere = ELSEWHERE.get((self.prog, choice.group(1)))
            message += (f"; that is `{elsewhere}`" if elsewhere
                        else did_you_mean(choice.group(1), re.findall(r"'([^']*)'", choice.group(2))))
        self.exit(2, f"error: {message}; see `{self.prog} --help`\n")


def _default_text(default: Any, kind: str) -> str:
    if kind in ("names", "eps"):
        return ",".join(f"{v:g}" if isinstance(v, float) else str(v) for v in default)
    if kind == "attacks":
        return ",".join(spec.display for spec in default)
    return "no" if default is False else str(default)


def add_run_options(p: argparse.ArgumentParser) -> None:
    """One flag per RunConfig option (`bench.config`), listed under its option's help section, all
    defaulting to None so that only the flags given override the config file."""
    p.add_argument("--config", default=None, help="a TOML run config; flags given here override its keys")
    sections: dict[str, Any] = {}  # help sections in declaration order
    for name, meta, default in iter_options():
        if meta["group"] not in sections:
            sections[meta["group"]] = p.add_argument_group(meta["group"])
        add_option(sections[meta["group"]], name, meta, default)


def add_option(group: Any, name: str, meta: Mapping[str, Any], default: Any) -> None:
    """The flag of one RunConfig option (`iter_options`) on a parser or argument group, defaulting to
    None: `bench run`'s flags, and the ones other commands share with it (`bench zoo train --cache-dir`)."""
    flag, kind = "--" + name.replace("_", "-"), meta["kind"]
    help_text = meta["help"] + ("" if default in (None, {}) else f" (default {_default_text(default, kind)})")
    if kind == "checkpoints":
        group.add_argument("--checkpoint", dest="checkpoints", action="append", metavar=meta["metavar"],
                           help=meta["help"])
    elif kind == "switch":
        group.add_argument(flag, action="store_true", default=None, help=meta["help"])
    elif kind == "bool":
        group.add_argument(flag, action=argparse.BooleanOptionalAction, default=None, help=help_text)
    elif kind == "choice":
        group.add_argument(flag, choices=meta["choices"], help=help_text)
    elif kind == "int":
        group.add_argument(flag, type=int, help=help_text)
    else:
        group.add_argument(flag, help=help_text)


def run_overrides(a: argparse.Namespace) -> dict[str, Any]:
    """The run options given on the command line, as RunConfig values."""
    out: dict[str, Any] = {}
    for name, meta, _ in iter_options():
        value = getattr(a, name, None)
        if value is None:
            continue
        if meta["kind"] in ("names", "attacks", "eps"):
            value = split_csv(value)
        elif meta["kind"] == "checkpoints":
            value = _checkpoint_flags(value)
        out[name] = value
    return out


def _build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="bench", description="Benchmark adversarial attacks (VizPert and baselines) on a model zoo.")
    p.add_argument("--debug", action="store_true", help="show full tracebacks for errors")
    p.add_argument("--quiet", action="store_true", help="errors only on stderr (no status lines, no bars)")
    sub = p.add_subparsers(dest="command", parser_class=_Parser)
    p.set_defaults(_commands=sub.choices)  # each command's parser, for its flags in an unrecognized-flag error
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--quiet", action="store_true", default=argparse.SUPPRESS,
                        help="errors only on stderr (no status lines, no bars); progress bars are off anyway "
                             "when stderr is not a terminal (one line per event instead)")

    r = sub.add_parser("run", parents=[common],
                       help="run the attack x eps x source -> target grid (default: the quickstart)")
    add_run_options(r)

    ls = sub.add_parser("list", help="list registered attacks, models or datasets, the run folders, or a "
                                     "library's classes (torchattacks, foolbox: norms, modes, parameters)")
    ls.add_argument("what", choices=["attacks", "models", "datasets", "runs", "torchattacks", "foolbox"])
    ls.add_argument("--output", default="reports/runs", help="runs: the folder holding run folders (default "
                                                             "reports/runs, as bench run's --output)")
    add_option(ls, "cache_dir", {**OPTIONS["cache_dir"].metadata,
                                 "help": "models: the cache whose trained mini-zoo copies are listed "
                                         "(default $BENCH_CACHE or ~/.cache/vizpert-bench)"}, None)

    z = sub.add_parser("zoo", help="mini-zoo maintenance")
    zsub = z.add_subparsers(dest="zoo_command", parser_class=_Parser)
    z.set_defaults(_subcommands=zsub.choices)  # `bench zoo train --bad` names `bench zoo train --help`
    zt = zsub.add_parser("train", parents=[common], help="train the mini zoo on the dataset and cache it")
    zt.add_argument("--models", default=",".join(DEFAULT_MODELS))
    zt.add_argument("--dataset", default="fashion-mnist", help=OPTIONS["dataset"].metadata["help"])
    zt.add_argument("--seed", type=int, default=0, help="training seed; each seed is cached apart (bench run "
                                                        "--zoo-seed picks one)")
    zt.add_argument("--force", action="store_true", help="retrain even when cached weights are intact")
    for name, meta, default in iter_options():  # the options zoo train shares with bench run
        if name in ("data_dir", "download", "cache_dir"):
            add_option(zt, name, meta, default)

    c = sub.add_parser("cache", help="the fit cache: what it holds (list), removing fits (prune)")
    csub = c.add_subparsers(dest="cache_command", parser_class=_Parser)
    c.set_defaults(_subcommands=csub.choices)
    cache_dir = argparse.ArgumentParser(add_help=False)
    add_option(cache_dir, "cache_dir", OPTIONS["cache_dir"].metadata, None)
    csub.add_parser("list", parents=[cache_dir], help="every fit: attack, budget, model, size, last use")
    cp = csub.add_parser("prune", parents=[common, cache_dir],
                         help="remove fits (a later run refits what it needs); the zoo's weights stay")
    cp.add_argument("--attack", default=None, help="only fits of these attacks (names, comma-separated)")
    cp.add_argument("--older-than", type=float, default=None, metavar="DAYS", help="only fits not used for DAYS days")
    cp.add_argument("--all", action="store_true", help="every fit (needed when no other filter is given)")
    cp.add_argument("--dry-run", action="store_true", help="list what would be removed, remove nothing")

    mg = sub.add_parser("merge", parents=[common],
                        help="combine the shards of a run (`bench run --shard i/n`) and render it")
    mg.add_argument("run_dir", help="the run folder that receives the merged cells")
    mg.add_argument("others", nargs="*", help="shard run folders to copy cells from (none: shards shared run_dir)")
    mg.add_argument("--allow-missing", action="store_true", help="render even when some cells are missing")
    mg.add_argument("--format", default=None, help="reports to write, as for bench run (default $BENCH_FORMAT, else "
                                                   "all): all or a comma list of csv,latex,markdown,plots,html,pdf")

    rep = sub.add_parser("report", parents=[common],
                         help="re-render a run folder from its stored cells, or compare two runs")
    rep.add_argument("run_dir", nargs="+", help="RUN_DIR to re-render, or RUN_A RUN_B to compare")
    rep.add_argument("--format", default="all",
                     help="all (default) or a comma list of csv,latex,markdown,plots,html,pdf")
    rep.add_argument("--output", default=None, help="folder for a comparison (default RUN_B/compare_vs_<A>, or "
                                                    "RUN/compare_<A>_vs_<B> for --compare)")
    rep.add_argument("--compare", default=None, metavar="A,B",
                     help="two attacks of the run (their labels) compared cell by cell on the same images: B - A "
                          "with its 95%% interval and an exact McNemar p-value")
    return p


def _checkpoint_flags(items: list[str]) -> dict[str, str]:
    """`--checkpoint timm:vgg16=/w/vgg16.safetensors` (repeatable) -> {model: path}."""
    out = {}
    for item in items:
        name, sep, path = item.partition("=")
        if not sep or not name.strip() or not path.strip():
            raise BenchError(f"--checkpoint {item!r} is not MODEL=PATH; e.g. --checkpoint timm:vgg16=vgg16.safetensors")
        out[name.strip()] = path.strip()
    return out


def cmd_run(a: argparse.Namespace) -> int:
    """`bench run`: the config from defaults, file and flags, then the pipeline; prints the summary."""
    cfg = resolve_config(a.config, run_overrides(a))
    from .pipeline import execute  # imports `reports` before the run creates ./reports/runs (bench.rendering)

    result = execute(cfg, log=log, command=sys.argv)
    if cfg.dry_run:
        print(result.plan)
        return 0
    if result.markdown:
        print(result.markdown)
    return 1 if result.failures else 0


def cmd_list(a: argparse.Namespace) -> int:
    if a.what == "runs":
        return _list_runs(Path(a.output))
    if a.what in ("torchattacks", "foolbox"):
        return _list_library(a.what)
    import attacks
    import zoo

    from .data import DATASETS

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
        if a.what == "models" and name.startswith("mini:"):
            print(f"{'':<{width}}    {_trained_text(zoo.trained_copies(name, a.cache_dir))}")
        if a.what == "attacks" and ":" not in name:
            for pname, param in attacks.REGISTRY.parameters(name).items():
                print(f"{'':<{width}}    {param.describe(pname)}")
    if a.what == "attacks":
        print("\nparameters: --attacks 'fgsm,pgd[steps=20,alpha=2/255]', or a table in a --config file")
    return 0


def _trained_text(cards: list[dict[str, Any]]) -> str:
    """Where a mini model is trained, for `bench list models`: dataset, seed and test accuracy per copy."""
    if not cards:
        return "not trained here yet (a run that names it trains it: `bench zoo train --models ...` ahead)"
    return "trained: " + ", ".join(f"{c.get('dataset')} seed {c.get('seed')} (test accuracy "
                                   f"{100 * float(c.get('test_accuracy', float('nan'))):.1f}%)" for c in cards)


def _list_library(library: str) -> int:
    """`bench list torchattacks|foolbox`: each class as `<library>:<Class>` with the budget norms it runs
    under, its modes and parameters (library defaults), or why a run cannot use it."""
    from attacks.library_catalogue import catalogue
    from common.text import aligned

    rows = catalogue(library)
    print(aligned([("class", "norms", "modes", "parameters (library defaults)")]
                  + [(r.name, r.norms or "-", r.modes or "-", r.params if not r.problem else
                      "cannot run: " + r.problem.removeprefix(r.name + " ")) for r in rows]))
    print(f"\n{sum(not r.problem for r in rows)} of {len(rows)} classes run; --attacks '{library}:<Class>[param=value]' "
          "(eps, and norm where a class takes one, come from the budget; 'projected': a minimum-norm class's "
          "output is projected onto the budget)")
    if library == "torchattacks":
        print("A class without a random start moves at most steps x alpha from an image (2/255 x 10 = 0.078 at the "
              "defaults): where that is under eps, the run warns and names the alpha that reaches it.")
    return 0


def _list_runs(output: Path) -> int:
    """`bench list runs`: each run folder under `output`, newest first, with its grid and status."""
    from .runlist import find_runs, runs_table

    if not output.is_dir():
        raise BenchError(f"{output} does not exist; pass the --output folder your runs went to (bench run's default "
                         "is reports/runs, relative to where it ran)")
    runs = find_runs(output)
    print(runs_table(runs) if runs else f"no run folders in {output} (a run folder holds run.json)")
    return 0


def cmd_zoo_train(a: argparse.Namespace) -> int:
    import zoo

    from . import models as bench_models
    from .data import load_dataset

    names = split_csv(a.models)
    for name in names:
        zoo.validate_name(name)
        if not name.startswith("mini:"):
            raise BenchError(f"{name} is not a mini-zoo model; only mini:<arch> models are trained locally")
    ds = load_dataset(a.dataset, a.data_dir, download=a.download, cache_dir=zoo.cache_root(a.cache_dir))
    cards = bench_models.train_missing(names, ds, seed=a.seed, force=a.force, cache_dir=a.cache_dir, log=log)
    for card in cards:
        at = card.get("adversarial_training")
        robust = (f"  PGD-20 robust accuracy {at['pgd20_robust_accuracy']:.1%} at Linf {at['eps']:g} "
                  f"(clean {at['clean_accuracy']:.1%}, {at['robust_images']} test images)") if at else ""
        print(f"{card['name']:<14} {ds.name}  test accuracy {card['test_accuracy']:.1%}  "
              f"sha256 {card['sha256'][:12]}  ({card['params']} params){robust}")
    return 0


def cmd_report(a: argparse.Namespace) -> int:
    from .rendering import render, require_reports

    require_reports()
    from .runfolder import require_stored

    formats = report_formats(a.format)
    # `reports/runs/latest` is a link: report the folder it names, so pages are titled by the run id
    runs = [Path(r).resolve() if Path(r).is_symlink() else Path(r) for r in a.run_dir]
    for run_dir in runs:
        require_stored(run_dir)
    if a.compare is not None:
        if len(runs) != 1:
            raise BenchError("--compare A,B compares two attacks inside one run: bench report RUN --compare A,B")
        return _compare_attacks(runs[0], a.compare, Path(a.output) if a.output else None)
    if len(runs) == 1:
        print(render(runs[0], formats, log=log))
        return 0
    if len(runs) > 2:
        raise BenchError("bench report compares two runs at most: bench report RUN_A RUN_B")
    if runs[0].resolve() == runs[1].resolve():  # `latest` names the last run: every difference would be 0
        raise BenchError(f"{a.run_dir[0]} and {a.run_dir[1]} are the same run folder ({runs[0].resolve().name}); "
                         "compare two runs (`bench list runs` shows them)")
    return _compare(runs[0], runs[1], Path(a.output) if a.output else None)


PAIRED_NOTE = ("B - A in percentage points ± half its 95% interval (paired, same images); p: exact McNemar test "
               "on the images where exactly one of A and B succeeds; n.s.: not significant at 5%.\n\n")


SEEDS_NOTE = ("B - A: the mean over seeds of each seed's difference. Over seeds (t): half its 95% Student t "
              "interval over the seeds (does the gap survive a new fit seed?); over images: the mean of the "
              "seeds' paired half-widths (does it survive a new draw of images?); per seed: how many seeds' "
              "McNemar tests favour B, favour A, or are not significant; verdict: B or A ahead where both "
              "intervals exclude 0, else n.s.\n\n")


def _seeds_section(cells: pd.DataFrame, out: Path) -> str:
    """With several attack seeds: the comparison over seeds as a Markdown section, and
    `compare_seeds.csv` beside `compare.csv`; empty text for one seed."""
    from reports import over_seeds, seeds_markdown_frame, to_markdown

    seeds = over_seeds(cells)
    if seeds.empty:
        return ""
    seeds.to_csv(out / "compare_seeds.csv", index=False)
    held = int((seeds.verdict != "n.s.").sum())
    return (f"\n## Over seeds: {len(seeds)} cells, {held} with a difference that holds across seeds\n"
            + SEEDS_NOTE + to_markdown(seeds_markdown_frame(seeds)))


def _compare(run_a: Path, run_b: Path, output: Path | None) -> int:
    """`bench report A B`: the cells both runs have, metrics side by side with B - A, and the paired
    headline difference with its interval and McNemar p per cell."""
    from reports import compare_runs, compare_summary, paired_markdown_frame, rows_frame, to_markdown

    from .runfolder import stored_rows

    a, b = rows_frame(stored_rows(run_a)), rows_frame(stored_rows(run_b))
    cells = compare_runs(a, b)
    if cells.empty:
        seeds = [sorted(map(int, d.seed.unique())) if "seed" in d.columns else [] for d in (a, b)]
        hint = ("compare runs of the same grid" if not all(seeds) or set(seeds[0]) & set(seeds[1]) else
                f"A ran seed {','.join(map(str, seeds[0]))} and B seed {','.join(map(str, seeds[1]))}: another seed "
                "draws other eval images and fits, so no cell pairs up; to compare seeds on the same images, run "
                "one grid with --seeds (e.g. --seeds 0,1)")
        raise BenchError(f"{run_a} and {run_b} share no cell (attack, norm, eps, mode, source, target, seed); {hint}")
    out = output or run_b / f"compare_vs_{run_a.resolve().name}"
    out.mkdir(parents=True, exist_ok=True)
    summ = compare_summary(a, b)
    cells.to_csv(out / "compare.csv", index=False)
    summ.to_csv(out / "compare_summary.csv", index=False)
    text = (f"# {run_b.resolve().name} (B) vs {run_a.resolve().name} (A): {len(cells)} shared rows\n\n"
            "## Summary (rates in %)\n" + to_markdown(summ) + "\n## Per cell: headline rate\n" + PAIRED_NOTE
            + to_markdown(paired_markdown_frame(cells)) + _seeds_section(cells, out))
    (out / "compare.md").write_text(text)
    print(text)
    only = (len(a) - len(cells), len(b) - len(cells))
    log(f"compared {len(cells)} shared rows ({only[0]} only in A, {only[1]} only in B); tables in {out}")
    return 0


def _compare_attacks(run_dir: Path, pair: str, output: Path | None) -> int:
    """`bench report RUN --compare A,B`: two attacks of one run, cell by cell on the same images."""
    from reports import compare_attacks, paired_markdown_frame, rows_frame, to_markdown

    from .runfolder import stored_rows

    names = split_csv(pair)
    df = rows_frame(stored_rows(run_dir))
    labels = list(dict.fromkeys(df.attack))
    if len(names) != 2:
        raise BenchError(f"--compare takes two attack labels, A,B; got {pair!r} (this run has {', '.join(labels)})")
    for name in names:
        if name not in labels:
            raise BenchError(f"attack {name!r} is not in {run_dir}{did_you_mean(name, labels, n=1)} "
                             f"(its attacks: {', '.join(labels)})")
    cells = compare_attacks(df, names[0], names[1])
    if cells.empty:
        raise BenchError(f"{names[0]} and {names[1]} share no cell (budget, mode, source, target) in {run_dir}")
    out = output or run_dir / f"compare_{file_slug(names[0])}_vs_{file_slug(names[1])}"
    out.mkdir(parents=True, exist_ok=True)
    cells.to_csv(out / "compare.csv", index=False)
    significant = int(cells.significant.sum())
    text = (f"# {names[1]} (B) vs {names[0]} (A) in {run_dir.resolve().name}: {len(cells)} cells, "
            f"{significant} with a significant difference\n\n" + PAIRED_NOTE
            + to_markdown(paired_markdown_frame(cells)) + _seeds_section(cells, out))
    (out / "compare.md").write_text(text)
    print(text)
    log(f"tables in {out}")
    return 0


def cmd_cache(a: argparse.Namespace) -> int:
    """`bench cache list|prune`: what the fit cache holds, and removing fits from it."""
    import time

    from common.files import cache_root
    from common.text import size_text

    from . import cachefiles

    cache = cache_root(a.cache_dir)
    if a.cache_command == "list":
        print(cachefiles.cache_summary(cache))
        return 0
    attacks = split_csv(a.attack) if a.attack else []
    if not (attacks or a.older_than is not None or a.all):
        raise BenchError("say which fits to remove: --attack NAME, --older-than DAYS, or --all for every fit "
                         "(`bench cache list` shows them)")
    now = time.time()
    chosen = cachefiles.select(cachefiles.fit_entries(cache), attacks=attacks, older_than_days=a.older_than, now=now)
    temporaries = cachefiles.stale_temporaries(cache, now)
    size = size_text(sum(e.size for e in chosen) + sum(p.stat().st_size for p in temporaries))
    if a.dry_run:
        if chosen:
            print(cachefiles.entries_table(chosen, now))
        print(f"would remove {len(chosen)} fit(s) and {len(temporaries)} temporary file(s), {size}")
        return 0
    freed = cachefiles.remove(chosen, temporaries)
    log(f"removed {len(chosen)} fit(s) and {len(temporaries)} temporary file(s) from {cache / cachefiles.FITTED}, "
        f"{size_text(freed)} freed")
    return 0


def cmd_merge(a: argparse.Namespace) -> int:
    from common.files import atomic_write_json

    from reports.render import shard_machines

    from . import runfolder
    from .manifest import merge_shard_manifests
    from .pipeline import link_latest
    from .rendering import render
    from .store import Store

    run_dir = Path(a.run_dir)
    formats = report_formats(a.format)  # a bad one fails before any cell is copied
    if runfolder.read_run(run_dir) is None:
        raise BenchError((run_dir.is_dir() and runfolder.runs_inside(run_dir))
                         or f"{run_dir} is not a run folder (no {runfolder.RUN_FILE}); pass one made by `bench run`")
    added = runfolder.merge_into(run_dir, [Path(o) for o in a.others])
    store = Store(run_dir)
    missing = runfolder.missing_cells(run_dir, store.keys())
    total = len(runfolder.read_run(run_dir)["cells"])
    if missing and not a.allow_missing:
        raise BenchError(f"{len(missing)} of {total} cells are missing in {run_dir} (a shard not finished or "
                         "failed?); run the missing shard again with the same --run-id, or pass --allow-missing")
    shards = sorted(run_dir.glob("manifest.shard-*.json"))
    if shards and not (run_dir / "manifest.json").exists():
        merged = merge_shard_manifests({p.name: json.loads(p.read_text()) for p in shards})
        atomic_write_json(run_dir / "manifest.json", merged, indent=2, default=str)
        setups = shard_machines(merged)
        if len(setups) > 1:
            log(f"the shards ran on {len(setups)} machine setups ({'; '.join(setups)}): their cells may differ "
                "in float rounding from one machine's (README, Resuming and reproducibility)")
    summary = render(run_dir, formats, log=log)
    link_latest(run_dir)
    print(summary)
    log(f"merged {added} cells from {len(a.others)} folder(s); {total - len(missing)} of {total} cells in {run_dir}")
    return 0


def unrecognized(command: argparse.ArgumentParser, extras: Sequence[str]) -> str:
    """argparse's "unrecognized arguments", with the flag meant for the first unknown one: another
    tool's name for an option (`--targeted` -> `--mode targeted`) or a close spelling (`--zoo-sed` -> `--zoo-seed`)."""
    message = f"unrecognized arguments: {' '.join(extras)}"
    flag = next((e.split("=")[0] for e in extras if e.startswith("--")), None)
    flags = [f[2:] for action in command._actions for f in action.option_strings if f.startswith("--")]
    if flag is None:  # `bench list runs some/folder`: a folder where a flag names it
        folder = "output" if "output" in flags and Path(extras[0]).is_dir() else None
        return f"{message} (did you mean '--{folder} {extras[0]}'?)" if folder else message
    name = flag[2:].replace("-", "_")
    other = OTHER_NAMES.get(name)
    if other is not None and other.replace("_", "-") in flags:
        meant = f"--mode {name}" if other == "mode" and name in MODES else "--" + other.replace("_", "-")
        return f"{message} (did you mean {meant!r}?)"
    close = ([f for f in flags if f.startswith(flag[2:])][:3]  # an abbreviation (argparse takes none)
             or close_names(flag[2:], flags, n=1, cutoff=0.6))  # "--" left out: every flag shares it
    return f"{message} (did you mean {' or '.join(repr('--' + c) for c in close)}?)" if close else message


def main(argv: Sequence[str] | None = None) -> int:
    parser = _build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    a, extras = parser.parse_known_args(argv)
    if a.command is None:  # plain `bench` is the quickstart
        a, extras = parser.parse_known_args(argv + ["run"])
    if extras:
        command = a._commands.get(a.command, parser)
        command = getattr(a, "_subcommands", {}).get(getattr(a, f"{a.command}_command", None), command)
        command.error(unrecognized(command, extras))
    handlers = {"run": cmd_run, "list": cmd_list, "report": cmd_report, "merge": cmd_merge, "cache": cmd_cache}
    global log
    log = quiet if a.quiet else log_stderr
    show_bars(sys.stderr.isatty() and not a.quiet)  # a log file gets one line per event, no repaints
    try:
        if a.command == "zoo":
            if a.zoo_command != "train":
                parser.error("`bench zoo` needs a subcommand: train")
            return cmd_zoo_train(a)
        if a.command == "cache" and a.cache_command is None:
            parser.error("`bench cache` needs a subcommand: list or prune")
        code = handlers[a.command](a)
        sys.stdout.flush()  # a reader that has gone shows here, inside the try, not in Python's flush at exit
        return code
    except BrokenPipeError:  # `bench report RUN | head`: the reader has gone; stop quietly, as other tools do
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # Python's flush at exit would fail again
        return 141  # 128 + SIGPIPE: how a shell reports a command its pipe's reader left
    except Exception as exc:
        if not is_user_error(exc):
            raise
        if a.debug:
            traceback.print_exc()
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; finished cells are kept, run again with the same --run-id to resume", file=sys.stderr)
        return 130
