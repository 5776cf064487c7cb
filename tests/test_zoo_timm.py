"""timm models beyond random init (issue 7): pretrained weights from the local Hugging Face cache
(offline), checkpoint files, one-line errors when weights are missing, timm's preprocessing in
`model.info`, and the bf16 autocast / channels-last options."""
from __future__ import annotations

from pathlib import Path

import pytest
import timm
import torch
from safetensors.torch import save_file

import zoo

SPEC = zoo.InputSpec("imagefolder:val", 3, 64, 64, 1000, (0.5, 0.5, 0.5), (0.25, 0.25, 0.25))


def fake_hf_cache(home: Path, repo: str, state: dict) -> None:
    """The layout huggingface_hub reads offline: refs/main -> snapshots/<commit>/model.safetensors."""
    base = home / "hub" / f"models--{repo.replace('/', '--')}"
    commit = "0" * 40
    (base / "refs").mkdir(parents=True)
    (base / "refs" / "main").write_text(commit)
    (base / "snapshots" / commit).mkdir(parents=True)
    save_file(state, str(base / "snapshots" / commit / "model.safetensors"))


def other_weights(arch: str = "resnet18") -> dict:
    torch.manual_seed(123)
    net = timm.create_model(arch, num_classes=1000)
    for p in net.parameters():
        p.data.normal_(0, 0.02)
    return {k: v.contiguous() for k, v in net.state_dict().items()}


def test_pretrained_weights_load_offline_from_the_hugging_face_cache(tmp_path, monkeypatch):
    """`zoo.load` finds pretrained weights in the cache huggingface_hub points at (HF_HOME's hub folder,
    set in process here: a second interpreter cost 10 s), offline, with timm's normalization for them."""
    from huggingface_hub import constants

    state = other_weights()
    fake_hf_cache(tmp_path / "hf", "timm/resnet18.a1_in1k", state)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hf" / "hub"))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    spec = zoo.InputSpec("imagefolder:val", 3, 64, 64, 1000, (0.5,) * 3, (0.25,) * 3)
    m = zoo.load("timm:resnet18", spec, pretrained=True)
    assert all(torch.equal(v, state[k]) for k, v in m.model.state_dict().items()), "weights differ"
    # timm's normalization for the pretrained weights, not the dataset's
    assert m.info["weights"] == "hf-hub:timm/resnet18.a1_in1k"
    assert list(m.info["data_config"]["mean"]) == [0.485, 0.456, 0.406]
    assert torch.allclose(m.mean.flatten(), torch.tensor([0.485, 0.456, 0.406]))


def test_missing_pretrained_weights_are_one_line_saying_where_and_how(tmp_path, monkeypatch, capsys):
    """The CLI's class check comes before any download, and a model missing from the cache says where it
    looked and how to fix it."""
    from bench.cli import main
    from zoo import timm_models

    monkeypatch.setattr(timm_models, "_hf_cache", lambda: str(tmp_path / "hf" / "hub"))
    monkeypatch.setattr(timm, "create_model", lambda *a, **k: pytest.fail("timm was asked to build the model"))
    code = main(["run", "--dataset", "synthetic", "--models", "timm:resnet18", "--pretrained",
                 "--output", str(tmp_path / "runs")])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    # synthetic has 4 classes: the class mismatch is caught before any download is tried
    assert err.count("\n") == 1 and "predicts 1000 classes but synthetic has 4" in err
    with pytest.raises(zoo.ZooError) as info:
        zoo.load("timm:densenet121", SPEC, pretrained=True)
    msg = str(info.value)
    assert msg.count("\n") == 0 and "no pretrained weights for timm:densenet121" in msg
    assert str(tmp_path / "hf" / "hub") in msg and "HF_HUB_OFFLINE=1" in msg and "--checkpoint timm:densenet121=PATH" in msg


@pytest.fixture()
def no_network(monkeypatch):
    """Online mode (HF_HUB_OFFLINE unset) on a machine whose network is down: a connection attempt fails,
    and a call into the hub's download is a test failure (it would retry for about 20 s per file)."""
    import socket

    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(socket, "create_connection", lambda *a, **k: (_ for _ in ()).throw(OSError("network is down")))

    def download(*args, **kwargs):
        raise AssertionError(f"the hub was asked for {args} {kwargs}")
    monkeypatch.setattr(timm.models._hub, "hf_hub_download", download)


def test_cached_pretrained_weights_load_without_asking_the_hub(tmp_path, monkeypatch, no_network):
    """Weights in the local cache are read from their file, even in online mode: no request, no retries."""
    from zoo import timm_models

    state = other_weights()
    fake_hf_cache(tmp_path / "hf", "timm/resnet18.a1_in1k", state)
    monkeypatch.setattr(timm_models, "_hf_cache", lambda: str(tmp_path / "hf" / "hub"))
    net, info = timm_models.build_timm("timm:resnet18", SPEC, pretrained=True)
    assert all(torch.equal(v, state[k]) for k, v in net.state_dict().items())
    assert info["weights"] == "hf-hub:timm/resnet18.a1_in1k"


