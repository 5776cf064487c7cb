"""Sanity checks: train mode, random outputs, masked gradients are flagged; NaN outputs fail the cell;
FGSM or a transferred attack beating white-box PGD is flagged in the report."""
from __future__ import annotations

import pandas as pd
import pytest
import torch
from torch import nn

from bench.config import AttackSpec, RunConfig
from bench.data import Split
from bench.metrics import NonFiniteOutput, predict
from bench.driver import run_grid
from bench.sanity import check_model
from bench.store import Store
from reports import result_warnings


class _Rounded(nn.Module):
    """Quantises its input first: the input gradient is exactly zero (a classic masked gradient)."""

    def __init__(self, inner: nn.Module) -> None:
        super().__init__()
        self.inner = inner

    def forward(self, x):
        return self.inner(torch.round(x * 4) / 4)


class _NaNOffData(nn.Module):
    """Returns NaN logits for any image that is not one of `clean`: adversarial images trip it."""

    def __init__(self, inner: nn.Module, clean: torch.Tensor) -> None:
        super().__init__()
        self.inner, self.clean = inner, clean.flatten(1)

    def forward(self, x):
        out = self.inner(x)
        bad = (torch.cdist(x.flatten(1), self.clean, compute_mode="donot_use_mm_for_euclid_dist").amin(1) > 1e-4)[:, None]
        return torch.where(bad, torch.full_like(out, float("nan")), out)


def _checks(model, batch):
    x, y = batch
    return {w["check"] for w in check_model("m", model, x, y)}


def test_a_clean_frozen_model_raises_no_warning(tiny_model, batch):
    assert _checks(tiny_model, batch) == set()


def test_train_mode_and_random_outputs_are_flagged(tiny_model, batch):
    model = nn.Sequential(tiny_model, nn.Dropout(0.5))
    model.train()
    assert {"eval_mode", "random_output"} <= _checks(model, batch)


def test_zero_gradients_are_flagged(tiny_model, batch):
    assert "zero_gradient" in _checks(_Rounded(tiny_model), batch)


def test_nan_outputs_fail_the_cell_not_the_run(tiny_model, synthetic, tmp_path):
    x = synthetic.test.x[:40]
    model = _NaNOffData(tiny_model, x)
    assert len(predict(model, x)) == 40
    with pytest.raises(NonFiniteOutput, match="NaN"):
        predict(model, torch.zeros(2, *x.shape[1:]))
    mixed = torch.cat([x[:9], torch.zeros(3, *x.shape[1:])])  # the first off-data image is the 10th
    with pytest.raises(NonFiniteOutput, match=r"for images 8\.\.11$"):  # the batch that held it
        predict(model, mixed, batch_size=4)
    assert torch.equal(predict(model, x, batch_size=7), tiny_model(x).argmax(1))
    cfg = RunConfig(dataset="synthetic", models=("m",), attacks=(AttackSpec("fgsm"),), eps=(0.1,),
                    mode="untargeted", n=40, n_fit=40, batch_size=20)
    split = Split(x, synthetic.test.y[:40])
    result = run_grid(cfg, {"m": model}, split, split, synthetic.num_classes, Store(tmp_path),
                      device=torch.device("cpu"), identity={})
    assert result.computed == 0 and len(result.failures) == 1
    assert "NaN" in result.failures[0].error
    assert Store(tmp_path).rows() == []  # failed cells are not stored, so a rerun retries them


def _row(method, source, target, rate, targeted=False):
    return {"attack": method, "method": method, "norm": "linf", "eps": 0.1, "targeted": targeted,
            "source": source, "target": target, "whitebox": source == target,
            "fooling_rate": rate, "success_on_correct": rate, "targeted_success": float("nan")}


def test_result_warnings_flag_fgsm_or_transfer_beating_pgd():
    healthy = pd.DataFrame([_row("pgd", "a", "a", 0.9), _row("fgsm", "a", "a", 0.7), _row("pgd", "b", "a", 0.3),
                            _row("pgd", "b", "b", 0.95)])
    assert result_warnings(healthy) == []
    masked = pd.DataFrame([_row("pgd", "a", "a", 0.2), _row("fgsm", "a", "a", 0.5), _row("pgd", "b", "a", 0.6),
                           _row("pgd", "b", "b", 0.95), _row("noise", "b", "b", 0.99)])
    text = "\n".join(result_warnings(masked))
    assert "FGSM beats PGD white-box on a" in text
    assert "pgd transferred from b beats white-box PGD on a" in text
    assert "random noise beats white-box PGD on b" in text


def test_a_model_at_chance_is_flagged(tiny_model, batch):
    """A random-init model (a `timm:` name without --pretrained) guesses: its attack rates mean little.
    Flagged when a uniform guesser would get its check-batch count 1% of the time or more."""
    from bench.sanity import chance_tail

    torch.manual_seed(0)
    untrained = nn.Sequential(nn.Flatten(), nn.Linear(batch[0][0].numel(), 4)).eval()
    assert "chance_accuracy" in _checks(untrained, batch)
    assert "chance_accuracy" not in _checks(tiny_model, batch)
    assert chance_tail(0, 64, 10) == pytest.approx(1.0) and chance_tail(64, 64, 2) == pytest.approx(0.5**64)
    assert chance_tail(12, 64, 10) > 0.01 > chance_tail(15, 64, 10)  # 10 classes: flagged up to 12 of 64


def test_a_defended_model_at_chance_names_its_defense_as_the_likely_cause(batch):
    """A mini model under `+smooth0.25x4` reads noise it was never trained on and lands at chance; the
    warning blamed untrained weights and pointed at `--pretrained`, which a mini model never needs."""
    from bench.sanity import check_model

    torch.manual_seed(0)
    guesser = nn.Sequential(nn.Flatten(), nn.Linear(batch[0][0].numel(), 4)).eval()
    x, y = batch

    def message(name: str) -> str:
        (w,) = [w for w in check_model(name, guesser, x, y) if w["check"] == "chance_accuracy"]
        return w["message"]

    defended = message("mini:resnet+smooth0.25x4")
    assert "a defense too strong for mini:resnet's weights (smooth0.25x4)? Try a weaker setting" in defended
    assert "--pretrained" not in defended
    assert "untrained weights? (`timm:` models are random" in message("timm:resnet18")
    both = message("timm:resnet18+jpeg10")
    assert "defense too strong for timm:resnet18's weights (jpeg10)" in both and "Or untrained weights" in both
