"""`timm:<name>` models: random init (seeded), pretrained weights from the local Hugging Face cache,
or a checkpoint file; with the preprocessing (mean, std, input size, interpolation, crop) that
timm's pretrained config gives them, so datasets and manifests can follow the model.
"""
from __future__ import annotations

import hashlib
import os
import pickle
from pathlib import Path
from typing import Any

import timm
import torch
from torch import nn

from common.text import first_line

from .errors import ZooError
from .specs import InputSpec

DATA_CONFIG_KEYS = ("input_size", "interpolation", "crop_pct", "crop_mode", "mean", "std")


def timm_arch(name: str) -> str:
    """`timm:resnet50.a1_in1k` -> `resnet50.a1_in1k` (architecture with an optional pretrained tag)."""
    return name.split(":", 1)[1]


def pretrained_config(name: str) -> dict[str, Any]:
    """timm's pretrained config of a `timm:` name (default tag when none is given); {} when timm has none."""
    cfg = timm.models.get_pretrained_cfg(timm_arch(name))
    return cfg.to_dict() if cfg is not None else {}


def data_config(name: str) -> dict[str, Any]:
    """The eval preprocessing timm gives `name`: input_size, interpolation, crop_pct, crop_mode, mean, std."""
    from timm.data import resolve_data_config

    cfg = resolve_data_config(pretrained_cfg=pretrained_config(name))
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in cfg.items() if k in DATA_CONFIG_KEYS}


