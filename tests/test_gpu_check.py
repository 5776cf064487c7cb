"""benchmarks/gpu_check.sh, dry (GPU_CHECK_DRY=1: each step's command printed, nothing run): its steps
call the benchmark scripts with flags those scripts accept, and the issue-18 preset fits one command of
the lent machine (10 minutes). A GPU session is short and rare; a flag that drifted would waste it."""
from __future__ import annotations

import importlib.util
import os
import shlex
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
COMMAND_LIMIT_S = 600  # one command on the lent machine (device README)


def run_dry(tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    """gpu_check.sh with GPU_CHECK_DRY=1 and `env`, writing under `tmp_path`."""
    return subprocess.run(["bash", str(ROOT / "benchmarks" / "gpu_check.sh")], capture_output=True, text=True,
                          env={**os.environ, "OUT": str(tmp_path), "GPU_CHECK_DRY": "1", **env}, timeout=60)


def dry_steps(tmp_path: Path, **env: str) -> dict[str, list[str]]:
    """{step name: its command's words} as gpu_check.sh would run them."""
    out = run_dry(tmp_path, **env)
    assert out.returncode == 0, out.stderr
    steps = {}
    for line in out.stdout.splitlines():
        name, _, command = line.removeprefix("step ").partition(": ")
        steps[name] = shlex.split(command)
    return steps


def parse(words: list[str]) -> tuple[dict[str, str], object]:
    """The timeout (if any) and the script's parsed arguments, through the script's own parser."""
    limits = {}
    if words[0] == "timeout":
        limits["timeout"], words = words[1], words[2:]
    assert words[0] == "python3", words
    script = ROOT / words[1]
    spec = importlib.util.spec_from_file_location(f"gpu_check_{script.stem}", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return limits, module.build_parser().parse_args(words[2:])  # SystemExit (a failed test) on a bad flag


def test_issue18_preset_parses_and_fits_one_command(tmp_path):
    steps = dry_steps(tmp_path, GPU_CHECK_PRESET="issue18")
    assert set(steps) == {"imagenet"}
    i_limit, imagenet = parse(steps["imagenet"])
    assert imagenet.amp == "bf16" and imagenet.compile and imagenet.scale == 40 and imagenet.full_estimate
    # under its timeout, with a minute left for installing the wheels and the summary
    assert int(i_limit["timeout"]) <= COMMAND_LIMIT_S - 60
    # the compiled throughput again, by hand: both steps still fit one command
    steps = dry_steps(tmp_path, GPU_CHECK_PRESET="issue18", GPU_CHECK_STEPS="throughput imagenet",
                      GPU_CHECK_TIMEOUT_imagenet="420")
    (t_limit, throughput), (i_limit, _) = parse(steps["throughput"]), parse(steps["imagenet"])
    assert throughput.compile_modes == "default" and throughput.compile_dtypes == "bf16_channels_last"
    assert int(t_limit["timeout"]) + int(i_limit["timeout"]) <= COMMAND_LIMIT_S - 60


def test_default_steps_parse_and_variables_set_by_hand_win(tmp_path):
    steps = dry_steps(tmp_path)
    assert set(steps) == {"ssim", "throughput", "e2e"}
    for name in ("ssim", "throughput"):
        parse(steps[name])
    steps = dry_steps(tmp_path, GPU_CHECK_PRESET="issue18", GPU_CHECK_SCALE="10")
    assert parse(steps["imagenet"])[1].scale == 10


def test_a_dry_run_writes_nothing(tmp_path):
    """The default OUT is a committed results folder: a dry run emptied its log.txt."""
    (tmp_path / "log.txt").write_text("a GPU run's log\n")
    assert run_dry(tmp_path, GPU_CHECK_PRESET="issue18").returncode == 0
    assert [p.name for p in tmp_path.iterdir()] == ["log.txt"] and (tmp_path / "log.txt").read_text() == "a GPU run's log\n"
    assert run_dry(tmp_path / "new").returncode == 0 and not (tmp_path / "new").exists()


def test_unknown_preset_is_one_line(tmp_path):
    out = run_dry(tmp_path, GPU_CHECK_PRESET="x")
    assert out.returncode == 2 and out.stderr.strip().splitlines() == [
        "unknown GPU_CHECK_PRESET=x; the preset is issue18"]


@pytest.mark.parametrize("script", ["throughput_224.py", "imagenet_phases.py", "ssim_speed.py"])
def test_a_drifted_flag_fails(script):
    """The check can fail: a flag the script does not have is refused by its parser."""
    with pytest.raises(SystemExit):
        parse(["python3", f"benchmarks/{script}", "--no-such-flag"])
