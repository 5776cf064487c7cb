"""Adversarially trained mini models (`mini:<arch>-at`) and the vision transformer `mini:vit`."""
from __future__ import annotations

import dataclasses

import pytest
import torch

import zoo
from bench.models import input_spec
from zoo import MINI_SPECS
from zoo.train import robust_accuracy, training_examples


def test_training_examples_stay_in_the_ball_and_raise_the_loss(tiny_model, batch):
    x, y = batch
    at = MINI_SPECS["resnet-at"].adversarial
    torch.manual_seed(0)
    adv = training_examples(tiny_model, x, y, at)
    assert float((adv - x).abs().max()) <= at.eps + 1e-6 and adv.min() >= 0 and adv.max() <= 1
    ce = torch.nn.functional.cross_entropy
    with torch.no_grad():
        assert ce(tiny_model(adv), y) > ce(tiny_model(x), y)


def test_every_standard_arch_has_an_adversarially_trained_twin_with_its_own_cache_entry(synthetic):
    spec = input_spec(synthetic)
    for arch in ("resnet", "densenet", "vgg"):
        twin = MINI_SPECS[f"{arch}-at"]
        assert twin.adversarial is not None and twin.adversarial.eps == 0.1
        assert zoo.mini_weights_path(f"mini:{arch}-at", spec) != zoo.mini_weights_path(f"mini:{arch}", spec)
    assert "adversarial" not in MINI_SPECS["resnet"].recipe()  # standard models keep their cache keys


@pytest.mark.slow  # adversarial training of a mini model (about 15 s): kept out of the 5-minute fast pass
def test_an_adversarially_trained_model_is_more_robust_and_its_card_says_how(monkeypatch, tmp_path, synthetic,
                                                                             zoo_cache):
    spec = input_spec(synthetic)
    monkeypatch.setitem(MINI_SPECS, "resnet-at", dataclasses.replace(MINI_SPECS["resnet-at"], epochs=3))
    card = zoo.train_mini("mini:resnet-at", spec, (synthetic.train.x, synthetic.train.y),
                          (synthetic.test.x, synthetic.test.y), cache_dir=tmp_path)
    at = card["adversarial_training"]
    assert at["method"].startswith("fgsm-rs") and at["eps"] == 0.1 and at["steps"] == 1
    assert at["robust_images"] == min(zoo.ROBUST_TEST_IMAGES, len(synthetic.test.y))
    robust = zoo.load("mini:resnet-at", spec, cache_dir=tmp_path)
    standard = zoo.load("mini:resnet", spec, cache_dir=zoo_cache)
    x, y = synthetic.test.x[:300], synthetic.test.y[:300]
    r_at = robust_accuracy(robust, x, y, eps=0.1)
    r_std = robust_accuracy(standard, x, y, eps=0.1)
    assert r_at > r_std + 0.1, (r_at, r_std)


@pytest.mark.parametrize("side", [16, 28, 30])
def test_the_vit_takes_any_side(side):
    spec = zoo.InputSpec("x", 1, side, side, 10, (0.5,), (0.5,))
    net = MINI_SPECS["vit"].build(spec)
    assert type(net).__name__ == "VisionTransformer" and net(torch.rand(2, 1, side, side)).shape == (2, 10)