def weights_digest(net: nn.Module) -> str:
    """sha256 over the sorted state dict: identifies the weights in cell keys and manifests."""
    digest = hashlib.sha256()
    for key, tensor in sorted(net.state_dict().items()):
        digest.update(key.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def _hf_cache() -> str:
    try:
        from huggingface_hub import constants

        return str(constants.HF_HUB_CACHE)
    except ImportError:  # pragma: no cover - timm requires huggingface_hub
        return "~/.cache/huggingface/hub"


HUB_WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")  # what timm fetches from an hf-hub id, in order


def cached_hub_weights(cfg: dict[str, Any]) -> str | None:
    """The local Hugging Face cache's weights file for a pretrained config's hf-hub id, or None; reads
    the disk only (no network)."""
    from huggingface_hub import try_to_load_from_cache

    repo = cfg.get("hf_hub_id")
    if not repo:
        return None
    names = (cfg["hf_hub_filename"],) if cfg.get("hf_hub_filename") else HUB_WEIGHT_FILES
    for filename in names:
        try:
            found = try_to_load_from_cache(repo, filename, cache_dir=_hf_cache())
        except ValueError:  # an id the hub library refuses (HFValidationError): timm's own path reports it
            return None
        if isinstance(found, str):
            return found
    return None


def hub_reachable(timeout: float = 3.0) -> bool:
    """Whether the Hugging Face endpoint answers a TCP connection within `timeout` seconds: without it,
    huggingface_hub retries for about 20 s per file before failing. Behind a proxy (HTTPS_PROXY and
    friends) the endpoint is not probed: the proxy may reach what this machine cannot."""
    import socket
    from urllib.parse import urlparse
    from urllib.request import getproxies, proxy_bypass

    from huggingface_hub import constants

    if constants.HF_HUB_OFFLINE:
        return False
    url = urlparse(constants.ENDPOINT)
    proxies = getproxies()
    if (proxies.get(url.scheme) or proxies.get("all")) and not proxy_bypass(url.hostname or ""):
        return True
    try:
        socket.create_connection((url.hostname, url.port or (443 if url.scheme == "https" else 80)), timeout).close()
    except OSError:
        return False
    return True


def _missing_weights(name: str, cfg: dict[str, Any], exc: BaseException) -> ZooError:
    """The one-line error for pretrained weights that are neither cached nor downloadable."""
    arch = timm_arch(name)
    where = (f"hf-hub:{cfg['hf_hub_id']} in the Hugging Face cache {_hf_cache()}" if cfg.get("hf_hub_id")
             else f"{cfg.get('url', 'no known source')} in the torch hub cache {torch.hub.get_dir()}")
    offline = " (HF_HUB_OFFLINE=1)" if os.environ.get("HF_HUB_OFFLINE", "0") not in ("", "0") else ""
    reason = first_line(exc, 120)
    return ZooError(
        f"no pretrained weights for {name}: looked for {where}{offline} ({reason}); fetch them once where there is "
        f"network (python -c \"import timm; timm.create_model('{arch}', pretrained=True)\") and copy the cache, "
        f"or give a file with --checkpoint {name}=PATH (safetensors or weights-only torch file)")


def _load_checkpoint(net: nn.Module, name: str, path: str) -> None:
    """Load a safetensors or weights-only torch checkpoint into `net` (strict), with one-line errors."""
    p = Path(os.path.expanduser(path))
    if not p.is_file():
        raise ZooError(f"checkpoint file {p} for {name} does not exist; pass the path of a .safetensors or "
                       ".pth file (--checkpoint {name}=PATH)")
    try:
        timm.models.load_checkpoint(net, str(p), strict=True, weights_only=True)
    except (pickle.UnpicklingError, EOFError, RuntimeError, KeyError, ValueError, OSError) as exc:
        first = first_line(exc, 160)
        if isinstance(exc, (pickle.UnpicklingError, EOFError)) or "weights_only" in str(exc):
            raise ZooError(f"checkpoint {p} is not a weights-only torch file or safetensors file ({first[:100]}); "
                           "save it with torch.save(model.state_dict(), path) or safetensors") from None
        raise ZooError(f"checkpoint {p} does not fit {name} ({first}); is it a checkpoint of this architecture "
                       "and number of classes?") from None


def build_timm(name: str, spec: InputSpec, *, pretrained: bool = False,
               checkpoint: str | None = None) -> tuple[nn.Module, dict[str, Any]]:
    """The bare timm network for `spec` and a description of it: weights source, sha256, data config.

    Random init is seeded (same weights in every process, so resumed and sharded runs agree).
    Pretrained or checkpoint weights keep timm's normalization; random ones take the dataset's.
    """
    arch = timm_arch(name)
    cfg = pretrained_config(name)
    if pretrained and not checkpoint and cfg.get("num_classes") not in (None, spec.num_classes):
        raise ZooError(f"pretrained {name} predicts {cfg['num_classes']} classes but {spec.dataset} has "
                       f"{spec.num_classes}; use a dataset with those classes (e.g. imagefolder: of ImageNet val) "
                       "or pretrained=false")
    kwargs: dict[str, Any] = {"num_classes": spec.num_classes, "in_chans": spec.channels}
    if pretrained and not checkpoint and cfg.get("hf_hub_id"):
        cached = cached_hub_weights(cfg)
        if cached is not None:  # the same file timm would fetch, read without asking the hub first
            kwargs["pretrained_cfg_overlay"] = {"file": cached}
        elif not hub_reachable():
            raise _missing_weights(name, cfg, OSError("not in the cache, and the hub cannot be reached"))
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            net = timm.create_model(arch, pretrained=pretrained and not checkpoint, **kwargs)
    except (OSError, ConnectionError) as exc:  # LocalEntryNotFoundError, OfflineModeIsEnabled, network errors
        raise _missing_weights(name, cfg, exc) from None
    except (RuntimeError, ValueError) as exc:
        raise ZooError(f"could not create {name}: {first_line(exc)}") from None
    if checkpoint:
        _load_checkpoint(net, name, checkpoint)
        source = f"checkpoint {Path(os.path.expanduser(checkpoint)).resolve()}"
    elif pretrained:
        source = f"hf-hub:{cfg['hf_hub_id']}" if cfg.get("hf_hub_id") else f"url:{cfg.get('url')}"
    else:
        source = "random init (seed 0)"
    dc = data_config(name)
    if not (pretrained or checkpoint):
        dc.update(mean=list(spec.mean), std=list(spec.std))
    info = {"weights": source, "weights_sha256": weights_digest(net), "data_config": dc,
            "params": sum(p.numel() for p in net.parameters())}
    return net, info
