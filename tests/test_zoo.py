"""The zoo: mini models from timm classes, normalization inside, frozen eval mode, safe cached weights."""
from __future__ import annotations

import json
import re

import pytest
import torch

import zoo
from bench.models import input_spec
from zoo import MINI_SPECS, InputSpec, Normalized, NotTrainedError, ZooError

FMNIST = InputSpec("fashion-mnist", 1, 28, 28, 10, (0.286,), (0.353,))


@pytest.mark.parametrize("arch", sorted(MINI_SPECS))
def test_mini_models_are_timm_classes_for_28x28(arch):
    net = MINI_SPECS[arch].build(FMNIST)
    assert type(net).__module__.startswith("timm.models.")
    assert net(torch.rand(2, 1, 28, 28)).shape == (2, 10)
    assert sum(p.numel() for p in net.parameters()) < 500_000  # small, and VGG's 4096 head is gone


def test_normalized_wrapper_is_frozen_and_always_eval():
    net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 2), torch.nn.Dropout(0.5))
    m = Normalized(net, (0.5,), (0.25,))
    m.train()
    assert not m.training and not any(mod.training for mod in m.modules())
    assert not any(p.requires_grad for p in m.parameters())
    x = torch.full((1, 1, 2, 2), 0.75)
    assert torch.allclose(m(x), net[1](torch.ones(1, 4)))  # (0.75 - 0.5) / 0.25 = 1


def test_train_cache_and_load_roundtrip(zoo_cache, synthetic):
    spec = input_spec(synthetic)
    model = zoo.load("mini:vgg", spec, cache_dir=zoo_cache)
    card = json.loads(zoo.mini_weights_path("mini:vgg", spec, zoo_cache).with_suffix(".json").read_text())
    assert card["sha256"] == model.weights_sha256 and card["test_accuracy"] > 0.8
    assert {"arch", "command", "dataset", "params"} <= set(card)
    # what the weights' floats depend on besides the recipe (another thread count or instruction set
    # trains other weights): recorded so that a user can tell why their numbers differ from the README's
    assert card["machine"]["torch_threads"] == torch.get_num_threads()
    assert card["machine"]["cpu_capability"] == torch.backends.cpu.get_cpu_capability()
    assert not model.training
    with torch.no_grad():
        acc = float((model(synthetic.test.x).argmax(1) == synthetic.test.y).float().mean())
    assert acc == pytest.approx(card["test_accuracy"], abs=1e-3)


def test_corrupt_weights_are_detected_not_loaded(tmp_path, zoo_cache, synthetic):
    spec = input_spec(synthetic)
    src = zoo.mini_weights_path("mini:resnet", spec, zoo_cache)
    dst = zoo.mini_weights_path("mini:resnet", spec, tmp_path)
    dst.parent.mkdir(parents=True)
    dst.write_bytes(src.read_bytes()[:-100])  # truncated
    dst.with_suffix(".json").write_bytes(src.with_suffix(".json").read_bytes())
    assert zoo.mini_status("mini:resnet", spec, tmp_path) is None
    with pytest.raises(NotTrainedError, match="sha256"):
        zoo.load("mini:resnet", spec, cache_dir=tmp_path)


def test_untrained_mini_model_says_how_to_train(tmp_path, synthetic):
    with pytest.raises(NotTrainedError, match="bench zoo train"):
        zoo.load("mini:densenet", input_spec(synthetic), cache_dir=tmp_path)


def test_timm_model_random_init_without_network():
    model = zoo.load("timm:resnet18", FMNIST)
    assert model(torch.rand(2, 1, 28, 28)).shape == (2, 10)
    assert not model.training


@pytest.mark.parametrize("name,hint", [("mini:resnt", "mini:resnet"), ("resnet", "mini:resnet"),
                                       ("timm:resnet5O", "timm:resnet50"), ("VGG", "mini:vgg"),
                                       ("resnet18", "timm:resnet18"), ("vgg16+jpeg75", "timm:vgg16+jpeg75")])
def test_unknown_model_names_suggest(name, hint):
    """A timm name without its family (`resnet18`) is timm's, not the mini resnet difflib finds closest."""
    with pytest.raises(ZooError, match=re.escape(f"did you mean '{hint}'")):
        zoo.validate_name(name)


def test_another_seed_is_cached_apart_and_leaves_seed_0_intact(tmp_path, zoo_cache, synthetic):
    """`bench zoo train --seed 1` must not overwrite the seed-0 weights earlier runs' hashes point at."""
    import shutil

    from bench.models import train_missing

    spec = input_spec(synthetic)
    src = zoo.mini_weights_path("mini:vgg", spec, zoo_cache)
    dst = zoo.mini_weights_path("mini:vgg", spec, tmp_path)
    dst.parent.mkdir(parents=True)
    for suffix in (".safetensors", ".json"):
        shutil.copy(src.with_suffix(suffix), dst.with_suffix(suffix))
    seed0 = zoo.load("mini:vgg", spec, cache_dir=tmp_path).weights_sha256
    (card,) = train_missing(["mini:vgg"], synthetic, seed=1, cache_dir=tmp_path, log=lambda _: None)
    assert zoo.mini_weights_path("mini:vgg", spec, tmp_path, seed=1) != dst
    assert card["seed"] == 1 and card["sha256"] != seed0 and "--seed 1" in card["command"]
    assert zoo.load("mini:vgg", spec, cache_dir=tmp_path).weights_sha256 == seed0
    assert zoo.load("mini:vgg", spec, cache_dir=tmp_path, seed=1).weights_sha256 == card["sha256"]
    with pytest.raises(NotTrainedError, match="seed 2 yet; run `bench zoo train --seed 2`"):
        zoo.load("mini:vgg", spec, cache_dir=tmp_path, seed=2)


def test_a_new_training_recipe_gets_its_own_cache_entry(monkeypatch, synthetic):
    import dataclasses

    spec = input_spec(synthetic)
    before = zoo.mini_weights_path("mini:vgg", spec, "/c")
    monkeypatch.setitem(MINI_SPECS, "vgg", dataclasses.replace(MINI_SPECS["vgg"], epochs=5))
    assert zoo.mini_weights_path("mini:vgg", spec, "/c") != before


def test_bench_list_models_says_where_each_mini_model_is_trained(tmp_path, capsys):
    """`bench list models` named the mini models but not whether this machine has them trained (a run
    that names an untrained one spends minutes training it first): now each row says, per copy."""
    from bench.cli import main

    spec = InputSpec("synthetic", 1, 16, 16, 4, (0.5,), (0.25,))
    weights = zoo.mini_weights_path("mini:resnet", spec, tmp_path, seed=3)
    weights.parent.mkdir(parents=True)
    weights.write_bytes(b"w")
    weights.with_suffix(".json").write_text(json.dumps({"dataset": "synthetic", "seed": 3, "test_accuracy": 0.5}))
    older = weights.with_name(weights.name.replace("seed3", "seed4"))  # a card without its weights: not a copy
    older.with_suffix(".json").write_text(json.dumps({"dataset": "synthetic", "seed": 4, "test_accuracy": 0.9}))
    assert main(["list", "models", "--cache-dir", str(tmp_path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    after = {lines[i].split()[0]: lines[i + 1].strip() for i in range(len(lines) - 1) if lines[i].startswith("mini:")}
    assert after["mini:resnet"] == "trained: synthetic seed 3 (test accuracy 50.0%)"
    assert after["mini:vgg"].startswith("not trained here yet")
