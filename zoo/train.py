"""Training of the mini zoo: seeded Adam with a cosine schedule, a few epochs, on the train split."""
from __future__ import annotations

import time
from typing import Any

import torch
from torch import nn
from common.progress import progress

from .normalize import Normalized


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
                   device: str | torch.device = "cpu") -> dict[str, Any]:
    """Train `net` on [0, 1] images, normalizing each batch by hand (so `net` itself stays trainable).

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


def wrap(net: nn.Module, mean: tuple[float, ...], std: tuple[float, ...], **info: Any) -> Normalized:
    """The zoo's frozen, eval-mode, [0, 1]-input form of a trained network."""
    return Normalized(net, mean, std, **info)
