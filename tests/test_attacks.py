"""The attack contract: every registered attack keeps its budget; eps=0 changes nothing; PGD >= FGSM."""
from __future__ import annotations

import re

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
    # minimum-norm classes (no eps): projected onto the budget
    ("torchattacks:DeepFool", {"steps": 5}, "l2"), ("torchattacks:CW", {"steps": 5, "lr": 0.1}, "linf"),
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
    *[(name, {"steps": 2}, "linf") for name in ("mifgsm", "nifgsm", "sinifgsm", "difgsm", "tifgsm", "vmifgsm")],
    ("gap", {"steps": 3, "ngf": 4, "blocks": 1}, "linf"), ("gap", {"steps": 3, "ngf": 4, "blocks": 1}, "l2"),
    ("gap", {"steps": 3, "ngf": 4, "blocks": 1, "universal": True, "targeted": True}, "linf"),
    ("cda", {"steps": 3, "ngf": 4, "blocks": 1}, "l2"), ("ttp", {"steps": 3, "ngf": 4, "blocks": 1}, "linf"),
]
# bia needs a timm network (feature_info): tests/test_generative.py, on mini:resnet; autoattack is untargeted
# only and runs through the runner (which checks the budget on every batch) in tests/test_reference.py
COVERED_ELSEWHERE = {"bia", "autoattack"}


def test_registry_covers_every_builtin():
    assert {c[0] for c in CASES} | COVERED_ELSEWHERE >= set(attacks.REGISTRY.names())


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
    if targeted and name in ("torchattacks:APGD", "torchattacks:DeepFool"):
        pytest.skip(f"{name} has no targeted mode in torchattacks (an error says so; APGDT is APGD's twin)")
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


def test_pending_checks_judge_late_with_the_same_verdict(tiny_model, batch):
    """A check queued in PendingChecks raises only when settled, with the immediate check's message;
    `settle(keep=1)` leaves the newest pending and shape errors raise at once (they need no read-back)."""
    x, y = batch
    attack = _Cheater()
    fitted = attack.fit(tiny_model, [], Budget("linf", 0.05), seed=0)
    checks = attacks.PendingChecks()
    attack.perturb(fitted, tiny_model, x, y, checks=checks)  # no raise yet
    attack.perturb(fitted, tiny_model, x, y, checks=checks)
    with pytest.raises(BudgetViolation) as now:
        attack.perturb(fitted, tiny_model, x, y)
    with pytest.raises(BudgetViolation) as late:
        checks.settle(keep=1)
    assert str(late.value) == str(now.value) and len(checks) == 1
    with pytest.raises(BudgetViolation, match="returned shape"):
        checks.add(fitted.budget, x, x[:1])
    fair = attacks.PendingChecks()
    fair.add(fitted.budget, x, (x + 0.05).clamp(0, 1))
    fair.settle()
    assert len(fair) == 0


def test_unknown_attack_suggests_close_names():
    with pytest.raises(attacks.UnknownAttackError, match=r"did you mean 'pgd'"):
        attacks.create("pgf")
    with pytest.raises(attacks.AttackError, match=r"unknown torchattacks class 'PDG'; did you mean 'PGD'"):
        attacks.create("torchattacks:PDG")


@pytest.mark.parametrize("name, meant", [
    ("deepfool", "'torchattacks:DeepFool' or 'foolbox:L2DeepFoolAttack' or 'foolbox:LinfDeepFoolAttack'"),
    ("Square", "'torchattacks:Square'"), ("PGD", "'pgd'"), ("Auto-Attack", "'autoattack'"), ("pgdl2", "'pgd'")])
def test_an_attack_named_another_way_gets_the_name_a_run_takes(name, meant):
    """A library class written without its prefix (`deepfool`) or a registered name in other case or
    punctuation (`PGD`): difflib finds neither, so the error once offered nothing. A registered name that
    reads the same is offered alone (`pgdl2` is the registry's `pgd`; the norm is `--norm`'s)."""
    with pytest.raises(attacks.UnknownAttackError, match=re.escape(f"did you mean {meant}? (")):
        attacks.create(name)


def test_unknown_parameter_is_named():
    with pytest.raises(attacks.AttackError, match="no parameter 'stepz'"):
        attacks.create("pgd", stepz=3)


@pytest.mark.parametrize("name,norm,hint", [
    ("torchattacks:EOTPGD", "l2", "works in the Linf norm, not l2; pass --norm linf, or pick a torchattacks class"),
    ("torchattacks:PGDRSL2", "linf", "use torchattacks:PGDRS"), ("foolbox:L2FMNAttack", "linf", "foolbox:LInfFMNAttack"),
    ("foolbox:LinfDeepFoolAttack", "l2", "foolbox:L2DeepFoolAttack"),
    ("foolbox:HopSkipJumpAttack", "linf", "use foolbox:HopSkipJumpAttack[constraint=linf]")])
