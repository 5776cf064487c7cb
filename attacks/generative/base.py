"""The generator-attack family's one training loop: a generator trained once against the frozen
source model (Adam with cosine decay, seeded, deterministic: `attacks.fitting.optimise`, the loop
VizPert uses), then applied to each image in one forward pass. Subclasses give the loss; this
class samples fit batches and targets, forms the adversarial images, records the loss trace,
packages the weights and perturbs.

Three ways G's output becomes the adversarial image (`output`; each attack's default is its
paper's): `fill` (GAP: G(x) scaled so that it fills the budget, its largest pixel at eps for Linf,
and added to the image), `project` (CDA, BIA, TTP: G(x) read as an image and projected into the
budget ball around x) and `scale` (eps * G(x), VizPert's: every pixel keeps a gradient).
"""
from __future__ import annotations

from typing import Any, ClassVar, Iterable

import torch
from torch import nn

from common.eps import eps_text

from ..base import Attack, Fitted
from ..budget import Budget
from ..classwise import RANK_IMAGES, rank_classes, ranking_generator_seconds, untargeted_classes, untargeted_meta
from ..fitting import fit_inputs, generator_step_seconds, optimise, probe_images, random_targets
from ..params import Param, positive_int
from ..projection import project, scale_to_budget
from .networks import ResnetGenerator, ResnetGeneratorConfig

TRACE_WINDOW = 20  # steps averaged at the start and the end of a fit for `loss_first` / `loss_last`

COMMON_PARAMS: dict[str, Param] = {
    "steps": positive_int(400, "Adam steps"),
    "batch_size": positive_int(64, "fit images per step"),
    "lr": Param(1e-3, "Adam learning rate (cosine decay)", float, low=0, low_open=True),
    "ngf": positive_int(16, "generator width (channels of its first layer)"),
    "blocks": positive_int(2, "residual blocks of the generator"),
    "output": Param(None, "how G's output becomes the perturbation: fill, project or scale (none: the paper's)",
                    choices=("fill", "project", "scale"), none_ok=True),
}


def fill_budget(out: torch.Tensor, budget: Budget) -> torch.Tensor:
    """GAP's scaling: each output divided by its own norm and multiplied by eps (Linf: the largest
    pixel at exactly eps; L2: norm eps), so the perturbation always spends the whole budget."""
    if budget.norm != "linf":
        return scale_to_budget(out, budget)
    peak = out.detach().abs().flatten(1).amax(1).clamp_min(1e-12).view(-1, *[1] * (out.dim() - 1))
    return budget.eps * out / peak


