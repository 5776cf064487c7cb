"""`bench run --dry-run`: the grid a run would compute (cells, what is already stored, a rough cost)
without computing or writing anything."""
from __future__ import annotations

import json
from typing import Callable, NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from attacks.classwise import ranking_images
from common.eps import eps_text
from common.timing import step_seconds

from .config import RunConfig
from .plan import Group, Shard


class PassSeconds(NamedTuple):
    """Measured seconds per image on one model: a forward+backward pass and a forward on a batch, and a
    forward+backward pass on one image alone (attacks that loop over images, torchattacks' DeepFool,
    pay it: on a CPU several times the batched share); None: as the batched pass."""

    pass_s: float
    forward_s: float
    single_pass_s: float | None = None


def seconds_per_pass(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> PassSeconds:
    """`PassSeconds` of `model` on the batch `x` (the median of 3 after a warm-up each): a forward is not
    a fixed share of a pass (small inputs on a CPU), nor a batch of one a fixed share of a batch."""
    def step(xs: torch.Tensor, ys: torch.Tensor) -> Callable[[], None]:
        xg = xs.detach().clone().requires_grad_(True)

        def run() -> None:
            with torch.enable_grad():
                torch.autograd.grad(F.cross_entropy(model(xg), ys), xg)
        return run

    def forward() -> None:
        with torch.no_grad():
            model(x)
    return PassSeconds(step_seconds(step(x, y), x.device, repeats=3) / len(x),
                       step_seconds(forward, x.device, repeats=3) / len(x),
                       step_seconds(step(x[:1], y[:1]), x.device, repeats=3))


def describe(cfg: RunConfig, groups: list[Group], shard: Shard, stored: set[str],
             pass_seconds: dict[str, tuple[float, ...]] | None, num_classes: int,
             fit_cached: Callable[[Group], bool] | None = None,
             fit_extra: Callable[[Group], float] | None = None, n_features: int | None = None) -> str:
    """A table of the groups this shard would run, the stored/missing cells, whether each learned
    attack's fit is already in the fit cache (`fit_cached`; then it costs nothing), and an estimated time:
    the source model's forward+backward passes and a fit's ranking of the classes (forwards), every
    model's forwards to score the cells, at each model's measured `PassSeconds` in `pass_seconds` (an
    attack that goes one image at a time at the single-image pass), plus `fit_extra`: what a fit to do
    spends beyond them (its generator). `n_features`, values per image, sizes loops that scale with the
    image (JSMA's)."""
    mine = [g for g in groups if shard.takes(g)]

    def label(g: Group) -> str:
        return g.spec.display + (f" seed={g.seed}" if g.several_seeds else "")
    # columns as wide as the longest label and source name: a row is never cut (pgd[alpha=0.0078...])
    wa = max([24, *(len(label(g)) for g in mine)])
    ws = max([16, *(len(g.source) for g in mine)])
    lines = [f"{'attack':<{wa}} {'budget':<14} {'source':<{ws}} {'cells':>5} {'stored':>6} {'fit':>7} "
             f"{'passes':>12} {'est. s':>8}"]
    total_cells = total_stored = 0
    total_seconds = 0.0
    fits = {"cached": 0, "to fit": 0}
    bounds = False
    # every model scores every cell's images: seconds per image of all their forwards
    scoring_s = sum(PassSeconds(*p).forward_s for p in pass_seconds.values()) if pass_seconds is not None else 0.0
    for g in mine:
        n_stored = sum(c.key in stored for c in g.cells)
        todo = len(g.cells) - n_stored
        fit = ""
        if todo and g.attack.learns:
            fit = "cached" if fit_cached is not None and fit_cached(g) else "to fit"
            fits[fit] += 1
        passes = g.attack.gradient_passes(cfg.n, cfg.n_fit, num_classes, n_features) if todo and fit != "cached" else 0
        if todo and not g.attack.learns:
            passes *= todo  # per-input attacks run once per mode; learned ones fit once
        est = ""
        if pass_seconds is not None and todo:
            forwards = 0  # on the source model
            if fit == "to fit" and g.attack.ranks_classes():  # the fit ranks the classes for untargeted use
                forwards = sum(ranking_images(cfg.n_fit, num_classes))
            measured = PassSeconds(*pass_seconds[g.source])
            pass_s, forward_s = measured.pass_s, measured.forward_s
            if g.attack.one_image_at_a_time and measured.single_pass_s is not None:
                pass_s = measured.single_pass_s
            seconds = passes * pass_s + forwards * forward_s + todo * cfg.n * scoring_s
            if fit == "to fit" and fit_extra is not None:
                seconds += fit_extra(g)
            total_seconds += seconds
            est = f"{seconds:.1f}"
        bound = "<=" if passes and g.attack.passes_bound else ""
        bounds = bounds or bool(bound)
        total_cells += len(g.cells)
        total_stored += n_stored
        lines.append(f"{label(g):<{wa}} {g.budget.norm + ' ' + eps_text(g.budget.eps):<14} "
                     f"{g.source:<{ws}} {len(g.cells):>5} {n_stored:>6} {fit:>7} {bound + format(passes, ','):>12} {est:>8}")
    where = "" if shard.count == 1 else f" (shard {shard} of {len(groups)} groups)"
    fit_text = f"; fits: {fits['cached']} cached, {fits['to fit']} to fit" if any(fits.values()) else ""
    lines.append(f"{len(mine)} groups, {total_cells} cells{where}: {total_stored} stored, "
                 f"{total_cells - total_stored} to compute{fit_text}")
    if pass_seconds is not None:
        lines.append(f"estimated compute: {total_seconds:.0f} s (rough: measured fwd+bwd time x passes, forward "
                     "time x forwards, plus each generator's measured step x its steps)")
        if bounds:
            lines.append("<=: a worst case (the attack stops on images already fooled), so those groups' "
                         "estimates are upper bounds and can be far above the time taken")
    else:
        train = "bench zoo train" + ("" if cfg.zoo_seed == 0 else f" --seed {cfg.zoo_seed}")
        lines.append(f"estimated compute: unknown until the mini zoo is trained (`{train}`)")
    return "\n".join(lines)


def generator_probe(x: torch.Tensor, num_classes: int, n_fit: int) -> Callable[[Group], float]:
    """`fit_extra` for `describe`: each attack's `fit_extra_seconds` on inputs like `x` for a fit split of
    `n_fit` images, measured once per fit configuration (a generator's cost depends on neither the
    source model nor the budget)."""
    measured: dict[str, float] = {}

    def extra(g: Group) -> float:
        key = json.dumps(g.attack.fit_config(), sort_keys=True, default=str)
        if key not in measured:
            measured[key] = g.attack.fit_extra_seconds(x, num_classes, n_fit)
        return measured[key]
    return extra
