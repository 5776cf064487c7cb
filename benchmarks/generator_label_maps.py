"""The target-conditional ResNet generator (targeted gap, ttp) at ImageNet size: one forward and
backward with the one-hot label maps concatenated (the papers' construction, used up to 128 classes)
against their per-class-constant form (used above), same weights, CPU.

    .venv/bin/python benchmarks/generator_label_maps.py --classes 1000 --size 224 --batch 4
"""
from __future__ import annotations

import argparse
import resource
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from attacks.generative.networks import ResnetGenerator, ResnetGeneratorConfig
from benchlib import write_result

ROOT = Path(__file__).resolve().parents[1]


def concatenated(gen: ResnetGenerator, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
    maps = F.one_hot(c, gen.cfg.num_classes).to(x.dtype)[:, :, None, None].expand(-1, -1, *x.shape[-2:])
    return torch.tanh(gen.net(torch.cat([x, maps], dim=1)))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--classes", type=int, default=1000)
    p.add_argument("--size", type=int, default=224)
    p.add_argument("--batch", type=int, default=4)
    p.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "generator_label_maps.json"))
    a = p.parse_args()
    torch.manual_seed(0)
    gen = ResnetGenerator(ResnetGeneratorConfig(3, num_classes=a.classes))
    x = torch.rand(a.batch, 3, a.size, a.size)
    c = torch.randint(a.classes, (a.batch,))
    out, seconds, peak = {}, {}, {}
    for tag, fn in (("constant", lambda: gen(x, c)), ("concatenated", lambda: concatenated(gen, x, c))):
        gen.zero_grad()
        t0 = time.perf_counter()
        y = fn()
        y.square().mean().backward()
        seconds[tag] = round(time.perf_counter() - t0, 2)
        out[tag] = y.detach()
        peak[tag] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 2)  # GiB, monotone
    write_result({"benchmark": "generator_label_maps", "classes": a.classes, "size": a.size, "batch": a.batch,
                  "ngf": gen.cfg.ngf, "threads": torch.get_num_threads(), "forward_backward_seconds": seconds,
                  "process_peak_rss_gib_after": peak,
                  "concatenated_input_gib": round(a.batch * (3 + a.classes) * (a.size + 6) ** 2 * 4 / 2**30, 2),
                  "max_abs_difference": float((out["constant"] - out["concatenated"]).abs().max())}, a.out)


if __name__ == "__main__":
    main()