def test_a_library_class_in_another_norm_is_refused_before_any_cell(name, norm, hint):
    """A torchattacks class with a radius and no norm argument works in the norm its docstring names; given
    another budget its cells all failed the budget check ("exceeded the l2 budget on 6 of 6"): now the
    config is refused in one line naming --norm and the class for the budget's norm."""
    with pytest.raises(attacks.AttackError, match=re.escape(hint)):
        attacks.create(name).check_budget_supported(Budget(norm, 0.5))
    for ok in ("torchattacks:APGD", "torchattacks:DeepFool", "torchattacks:PGDL2"):  # norm argument / projected / L2
        attacks.create(ok).check_budget_supported(Budget("l2", 0.5))


def test_a_foolbox_class_missing_an_optional_package_says_which(monkeypatch):
    """foolbox's Brendel-Bethge attacks import numba when built, and foolbox does not require it: a
    one-line error naming the package, not a ModuleNotFoundError traceback."""
    import foolbox

    class NeedsNumba(foolbox.attacks.L2PGD):
        def __init__(self, **kwargs):
            raise ModuleNotFoundError("No module named 'numba'", name="numba")
    monkeypatch.setattr(foolbox.attacks, "NeedsNumba", NeedsNumba, raising=False)
    with pytest.raises(attacks.AttackError, match="NeedsNumba needs the package 'numba', which is not installed; "
                                                  "pip install numba"):
        attacks.create("foolbox:NeedsNumba")


@pytest.mark.parametrize("name,message", [
    ("torchattacks:LGV", "is a torchattacks wrapper"), ("torchattacks:MultiAttack", "list the attacks themselves"),
    ("foolbox:VirtualAdversarialAttack", "needs steps (no default in the library): give it as "
                                         "'foolbox:VirtualAdversarialAttack[steps=...]'")])
def test_a_library_class_a_run_cannot_build_is_refused_when_named(name, message):
    """Built with only a model and a budget, these failed every cell with the library's TypeError (a
    traceback, for torchattacks); now the name is refused at once."""
    with pytest.raises(attacks.AttackError, match=re.escape(message)):
        attacks.create(name)
    attacks.create("foolbox:VirtualAdversarialAttack", steps=2)


def test_a_library_error_while_attacking_fails_the_cell_in_one_line(tiny_model, batch):
    """A parameter value the library never checks breaks inside its loop: an AttackError (the runner then
    reports the cell failed and goes on) quoting the library's error, not a traceback that ends the run.
    foolbox classes are tried on a stand-in when named, so theirs is refused at once."""
    x, y = batch
    atk = attacks.create("torchattacks:CW", c="abc")
    with pytest.raises(attacks.AttackError, match=r"torchattacks:CW failed inside torchattacks: \w+Error: "
                                                  ".*check the parameters in its brackets"):
        atk.perturb(atk.fit(tiny_model, [], Budget("l2", 1.0), seed=0), tiny_model, x, y, None)
    with pytest.raises(attacks.AttackError, match="foolbox:LinfPGD cannot run: foolbox says .* check the "
                                                  "parameters in its brackets"):
        attacks.create("foolbox:LinfPGD", steps="abc")


def test_a_foolbox_error_after_its_first_forward_fails_the_cell_in_one_line(tiny_model, batch, monkeypatch):
    import foolbox

    class BreaksLater(foolbox.attacks.LinfPGD):
        def run(self, model, inputs, criterion, *, epsilon, **kwargs):
            model(inputs)
            raise RuntimeError("shapes do not match")
    monkeypatch.setattr(foolbox.attacks, "BreaksLater", BreaksLater, raising=False)
    atk = attacks.create("foolbox:BreaksLater")
    x, y = batch
    with pytest.raises(attacks.AttackError, match="foolbox:BreaksLater failed inside foolbox: RuntimeError: shapes"):
        atk.perturb(atk.fit(tiny_model, [], Budget("linf", 0.1), seed=0), tiny_model, x, y, None)


def test_running_out_of_memory_inside_a_library_still_reaches_the_batch_sizer():
    """The batch sizer halves the batch on torch.OutOfMemoryError: the library wrapper must not turn it into
    a failed cell."""
    from attacks.errors import library_errors

    with pytest.raises(torch.OutOfMemoryError):
        with library_errors("torchattacks:X", "torchattacks"):
            raise torch.OutOfMemoryError("CUDA out of memory")


@pytest.mark.parametrize("budget", [Budget("linf", 0.1), Budget("l2", 1.0)])
def test_a_foolbox_flexible_distance_class_measures_in_the_budgets_norm(tiny_model, batch, budget):
    """foolbox's contrast-reduction, blur and pointwise attacks take their distance when built; built
    without one they raised "unknown distance" (a traceback at config time): now the budget's norm."""
    x, y = batch
    atk = attacks.create("foolbox:LinearSearchContrastReductionAttack", steps=20)
    atk.check_budget_supported(budget)
    x_adv = atk.perturb(atk.fit(tiny_model, [], budget, seed=0), tiny_model, x, y, None)  # checks the budget
    assert bool((x_adv != x).any())
    with pytest.raises(attacks.AttackError, match="takes its distance from the run's budget"):
        attacks.create("foolbox:GaussianBlurAttack", distance="l2")
    with pytest.raises(attacks.AttackError, match="measures no distance"):
        attacks.create("foolbox:SpatialAttack")


