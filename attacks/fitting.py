"""What every learned fit shares: the fit split on the model's device, seeded sampling, targets
for the targeted protocol, the `perturb` objective and one deterministic Adam loop.

Used by VizPert, class_uap, class_viz, uap and sgd_uap (and the generator family to come)."""
from __future__ import annotations

import contextlib
from typing import Callable, Iterable, Iterator

import torch
from torch import nn
from torch.nn import functional as F
from common.progress import progress
from common.timing import step_seconds


def gather(loader: Iterable[tuple[torch.Tensor, torch.Tensor]]) -> tuple[torch.Tensor, torch.Tensor]:
    """All (x, y) of the fit loader as two tensors (fit splits are small)."""
    xs, ys = zip(*[(x, y) for x, y in loader]) if loader else ((), ())
    if not xs:
        raise ValueError("the fit split is empty")
    return torch.cat(xs), torch.cat(ys)


def num_classes_of(model: nn.Module, x: torch.Tensor) -> int:
    with torch.no_grad():
        return int(model(x[:1]).shape[-1])


def fit_inputs(model: nn.Module, loader: Iterable[tuple[torch.Tensor, torch.Tensor]],
               seed: int) -> tuple[torch.device, torch.Tensor, torch.Tensor, int, torch.Generator]:
    """What every learned fit starts from: the model's device, the fit split on it, the number of
    classes and a seeded sampling generator (the global torch RNG is seeded too, for weight init)."""
    device = next(model.parameters()).device
    x_fit, y_fit = (t.to(device) for t in gather(loader))
    torch.manual_seed(seed)
    return device, x_fit, y_fit, num_classes_of(model, x_fit), torch.Generator().manual_seed(seed)


def random_targets(y: torch.Tensor, num_classes: int, g: torch.Generator) -> torch.Tensor:
    """Targets different from y, as in the run's targeted protocol."""
    return (y + torch.randint(1, num_classes, y.shape, generator=g)) % num_classes


def perturb_loss(guide: nn.Module, x: torch.Tensor, delta: torch.Tensor, target: torch.Tensor,
                 loss: str = "ce") -> torch.Tensor:
    """The `perturb` objective on D(clip(x + delta)): cross-entropy toward the target (the paper's
    loss), or the logit margin max_{j != t} z_j - z_t clipped at -5 (stops pushing won examples)."""
    logits = guide((x + delta).clamp(0.0, 1.0))
    if loss == "ce":
        return F.cross_entropy(logits, target)
    z_t = logits.gather(1, target[:, None]).squeeze(1)
    other = logits.masked_fill(F.one_hot(target, logits.shape[1]).bool(), float("-inf")).amax(1)
    return (other - z_t).clamp_min(-5.0).mean()


@contextlib.contextmanager
def deterministic_algorithms() -> Iterator[None]:
    """Deterministic torch kernels inside the block (class lookups back-propagate through a
    scatter-add whose summation order otherwise varies run to run), the old setting after it."""
    was = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(True, warn_only=True)
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(was)


def optimise(params: list[nn.Parameter], loss_fn: Callable[[int], torch.Tensor], *, steps: int, lr: float,
             desc: str) -> float:
    """Adam (betas 0.5, 0.999) with a cosine learning-rate decay over `params` for `steps` steps of
    `loss_fn(step)`, with deterministic algorithms on; returns the last loss."""
    with deterministic_algorithms():
        opt = torch.optim.Adam(params, lr=lr, betas=(0.5, 0.999))
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps)
        last = float("nan")
        bar = progress(range(steps), desc=desc, unit="step", leave=False)
        for step in bar:
            loss = loss_fn(step)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            last = float(loss.detach())
            if step % 10 == 0:
                bar.set_postfix(loss=f"{last:.3f}", refresh=False)
        bar.close()
    return last


def probe_images(x: torch.Tensor, conditional: bool) -> Callable[[int], tuple[torch.Tensor, torch.Tensor | None]]:
    """`inputs` for `generator_step_seconds` of an image generator: k copies of x's first image, and
    class 0 for each when the generator is conditional (None otherwise)."""
    def inputs(k: int) -> tuple[torch.Tensor, torch.Tensor | None]:
        return (x[:1].expand(k, -1, -1, -1).contiguous(),
                torch.zeros(k, dtype=torch.long, device=x.device) if conditional else None)
    return inputs


def generator_forward_seconds(step_seconds_per_input: float, inputs: int) -> float:
    """Seconds of a generator's forward passes on `inputs` inputs, from its measured training step per
    input (`generator_step_seconds` / batch): a forward is about a third of a forward+backward step."""
    return step_seconds_per_input / 3 * inputs


PROBE_CPU_BATCH = 16  # on a CPU a generator step is timed on at most this many inputs, then scaled (linear there)


def generator_step_seconds(gen: nn.Module, batch: int, inputs: Callable[[int], tuple[torch.Tensor, ...]]) -> float:
    """Measured seconds of one training step's forward and backward pass of `gen` on `batch` inputs
    (`inputs(k)` makes k of them), the median of 3 after a warm-up: what a generator fit spends per step
    beyond the source model's passes, for `bench run --dry-run`. On a CPU it is timed on a few inputs
    and scaled."""
    device = next(gen.parameters()).device
    k = batch if device.type == "cuda" else min(batch, PROBE_CPU_BATCH)
    args = inputs(k)
    gen.train()

    def step() -> None:
        with torch.enable_grad():
            gen(*args).float().square().mean().backward()  # any scalar: the backward pass is what costs
    return step_seconds(step, device, repeats=3) * batch / k
