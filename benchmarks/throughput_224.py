"""Throughput at 224x224 with a random-initialised timm model (no weights needed), side by side in one run:

- the runner's PGD-10 (`bench.runner._adversarial`: batches from host memory, Attack.perturb with its
  clipping and budget checks, results back to the host) against torchattacks.PGD called directly on
  the same model and the same batches already on the device;
- the runner's PGD-10 again with bf16 autocast + channels-last (the `--amp bf16 --channels-last` options);
- VizPert perturbation (class-conditional lookup, after a short fit) against PGD-10;
- with --compile-modes, the runner's PGD-10 on the model compiled by torch.compile in each mode, in fp32
  and in bf16 + channels-last, and torchattacks.PGD called directly on the compiled bf16 model (the
  runner's overhead on the compiled loop), and that direct loop again waiting for every batch (what one
  host sync per batch costs: the runner read each batch's budget check at once until it read it one batch
  late); the first call of each variant (compilation) is timed apart as a warm-up;
- the runner's PGD-10 on a network whose frozen weights are stored in bf16 (autocast then casts no
  weight on any call), beside autocast over fp32 weights: what the per-call weight casts cost;
- with --profile, torch.profiler tables of one PGD step in fp32 and in bf16 + channels-last (where the
  time goes), with the share of casts and layout copies.
A compiled variant that fails to compile is recorded with its error and skipped.

    python benchmarks/throughput_224.py --device cuda --model timm:resnet50 --batch-size 128 --n 1024
    python benchmarks/throughput_224.py --device cpu --model timm:resnet18 --batch-size 8 --n 16 --repeats 2
    python benchmarks/throughput_224.py --device cuda --compile-modes default,max-autotune-no-cudagraphs --profile

Writes JSON (images/s, ratios); asserts nothing.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import torch
import torchattacks
from torch.utils.data import DataLoader, TensorDataset

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import attacks  # noqa: E402
import zoo  # noqa: E402
from bench.batching import BatchSizer  # noqa: E402
from bench.data import Split  # noqa: E402
from bench.runner import _adversarial  # noqa: E402
from benchlib import interleaved_medians, write_result  # noqa: E402
from common.text import first_line  # noqa: E402


def build_parser() -> argparse.ArgumentParser:
    """The command line (tests/test_gpu_check.py parses gpu_check.sh's commands with it)."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="timm:resnet50")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--n", type=int, default=1024)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--classes", type=int, default=1000)
    p.add_argument("--size", type=int, default=224, help="image side (smaller only for a quick smoke test)")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--vizpert-steps", type=int, default=50, help="fit steps (timing perturbation, not quality)")
    p.add_argument("--compile-modes", default="", help="comma-separated torch.compile modes to time (none: skip)")
    p.add_argument("--compile-dtypes", default="fp32,bf16_channels_last",
                   help="which compiled variants to time: fp32 and/or bf16_channels_last")
    p.add_argument("--profile", action="store_true", help="profile one bf16 + channels-last PGD step")
    p.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "throughput_224.json"))
    return p


