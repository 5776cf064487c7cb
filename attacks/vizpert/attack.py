"""VizPert (arXiv 2409.13559) as an attack plugin: train a label-conditioned generator against a
frozen classifier that guides it, then use its outputs as (targeted) perturbations.

- `objective="visualize"` (the paper): minimise CE(D(G(c)), c); the class visualization G(c),
  centred and scaled to fill the budget, is the class-c perturbation.
- `objective="perturb"`: minimise CE(D(clip(x + delta(G(c)))), c) over fit images.
- `condition="image"`: G(x, c) gives a per-image perturbation in one forward pass (perturb objective).
- Untargeted use: the one class perturbation with the highest fooling rate on the fit split.
"""
from __future__ import annotations

from typing import Any, ClassVar, Iterable

import torch
from torch import nn
from torch.nn import functional as F

from common.eps import eps_text

from ..base import Attack, Fitted
from ..budget import Budget
from ..classwise import (RANK_IMAGES, UNTARGETED_RULES, apply_class_deltas, package_class_deltas, rank_classes,
                         ranking_generator_seconds, untargeted_classes, untargeted_meta)
from ..errors import AttackError
from ..fitting import (fit_inputs, generator_forward_seconds, generator_step_seconds, optimise, perturb_loss,
                       probe_images, random_targets)
from ..params import Param, flag, positive_int
from ..projection import fit_visualization, scale_to_budget
from .generator import GeneratorConfig, build_generator
from .training import guide_for

CLASS_BATCH_MAX = 128  # class generators run on every class at once up to this many classes


