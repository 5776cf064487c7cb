"""Rough cost of a torchattacks/foolbox class for `bench run --dry-run`, read from its resolved constructor
parameters: the libraries declare no cost, so the loops their parameters name are multiplied out.

Written by hand: neither library reports how many gradient passes an attack takes.
"""
from __future__ import annotations

from typing import Any, Mapping

# what the classes call their iteration count (EAD: max_iterations, PI-FGSM: num_iter_set, SPSA: nb_iter)
STEPS = ("steps", "max_iterations", "num_iter_set", "nb_iter")
# a query-based class's forward passes per image and restart (Square), each counted as a third of a pass
QUERIES = ("n_queries",)
# parameters that repeat the whole `steps` loop (CW/EAD binary searches, APGD restarts, EOT samples)
REPEATS = ("binary_search_steps", "n_restarts", "eot_iter")


def _positive_int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def library_passes(params: Mapping[str, Any], n_eval: int, *, per_step: int = 1) -> int:
    """Forward+backward passes over single images: the iteration count (1 when the class has none; a
    query budget in `QUERIES` at a third of a pass a query, as `autoattack` counts Square) times every
    repeat loop in `REPEATS` times `per_step` (a DeepFool step differentiates several class scores) times
    the images."""
    passes = next((k for k in (_positive_int(params.get(name)) for name in STEPS) if k), None)
    if passes is None:
        queries = next((k for k in (_positive_int(params.get(name)) for name in QUERIES) if k), None)
        passes = max(queries // 3, 1) if queries else 1
    for name in REPEATS:
        passes *= _positive_int(params.get(name)) or 1
    return passes * max(per_step, 1) * n_eval


def class_gradients(params: Mapping[str, Any], num_classes: int) -> int:
    """Backward passes one DeepFool step takes: one per class score it compares (foolbox's `candidates`
    caps them; torchattacks takes the whole Jacobian)."""
    return min(_positive_int(params.get("candidates")) or num_classes, num_classes)
