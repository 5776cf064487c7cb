"""Training of the mini zoo: seeded Adam with a one-cycle schedule, a few epochs, on the train split;
optionally on adversarial examples (`AdversarialTraining`), and the robust accuracy its card records."""
from __future__ import annotations

import time
from typing import Any

import torch
import torch.nn.functional as F
import torchattacks
from torch import nn
from common.progress import progress

from .normalize import Normalized
from .specs import AdversarialTraining


@torch.no_grad()
def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int = 1000) -> float:
    """Top-1 accuracy of `model` (eval mode) on (x, y)."""
    model.eval()
    correct = 0
    for i in range(0, len(y), batch_size):
        correct += int((model(x[i:i + batch_size]).argmax(1) == y[i:i + batch_size]).sum())
    return correct / max(len(y), 1)


def fit_classifier(net: nn.Module, mean: tuple[float, ...], std: tuple[float, ...],
                   x: torch.Tensor, y: torch.Tensor, *, epochs: int, lr: float, seed: int,
                   batch_size: int = 128, desc: str = "train",
                   device: str | torch.device = "cpu",
                   adversarial: AdversarialTraining | None = None) -> dict[str, Any]:
    """Train `net` on [0, 1] images, normalizing each batch by hand (so `net` itself stays trainable);
    with `adversarial`, on PGD examples of each batch instead (adversarial training).

    Returns the final loss and the training time.
    """
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    device = torch.device(device)
    net.to(device)
    mean_t = torch.tensor(mean, device=device).view(1, -1, 1, 1)
    std_t = torch.tensor(std, device=device).view(1, -1, 1, 1)
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    steps = epochs * ((len(y) + batch_size - 1) // batch_size)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps)
    loss_fn = nn.CrossEntropyLoss()
    start = time.perf_counter()
    net.train()
    bar = progress(total=steps, desc=desc, unit="step", leave=False)
    last = float("nan")
    for _ in range(epochs):
        order = torch.randperm(len(y), generator=g)
        for i in range(0, len(y), batch_size):
            idx = order[i:i + batch_size]
            xb, yb = x[idx].to(device, non_blocking=True), y[idx].to(device, non_blocking=True)
            if adversarial is not None:
                xb = training_examples(lambda t: net((t - mean_t) / std_t), xb, yb, adversarial)
            loss = loss_fn(net((xb - mean_t) / std_t), yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            last = float(loss.detach())
            bar.update(1)
            bar.set_postfix(loss=f"{last:.3f}", refresh=False)
    bar.close()
    net.eval().cpu()
    return {"final_loss": last, "train_seconds": round(time.perf_counter() - start, 2)}


def training_examples(forward, x: torch.Tensor, y: torch.Tensor, at: AdversarialTraining) -> torch.Tensor:
    """PGD examples for one training batch: uniform random start in the eps ball, `at.steps` signed
    steps of `at.alpha`, projected and clipped to [0, 1]; the network stays in training mode (batch
    statistics), as in Madry et al. and Wong et al. Only the input gets gradients here."""
    delta = (torch.rand_like(x) * 2 - 1) * at.eps
    for _ in range(at.steps):
        delta.requires_grad_(True)
        loss = F.cross_entropy(forward((x + delta).clamp(0, 1)), y)
        (grad,) = torch.autograd.grad(loss, delta)
        delta = (delta.detach() + at.alpha * grad.sign()).clamp(-at.eps, at.eps)
    return (x + delta).clamp(0, 1).detach()


def robust_accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor, *, eps: float, steps: int = 20,
                    seed: int = 0, batch_size: int = 500) -> float:
    """Accuracy under torchattacks' Linf PGD (`steps` steps of 2.5*eps/steps, random start), seeded:
    what an adversarially trained model's card reports."""
    torch.manual_seed(seed)
    atk = torchattacks.PGD(model, eps=eps, alpha=2.5 * eps / steps, steps=steps, random_start=True)
    correct = 0
    for i in range(0, len(y), batch_size):
        xb, yb = x[i:i + batch_size], y[i:i + batch_size]
        adv = atk(xb, yb)
        with torch.no_grad():
            correct += int((model(adv).argmax(1) == yb).sum())
    return correct / max(len(y), 1)


def wrap(net: nn.Module, mean: tuple[float, ...], std: tuple[float, ...], **info: Any) -> Normalized:
    """The zoo's frozen, eval-mode, [0, 1]-input form of a trained network."""
    return Normalized(net, mean, std, **info)
