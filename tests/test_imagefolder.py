"""`imagefolder:<path>`: ImageNet-style folders get timm's labels and names, unreadable images are
skipped and counted, and the whole grid runs at 224x224 with random-init timm models on the CPU."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

from bench.cli import main
from bench.errors import BenchError
from bench.imagefolder import load_imagefolder

SYNSETS = ("n01440764", "n01443537", "n01484850")  # tench, goldfish, great white shark: indices 0, 1, 2


def make_folder(root: Path, classes=SYNSETS, per_class: int = 3, size=(96, 80)) -> Path:
    rng = np.random.default_rng(0)
    for c in classes:
        (root / c).mkdir(parents=True)
        for i in range(per_class):
            Image.fromarray(rng.integers(0, 256, (*size, 3), dtype=np.uint8)).save(root / c / f"{i}.JPEG")
    (root / classes[0] / "broken.jpg").write_bytes(b"not a jpeg")
    (root / classes[0] / "notes.txt").write_text("not an image")
    return root


def test_synset_folders_take_timm_imagenet_labels_and_names(tmp_path):
    ds = load_imagefolder(f"imagefolder:{make_folder(tmp_path / 'val')}", size=64)
    assert ds.num_classes == 1000 and ds.class_names[0] == "tench" and ds.class_names[1] == "goldfish"
    assert ds.train.x.shape[1:] == (3, 64, 64) and len(ds.train) + len(ds.test) == 9
    assert set(ds.train.y.tolist()) | set(ds.test.y.tolist()) == {0, 1, 2}
    assert 0.0 <= float(ds.train.x.min()) and float(ds.train.x.max()) <= 1.0
    assert "1 unreadable skipped" in ds.source


def test_other_folder_names_are_sorted_classes(tmp_path):
    ds = load_imagefolder(f"imagefolder:{make_folder(tmp_path / 'pets', classes=('dog', 'cat'))}", size=32)
    assert ds.class_names == ("cat", "dog") and ds.num_classes == 2


@pytest.mark.parametrize("how,needle", [("missing", "is not a folder"), ("no-classes", "no class sub-folders"),
                                        ("no-images", "no readable images")])
def test_bad_folders_are_one_line_errors(tmp_path, how, needle):
    root = tmp_path / "data"
    if how != "missing":
        root.mkdir()
    if how == "no-images":
        (root / "n01440764").mkdir()
        (root / "n01440764" / "x.jpg").write_bytes(b"garbage")
        (root / "n01440764" / "y.png").write_bytes(b"garbage too")
    with pytest.raises(BenchError, match=needle):
        load_imagefolder(f"imagefolder:{root}", size=32)


def test_only_the_images_a_run_uses_are_decoded_and_unreadable_ones_are_replaced(tmp_path):
    """n_fit + n images are decoded (not the whole folder); a broken file among them is skipped,
    counted, and replaced by the next file of its half; the same seed gives the same images."""
    root = make_folder(tmp_path / "val", per_class=8)  # 24 readable + 1 broken
    full = load_imagefolder(f"imagefolder:{root}", size=32, workers=0)
    assert len(full.train) + len(full.test) == 24 and full.skipped == 1
    ds = load_imagefolder(f"imagefolder:{root}", size=32, n_fit=5, n=7, workers=2)
    assert (len(ds.train), len(ds.test)) == (5, 7)
    again = load_imagefolder(f"imagefolder:{root}", size=32, n_fit=5, n=7, workers=0)
    assert torch.equal(ds.test.x, again.test.x) and torch.equal(ds.train.y, again.train.y)
    # the chosen images are the first readable ones of each seeded half, in order
    assert torch.equal(ds.test.x, full.test.x[:7]) and torch.equal(ds.train.x, full.train.x[:5])


def test_the_transform_follows_the_data_config(tmp_path):
    """Input size, interpolation and crop come from the model's timm data config."""
    root = make_folder(tmp_path / "val", per_class=2)
    a = load_imagefolder(f"imagefolder:{root}", data_config={"input_size": [3, 40, 40], "interpolation": "bilinear",
                                                                "crop_pct": 1.0}, workers=0)
    b = load_imagefolder(f"imagefolder:{root}", data_config={"input_size": [3, 40, 40], "interpolation": "bicubic",
                                                                "crop_pct": 0.5}, workers=0)
    assert a.train.x.shape[1:] == (3, 40, 40) and not torch.equal(a.train.x, b.train.x)
    assert a.transform["interpolation"] == "bilinear" and "40x40, bilinear, crop_pct 1.0" in a.source


