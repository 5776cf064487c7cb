"""The generative peers (issue 14): gap (image and universal), cda, bia, ttp fit on a mini-zoo
model, keep the budget, are reproducible under a seed, come back from the fit cache, and each
loss moves the way its paper means it to during a fit."""
from __future__ import annotations

import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

import attacks
from attacks import Budget
from bench.fitcache import fit_with_cache
from bench.models import load_models

SMALL = {"steps": 60, "batch_size": 32, "ngf": 8, "blocks": 1}
QUICK = {**SMALL, "steps": 3}  # enough to build and step each generator: the fast pass checks contracts only
VARIANTS = [("gap", {}), ("gap", {"universal": True}), ("gap", {"targeted": True}), ("cda", {}), ("bia", {}),
            ("ttp", {})]


@pytest.fixture(scope="module")
def source(synthetic, zoo_cache):
    return load_models(["mini:resnet"], synthetic, torch.device("cpu"), cache_dir=zoo_cache)["mini:resnet"]


@pytest.fixture(scope="module")
def loader(synthetic):
    return DataLoader(TensorDataset(synthetic.train.x[:256], synthetic.train.y[:256]), batch_size=128)


@pytest.fixture(scope="module")
def fits(source, loader):
    budget = Budget("linf", 0.1)
    return {(name, tuple(extra.items())): attacks.create(name, **SMALL, **extra).fit(source, loader, budget, seed=0)
            for name, extra in VARIANTS}


def _rates(model, x, y, adv, target=None):
    with torch.no_grad():
        pred = model(adv).argmax(1)
    return float((pred != y).float().mean()), float((pred == target).float().mean()) if target is not None else 0.0


@pytest.mark.parametrize("name,extra", VARIANTS, ids=lambda v: v if isinstance(v, str) else ",".join(v) or "-")
def test_generative_attack_keeps_the_budget_in_both_modes(name, extra, source, loader, synthetic):
    """Fast contract check on a 3-step fit: every example of both modes stays in the ball and the box."""
    x, y = synthetic.test.x[:64], synthetic.test.y[:64]
    attack = attacks.create(name, **QUICK, **extra)
    fitted = attack.fit(source, loader, Budget("linf", 0.1), seed=0)
    for t in (None, (y + 1) % 4):
        adv = attack.perturb(fitted, source, x, y, t)
        assert adv.shape == x.shape
        assert (adv - x).abs().flatten(1).amax(1).max() <= 0.1 + 1e-6 and adv.min() >= 0 and adv.max() <= 1


@pytest.mark.slow  # six 60-step generator fits: about a minute on two cores
@pytest.mark.parametrize("name,extra", VARIANTS, ids=lambda v: v if isinstance(v, str) else ",".join(v) or "-")
def test_generative_attack_keeps_the_budget_and_fools(name, extra, fits, source, synthetic):
    x, y = synthetic.test.x[:128], synthetic.test.y[:128]
    fitted = fits[(name, tuple(extra.items()))]
    attack = attacks.create(name, **SMALL, **extra)
    target = (y + 1) % 4
    for t in (None, target):
        adv = attack.perturb(fitted, source, x, y, t)
        assert (adv - x).abs().amax() <= 0.1 + 1e-6 and adv.min() >= 0 and adv.max() <= 1
    fooled, _ = _rates(source, x, y, attack.perturb(fitted, source, x, y))
    with torch.no_grad():
        clean_wrong = float((source(x).argmax(1) != y).float().mean())
    assert fooled > clean_wrong + 0.1, (name, extra, fooled, clean_wrong)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["ttp", "gap"])
def test_targeted_generators_beat_untargeted_ones_on_target_hits(name, fits, source, synthetic):
    x, y = synthetic.test.x[:128], synthetic.test.y[:128]
    target = (y + 1) % 4
    targeted = fits[(name, ()) if name == "ttp" else ("gap", (("targeted", True),))]
    untargeted = fits[("cda", ())]
    _, hit_t = _rates(source, x, y, attacks.create(name, **SMALL, **({"targeted": True} if name == "gap" else {}))
                      .perturb(targeted, source, x, y, target), target)
    _, hit_u = _rates(source, x, y, attacks.create("cda", **SMALL).perturb(untargeted, source, x, y, target), target)
    assert hit_t > hit_u + 0.2, (hit_t, hit_u)


@pytest.mark.slow
def test_each_loss_moves_as_its_paper_means(fits):
    """GAP's log-CE toward the least likely class falls; CDA's relativistic CE rises (we minimise its
    negative); BIA's feature similarity falls; TTP's KL to the target distribution falls."""
    for key in [("gap", ()), ("cda", ()), ("bia", ()), ("ttp", ())]:
        meta = fits[key].meta
        assert meta["loss_last"] < meta["loss_first"], (key, meta["loss_first"], meta["loss_last"])
    assert fits[("cda", ())].meta["loss_last"] < 0  # the relativistic CE itself is positive and grew
    assert fits[("bia", ())].meta["loss_first"] > 0.5 > fits[("bia", ())].meta["loss_last"] - 0.5


