"""The README stays true to the code: its `bench` commands still parse (an option renamed or an attack,
config or budget that no longer resolves fails here instead of in a reader's terminal), and its contents
line links to headings that exist. Runs nothing (no data, no models)."""
from __future__ import annotations

import re
import shlex
from pathlib import Path

from bench.cli import _build_parser, run_overrides
from bench.configfile import resolve_config

ROOT = Path(__file__).resolve().parents[1]
SUBCOMMAND = r"\bbench (?:run|list|zoo|merge|report|cache)\b"
# usage patterns, not commands: <run>, [--force] (an attack's name[key=value] is a command), a|b
PLACEHOLDER = re.compile(r"<|(?<![\w])\[|\||\bi/n\b|--help")


def readme_commands(text: str) -> list[str]:
    """`bench ...` from the fenced blocks' lines and from inline code that gives options, cut at the
    first shell operator or comment; usage patterns (`<run>`, `[--force]`, `a|b`) are left out."""
    found = [line for block in re.findall(r"```[a-z]*\n(.*?)```", text, re.S) for line in block.splitlines()
             if re.search(SUBCOMMAND, line)]
    found += [span for span in re.findall(r"`([^`\n]*)`", text) if re.search(SUBCOMMAND, span) and " --" in span]
    out = []
    for line in found:
        cmd = re.split(r"\s(?:&&|\|\||;|#|2?>)", line[re.search(SUBCOMMAND, line).start():])[0].strip()
        if not PLACEHOLDER.search(cmd):
            out.append(cmd)
    return out


def test_readme_commands_parse_and_resolve(monkeypatch):
    monkeypatch.chdir(ROOT)  # the README's config paths are relative to the checkout
    cmds = readme_commands((ROOT / "README.md").read_text())
    assert len(cmds) >= 15, cmds  # the extraction still finds the README's commands
    parser = _build_parser()
    for cmd in cmds:
        try:
            args = parser.parse_args(shlex.split(cmd)[1:])
        except SystemExit:
            raise AssertionError(f"README command no longer parses: {cmd}") from None
        if args.command == "run":
            cfg = resolve_config(args.config, run_overrides(args))  # budgets, config files: raise if stale
            cfg.check_names()  # attacks (with their parameters), models, dataset: raise if stale


def test_extraction_drops_usage_patterns_and_shell():
    text = ("`bench run --n 5 && ls` and `bench report <run> --compare a,b` and `bench zoo train [--force]` "
            "and `bench run --attacks 'pgd[steps=20]'`")
    assert readme_commands(text) == ["bench run --n 5", "bench run --attacks 'pgd[steps=20]'"]


def github_anchor(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation but `-` and `_` dropped, spaces as `-`."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_contents_links_every_section_heading():
    text = (ROOT / "README.md").read_text()
    contents = next(line for line in text.splitlines() if line.startswith("**Contents:**"))
    links = re.findall(r"\]\(#([^)]+)\)", contents)
    headings = [github_anchor(h) for h in re.findall(r"^## (.+)$", text, re.M)]
    assert links == headings  # every section, in order, and nothing that is not one
