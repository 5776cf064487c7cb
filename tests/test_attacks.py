"""The attack contract: every registered attack keeps its budget; eps=0 changes nothing; PGD >= FGSM."""
from __future__ import annotations

import pytest
import torch

import attacks
from attacks import Attack, Budget, BudgetViolation, Fitted
from bench.targets import make_targets

# every registered attack with the norms it supports, plus library adapters by class name
CASES = [
    ("fgsm", {}, "linf"), ("fgsm", {}, "l2"),
    ("pgd", {"steps": 5}, "linf"), ("pgd", {"steps": 5}, "l2"),
    ("torchattacks:MIFGSM", {"steps": 3}, "linf"),
    ("torchattacks:APGD", {"steps": 3}, "l2"),
    ("foolbox:LinfPGD", {"steps": 3}, "linf"),
    ("foolbox:L2PGD", {"steps": 3}, "l2"),
    ("vizpert", {"steps": 5}, "linf"), ("vizpert", {"steps": 5}, "l2"),
    ("vizpert", {"steps": 5, "objective": "visualize"}, "linf"),
    ("vizpert", {"steps": 5, "objective": "visualize"}, "l2"),
    ("vizpert", {"steps": 5, "condition": "image"}, "linf"),
    ("vizpert", {"steps": 5, "condition": "image"}, "l2"),
    ("class_uap", {"steps": 5}, "linf"), ("class_uap", {"steps": 5}, "l2"),
    ("uap", {"max_passes": 1}, "linf"), ("uap", {"max_passes": 1}, "l2"),
    ("uap", {"max_passes": 1, "targeted": True}, "linf"),
    ("sgd_uap", {"steps": 10}, "linf"), ("sgd_uap", {"steps": 10}, "l2"),
    ("sgd_uap", {"steps": 10, "targeted": True}, "l2"),
    ("class_viz", {"steps": 10}, "linf"), ("class_viz", {"steps": 10}, "l2"),
    ("noise", {}, "linf"), ("noise", {}, "l2"),
]


def test_registry_covers_every_builtin():
    assert {c[0] for c in CASES} >= set(attacks.REGISTRY.names())


@pytest.mark.parametrize("targeted", [False, True], ids=["untargeted", "targeted"])
@pytest.mark.parametrize("name,params,norm", CASES,
                         ids=[f"{c[0]}-{'-'.join(map(str, c[1].values()))}-{c[2]}" for c in CASES])
def test_budget_holds_for_every_example(tiny_model, batch, fit_loader, name, params, norm, targeted):
    x, y = batch
    eps = 0.1 if norm == "linf" else 1.0
    attack = attacks.create(name, **params)
    budget = Budget(norm, eps)
    fitted = attack.fit(tiny_model, fit_loader, budget, seed=0)
    target = make_targets(y, 4, seed=1) if targeted else None
    if targeted and name == "torchattacks:APGD":
        pytest.skip("torchattacks APGD has no targeted mode (APGDT is its targeted twin)")
    x_adv = attack.perturb(fitted, tiny_model, x, y, target)
    dist = attacks.per_example_norm(x_adv - x, norm)
    assert x_adv.shape == x.shape
    assert float(x_adv.min()) >= 0.0 and float(x_adv.max()) <= 1.0
    assert bool((dist <= eps + 1e-6).all()), f"max distance {float(dist.max())}"
    assert float(dist.max()) > 0.0  # it did perturb


@pytest.mark.parametrize("name", ["fgsm", "pgd"])
@pytest.mark.parametrize("norm", ["linf", "l2"])
def test_eps_zero_changes_nothing(tiny_model, batch, name, norm):
    x, y = batch
    attack = attacks.create(name)
    fitted = attack.fit(tiny_model, [], Budget(norm, 0.0), seed=0)
    x_adv = attack.perturb(fitted, tiny_model, x, y)
    assert torch.equal(x_adv, x)


def test_pgd_fools_at_least_as_much_as_fgsm(tiny_model, synthetic):
    x, y = synthetic.test.x[:300], synthetic.test.y[:300]
    budget = Budget("linf", 0.1)
    rates = {}
    for name in ("fgsm", "pgd"):
        attack = attacks.create(name)
        torch.manual_seed(0)
        x_adv = attack.perturb(attack.fit(tiny_model, [], budget, seed=0), tiny_model, x, y)
        with torch.no_grad():
            rates[name] = float((tiny_model(x_adv).argmax(1) != tiny_model(x).argmax(1)).float().mean())
    assert rates["pgd"] >= rates["fgsm"]
    assert rates["pgd"] > 0.5


def test_targeted_pgd_reaches_its_targets(tiny_model, synthetic):
    x, y = synthetic.test.x[:200], synthetic.test.y[:200]
    target = make_targets(y, synthetic.num_classes, seed=3)
    attack = attacks.create("pgd", steps=20)
    torch.manual_seed(0)
    x_adv = attack.perturb(attack.fit(tiny_model, [], Budget("linf", 0.2), seed=0), tiny_model, x, y, target)
    with torch.no_grad():
        hit = float((tiny_model(x_adv).argmax(1) == target).float().mean())
    assert hit > 0.5  # chance is about 1/4


class _Cheater(Attack):
    """Returns images far outside the budget: the final check must catch it."""

    name = "cheater"

    def _perturb(self, fitted, model, x, y, target):
        return (x + 0.5).clamp(0, 1)


def test_budget_violation_is_caught(tiny_model, batch):
    x, y = batch
    attack = _Cheater()
    with pytest.raises(BudgetViolation, match="exceeded the linf budget"):
        attack.perturb(attack.fit(tiny_model, [], Budget("linf", 0.05), seed=0), tiny_model, x, y)


def test_budget_check_rejects_out_of_range_and_nan():
    x = torch.zeros(2, 1, 4, 4)
    with pytest.raises(BudgetViolation, match="range"):
        Budget("linf", 0.1).check(x, x - 0.05)
    with pytest.raises(BudgetViolation, match="non-finite"):
        Budget("linf", 0.1).check(x, x * float("nan"))


def test_unknown_attack_suggests_close_names():
    with pytest.raises(attacks.UnknownAttackError, match=r"did you mean 'pgd'"):
        attacks.create("pgf")
    with pytest.raises(attacks.AttackError, match="did you mean 'torchattacks class' |did you mean"):
        attacks.create("torchattacks:PDG")


def test_unknown_parameter_is_named():
    with pytest.raises(attacks.AttackError, match="no parameter 'stepz'"):
        attacks.create("pgd", stepz=3)


def test_foolbox_norm_mismatch_is_reported(tiny_model):
    attack = attacks.create("foolbox:LinfPGD")
    with pytest.raises(attacks.AttackError, match="not l2"):
        attack.fit(tiny_model, [], Budget("l2", 1.0), seed=0)


def test_fitted_is_not_mutated_by_perturb(tiny_model, batch):
    x, y = batch
    attack = attacks.create("pgd", steps=2)
    fitted = attack.fit(tiny_model, [], Budget("linf", 0.1), seed=0)
    before = attack.params
    attack.perturb(fitted, tiny_model, x, y)
    assert attack.params == before and isinstance(fitted, Fitted)


@pytest.mark.parametrize("text,value", [("0.1", 0.1), ("8/255", 8 / 255), (0.25, 0.25)])
def test_parse_eps(text, value):
    assert attacks.parse_eps(text) == pytest.approx(value)


def test_parse_eps_rejects_garbage():
    with pytest.raises(attacks.AttackError, match="8/255"):
        attacks.parse_eps("eight")