class VizPert(Attack):
    """VizPert: label-conditioned generator trained against the frozen source model (the paper's attack)."""

    name = "vizpert"
    kind = "class_universal"
    learns = True
    # 2: cosine lr decay, U-Net skips in G(x, c); 3: deterministic fits
    # 4: the untargeted class is ranked on clamped images, and perturb uses the stored ranking
    version = 4
    params_spec: ClassVar[dict[str, Param]] = {
        "objective": Param("perturb", "visualize: CE(D(G(c)), c), the paper; perturb: CE(D(clip(x + G(c))), c)",
                           choices=("visualize", "perturb")),
        "condition": Param("class", "class: G(c), one perturbation per class; image: G(x, c), one per image",
                           choices=("class", "image")),
        "label_injection": Param("all", "the label enters at every upsampling block, or at the input only",
                                 choices=("all", "input")),
        "freeze_classifier": flag(True, "the classifier guides frozen (the paper), or trains along (ablation)"),
        "steps": positive_int(None, "Adam steps (none: 300 for G(c), 600 for G(x, c))", none_ok=True),
        "batch_size": positive_int(128, "fit images per step"),
        "lr": Param(2e-3, "Adam learning rate (cosine decay)", float, low=0, low_open=True),
        "width": positive_int(None, "generator width multiplier (none: 32 for G(c), 64 for G(x, c))", none_ok=True),
        "extra_blocks": Param(0, "3x3 conv blocks after each upsampling block of the generator, each behind a "
                              "label block of its own unless label_injection='input' (a deeper generator)",
                              int, low=0, keyed=False),
        "loss": Param("ce", "ce (the paper) or margin (logit margin clipped at -5)", choices=("ce", "margin")),
        "class_batch": Param("random", f"above {CLASS_BATCH_MAX} classes, which classes a perturb step generates: "
                             f"random, {CLASS_BATCH_MAX} random classes (the step's images whose target is "
                             "not among them are dropped); targets, the classes the step's images target",
                             choices=("random", "targets"), keyed=False),
        "untargeted": Param("best_other", "untargeted use: the best class for every image, or the runner-up "
                            "for images already labelled as it", choices=UNTARGETED_RULES, fit=False),
    }

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        p = self._params
        image = p["condition"] == "image"
        # measured on the mini zoo: G(x, c) needs more steps and width than G(c) (README, issue notes)
        if p["steps"] is None:
            p["steps"] = 600 if image else 300
        if p["width"] is None:
            p["width"] = 64 if image else 32
        if p["condition"] == "image" and p["objective"] == "visualize":
            raise AttackError("vizpert condition='image' needs objective='perturb' (a visualization has no input image)")
        # G(x, c) makes a new perturbation per image (after a fit); G(c) one per class
        self.kind = "per_input" if p["condition"] == "image" else "class_universal"  # type: ignore[misc]

    # ------------------------------------------------------------------ fit
    def fit_extra_seconds(self, x: torch.Tensor, num_classes: int, n_fit: int | None = None) -> float:
        """The generator's forward and backward pass per step (measured) times the steps: G(x, c) on a
        step's images, G(c) on the classes a step generates; G(x, c) adds its forwards while ranking,
        G(c) its forward over every class once trained (at 1000 classes, 8 forwards of 128)."""
        p = self._params
        gen = build_generator(self._generator_config(num_classes, x.shape[1:])).to(x.device)
        if p["condition"] == "image":
            batch = p["batch_size"]
            step = generator_step_seconds(gen, batch, probe_images(x, conditional=True))
            after = ranking_generator_seconds(step / batch, num_classes, n_fit)
        else:  # G(c): the classes a step generates, then the class outputs (a forward per class)
            batch = min(num_classes, CLASS_BATCH_MAX)
            step = generator_step_seconds(gen, batch, lambda k: (torch.arange(k, device=x.device) % num_classes,))
            after = generator_forward_seconds(step / batch, num_classes)
        return p["steps"] * step + after

    def _generator_config(self, num_classes: int, shape: tuple[int, ...]) -> GeneratorConfig:
        """The generator these parameters ask for, on images of `shape` (C, H, W)."""
        p = self._params
        return GeneratorConfig(p["condition"], num_classes, *shape, width_mult=p["width"],
                               label_injection=p["label_injection"], extra_blocks=p["extra_blocks"])

    def ranks_classes(self) -> bool:
        """G(c) ranks its class perturbations, G(x, c) its classes through the generator."""
        return True

    def fit(self, model: nn.Module, loader: Iterable[tuple[torch.Tensor, torch.Tensor]], budget: Budget,
            *, seed: int) -> Fitted:
        self.check_budget_supported(budget)
        p = self._params
        device, x_fit, y_fit, n_cls, g = fit_inputs(model, loader, seed)
        cfg = self._generator_config(n_cls, x_fit.shape[1:])
        gen = build_generator(cfg).to(device)
        guide = guide_for(model, p["freeze_classifier"])
        params = list(gen.parameters()) + ([] if p["freeze_classifier"] else list(guide.parameters()))
        classes = torch.arange(n_cls, device=device)

        def sample() -> tuple[torch.Tensor, torch.Tensor]:
            idx = torch.randint(len(x_fit), (p["batch_size"],), generator=g).to(device)
            return x_fit[idx], random_targets(y_fit[idx].cpu(), n_cls, g).to(device)

        def class_batch(targets: torch.Tensor | None = None) -> torch.Tensor:
            """The classes a step generates: every class up to CLASS_BATCH_MAX; above, that many random
            ones, or with class_batch="targets" the classes `targets` names (that many of them if more)."""
            if n_cls <= CLASS_BATCH_MAX:
                return classes
            if targets is None or p["class_batch"] == "random":
                return torch.randperm(n_cls, generator=g)[:CLASS_BATCH_MAX].to(device)
            cb = torch.unique(targets)
            return cb if len(cb) <= CLASS_BATCH_MAX else cb[torch.randperm(len(cb), generator=g)[:CLASS_BATCH_MAX]
                                                            .to(device)]

        def loss_fn(step: int) -> torch.Tensor:
            if p["objective"] == "visualize":
                c = class_batch()
                return F.cross_entropy(guide((gen(c) + 1) / 2), c)
            x, c = sample()
            if p["condition"] == "image":
                return perturb_loss(guide, x, scale_to_budget(gen(x, c), budget), c, p["loss"])
            cb = class_batch(c)
            deltas = scale_to_budget(gen(cb), budget)
            lookup = torch.full((n_cls,), -1, dtype=torch.long, device=device)
            lookup[cb] = torch.arange(len(cb), device=device)
            keep = lookup[c] >= 0
            return perturb_loss(guide, x[keep], deltas[lookup[c[keep]]], c[keep], p["loss"])

        gen.train()
        final_loss = optimise(params, loss_fn, steps=p["steps"], lr=p["lr"], desc=f"fit vizpert eps={eps_text(budget.eps)}")
        meta: dict[str, Any] = {"generator": cfg.to_dict(), "final_loss": final_loss,
                                "generator_params": sum(q.numel() for q in gen.parameters())}
        with torch.no_grad():
            if p["condition"] == "class":
                vis, deltas = self._class_outputs(gen, n_cls, budget, device)
                return package_class_deltas(self.label, budget, model, x_fit, deltas, meta, {"visualizations": vis})
            gen.eval()
            tensors = {f"generator.{k}": v.detach().cpu() for k, v in gen.state_dict().items()}
            order, rates = rank_classes(
                model, x_fit[:RANK_IMAGES], n_cls,
                lambda xb, c: xb + scale_to_budget(gen(xb, torch.full((len(xb),), c, device=device)), budget))
        return Fitted(self.label, budget, tensors, {**meta, **untargeted_meta(order, rates)})

    def _class_outputs(self, gen: nn.Module, n_cls: int, budget: Budget,
                       device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        """Class visualizations in [0, 1] and the class perturbations (inside the budget)."""
        classes = torch.arange(n_cls, device=device)
        if n_cls > CLASS_BATCH_MAX:
            gen.eval()  # trained on random class subsets: running statistics represent them
            out = torch.cat([gen(classes[i:i + CLASS_BATCH_MAX]) for i in range(0, n_cls, CLASS_BATCH_MAX)])
        else:
            out = gen(classes)  # trained on exactly this batch in train mode: reproduce it
        vis = (out + 1) / 2
        if self._params["objective"] == "visualize":
            return vis, fit_visualization(vis, budget)
        return vis, scale_to_budget(out, budget)

    # ------------------------------------------------------------------ perturb
    def _perturb(self, fitted: Fitted, model: nn.Module, x: torch.Tensor, y: torch.Tensor,
                 target: torch.Tensor | None) -> torch.Tensor:
        if "deltas" in fitted.tensors:
            return apply_class_deltas(fitted, model, x, target, self._params["untargeted"])
        c = target if target is not None else untargeted_classes(fitted, model, x, self._params["untargeted"])
        gen = self._generator(fitted, x.device)
        with torch.no_grad():
            return x + scale_to_budget(gen(x, c), fitted.budget)

    @staticmethod
    def _generator(fitted: Fitted, device: torch.device) -> nn.Module:
        """The image generator rebuilt from the fitted tensors, once per device."""
        key = ("generator", device)
        if key not in fitted.runtime:
            gen = build_generator(GeneratorConfig(**fitted.meta["generator"]))
            state = {k.removeprefix("generator."): v for k, v in fitted.tensors.items() if k.startswith("generator.")}
            gen.load_state_dict(state)
            fitted.runtime[key] = gen.to(device).eval()
        return fitted.runtime[key]