@pytest.mark.parametrize("library", ["torchattacks", "foolbox"])
def test_the_library_catalogue_says_what_a_run_would_do(library):
    """`bench list torchattacks|foolbox`: each class's norms are those its budget check accepts, its modes
    those the grid plans, and a class that cannot run says why."""
    from attacks.library_catalogue import catalogue

    rows = {r.name: r for r in catalogue(library)}
    assert len(rows) > 30
    for r in rows.values():
        if r.problem:
            assert not r.norms
            continue
        atk = attacks.create(r.name)
        assert r.modes == {(True, True): "both", (False, True): "untargeted", (True, False): "targeted"}[
            atk.supports_targeted, atk.supports_untargeted]
        for norm, eps in (("linf", 0.1), ("l2", 1.0)):
            if norm in r.norms:
                atk.check_budget_supported(Budget(norm, eps))
            else:
                with pytest.raises(attacks.AttackError):
                    atk.check_budget_supported(Budget(norm, eps))
    expected = {"torchattacks": {"torchattacks:PGD": ("linf", "both"), "torchattacks:PGDL2": ("l2", "both"),
                                 "torchattacks:DeepFool": ("linf, l2 (projected)", "untargeted")},
                "foolbox": {"foolbox:L2PGD": ("l2", "both"), "foolbox:LinfDeepFoolAttack": ("linf", "untargeted"),
                            "foolbox:GaussianBlurAttack": ("linf, l2", "untargeted"),
                            "foolbox:FGSM": ("linf", "untargeted"), "foolbox:GenAttack": ("linf", "targeted")}}[library]
    for name, (norms, modes) in expected.items():
        assert (rows[name].norms, rows[name].modes) == (norms, modes)
    broken = {"torchattacks": "torchattacks:MultiAttack", "foolbox": "foolbox:SpatialAttack"}[library]
    assert rows[broken].problem and not rows[broken].norms


def test_foolbox_norm_mismatch_is_reported(tiny_model):
    attack = attacks.create("foolbox:LinfPGD")
    with pytest.raises(attacks.AttackError, match="not l2"):
        attack.fit(tiny_model, [], Budget("l2", 1.0), seed=0)


@pytest.mark.parametrize("name,params", [("pgd", {"steps": 2}), ("class_uap", {"steps": 5})])
def test_fitted_is_not_mutated_by_perturb(name, params, tiny_model, fit_loader, batch):
    """What fit learned (tensors and metadata) and the attack's parameters are the same after perturbing,
    targeted and untargeted: one fitted artifact serves every batch and cell."""
    import copy

    x, y = batch
    attack = attacks.create(name, **params)
    fitted = attack.fit(tiny_model, fit_loader, Budget("linf", 0.1), seed=0)
    tensors = {k: v.clone() for k, v in fitted.tensors.items()}
    meta, before = copy.deepcopy(dict(fitted.meta)), copy.deepcopy(attack._params)
    attack.perturb(fitted, tiny_model, x, y)
    attack.perturb(fitted, tiny_model, x, y, (y + 1) % 4)
    assert attack._params == before and dict(fitted.meta) == meta
    assert fitted.tensors.keys() == tensors.keys()
    assert all(torch.equal(fitted.tensors[k], v) for k, v in tensors.items())


@pytest.mark.parametrize("text,value", [("0.1", 0.1), ("8/255", 8 / 255), (0.25, 0.25)])
def test_parse_eps(text, value):
    assert attacks.parse_eps(text) == pytest.approx(value)


def test_parse_eps_rejects_garbage():
    with pytest.raises(attacks.AttackError, match="8/255"):
        attacks.parse_eps("eight")


# ---------------------------------------------------------------- review findings (issue 19)

class _NegativeSensitive(torch.nn.Module):
    """Labels an image 1 when any pixel is negative (never for a valid image), 2 when its mean exceeds
    0.03, else 0: a model for which clamping to [0, 1] changes the answer."""

    def __init__(self) -> None:
        super().__init__()
        self.unused = torch.nn.Parameter(torch.zeros(()))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        neg = (-x).clamp_min(0).flatten(1).sum(1)
        mean = x.flatten(1).mean(1)
        return torch.stack([torch.zeros_like(mean), 100 * neg, 100 * (mean - 0.03)], 1)


def test_untargeted_class_is_ranked_on_clamped_images():
    """On a black background, a negative delta only fools a model that sees unclamped pixels; the class
    chosen for untargeted use must be the one that fools on the images as evaluated (clamped)."""
    from attacks.classwise import apply_class_deltas, package_class_deltas

    model, budget = _NegativeSensitive(), Budget("linf", 0.1)
    x = torch.zeros(8, 1, 4, 4)
    deltas = torch.stack([torch.full((1, 4, 4), -0.1), torch.zeros(1, 4, 4), torch.full((1, 4, 4), 0.05)])
    fitted = package_class_deltas("t", budget, model, x, deltas, {})
    assert fitted.meta["untargeted_class"] == 2 and fitted.meta["untargeted_order"][0] == 2
    assert fitted.meta["fit_fooling_by_class"] == [0.0, 0.0, 1.0]
    adv = apply_class_deltas(fitted, model, x, None).clamp(0, 1)
    assert (model(adv).argmax(1) != model(x).argmax(1)).all()  # the chosen class fools every image