def test_uncached_weights_with_the_hub_unreachable_fail_at_once(tmp_path, monkeypatch, no_network):
    from zoo import timm_models

    monkeypatch.setattr(timm_models, "_hf_cache", lambda: str(tmp_path / "empty"))
    monkeypatch.setattr(timm, "create_model", lambda *a, **k: pytest.fail("timm was asked to fetch the weights"))
    with pytest.raises(zoo.ZooError, match=r"not in the cache, and the hub cannot be reached.*--checkpoint"):
        timm_models.build_timm("timm:resnet18", SPEC, pretrained=True)


def test_a_hub_id_the_hub_library_refuses_is_not_a_cache_hit():
    from zoo.timm_models import cached_hub_weights

    assert cached_hub_weights({"hf_hub_id": "not a//repo id"}) is None  # HFValidationError, not a traceback


def test_behind_a_proxy_the_hub_is_left_to_huggingface_hub(monkeypatch, no_network):
    """A direct connection failing says nothing when requests go through a proxy: no fast failure there."""
    from zoo.timm_models import hub_reachable

    for var in ("no_proxy", "all_proxy", "http_proxy", "https_proxy"):
        monkeypatch.delenv(var, raising=False)
        monkeypatch.delenv(var.upper(), raising=False)
    assert not hub_reachable()
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    assert hub_reachable()


@pytest.mark.parametrize("fmt", ["safetensors", "pth", "pth-nested"])
def test_checkpoint_files_load_strictly(tmp_path, fmt):
    state = other_weights()
    path = tmp_path / f"w.{fmt.split('-')[0]}"
    if fmt == "safetensors":
        save_file(state, str(path))
    else:
        torch.save({"state_dict": state} if fmt == "pth-nested" else state, path)
    m = zoo.load("timm:resnet18", SPEC, checkpoint=str(path))
    assert all(torch.equal(v, state[k]) for k, v in m.model.state_dict().items())
    assert m.info["weights"] == f"checkpoint {path.resolve()}"
    assert m.info["data_config"]["mean"] == [0.485, 0.456, 0.406]  # timm's normalization for real weights
    random = zoo.load("timm:resnet18", SPEC)
    assert random.weights_sha256 != m.weights_sha256 and random.info["data_config"]["mean"] == [0.5, 0.5, 0.5]


def test_bad_checkpoints_are_one_line_errors(tmp_path):
    with pytest.raises(zoo.ZooError, match="does not exist"):
        zoo.load("timm:resnet18", SPEC, checkpoint=str(tmp_path / "nope.safetensors"))
    save_file(other_weights("resnet34"), str(tmp_path / "r34.safetensors"))
    with pytest.raises(zoo.ZooError, match="does not fit timm:resnet18"):
        zoo.load("timm:resnet18", SPEC, checkpoint=str(tmp_path / "r34.safetensors"))
    torch.save({"net": torch.nn.Linear(2, 2)}, tmp_path / "pickled.pth")  # a pickled module, not weights
    with pytest.raises(zoo.ZooError, match="not a weights-only torch file"):
        zoo.load("timm:resnet18", SPEC, checkpoint=str(tmp_path / "pickled.pth"))


def test_bf16_autocast_and_channels_last_keep_the_contract():
    """Same weights; float32 logits either way; channels-last changes nothing beyond float noise and
    bf16 keeps most top-1 labels (a random-init net has small logit margins)."""
    x = torch.rand(16, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    base = zoo.load("timm:resnet18", SPEC)
    cl = zoo.load("timm:resnet18", SPEC, channels_last=True)
    bf = zoo.load("timm:resnet18", SPEC, amp="bf16")
    with torch.no_grad():
        ref, out_cl, out_bf = base(x), cl(x), bf(x)
    assert out_cl.dtype == out_bf.dtype == torch.float32
    assert torch.allclose(ref, out_cl, atol=1e-4)
    assert 0 < (out_bf - ref).abs().max() < 0.1 * ref.abs().max()
    xg = x.clone().requires_grad_(True)
    torch.nn.functional.cross_entropy(bf(xg), ref.argmax(1)).backward()
    assert xg.grad is not None and xg.grad.dtype == torch.float32 and bool(torch.isfinite(xg.grad).all())
    with pytest.raises(ValueError, match="amp 'fp8'"):
        zoo.Normalized(torch.nn.Identity(), (0.5,), (0.5,), amp="fp8")


def test_bf16_on_a_cpu_without_native_bf16_is_one_warning_line(monkeypatch, zoo_cache, tmp_path):
    """Emulated bf16 is several times slower than float32 (benchmarks/cpu_bf16.py): `bench run` says so
    once, and only where it applies (not for float32, a GPU, or a CPU with native bf16)."""
    import bench
    from bench import device as dev

    cpu = torch.device("cpu")
    for native in (False, True):
        monkeypatch.setattr(dev, "native_cpu_bf16", lambda native=native: native)
        assert (dev.amp_warning("bf16", cpu) is None) == native
        assert dev.amp_warning("none", cpu) is None and dev.amp_warning("bf16", torch.device("cuda")) is None
        lines: list[str] = []
        bench.run(dataset="synthetic", models=["mini:vgg"], attacks=["fgsm"], n=10, amp="bf16", dry_run=True,
                  cache_dir=str(zoo_cache), output=str(tmp_path), log=lines.append)
        warned = [line for line in lines if line.startswith("warning: --amp bf16 on this CPU")]
        assert len(warned) == (0 if native else 1) and all("use --amp none" in w for w in warned), lines
