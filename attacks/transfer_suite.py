"""The iterative transfer-attack family under short names, with the field's standard settings
(10 iterations, step eps/10, momentum decay 1.0 where the method has momentum), computed by
torchattacks: only the settings and the budget mapping are ours.

- `mifgsm`: momentum iterative FGSM (Dong et al., CVPR 2018).
- `nifgsm`: Nesterov iterative FGSM (Lin et al., ICLR 2020).
- `sinifgsm`: NI-FGSM with scale invariance, m = 5 scaled copies (Lin et al., ICLR 2020).
- `difgsm`: input diversity, resize-and-pad with probability 0.5 (Xie et al., CVPR 2019); with
  momentum 1.0 (M-DI2-FGSM, the paper's strongest and the usual baseline).
- `tifgsm`: translation invariance, the gradient smoothed by a gaussian kernel (Dong et al., CVPR
  2019), with momentum and input diversity (TI-DIM, as evaluated in the paper). Our reading: the
  paper's 15x15 kernel is for 299x299 images; the kernel here is 15 at ImageNet sizes and
  scaled with the image side (7 for 28x28, the smallest odd size >= side/4) unless given.
- `vmifgsm`: variance tuning, N = 5 neighbours at beta = 1.5 (Wang & He, CVPR 2021).

All are Linf attacks (their sign steps are Linf steps); untargeted and targeted.
"""
from __future__ import annotations

from typing import ClassVar

import torch
import torchattacks
from torch import nn

from .base import Fitted
from .budget import Budget
from .grey_rgb import perturb_as_rgb
from .params import Param, positive_int
from .torchattacks_adapter import TorchattacksAttack

STEPS = positive_int(10, "iterations")
DECAY = Param(1.0, "momentum decay (mu)", float, low=0)


class _TransferAttack(TorchattacksAttack):
    """A torchattacks transfer attack with step eps/steps (eps/10 by default)."""

    norms = ("linf",)
    ta_class: ClassVar[str] = ""
    params_spec: ClassVar[dict[str, Param]] = {"steps": STEPS, "decay": DECAY}

    def _build(self, model: nn.Module, budget: Budget) -> torchattacks.attack.Attack:
        return self._construct(model, budget, self._params)

    def _construct(self, model: nn.Module, budget: Budget, params: dict) -> torchattacks.attack.Attack:
        """The torchattacks object with these settings and step eps/steps."""
        return getattr(torchattacks, self.ta_class)(model, eps=budget.eps, alpha=budget.eps / params["steps"], **params)


class MIFGSM(_TransferAttack):
    """MI-FGSM (Dong et al. 2018): iterative FGSM with momentum 1.0."""

    name = "mifgsm"
    ta_class = "MIFGSM"


class NIFGSM(_TransferAttack):
    """NI-FGSM (Lin et al. 2020): momentum with a Nesterov look-ahead."""

    name = "nifgsm"
    ta_class = "NIFGSM"


class SINIFGSM(_TransferAttack):
    """SI-NI-FGSM (Lin et al. 2020): NI-FGSM on m scaled copies (x / 2^i) of each image."""

    name = "sinifgsm"
    ta_class = "SINIFGSM"
    params_spec: ClassVar[dict[str, Param]] = {"steps": STEPS, "decay": DECAY,
                                               "m": positive_int(5, "scaled copies per step")}

    def gradient_passes(self, n_eval: int, n_fit: int, num_classes: int,
                        n_features: int | None = None) -> int:
        """One forward+backward pass per scaled copy per step."""
        return self._params["m"] * super().gradient_passes(n_eval, n_fit, num_classes, n_features)


class VMIFGSM(_TransferAttack):
    """VMI-FGSM (Wang & He 2021): momentum with variance tuning over N neighbours."""

    name = "vmifgsm"
    ta_class = "VMIFGSM"
    params_spec: ClassVar[dict[str, Param]] = {
        "steps": STEPS, "decay": DECAY, "N": positive_int(5, "neighbours sampled for the variance"),
        "beta": Param(1.5, "neighbourhood radius in units of eps", float, low=0, low_open=True)}

    def gradient_passes(self, n_eval: int, n_fit: int, num_classes: int,
                        n_features: int | None = None) -> int:
        """One forward+backward pass at the image and one per neighbour, per step."""
        return (1 + self._params["N"]) * super().gradient_passes(n_eval, n_fit, num_classes, n_features)


DIVERSITY = {"resize_rate": Param(0.9, "input diversity: the image is resized to side/resize_rate at most",
                                  float, low=0, low_open=True),
             "diversity_prob": Param(0.5, "probability of the random resize-and-pad per step", float, low=0, high=1)}


class DIFGSM(_TransferAttack):
    """M-DI2-FGSM (Xie et al. 2019): a random resize-and-pad of the input at each step, with momentum."""

    name = "difgsm"
    ta_class = "DIFGSM"
    params_spec: ClassVar[dict[str, Param]] = {"steps": STEPS, "decay": DECAY, **DIVERSITY}


class TIFGSM(_TransferAttack):
    """TI-DIM (Dong et al. 2019): the gradient smoothed by a gaussian kernel, with momentum and input diversity."""

    name = "tifgsm"
    ta_class = "TIFGSM"
    params_spec: ClassVar[dict[str, Param]] = {
        "steps": STEPS, "decay": DECAY, **DIVERSITY,
        "len_kernel": Param(None, "gaussian kernel size (odd; none: 15 at 224+ pixels, else the smallest odd "
                                  "size >= side/4)", int, low=1, none_ok=True),
        "nsig": Param(3.0, "kernel radius in standard deviations", float, low=0, low_open=True)}

    def _build_for(self, model: nn.Module, budget: Budget, x: torch.Tensor) -> torchattacks.attack.Attack:
        p = dict(self._params)
        if p["len_kernel"] is None:
            side = min(x.shape[-2:])
            p["len_kernel"] = 15 if side >= 224 else max(3, (side // 4) | 1)
        return self._construct(model, budget, p)

    def _perturb(self, fitted: Fitted, model: nn.Module, x: torch.Tensor, y: torch.Tensor,
                 target: torch.Tensor | None) -> torch.Tensor:
        """torchattacks smooths the gradient with a 3-channel depthwise kernel: grey images run as RGB."""
        return perturb_as_rgb(self.name, lambda m, xx: super(TIFGSM, self)._perturb(fitted, m, xx, y, target),
                              model, x)


TRANSFER_SUITE = (MIFGSM, NIFGSM, DIFGSM, TIFGSM, VMIFGSM, SINIFGSM)