def test_perturb_uses_the_stored_class_even_when_rounded_rates_tie(tiny_model, batch):
    """The stored ranking decides: rates that round alike must not let perturb pick another class."""
    x, y = batch
    attack = attacks.create("class_uap", untargeted="best_class")
    deltas = torch.stack([torch.full((1, 16, 16), 0.1 * (c + 1) / 4) for c in range(4)])
    meta = {"untargeted_class": 1, "untargeted_order": [1, 0, 3, 2], "fit_fooling_by_class": [0.5, 0.5, 0.1, 0.2]}
    fitted = Fitted("class_uap", Budget("linf", 0.1), {"deltas": deltas}, meta)
    out = attack.perturb(fitted, tiny_model, x, y)
    assert torch.allclose(out, (x + deltas[1]).clamp(0, 1))
    # the default rule, best_other: images the model already labels 1 get the runner-up, class 0
    own = tiny_model(x).argmax(1) == 1
    assert own.any() and (~own).any()
    out = attacks.create("class_uap").perturb(fitted, tiny_model, x, y)
    expected = torch.where(own[:, None, None, None], x + deltas[0], x + deltas[1]).clamp(0, 1)
    assert torch.allclose(out, expected)


def test_l2_budget_tolerance_grows_with_eps():
    """Float32 rounding of a large L2 norm: a perturbation within float32 rounding of eps = 10 passes
    (measured in float32 its norm reads 10.0007), a real excess does not."""
    x = torch.full((1, 3, 224, 224), 0.5)
    direction = torch.ones_like(x) / x.numel() ** 0.5
    Budget("l2", 10.0).check(x, x + direction * 10.0 * (1 + 5e-7))
    with pytest.raises(BudgetViolation, match="exceeded"):
        Budget("l2", 10.0).check(x, x + direction * 10.01)
    with pytest.raises(BudgetViolation, match="exceeded"):
        Budget("linf", 0.1).check(x, x + 0.1 + 1e-4)


def test_projection_onto_a_large_l2_ball_passes_the_check():
    from attacks.projection import project

    torch.manual_seed(0)
    x = torch.rand(4, 3, 224, 224) * 0.5 + 0.25
    budget = Budget("l2", 8.0)
    adv = x + project(torch.randn_like(x) * 0.2, budget)
    budget.check(x, adv)


def test_a_broken_plugin_is_skipped_with_a_warning(monkeypatch):
    """One third-party entry point that fails to import must not break every other attack."""
    from attacks import registry as reg

    class BrokenEntryPoint:
        name, value = "broken", "broken_pkg.attacks:Broken"
        dist = type("Dist", (), {"name": "broken-pkg"})()

        def load(self):
            raise ImportError("No module named 'broken_pkg'")

    monkeypatch.setattr(reg, "entry_points", lambda group: [BrokenEntryPoint()])
    r = reg.Registry()
    r.register("pgd", attacks.torchattacks_adapter.PGD, "PGD")
    with pytest.warns(RuntimeWarning, match="'broken'.*'broken-pkg'.*skipped"):
        assert r.create("pgd").label == "pgd"
    assert r.names() == ["pgd"]


PARAM_CASES = [(name, pname) for name in attacks.REGISTRY.names() for pname in attacks.REGISTRY.parameters(name)]


@pytest.mark.parametrize("name,pname", PARAM_CASES, ids=[f"{n}.{p}" for n, p in PARAM_CASES])
def test_every_declared_parameter_rejects_a_wrong_value(name, pname):
    """Each declared parameter checks its value in the base constructor: one line naming it."""
    with pytest.raises(attacks.AttackError, match=rf"{name} {pname} must be .*, got \[\]"):
        attacks.create(name, **{pname: []})


def test_declared_ranges_and_choices_are_checked():
    with pytest.raises(attacks.AttackError, match=r"uap target_rate must be a number in \(0, 1\], got 1.5"):
        attacks.create("uap", target_rate=1.5)
    with pytest.raises(attacks.AttackError, match="vizpert condition must be one of 'class', 'image', got 'imag'"):
        attacks.create("vizpert", condition="imag")
    with pytest.raises(attacks.AttackError, match="pgd steps must be a positive integer, got True"):
        attacks.create("pgd", steps=True)
    assert attacks.create("pgd", alpha=1).params["alpha"] == 1  # an integer is a number


