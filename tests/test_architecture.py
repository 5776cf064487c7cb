"""The design's walls (DESIGN.md), checked on the source: which room may import which, and no two
modules importing each other (imports inside functions count too: they are cycles all the same)."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("bench", "attacks", "zoo", "reports", "common")


def _modules() -> dict[str, Path]:
    out = {}
    for pkg in PACKAGES:
        for path in sorted((ROOT / pkg).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            out[".".join(parts)] = path
    return out


MODULES = _modules()


def _imports(name: str, path: Path) -> set[str]:
    """Project modules that `name` imports anywhere in its source."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names]
        else:
            continue
        for t in targets:
            while t and t not in MODULES:  # `import attacks.registry` -> attacks.registry, `x.y.Name` -> x.y
                t = t.rpartition(".")[0]
            if t and t != name:
                found.add(t)
    return found


GRAPH = {name: _imports(name, path) for name, path in MODULES.items()}


def _room(module: str) -> str:
    return module.split(".")[0]


@pytest.mark.parametrize("room,forbidden", [
    ("reports", {"attacks", "zoo"}),
    ("attacks", {"bench"}),
    ("zoo", {"attacks", "bench"}),
    ("common", {"bench", "attacks", "zoo", "reports"}),
])
def test_rooms_import_only_what_the_design_allows(room, forbidden):
    bad = sorted(f"{m} -> {t}" for m, ts in GRAPH.items() if _room(m) == room for t in ts if _room(t) in forbidden)
    assert not bad, bad


@pytest.mark.parametrize("module,forbidden", [
    ("bench.metrics", {"attacks"}), ("bench.store", {"zoo"}), ("bench.ssim", {"zoo"}),
    ("bench.fitcache", {"zoo"}), ("bench.runfolder", {"zoo"}),
])
def test_shared_helpers_come_from_common(module, forbidden):
    assert not {t for t in GRAPH[module] if _room(t) in forbidden}, GRAPH[module]


def test_no_two_modules_import_each_other():
    pairs = sorted({tuple(sorted((a, b))) for a, ts in GRAPH.items() for b in ts if a in GRAPH.get(b, set())})
    assert not pairs, pairs


def test_the_graph_sees_imports():
    """The checker itself: it finds relative, nested and `from pkg import module` imports."""
    assert "bench.data" in GRAPH["bench.pipeline"] and "bench.runfolder" in GRAPH["bench.pipeline"]
    assert "bench.driver" in GRAPH["bench.pipeline"]  # imported inside execute()
    assert "common.norms" in GRAPH["attacks.budget"]


def test_executor_table_matches_the_option_choices():
    from bench.config import EXECUTORS
    from bench.executors import EXECUTOR_TABLE

    assert tuple(EXECUTOR_TABLE) == EXECUTORS


def test_every_source_file_passes_pyflakes():
    """Undefined names, names used before assignment, unused imports and redefinitions, in the packages
    and in benchmarks/ (which no test runs end to end: a script broken this way once reached a GPU check)."""
    import io

    from pyflakes.api import checkPath
    from pyflakes.reporter import Reporter

    out = io.StringIO()
    reporter = Reporter(out, out)
    for folder in (*PACKAGES, "benchmarks", "tests"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            checkPath(str(path), reporter)
    assert out.getvalue() == ""
