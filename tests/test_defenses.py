"""Input-transformation defenses (`zoo.defenses`): the name grammar, what each transform does, the
straight-through gradients, smoothing's randomness, and defended models in a grid."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import ndimage

import zoo
from bench.cli import main
from bench.config import AttackSpec, RunConfig
from bench.data import Split
from bench.driver import run_grid
from bench.metrics import predict
from bench.sanity import check_model
from bench.store import Store
from zoo import Defended, ZooError, split_name
from zoo.defenses import bit_depth, jpeg, median_filter


def _defended(model, text: str) -> Defended:
    return Defended(model, split_name("m+" + text)[1], "m+" + text)


@pytest.mark.parametrize("name, kinds", [
    ("mini:resnet+jpeg75", ["jpeg"]), ("timm:resnet18+bits4+median3", ["bits", "median"]),
    ("mini:vgg+smooth0.25x16", ["smooth"]), ("mini:vgg", []),
])
def test_names_compose_defenses_in_order(name, kinds):
    base, defenses = split_name(name)
    assert base == name.split("+")[0] and [d.kind for d in defenses] == kinds
    zoo.validate_name(name)


@pytest.mark.parametrize("name, hint", [
    ("mini:resnet+jpg75", "jpeg75"), ("mini:resnet+jpeg0", "1 to 100"), ("mini:resnet+median4", "odd"),
    ("mini:resnet+bits9", "1 to 8"), ("mini:resnet+", "empty defense"), ("mini:resnt+jpeg75", "mini:resnet"),
    ("mini:resnet+smooth0.1+smooth0.2", "two smooth"),
])
def test_bad_defense_names_are_one_line_errors_with_a_hint(name, hint):
    with pytest.raises(ZooError, match=hint) as exc:
        zoo.validate_name(name)
    assert "\n" not in str(exc.value)


def test_a_typo_in_a_wrapper_exits_2_with_one_line(capsys):
    assert main(["run", "--models", "mini:resnet+jpg75", "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert err.strip().count("\n") == 0 and "did you mean 'jpeg75'" in err


def test_bit_depth_leaves_exactly_two_to_the_b_levels():
    x = torch.rand(4, 1, 28, 28)
    assert set(torch.unique(bit_depth(x, 2) * 3).round().tolist()) <= {0.0, 1.0, 2.0, 3.0}
    assert torch.unique(bit_depth(x, 1)).numel() == 2


def test_median_filter_matches_scipy():
    x = torch.rand(2, 3, 12, 12)
    ref = ndimage.median_filter(x.numpy(), size=(1, 1, 3, 3), mode="mirror")  # torch "reflect" == scipy "mirror"
    assert np.allclose(median_filter(x, 3).numpy(), ref)


def test_jpeg_changes_images_a_little_and_more_at_lower_quality():
    x = torch.rand(4, 1, 28, 28)
    high, low = (jpeg(x, 95) - x).abs().mean(), (jpeg(x, 10) - x).abs().mean()
    assert 0 < high < low < 0.5


@pytest.mark.parametrize("text", ["jpeg75", "bits3", "median3"])
def test_gradients_pass_straight_through_the_transform(tiny_model, batch, text):
    """BPDA: the defended model's input gradient is the undefended model's gradient at the transformed
    point, so white-box attacks are not masked by a zero or missing gradient."""
    x, y = batch
    defended = _defended(tiny_model, text)
    xg = x.clone().requires_grad_(True)
    torch.nn.functional.cross_entropy(defended(xg), y).backward()
    xt = _defended(torch.nn.Identity(), text)(x).detach().requires_grad_(True)
    torch.nn.functional.cross_entropy(tiny_model(xt), y).backward()
    assert xg.grad.abs().sum() > 0 and torch.allclose(xg.grad, xt.grad, atol=1e-7)


def test_smoothing_is_a_seeded_majority_vote_and_flagged_as_randomized(tiny_model, batch):
    x, y = batch
    smooth = _defended(tiny_model, "smooth0.5x4")
    assert smooth.randomized and not _defended(tiny_model, "jpeg75").randomized
    torch.manual_seed(3)
    logits = smooth(x)
    torch.manual_seed(3)
    noisy = x.repeat(4, 1, 1, 1) + 0.5 * torch.randn((4 * len(x), *x.shape[1:]))
    votes = torch.nn.functional.one_hot(tiny_model(noisy).view(4, len(x), -1).argmax(-1), 10).sum(0)
    assert torch.equal(logits.argmax(1), votes.argmax(1))
    assert torch.equal(predict(smooth, x, 16), predict(smooth, x, 16))  # seeded per batch: reproducible
    flagged = [w for w in check_model("m+smooth0.5x4", smooth, x, y) if w["check"] == "random_output"]
    assert flagged and "randomized" in flagged[0]["message"]
    assert not [w for w in check_model("m+jpeg75", _defended(tiny_model, "jpeg75"), x, y)
                if w["check"] == "random_output"]


def test_defended_models_get_white_box_and_transfer_cells(tiny_model, synthetic, tmp_path):
    """Every defense runs in a grid: the undefended model and each wrapper as a source (white-box through
    BPDA/EOT) and as a target, and the results are identical when run again (smoothing seeded)."""
    names = ["m", "m+jpeg75", "m+bits3", "m+median3", "m+smooth0.25x4"]
    models = {"m": tiny_model, **{n: _defended(tiny_model, n.split("+", 1)[1]) for n in names[1:]}}
    cfg = RunConfig(dataset="synthetic", models=tuple(names), attacks=(AttackSpec("pgd"),), eps=(0.1,),
                    mode="untargeted", n=40, n_fit=40, batch_size=20)
    x, y = synthetic.test.x[:40], synthetic.test.y[:40]
    results = []
    for folder in ("a", "b"):
        store = Store(tmp_path / folder)
        result = run_grid(cfg, models, Split(x, y), Split(x, y), synthetic.num_classes, store,
                          device=torch.device("cpu"), identity={})
        assert result.computed == len(names) and not result.failures
        results.append(sorted((r["source"], r["target"], r["robust_acc"]) for r in store.rows()))
    assert results[0] == results[1]
    pairs = {(s, t) for s, t, _ in results[0]}
    assert pairs == {(s, t) for s in names for t in names}
    whitebox = {s: r for s, t, r in results[0] if s == t}
    assert whitebox["m+jpeg75"] < 0.5  # BPDA: the defense does not stop white-box PGD


def test_the_run_facts_say_which_defense_and_gradient_a_model_has(tmp_path, tiny_model):
    import json

    from bench.models import model_info
    from reports.render import run_facts

    info = model_info({"m+jpeg75": _defended(tiny_model, "jpeg75")})
    info["m+jpeg75"]["weights"] = "test weights"
    (tmp_path / "manifest.json").write_text(json.dumps({"models": info}))
    facts = [f for f in run_facts(tmp_path) if f.startswith("m+jpeg75")]
    assert facts and "defense jpeg75 (BPDA" in facts[0]