def test_adapters_go_through_the_base_constructor():
    atk = attacks.create("torchattacks:MIFGSM", steps=3)
    assert atk.params["steps"] == 3 and atk.params["decay"] == 1.0  # torchattacks' default, resolved
    assert "eps" not in atk.params  # the budget sets it
    with pytest.raises(attacks.AttackError,
                       match=r"has no parameter 'stepz' \(did you mean 'steps'\?\); its parameters: alpha, decay, steps"):
        attacks.create("torchattacks:MIFGSM", stepz=3)
    with pytest.raises(attacks.AttackError, match="has no parameter 'xyz'; its parameters: alpha, decay, steps"):
        attacks.create("torchattacks:MIFGSM", xyz=3)  # nothing close: no guess
    with pytest.raises(attacks.AttackError, match="takes eps from the run's budget"):
        attacks.create("torchattacks:MIFGSM", eps=0.3)


def test_a_minimum_norm_class_is_projected_onto_the_budget(tiny_model, batch):
    """torchattacks' DeepFool has no eps: its own perturbation, projected onto the ball (as foolbox does
    for minimisation attacks); at a budget it already meets, its output unchanged."""
    import torchattacks

    from attacks.projection import project

    x, y = batch
    deepfool = attacks.create("torchattacks:DeepFool", steps=5)
    assert deepfool.minimum_norm and not attacks.create("torchattacks:MIFGSM").minimum_norm
    raw = torchattacks.DeepFool(tiny_model, steps=5)(x, y)
    raw_norm = attacks.per_example_norm(raw - x, "l2")
    small = Budget("l2", float(raw_norm.median()))  # about half the examples need projecting
    x_adv = deepfool.perturb(deepfool.fit(tiny_model, [], small, seed=0), tiny_model, x, y, None)
    torch.testing.assert_close(x_adv, (x + project(raw - x, small)).clamp(0, 1))
    assert bool((attacks.per_example_norm(x_adv - x, "l2") <= small.eps * (1 + 1e-4)).all())
    big = Budget("l2", float(raw_norm.max()) * 2)
    torch.testing.assert_close(deepfool.perturb(deepfool.fit(tiny_model, [], big, seed=0), tiny_model, x, y, None), raw)
    pifgsm = attacks.create("torchattacks:PIFGSM", num_iter_set=2)  # its radius is called max_epsilon
    assert "max_epsilon" not in pifgsm.params and not pifgsm.minimum_norm
    with pytest.raises(attacks.AttackError, match="takes max_epsilon from the run's budget"):
        attacks.create("torchattacks:PIFGSM", max_epsilon=0.3)


def test_a_library_class_without_a_targeted_mode_gets_untargeted_cells_only():
    """torchattacks gives DeepFool no targeted mode: the grid leaves its targeted cells out (bench/plan.py),
    as for autoattack, instead of failing them in the default mode both."""
    from bench.config import RunConfig
    from bench.plan import plan_grid

    assert not attacks.create("torchattacks:DeepFool").supports_targeted
    assert attacks.create("torchattacks:MIFGSM").supports_targeted
    groups = plan_grid(RunConfig(attacks="torchattacks:DeepFool,torchattacks:MIFGSM", mode="both"), {})
    assert {(g.spec.name, c.targeted) for g in groups for c in g.cells} == {
        ("torchattacks:DeepFool", False), ("torchattacks:MIFGSM", False), ("torchattacks:MIFGSM", True)}


@pytest.mark.parametrize("name,targeted", [("L2DeepFoolAttack", False), ("L2AdditiveGaussianNoiseAttack", False),
                                           ("L2PGD", True), ("L2CarliniWagnerAttack", True), ("FGSM", False),
                                           ("L2FastGradientAttack", False), ("GenAttack", True)])
def test_a_foolbox_class_that_cannot_aim_gets_untargeted_cells_only(name, targeted):
    """foolbox's DeepFool given a target criterion runs untargeted and stops if it lands on the target:
    its "targeted" cells would measure chance; such classes are untargeted-only here. FGSM refuses a target
    ("unsupported criterion", though its signature names TargetedMisclassification: reading the source had
    called it targeted, and its targeted cells failed); GenAttack needs one."""
    atk = attacks.create(f"foolbox:{name}")
    assert atk.supports_targeted is targeted
    assert atk.supports_untargeted is (name != "GenAttack")


def test_a_targeted_only_class_gets_targeted_cells_only(tiny_model, batch):
    """GenAttack refuses an untargeted criterion: the grid plans its targeted cells only, and perturbing
    untargeted is a one-line error."""
    from bench.config import RunConfig
    from bench.plan import plan_grid

    groups = plan_grid(RunConfig(attacks="foolbox:GenAttack,foolbox:FGSM", mode="both"), {})
    assert {(g.spec.name, c.targeted) for g in groups for c in g.cells} == {
        ("foolbox:GenAttack", True), ("foolbox:FGSM", False)}
    gen = attacks.create("foolbox:GenAttack", steps=2)
    x, y = batch
    with pytest.raises(attacks.AttackError, match="is targeted only; run it with --mode targeted"):
        gen.perturb(gen.fit(tiny_model, [], Budget("linf", 0.1), seed=0), tiny_model, x, y, None)


class _CountBackward(torch.autograd.Function):
    """Identity whose backward adds the batch size to `seen`: single-image gradient passes taken."""

    @staticmethod
    def forward(ctx, x, seen):
        ctx.seen = seen
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad):
        ctx.seen.append(grad.shape[0])
        return grad, None


