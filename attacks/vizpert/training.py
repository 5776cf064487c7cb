"""VizPert's own training piece: the classifier that guides the generator (frozen, or a trainable
copy for the ablation). What VizPert shares with the other learned attacks lives in
`attacks.fitting`, `attacks.projection` and `attacks.classwise`."""
from __future__ import annotations

import copy

from torch import nn


def guide_for(model: nn.Module, freeze: bool) -> nn.Module:
    """The classifier that guides training: the frozen model, or a trainable copy of it (ablation).

    The copy stays in eval mode (batch-norm statistics fixed); only its weights learn.
    """
    if freeze:
        return model
    guide = copy.deepcopy(model)
    for p in guide.parameters():
        p.requires_grad_(True)
    return guide