class GenerativeAttack(Attack):
    """Base of gap, cda, bia and ttp: see the module docstring."""

    kind = "per_input"
    learns = True
    output: ClassVar[str] = "fill"  # the paper's way (module docstring); the `output` parameter overrides it
    params_spec: ClassVar[dict[str, Param]] = COMMON_PARAMS

    # ---------------------------------------------------------------- what subclasses say
    def conditional(self) -> bool:
        """True when the generator takes the target class (targeted training)."""
        return False

    def ranks_classes(self) -> bool:
        """Conditional generators rank their target classes for untargeted cells."""
        return self.conditional()

    def universal(self) -> bool:
        """True when the generator's input is a fixed noise image instead of x (one delta for all)."""
        return False

    def prepare(self, model: nn.Module, x_fit: torch.Tensor, y_fit: torch.Tensor, clean_logits: torch.Tensor,
                num_classes: int) -> dict[str, Any]:
        """Anything the loss needs that is computed once per fit (a feature layer, class indices)."""
        return {}

    def loss(self, model: nn.Module, x: torch.Tensor, x_adv: torch.Tensor, clean_logits: torch.Tensor,
             target: torch.Tensor | None, state: dict[str, Any], g: torch.Generator) -> torch.Tensor:
        raise NotImplementedError

    # ---------------------------------------------------------------- shared
    def _adversarial(self, gen: nn.Module, x: torch.Tensor, c: torch.Tensor | None, budget: Budget,
                     noise: torch.Tensor | None) -> torch.Tensor:
        source = noise.expand(len(x), -1, -1, -1) if noise is not None else x
        out = gen(source, c)
        how = self._params.get("output") or self.output
        if how == "fill":
            return (x + fill_budget(out, budget)).clamp(0.0, 1.0)
        if how == "scale":
            return (x + scale_to_budget(out, budget)).clamp(0.0, 1.0)
        image = (out + 1) / 2
        return (x + project(image - x, budget)).clamp(0.0, 1.0)

    def fit_extra_seconds(self, x: torch.Tensor, num_classes: int, n_fit: int | None = None) -> float:
        """The generator's forward and backward pass per step (measured) times the steps; a conditional
        generator adds its forwards while its classes are ranked."""
        p = self._params
        cond = self.conditional()
        gen = ResnetGenerator(ResnetGeneratorConfig(x.shape[1], p["ngf"], p["blocks"], num_classes if cond else 0))
        gen.to(x.device)
        step = generator_step_seconds(gen, p["batch_size"], probe_images(x, cond))
        ranking = ranking_generator_seconds(step / p["batch_size"], num_classes, n_fit) if cond else 0.0
        return p["steps"] * step + ranking

    def fit(self, model: nn.Module, loader: Iterable[tuple[torch.Tensor, torch.Tensor]], budget: Budget,
            *, seed: int) -> Fitted:
        self.check_budget_supported(budget)
        p = self._params
        device, x_fit, y_fit, n_cls, g = fit_inputs(model, loader, seed)
        cond = self.conditional()
        cfg = ResnetGeneratorConfig(x_fit.shape[1], p["ngf"], p["blocks"], n_cls if cond else 0)
        gen = ResnetGenerator(cfg).to(device)
        noise = torch.rand((1, *x_fit.shape[1:]), generator=g).to(device) if self.universal() else None
        with torch.no_grad():
            clean_logits = torch.cat([model(x_fit[i:i + 256]) for i in range(0, len(x_fit), 256)]).float()
        state = self.prepare(model, x_fit, y_fit, clean_logits, n_cls)
        trace: list[float] = []

        def loss_fn(step: int) -> torch.Tensor:
            idx = torch.randint(len(x_fit), (p["batch_size"],), generator=g).to(device)
            c = random_targets(y_fit[idx].cpu(), n_cls, g).to(device) if cond else None
            x = x_fit[idx]
            loss = self.loss(model, x, self._adversarial(gen, x, c, budget, noise), clean_logits[idx], c, state, g)
            trace.append(float(loss.detach()))
            return loss

        gen.train()
        final = optimise(list(gen.parameters()), loss_fn, steps=p["steps"], lr=p["lr"],
                         desc=f"fit {self.name} eps={eps_text(budget.eps)}")
        gen.eval()
        w = min(TRACE_WINDOW, len(trace))
        meta: dict[str, Any] = {"generator": cfg.to_dict(), "final_loss": final,
                                "loss_first": sum(trace[:w]) / w, "loss_last": sum(trace[-w:]) / w,
                                "generator_params": sum(q.numel() for q in gen.parameters())}
        tensors = {f"generator.{k}": v.detach().cpu() for k, v in gen.state_dict().items()}
        if noise is not None:
            tensors["noise"] = noise.cpu()
        if cond:  # untargeted cells: the best target class (best_other rule), ranked on the fit split
            with torch.no_grad():
                order, rates = rank_classes(model, x_fit[:RANK_IMAGES], n_cls, lambda xb, c: self._adversarial(
                    gen, xb, torch.full((len(xb),), c, device=device), budget, noise))
            meta.update(untargeted_meta(order, rates))
        return Fitted(self.label, budget, tensors, meta)

    def _perturb(self, fitted: Fitted, model: nn.Module, x: torch.Tensor, y: torch.Tensor,
                 target: torch.Tensor | None) -> torch.Tensor:
        """Conditional generators take the target (untargeted cells: the best_other class); the
        others make their untargeted perturbation in targeted cells too (the target is not used)."""
        gen, noise = self._generator(fitted, x.device)
        c = None
        if gen.cfg.num_classes:
            c = target if target is not None else untargeted_classes(fitted, model, x, "best_other")
        with torch.no_grad():
            return self._adversarial(gen, x, c, fitted.budget, noise)

    @staticmethod
    def _generator(fitted: Fitted, device: torch.device) -> tuple[ResnetGenerator, torch.Tensor | None]:
        """The generator rebuilt from the fitted tensors (and its noise input), once per device."""
        key = ("generator", device)
        if key not in fitted.runtime:
            gen = ResnetGenerator(ResnetGeneratorConfig(**fitted.meta["generator"]))
            gen.load_state_dict({k.removeprefix("generator."): v for k, v in fitted.tensors.items()
                                 if k.startswith("generator.")})
            noise = fitted.tensors.get("noise")
            fitted.runtime[key] = (gen.to(device).eval(), None if noise is None else noise.to(device))
        return fitted.runtime[key]