class _Counted(torch.nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model, self.seen, self.forwards = model, [], 0

    def forward(self, x):
        self.forwards += len(x)
        return self.model(_CountBackward.apply(x, self.seen))


@pytest.mark.parametrize("name,params,bound", [
    ("torchattacks:DeepFool", {"steps": 4}, True), ("torchattacks:APGD", {"steps": 3, "n_restarts": 2}, True),
    ("torchattacks:EOTPGD", {"steps": 3, "eot_iter": 2}, False),
    ("torchattacks:EADL1", {"max_iterations": 10, "binary_search_steps": 2}, True),
    ("foolbox:L2CarliniWagnerAttack", {"steps": 4, "binary_search_steps": 3}, True),
    ("foolbox:L2DeepFoolAttack", {"steps": 4}, True), ("foolbox:L2PGD", {"steps": 5}, False),
    ("torchattacks:JSMA", {"gamma": 0.2}, True)])
def test_a_library_class_costs_no_more_passes_than_the_dry_run_counts(tiny_model, batch, name, params, bound):
    """The dry run multiplies out a library class's loops (steps, binary searches, restarts, DeepFool's
    per-class gradients, JSMA's pixel pairs up to gamma of the image): the gradient passes it really takes,
    counted at the input, stay within the estimate, and an attack that never stops early takes at least half
    of it."""
    x, y = batch[0][:6], batch[1][:6]
    atk = attacks.create(name, **params)
    counted = _Counted(tiny_model).eval()
    budget = Budget("linf", 0.1) if name == "torchattacks:EOTPGD" else Budget("l2", 1.0)  # EOTPGD: Linf only
    atk.perturb(atk.fit(counted, [], budget, seed=0), counted, x, y, None)
    taken, estimate = sum(counted.seen), atk.gradient_passes(len(x), 0, 4, x[0].numel())
    assert atk.passes_bound is bound
    assert 0 < taken <= estimate
    assert bound or taken >= estimate / 2


def test_a_query_attack_counts_its_queries_as_thirds_of_a_pass(tiny_model, batch):
    """Square takes forwards only, up to n_queries per image and restart: the dry run counts each as a
    third of a pass (as for autoattack), a worst case since it stops on fooled images."""
    x, y = batch[0][:6], batch[1][:6]
    atk = attacks.create("torchattacks:Square", n_queries=30, n_restarts=2)
    counted = _Counted(tiny_model).eval()
    atk.perturb(atk.fit(counted, [], Budget("linf", 0.05), seed=0), counted, x, y, None)
    estimate = atk.gradient_passes(len(x), 0, 4)
    assert atk.passes_bound and estimate == 6 * (30 // 3) * 2
    assert 30 <= counted.forwards <= 3 * estimate + 2 * len(x)  # plus a forward per restart to check


def test_class_viz_cost_counts_the_classes():
    atk = attacks.create("class_viz", steps=10)
    assert atk.gradient_passes(100, 100, 1000) == 100 * atk.gradient_passes(100, 100, 10)


def test_transfer_suite_cost_counts_its_extra_passes():
    """SI-NI-FGSM takes a pass per scaled copy, VMI-FGSM one at the image and one per neighbour, per step
    (the dry run's estimate; measured 5x and 7x slower than MI-FGSM, README, *Generative peers*)."""
    mi = attacks.create("mifgsm").gradient_passes(1000, 1000, 10)
    assert attacks.create("sinifgsm", m=4).gradient_passes(1000, 1000, 10) == 4 * mi
    assert attacks.create("vmifgsm", N=5).gradient_passes(1000, 1000, 10) == 6 * mi


def test_many_classes_are_screened_before_the_full_ranking():
    """With more classes than SCREEN_KEEP, the ranking screens every class on a few images and
    re-measures only the best: the same top of the order as measuring all, far fewer forward passes.
    The model fools on pixel 0 crossing 0.5; class c's delta shifts it by c/200, so rates rise with c."""
    from attacks.classwise import SCREEN_KEEP, rank_classes

    seen = []

    class Threshold(torch.nn.Module):
        def forward(self, x):
            seen.append(len(x))
            v = x[:, 0, 0, 0]
            return torch.stack([0.5 - v, v - 0.5], 1)

    n_cls = 100
    x = torch.rand(256, 1, 2, 2, generator=torch.Generator().manual_seed(0)) * 0.5
    shift = torch.arange(n_cls) / 200

    def adversarial(xb, c):
        return xb + shift[c]

    order, rates = rank_classes(Threshold(), x, n_cls, adversarial)
    assert n_cls > SCREEN_KEEP and sorted(order) == list(range(n_cls)) and len(rates) == n_cls
    exact = [float((x[:, 0, 0, 0] + shift[c] > 0.5).float().mean()) for c in range(n_cls)]
    assert order[:5] == [99, 98, 97, 96, 95] and all(rates[c] == exact[c] for c in order[:SCREEN_KEEP])
    assert sum(seen) < 0.5 * (n_cls + 1) * len(x)  # the exhaustive ranking forwards (n_cls + 1) x 256 images
    assert len(seen) < n_cls  # the screen's 32-image batches of several classes share forward passes
    seen.clear()
    one_at_a_time = rank_classes(Threshold(), x, n_cls, adversarial, batch_size=32)  # one class per pass
    assert one_at_a_time == (order, rates) and len(seen) > n_cls


@pytest.mark.parametrize("n_cls,n_images", [(10, 256), (10, 20), (100, 256), (100, 20)])
def test_the_dry_runs_ranking_count_is_what_rank_classes_forwards(n_cls, n_images):
    """`ranking_images` (what `--dry-run` adds for a fit that ranks) equals the images `rank_classes`
    really passes through the model: with few classes, with many (screened), with a small fit split."""
    from attacks.classwise import ranking_images, rank_classes

    seen = []

    class Counting(torch.nn.Module):
        def forward(self, x):
            seen.append(len(x))
            return torch.stack([x[:, 0, 0, 0], 1 - x[:, 0, 0, 0]], 1)

    x = torch.rand(n_images, 1, 2, 2, generator=torch.Generator().manual_seed(0))
    rank_classes(Counting(), x, n_cls, lambda xb, c: xb + c / 50)
    assert sum(seen) == sum(ranking_images(n_images, n_cls))
    assert ranking_images(10_000, n_cls) == ranking_images(256, n_cls)  # the fit split is ranked on RANK_IMAGES


def test_which_fits_rank_their_classes():
    """Class-universal fits and targeted generators rank classes for untargeted cells; the others do not."""
    ranks = {("vizpert", ()): True, ("vizpert", (("condition", "image"),)): True, ("class_uap", ()): True,
             ("class_viz", ()): True, ("uap", (("targeted", True),)): True, ("uap", ()): False,
             ("sgd_uap", ()): False, ("gap", ()): False, ("gap", (("targeted", True),)): True,
             ("ttp", ()): True, ("pgd", ()): False, ("fgsm", ()): False}
    for (name, params), expected in ranks.items():
        assert attacks.create(name, **dict(params)).ranks_classes() is expected, (name, params)


def test_a_library_class_gets_the_models_classes_and_a_seed_from_the_run():
    """torchattacks' AutoAttack defaults to 10 classes and seed=None (seeded by the clock: never the same
    twice): built for a 4-class model, it gets 4 and a seed drawn from torch's generator (which the
    runner seeds per batch), so the same seed gives the same attack."""
    from torch import nn

    model = nn.Sequential(nn.Flatten(), nn.Linear(16, 4)).eval()
    x = torch.rand(2, 1, 4, 4)
    atk = attacks.create("torchattacks:AutoAttack")
    built = []
    for _ in range(2):
        torch.manual_seed(7)
        built.append(atk._build_for(model, Budget("linf", 0.1), x))
    assert isinstance(built[0].seed, int) and built[1].seed == built[0].seed
    assert built[0].n_classes == 4
    apgdt = attacks.create("torchattacks:APGDT")._build_for(model, Budget("linf", 0.1), x)
    assert apgdt.n_target_classes == 3  # n_classes - 1 (torchattacks' default would aim at 9 of 4)
    given = attacks.create("torchattacks:APGDT", n_classes=3)._build_for(model, Budget("linf", 0.1), x)
    assert given.n_target_classes == 2


@pytest.mark.parametrize("name", ["PIFGSM", "PIFGSMPP", "TIFGSM"])
def test_a_library_class_with_rgb_kernels_runs_on_grey_images(tiny_model, batch, name):
    """torchattacks' PI-FGSM and TI-FGSM convolve with 3-channel kernels (their cells failed on
    Fashion-MNIST): a grey batch runs as three identical channels, and the result keeps the budget."""
    x, y = batch
    budget = Budget("linf", 0.1)
    attack = attacks.create(f"torchattacks:{name}", **({"steps": 3} if name == "TIFGSM" else {"num_iter_set": 3}))
    adv = attack.perturb(attack.fit(tiny_model, [], budget, seed=0), tiny_model, x, y)
    assert adv.shape == x.shape and (adv - x).abs().max() <= 0.1 + 1e-6
    with torch.no_grad():
        assert (tiny_model(adv).argmax(1) != y).float().mean() > (tiny_model(x).argmax(1) != y).float().mean()


def test_jsma_untargeted_aims_at_a_class_the_model_has(tiny_model, batch, monkeypatch):
    """torchattacks' JSMA has no untargeted mode: it aims at (label + 1) % 10, a class a 4-class model
    lacks (and only classes 0-9 of ImageNet's). Here it aims at (label + 1) % the model's classes."""
    import torchattacks

    x, y = batch[0][:4], batch[1][:4]
    seen = []
    real = torchattacks.JSMA.perturbation_single
    monkeypatch.setattr(torchattacks.JSMA, "perturbation_single",
                        lambda self, im, tl: seen.append(int(tl)) or real(self, im, tl))
    attack = attacks.create("torchattacks:JSMA")
    attack.perturb(attack.fit(tiny_model, [], Budget("l2", 1.0), seed=0), tiny_model, x, y)
    assert seen == ((y + 1) % 4).tolist()


def test_jsma_on_large_images_is_refused_in_one_line():
    """JSMA's saliency maps hold (values per image)^2 entries: 84 GiB each at 3x224x224, which failed as an
    allocator error (or an out-of-memory at batch size 1 on a GPU); the cell fails saying why."""
    from torch import nn

    model = nn.Sequential(nn.AdaptiveAvgPool2d(4), nn.Flatten(), nn.Linear(48, 5)).eval()
    atk = attacks.create("torchattacks:JSMA")
    with pytest.raises(attacks.AttackError, match=r"scores every pair of an image's 150,528 values \(84 GiB"):
        atk.perturb(atk.fit(model, [], Budget("l2", 1.0), seed=0), model, torch.rand(1, 3, 224, 224),
                    torch.tensor([1]))


def test_a_library_step_schedule_short_of_the_budget_is_a_warning():
    """torchattacks' default alpha 2/255 over 10 steps reaches 0.078: at eps 0.1 `torchattacks:MIFGSM` spends
    78% of the budget `mifgsm` spends, a difference of schedules a comparison would credit to the attack."""
    linf = Budget("linf", 0.1)
    (note,) = attacks.create("torchattacks:MIFGSM").budget_notes(linf)
    assert "10 x 0.007843 = 0.0784" in note and "78%" in note and "torchattacks:MIFGSM[alpha=0.01]" in note
    assert attacks.create("torchattacks:MIFGSM").budget_notes(Budget("linf", 0.05)) == []
    assert attacks.create("torchattacks:MIFGSM", alpha=0.01).budget_notes(linf) == []
    assert attacks.create("torchattacks:PGD").budget_notes(linf) == []  # a random start reaches the edge
    assert len(attacks.create("torchattacks:PGD", random_start=False).budget_notes(linf)) == 1
    assert attacks.create("mifgsm").budget_notes(linf) == []  # ours: eps / steps
    assert attacks.create("torchattacks:CW").budget_notes(linf) == []  # minimum-norm: projected
    # foolbox's gradient-descent classes: rel_stepsize x eps (or abs_stepsize) a step
    (note,) = attacks.create("foolbox:LinfBasicIterativeAttack", steps=3).budget_notes(linf)
    assert "3 x 0.02 = 0.06" in note and "foolbox:LinfBasicIterativeAttack[steps=3,rel_stepsize=0.3333]" in note
    assert attacks.create("foolbox:LinfBasicIterativeAttack").budget_notes(linf) == []  # 10 x 0.2 eps
    assert attacks.create("foolbox:LinfPGD", steps=3).budget_notes(linf) == []  # random start
    (note,) = attacks.create("foolbox:L2BasicIterativeAttack", abs_stepsize=0.05).budget_notes(Budget("l2", 1.0))
    assert "10 x 0.05 = 0.5" in note and "[abs_stepsize=0.1]" in note
    assert attacks.create("foolbox:L2DeepFoolAttack").budget_notes(Budget("l2", 1.0)) == []


def test_the_plan_and_the_run_warn_about_a_schedule_short_of_the_budget(tmp_path, zoo_cache):
    import json

    import bench

    kw = dict(dataset="synthetic", models=["mini:vgg"], attacks=["torchattacks:MIFGSM[steps=2]"], n=8, n_fit=8,
              mode="untargeted", eps=[0.1], output=str(tmp_path), cache_dir=str(zoo_cache), log=None,
              format=["markdown", "csv"])
    assert "warning: torchattacks:MIFGSM moves at most steps x alpha = 2 x" in bench.run(**kw, dry_run=True).plan
    run = bench.run(**kw)
    (warning,) = [w for w in json.loads((run.run_dir / "sanity.json").read_text()) if w["check"] == "attack_budget"]
    assert "pass torchattacks:MIFGSM[steps=2,alpha=0.05]" in warning["message"]
    assert "16% of the budget" in warning["message"] and "16% of the budget" in (run.run_dir / "summary.md").read_text()


def test_an_attack_the_mode_leaves_out_is_a_warning_not_a_silence(tmp_path, zoo_cache):
    """`--attacks torchattacks:DeepFool,fgsm --mode targeted` computed fgsm alone and said nothing of
    DeepFool (with DeepFool alone: an empty report); now the plan and the run say it is left out and why."""
    import json

    import bench

    kw = dict(dataset="synthetic", models=["mini:vgg"], attacks=["torchattacks:DeepFool[steps=2]", "fgsm"], n=8,
              n_fit=8, mode="targeted", output=str(tmp_path), cache_dir=str(zoo_cache), log=None,
              format="markdown")
    line = "torchattacks:DeepFool[steps=2] is untargeted only, so --mode targeted leaves it out"
    assert f"warning: {line}" in bench.run(**kw, dry_run=True).plan
    run = bench.run(**kw)
    assert [w["message"] for w in json.loads((run.run_dir / "sanity.json").read_text())
            if w["check"] == "attack_mode"] == [f"{line} (--mode untargeted or both runs it)"]
    assert run.computed == 1
