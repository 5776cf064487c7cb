"""How long `bench` takes to answer before any work: help texts and one-line usage errors, as
subprocesses, this tree against a git revision (`--baseline`, checked out in a temporary worktree),
interleaved.

    .venv/bin/python benchmarks/cli_startup.py --baseline a148e5d
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from benchlib import baseline_tree, interleaved_medians, write_result

ROOT = Path(__file__).resolve().parents[1]
# each answers without computing anything: help, argparse errors, a bad value, a bad TOML key, a listing
COMMANDS = {
    "help": ["--help"],
    "run_help": ["run", "--help"],
    "bad_flag": ["run", "--epss", "0.1"],
    "bad_eps": ["run", "--eps", "abc"],
    "bad_n": ["run", "--n", "0"],
    "list_attacks": ["list", "attacks"],
}


def bench_call(tree: Path, args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    """`python -m bench ARGS` with `tree` first on the path, in an empty folder."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    return subprocess.run([sys.executable, "-m", "bench", *args], cwd=cwd, env=env, capture_output=True, text=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--baseline", required=True, help="git revision to compare with")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "cli_startup.json"))
    a = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        cwd = Path(tmp) / "cwd"
        cwd.mkdir()
        with baseline_tree(ROOT, a.baseline, Path(tmp) / "baseline") as old:
            answers = {}
            runs = {}
            for name, args in COMMANDS.items():
                for tag, tree in (("current", ROOT), ("baseline", old)):
                    proc = bench_call(tree, args, cwd)
                    answers[f"{name}/{tag}"] = (proc.returncode, (proc.stderr or proc.stdout).strip().splitlines()[-1:])
                    runs[f"{name}/{tag}"] = lambda tree=tree, args=args: bench_call(tree, args, cwd)
            med = interleaved_medians(runs, a.repeats)
    seconds = {name: {tag: round(med[f"{name}/{tag}"], 2) for tag in ("current", "baseline")} for name in COMMANDS}
    same = {name: answers[f"{name}/current"] == answers[f"{name}/baseline"] for name in COMMANDS}
    write_result({
        "benchmark": "cli_startup", "baseline": a.baseline, "repeats": a.repeats, "cpus": os.cpu_count(),
        "commands": {name: " ".join(["bench", *args]) for name, args in COMMANDS.items()},
        "seconds": seconds,
        "baseline_over_current": {n: round(s["baseline"] / s["current"], 1) for n, s in seconds.items()},
        "same_exit_code_and_last_line": same,
        "answers_current": {n: answers[f"{n}/current"] for n in COMMANDS},
    }, a.out)


if __name__ == "__main__":
    main()
