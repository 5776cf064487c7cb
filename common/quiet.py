"""Torch's import-time noise held back: a log line that says nothing about the run (once per process)."""
from __future__ import annotations

import logging
from contextlib import contextmanager
from typing import Iterator


@contextmanager
def quiet_logger(name: str) -> Iterator[None]:
    """The named logger's warnings held back while the block runs."""
    logger = logging.getLogger(name)
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def import_cpp_extension_quietly() -> None:
    """Import torch's C++ extension helper with its "No CUDA runtime is found" warning held back. Inductor
    imports it the first time it compiles for the CPU, and on a CPU-only machine that warning landed in
    every compiled run's log (the SSIM of images over 64x64, `--compile`); imported once, it stays quiet."""
    import importlib

    with quiet_logger("torch.utils.cpp_extension"):
        importlib.import_module("torch.utils.cpp_extension")
