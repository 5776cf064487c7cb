"""The Python API: `bench.run(...)` takes the same options as `bench run` (declared once in
`bench.config.RunConfig`) and returns a RunResult; `bench.load_run(path)` opens a run folder.

    import bench
    r = bench.run(models=["mini:resnet"], attacks=["fgsm"], n=100)
    r.summary()                      # pandas DataFrame
    r.transfer("fgsm", 0.1)          # sources x targets
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from common.progress import bars

from .config import RunConfig
from .configfile import check_option_names, resolve_config
from .errors import BenchError
from .logs import Log, log_stderr, quiet
from .pipeline import execute
from .result import RunResult, load_run

__all__ = ["RunConfig", "RunResult", "load_run", "run"]

# `bench` flags that are not run options, and what stands for them in Python
COMMAND_LINE_ONLY = {
    "quiet": "log=None runs without status lines or progress bars (the command line's `bench --quiet`)",
    "debug": "errors in Python are exceptions with their traceback already (the command line's `bench --debug`)",
}


def run(config: str | Path | RunConfig | None = None, *, log: Log | None = log_stderr, **options: Any) -> RunResult:
    """Run a grid: defaults, then `config` (a TOML file or a RunConfig), then `options` (any `bench run`
    option by its TOML name: models=[...], attacks=[...], eps=[0.1, "8/255"], n=..., mode=...).
    Errors are the CLI's one-line exceptions (BenchError, ZooError, AttackError). `log=None` is quiet
    (no status lines, no progress bars)."""
    for key in options:
        if key in COMMAND_LINE_ONLY:
            raise BenchError(f"bench.run has no option {key!r}: {COMMAND_LINE_ONLY[key]}")
    if isinstance(config, RunConfig):
        from dataclasses import replace

        check_option_names(options)  # as resolve_config does, not dataclasses' bare TypeError
        cfg = replace(config, **options) if options else config
    else:
        cfg = resolve_config(str(config) if config is not None else None, options)
    command = "bench.run(" + ", ".join([repr(str(config))] * (config is not None and not isinstance(config, RunConfig))
                                       + [f"{k}={v!r}" for k, v in options.items()]) + ")"
    if log is None:  # quiet: no status lines and no bars, for this call only
        with bars(False):
            return execute(cfg, log=quiet, command=command)
    return execute(cfg, log=log, command=command)