def test_same_seed_same_generator_and_the_cache_returns_it(source, loader, tmp_path):
    budget = Budget("linf", 0.1)
    attack = attacks.create("cda", **{**SMALL, "steps": 10})
    a = attack.fit(source, loader, budget, seed=3)
    b = attack.fit(source, loader, budget, seed=3)
    assert all(torch.equal(a.tensors[k], b.tensors[k]) for k in a.tensors)
    c = attack.fit(source, loader, budget, seed=4)
    assert not all(torch.equal(a.tensors[k], c.tensors[k]) for k in a.tensors)
    first, _, cached = fit_with_cache(attack, source, loader, budget, seed=3, identity={"t": 1}, cache_dir=tmp_path)
    again, _, cached_again = fit_with_cache(attack, source, loader, budget, seed=3, identity={"t": 1},
                                            cache_dir=tmp_path)
    assert not cached and cached_again
    assert all(torch.equal(first.tensors[k], again.tensors[k]) for k in first.tensors)
    # the fit names the setup that computed it, and a later reader of the cache (here with another thread
    # count) gets that setup, not its own
    from common.machine import setup_text

    threads = torch.get_num_threads()
    assert first.meta["fit_machine"] == setup_text("cpu")
    torch.set_num_threads(threads + 1)
    try:
        later, _, _ = fit_with_cache(attack, source, loader, budget, seed=3, identity={"t": 1}, cache_dir=tmp_path)
        assert later.meta["fit_machine"] == first.meta["fit_machine"] != setup_text("cpu")
    finally:
        torch.set_num_threads(threads)


def test_bia_needs_a_timm_model_and_a_valid_layer(tiny_model, loader, source):
    with pytest.raises(attacks.AttackError, match="bia needs a zoo model wrapping a timm network"):
        attacks.create("bia", **QUICK).fit(tiny_model, loader, Budget("linf", 0.1), seed=0)
    with pytest.raises(attacks.AttackError, match="past the model's 5 feature levels"):
        attacks.create("bia", **QUICK, layer=9).fit(source, loader, Budget("linf", 0.1), seed=0)
    with pytest.raises(attacks.AttackError, match="past the model's 5 feature levels"):
        attacks.create("bia", **QUICK, layer=-6).fit(source, loader, Budget("linf", 0.1), seed=0)


@pytest.mark.parametrize("num_classes,size", [(10, 28), (129, 16), (1000, 32)])
def test_conditional_generator_equals_concatenating_the_one_hot_maps(num_classes, size):
    """Above 128 classes the label maps' part of the first conv is computed as a per-class constant:
    the conv of the concatenated maps (the papers' construction, used up to 128), same parameters."""
    from attacks.generative.networks import ResnetGenerator, ResnetGeneratorConfig

    torch.manual_seed(0)
    gen = ResnetGenerator(ResnetGeneratorConfig(3, ngf=8, blocks=1, num_classes=num_classes)).eval()
    x, c = torch.rand(4, 3, size, size), torch.tensor([0, 3, num_classes - 1, 3])
    maps = torch.nn.functional.one_hot(c, num_classes).float()[:, :, None, None].expand(-1, -1, size, size)
    with torch.no_grad():
        reference = torch.tanh(gen.net(torch.cat([x, maps], dim=1)))
        out = gen(x, c)
    assert out.shape == x.shape and torch.allclose(out, reference, atol=1e-5)
    assert not torch.allclose(out[1], gen(x, torch.tensor([0, 4, 1, 3]))[1])  # the class matters


def test_gap_ce_loss_is_the_clipped_clean_label_ce():
    """loss="ce": minus the clean prediction's CE, clipped at CE_CLIP per image, so an image already
    past the clip gives no gradient (won images stop pulling); the default keeps the paper's loss."""
    from attacks.generative.family import CE_CLIP

    clean = torch.tensor([[4.0, 0.0, 0.0], [0.0, 4.0, 0.0]])  # clean predictions: classes 0 and 1
    logits = torch.tensor([[2.0, 1.0, 0.0], [0.0, -6.0, 1.0]], requires_grad=True)  # image 2 is far past the clip
    loss = attacks.create("gap", loss="ce").loss(lambda _: logits, None, None, clean, None, {}, None)
    ce = torch.nn.functional.cross_entropy(logits.detach(), torch.tensor([0, 1]), reduction="none")
    assert ce[1] > CE_CLIP > ce[0]
    assert torch.isclose(loss, -(ce[0] + CE_CLIP) / 2)
    loss.backward()
    assert logits.grad[0].abs().sum() > 0 and logits.grad[1].abs().sum() == 0
    paper = attacks.create("gap").loss(lambda _: logits.detach(), None, None, clean, None, {}, None)
    assert torch.isclose(paper, torch.log(torch.nn.functional.cross_entropy(logits.detach(), clean.argmin(1))))


def test_gap_loss_enters_the_keys_only_when_changed():
    """Stored gap cells and fits keep their keys: the default loss is left out of them."""
    assert "loss" not in attacks.create("gap").config() and "loss" not in attacks.create("gap").fit_config()
    assert attacks.create("gap", loss="ce").config()["loss"] == "ce"
    assert attacks.create("gap", loss="ce").fit_config() != attacks.create("gap").fit_config()
    with pytest.raises(attacks.AttackError, match="untargeted loss; targeted=true trains with CE toward the target"):
        attacks.create("gap", targeted=True, loss="ce")


def test_universal_gap_fools_more_with_the_clean_label_ce(source, loader, synthetic):
    """One delta cannot push every image toward its own least likely class: universal GAP trained on
    the clipped clean-label CE fools more correctly classified images than with the paper's loss
    (mean of two seeds; on the mini zoo: README, *Generative peers*)."""
    x, y = synthetic.test.x[:256], synthetic.test.y[:256]
    with torch.no_grad():
        correct = source(x).argmax(1) == y

    def success(loss: str) -> float:
        attack = attacks.create("gap", universal=True, loss=loss, **SMALL)
        rates = []
        for seed in (0, 1):
            fitted = attack.fit(source, loader, Budget("linf", 0.1), seed=seed)
            with torch.no_grad():
                pred = source(attack.perturb(fitted, source, x[correct], y[correct])).argmax(1)
            rates.append(float((pred != y[correct]).float().mean()))
        return sum(rates) / 2

    ce, least_likely = success("ce"), success("least_likely")
    assert ce > least_likely + 0.08, (ce, least_likely)