def main() -> None:
    a = build_parser().parse_args()
    device = torch.device(a.device)
    spec = zoo.InputSpec("imagefolder:bench", 3, a.size, a.size, a.classes, (0.485, 0.456, 0.406), (0.229, 0.224, 0.225))
    model = zoo.load(a.model, spec, device=device)
    fast = zoo.load(a.model, spec, device=device, amp="bf16", channels_last=True)
    fast_weights = zoo.load(a.model, spec, device=device, amp="bf16", channels_last=True)
    fast_weights.model.to(torch.bfloat16)  # frozen: nothing trains them, so they may be stored in bf16
    g = torch.Generator().manual_seed(0)
    x = torch.rand(a.n, 3, a.size, a.size, generator=g)
    y = torch.randint(0, a.classes, (a.n,), generator=g)
    split = Split(x.pin_memory(), y.pin_memory()) if device.type == "cuda" else Split(x, y)
    on_device = [(x[i:i + a.batch_size].to(device), y[i:i + a.batch_size].to(device))
                 for i in range(0, a.n, a.batch_size)]
    budget = attacks.Budget("linf", 8 / 255)
    pgd = attacks.create("pgd")
    fitted_pgd = pgd.fit(model, [], budget, seed=0)
    viz = attacks.create("vizpert", steps=a.vizpert_steps)
    fit_loader = DataLoader(TensorDataset(x[: a.batch_size * 2], y[: a.batch_size * 2]), batch_size=a.batch_size)
    t0 = time.perf_counter()
    fitted_viz = viz.fit(model, [(xb.to(device), yb.to(device)) for xb, yb in fit_loader], budget, seed=0)
    fit_seconds = time.perf_counter() - t0

    def sync() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    def runner(attack, fitted, m):
        def run() -> None:
            _adversarial(attack, fitted, m, split, None, BatchSizer(a.batch_size), "bench", device)
            sync()
        return run

    def direct() -> None:
        atk = torchattacks.PGD(model, eps=budget.eps, alpha=2.5 * budget.eps / 10, steps=10, random_start=True)
        for xb, yb in on_device:
            atk(xb, yb)
        sync()

    def direct_on(m, synced: bool = False):
        """torchattacks.PGD on batches already on the device; `synced` waits for each batch, as the
        runner did when it read each budget check at once, to time what one host sync per batch costs."""
        def run() -> None:
            atk = torchattacks.PGD(m, eps=budget.eps, alpha=2.5 * budget.eps / 10, steps=10, random_start=True)
            for xb, yb in on_device:
                atk(xb, yb)
                if synced:
                    sync()
            sync()
        return run

    runs = {"runner_pgd10": runner(pgd, fitted_pgd, model), "torchattacks_pgd10": direct,
            "runner_pgd10_bf16_channels_last": runner(pgd, fitted_pgd, fast),
            "runner_pgd10_bf16_weights_channels_last": runner(pgd, fitted_pgd, fast_weights),
            "runner_vizpert": runner(viz, fitted_viz, model)}
    warmup, errors = {}, {}
    variants = {"fp32": {}, "bf16_channels_last": {"amp": "bf16", "channels_last": True}}
    for mode in [m for m in a.compile_modes.split(",") if m]:
        for tag in [t for t in a.compile_dtypes.split(",") if t]:
            compiled = zoo.load(a.model, spec, device=device, compile=mode, **variants[tag])
            name = f"runner_pgd10_compiled_{mode}_{tag}"
            run = runner(pgd, fitted_pgd, compiled)
            t0 = time.perf_counter()
            try:
                run()  # compiles forward and backward for each batch shape
            except Exception as exc:  # noqa: BLE001 - a benchmark records what failed to compile and goes on
                errors[name] = f"{type(exc).__name__}: {first_line(exc, 300)}"
                continue
            warmup[name] = round(time.perf_counter() - t0, 1)
            runs[name] = run
            if tag != "fp32":
                runs[f"torchattacks_pgd10_compiled_{mode}_{tag}"] = direct_on(compiled)
                runs[f"torchattacks_pgd10_compiled_{mode}_{tag}_synced"] = direct_on(compiled, synced=True)
    med = interleaved_medians(runs, a.repeats)
    ips = {k: round(a.n / v, 1) for k, v in med.items()}
    compiled_ratios = {k.replace("runner_pgd10_", ""): round(v / ips["runner_pgd10"], 2)
                       for k, v in ips.items() if k.startswith("runner_pgd10_compiled_")}
    runner_vs_direct = {k.replace("torchattacks_pgd10_", ""): round(ips[k.replace("torchattacks", "runner")] / v, 3)
                        for k, v in ips.items()
                        if k.startswith("torchattacks_pgd10_compiled_") and not k.endswith("_synced")}
    synced_vs_direct = {k.replace("torchattacks_pgd10_", ""): round(v / ips[k.removesuffix("_synced")], 3)
                        for k, v in ips.items() if k.endswith("_synced")}
    gpu = torch.cuda.get_device_name(device) if device.type == "cuda" else None
    write_result({
        "benchmark": "throughput_224", "model": a.model, "weights": "random init (seed 0)", "device": str(device),
        "gpu": gpu, "images": a.n, "batch_size": a.batch_size, "repeats": a.repeats, "image_size": [3, a.size, a.size],
        "torch": torch.__version__, "threads": torch.get_num_threads(), "cpus": os.cpu_count(),
        "images_per_second": ips,
        "runner_vs_torchattacks_pgd": round(ips["runner_pgd10"] / ips["torchattacks_pgd10"], 3),
        "bf16_channels_last_vs_fp32_pgd": round(ips["runner_pgd10_bf16_channels_last"] / ips["runner_pgd10"], 2),
        "bf16_weights_vs_autocast_pgd": round(ips["runner_pgd10_bf16_weights_channels_last"]
                                              / ips["runner_pgd10_bf16_channels_last"], 3),
        "vizpert_vs_pgd10": round(ips["runner_vizpert"] / ips["runner_pgd10"], 1),
        "vizpert_fit": {"steps": a.vizpert_steps, "images": len(fit_loader.dataset), "seconds": round(fit_seconds, 1)},
        "compiled_vs_fp32_eager_pgd": compiled_ratios, "compiled_runner_vs_direct_pgd": runner_vs_direct,
        "compiled_direct_synced_per_batch_vs_direct_pgd": synced_vs_direct,
        "compile_warmup_seconds": warmup, "compile_errors": errors,
        "profile_fp32_pgd_step": profile_step(model, on_device[0], budget) if a.profile else None,
        "profile_bf16_channels_last_pgd_step": profile_step(fast, on_device[0], budget) if a.profile else None,
    }, a.out)


def profile_step(model, batch, budget, rows: int = 25) -> dict:
    """The top operators of one PGD step (forward, loss, backward, update) by self device time (self
    CPU time on the CPU), the step's total, and the share of casts and layout copies (`copy_`,
    `_to_copy`: what autocast's weight casts and channels-last conversions cost)."""
    from torch.profiler import ProfilerActivity, profile

    x, y = batch
    cuda = x.is_cuda
    acts = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if cuda else [])
    for _ in range(2):  # warm-up outside the profile
        _pgd_step(model, x, y, budget)
    with profile(activities=acts) as prof:
        _pgd_step(model, x, y, budget)
        if cuda:
            torch.cuda.synchronize()
    key = "self_device_time_total" if cuda else "self_cpu_time_total"
    events = sorted(prof.key_averages(), key=lambda e: getattr(e, key), reverse=True)
    total = sum(getattr(e, key) for e in events)
    copies = sum(getattr(e, key) for e in events if e.key in ("aten::copy_", "aten::_to_copy", "aten::to"))
    return {"total_us": round(total, 1), "copy_share": round(copies / max(total, 1e-9), 3),
            "top": [{"op": e.key, "calls": e.count, "self_us": round(getattr(e, key), 1),
                     "cpu_self_us": round(e.self_cpu_time_total, 1)} for e in events[:rows]]}


def _pgd_step(model, x, y, budget) -> None:
    xa = x.clone().requires_grad_(True)
    loss = torch.nn.functional.cross_entropy(model(xa), y)
    (g,) = torch.autograd.grad(loss, xa)
    (x + budget.eps / 4 * g.sign()).clamp_(0, 1)


if __name__ == "__main__":
    main()