def test_dataset_transform_is_the_first_timm_models_and_differences_are_noted():
    from bench.config import RunConfig
    from bench.models import dataset_transform

    notes = []
    cfg = RunConfig(dataset="imagefolder:/x", models=("timm:resnet50.a1_in1k", "timm:vgg16.tv_in1k"))
    tf = dataset_transform(cfg, notes.append)
    assert tf == {"input_size": [3, 224, 224], "interpolation": "bicubic", "crop_pct": 0.95, "crop_mode": "center"}
    assert len(notes) == 1 and "timm:vgg16.tv_in1k" in notes[0]
    assert dataset_transform(RunConfig(), notes.append) is None  # fashion-mnist: no transform


@pytest.mark.slow
def test_grid_at_224_with_random_init_timm_models(tmp_path, capsys):
    """The issue's CPU acceptance: resnet18, densenet121, vgg11 (random init) on a generated folder."""
    root = make_folder(tmp_path / "val", per_class=3)
    code = main(["run", "--dataset", f"imagefolder:{root}", "--models", "timm:resnet18,timm:densenet121,timm:vgg11",
                 "--attacks", "fgsm,pgd", "--eps", "8/255", "--n", "3", "--n-fit", "3", "--batch-size", "3",
                 "--format", "csv,latex,markdown,plots,html",
                 "--output", str(tmp_path / "runs"), "--run-id", "r"])
    assert code == 0, capsys.readouterr().err[-2000:]
    run_dir = tmp_path / "runs" / "r"
    df = pd.read_csv(run_dir / "results.csv")
    assert len(df) == 2 * 3 * 2 * 3 and (df.linf_max <= 8 / 255 + 1e-6).all()
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["dataset"]["classes"][0] == "tench" and manifest["dataset"]["image_shape"] == [3, 224, 224]
    info = manifest["models"]["timm:resnet18"]
    assert info["weights"] == "random init (seed 0)" and info["data_config"]["interpolation"] == "bicubic"
    assert info["data_config"]["input_size"] == [3, 224, 224] and len(info["weights_sha256"]) == 64
    for name in ("index.html", "tables.tex", "report.tex", "summary.md", "plots/heatmaps_all_eps0.03137.png"):
        assert (run_dir / name).is_file(), name


def test_a_changed_folder_changes_the_run_identity(tmp_path):
    """A folder is identified by its files (names, sizes, modification times), not by its path, so the
    cells and fits of a folder whose images changed are never reused."""
    import os

    from bench.config import RunConfig
    from bench.plan import run_identity

    root = make_folder(tmp_path / "val")
    cfg = RunConfig(dataset=f"imagefolder:{root}", models=("timm:resnet18",))

    def identity() -> dict:
        ds = load_imagefolder(cfg.dataset, size=32)
        return run_identity(cfg, ds.transform, ds.fingerprint)

    first = identity()
    assert identity() == first  # reading again changes nothing
    img = root / SYNSETS[1] / "0.JPEG"
    Image.fromarray(np.zeros((96, 80, 3), dtype=np.uint8)).save(img)  # same name, new content
    st = img.stat()
    os.utime(img, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    edited = identity()
    assert edited["data_fingerprint"] != first["data_fingerprint"]
    (root / SYNSETS[2] / "3.JPEG").write_bytes(img.read_bytes())  # a file added
    assert identity()["data_fingerprint"] not in (first["data_fingerprint"], edited["data_fingerprint"])
