"""vizpert-bench's runner side: CLI, config, datasets, metrics, the grid runner and the results store.

`bench.run(...)` and `bench.load_run(path)` are the Python API (`bench.api`); they are imported on
first use, so `import bench.config` stays light."""
from __future__ import annotations

from typing import Any

_API = ("run", "load_run", "RunConfig", "RunResult")


def __getattr__(name: str) -> Any:
    if name in _API:
        from . import api

        return getattr(api, name)
    raise AttributeError(f"module 'bench' has no attribute {name!r}")


__all__ = list(_API)
