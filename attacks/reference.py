"""AutoAttack (Croce & Hein, ICML 2020) as the reference attack, computed by torchattacks.

`version="standard"` is APGD-CE, APGD-T (9 target classes), FAB-T and Square (5000 queries), each
attacking only the images the previous ones left correct. Our reading, stated because it differs
from the original code: torchattacks builds APGD, APGD-T and FAB with their own default of 10
iterations (the paper's standard uses 100), so this is a cheaper AutoAttack; Square keeps its
5000 queries. `version="rand"` (APGD-CE and APGD-DLR with 20 EOT samples) is the paper's choice
for randomized defenses such as `+smooth`. Untargeted only: AutoAttack measures robust accuracy.
"""
from __future__ import annotations

from typing import ClassVar

import torch
import torchattacks
from torch import nn

from .budget import Budget
from .params import Param
from .torchattacks_adapter import _TA_NORM, TorchattacksAttack


class AutoAttack(TorchattacksAttack):
    """AutoAttack (Croce & Hein 2020), the reference for robust accuracy; untargeted."""

    name = "autoattack"
    passes_bound = True  # each sub-attack runs only on the images the earlier ones left robust
    supports_targeted = False
    params_spec: ClassVar[dict[str, Param]] = {
        "version": Param("standard", "standard: APGD-CE, APGD-T, FAB-T, Square; rand: APGD with EOT, for "
                         "randomized defenses", str, choices=("standard", "rand")),
    }

    def _build_for(self, model: nn.Module, budget: Budget, x: torch.Tensor) -> torchattacks.attack.Attack:
        """The class count comes from the model's output; the seed from torch's generator, which the
        runner seeds per batch (torchattacks would otherwise seed by the clock)."""
        with torch.no_grad():
            classes = int(model(x[:1]).shape[-1])
        seed = int(torch.randint(0, 2**31 - 1, (1,)))
        return torchattacks.AutoAttack(model, norm=_TA_NORM[budget.norm], eps=budget.eps,
                                       version=self._params["version"], n_classes=classes, seed=seed)

    def gradient_passes(self, n_eval: int, n_fit: int, num_classes: int,
                        n_features: int | None = None) -> int:
        """Rough worst case for `--dry-run`: APGD-CE 10, APGD-T and FAB-T 10 per target class, Square's
        5000 forward passes counted as a third of a forward+backward each."""
        return n_eval * (10 + 20 * max(num_classes - 1, 1) + 5000 // 3)
