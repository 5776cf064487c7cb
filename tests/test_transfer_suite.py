"""The transfer-attack suite (issue 14): every short name runs untargeted and targeted within the
budget, targeted runs hit their targets more often than untargeted ones, and TI's grey-image path
equals the colour computation on three identical channels."""
from __future__ import annotations

import pytest
import torch

import attacks
from attacks import AttackError, Budget
from attacks.grey_rgb import GreyAsRGB
from attacks.transfer_suite import TRANSFER_SUITE, TIFGSM

NAMES = [cls.name for cls in TRANSFER_SUITE]


@pytest.mark.parametrize("name", NAMES)
def test_transfer_attack_keeps_the_budget_and_targets_hit(name, tiny_model, batch):
    x, y = batch
    budget = Budget("linf", 0.1)
    attack = attacks.create(name)
    fitted = attack.fit(tiny_model, [], budget, seed=0)
    target = (y + 1) % int(y.max() + 1)
    torch.manual_seed(0)
    un = attack.perturb(fitted, tiny_model, x, y)
    torch.manual_seed(0)
    tg = attack.perturb(fitted, tiny_model, x, y, target)
    for adv in (un, tg):
        assert (adv - x).abs().amax() <= 0.1 + 1e-6 and adv.min() >= 0 and adv.max() <= 1
    with torch.no_grad():
        pred_un, pred_tg, clean = tiny_model(un).argmax(1), tiny_model(tg).argmax(1), tiny_model(x).argmax(1)
    assert (pred_tg == target).float().mean() > (pred_un == target).float().mean()
    assert (pred_un != y).float().mean() >= 0.5 * (clean == y).float().mean()


def test_transfer_attacks_are_linf_only():
    with pytest.raises(AttackError, match="supports norm linf, not l2"):
        attacks.create("mifgsm").check_budget_supported(Budget("l2", 1.0))


def test_tifgsm_on_grey_images_equals_three_identical_channels(tiny_model, batch):
    x, y = batch
    budget = Budget("linf", 0.1)
    attack = TIFGSM()
    fitted = attack.fit(tiny_model, [], budget, seed=0)
    torch.manual_seed(3)
    grey = attack.perturb(fitted, tiny_model, x, y)
    torch.manual_seed(3)
    rgb = attack._build_for(GreyAsRGB(tiny_model), budget, x)(x.expand(-1, 3, -1, -1).contiguous(), y)
    assert torch.allclose(rgb[:, 0], rgb[:, 2]) and torch.allclose(grey[:, 0], rgb.mean(1), atol=1e-6)
    assert attack._build_for(tiny_model, budget, x).len_kernel == 5  # 16 px: smallest odd >= side/4 (min 3)


def test_momentum_attack_fools_at_least_as_much_as_fgsm(tiny_model, batch):
    x, y = batch
    budget = Budget("linf", 0.05)
    rates = {}
    for name in ("fgsm", "mifgsm"):
        attack = attacks.create(name)
        adv = attack.perturb(attack.fit(tiny_model, [], budget, seed=0), tiny_model, x, y)
        with torch.no_grad():
            rates[name] = float((tiny_model(adv).argmax(1) != y).float().mean())
    assert rates["mifgsm"] >= rates["fgsm"], rates
