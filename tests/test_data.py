"""Datasets: IDX parsing, the search order for Fashion-MNIST, clear errors, seeded disjoint splits."""
from __future__ import annotations

import gzip
import struct

import numpy as np
import pytest
import torch

from bench import data
from bench.data import load_dataset, load_fashion_mnist, make_splits, subset
from bench.errors import BenchError


def _write_idx(path, array: np.ndarray, compress: bool) -> None:
    header = struct.pack(">HBB", 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    blob = header + array.astype(np.uint8).tobytes()
    if compress:
        with gzip.open(str(path) + ".gz", "wb") as fh:
            fh.write(blob)
    else:
        path.write_bytes(blob)


def fake_fashion_mnist(folder, n_train=30, n_test=20, compress=True):
    rng = np.random.default_rng(0)
    for part, n in (("train", n_train), ("t10k", n_test)):
        _write_idx(folder / f"{part}-images-idx3-ubyte", rng.integers(0, 256, (n, 28, 28)), compress)
        _write_idx(folder / f"{part}-labels-idx1-ubyte", rng.integers(0, 10, (n,)), compress)
    return folder


@pytest.mark.parametrize("compress", [True, False], ids=["gz", "raw"])
def test_reads_idx_files_from_explicit_dir(tmp_path, compress):
    ds = load_fashion_mnist(fake_fashion_mnist(tmp_path, compress=compress))
    assert ds.train.x.shape == (30, 1, 28, 28) and ds.test.x.shape == (20, 1, 28, 28)
    assert ds.train.x.dtype == torch.float32
    assert 0.0 <= float(ds.train.x.min()) and float(ds.train.x.max()) <= 1.0
    assert ds.num_classes == 10 and ds.class_names[9] == "Ankle boot"


def test_bench_data_env_is_used(tmp_path, monkeypatch):
    monkeypatch.setenv("BENCH_DATA", str(fake_fashion_mnist(tmp_path)))
    monkeypatch.setattr(data, "DEBIAN_FASHION_MNIST", tmp_path / "nowhere")
    assert load_fashion_mnist().source == str(tmp_path)


def test_missing_data_names_the_three_ways(tmp_path, monkeypatch):
    monkeypatch.delenv("BENCH_DATA", raising=False)
    monkeypatch.setattr(data, "DEBIAN_FASHION_MNIST", tmp_path / "nowhere")
    with pytest.raises(BenchError) as err:
        load_fashion_mnist(cache_dir=tmp_path)
    msg = str(err.value)
    assert "apt-get install dataset-fashion-mnist" in msg and "--data-dir" in msg and "--download" in msg
    assert "\n" not in msg


def test_explicit_dir_without_files_is_an_error(tmp_path):
    with pytest.raises(BenchError, match="no Fashion-MNIST IDX files in --data-dir"):
        load_fashion_mnist(tmp_path)


def test_corrupt_idx_file_is_reported(tmp_path):
    fake_fashion_mnist(tmp_path)
    (tmp_path / "train-images-idx3-ubyte.gz").write_bytes(b"not gzip at all")
    with pytest.raises(BenchError, match="corrupt IDX file"):
        load_fashion_mnist(tmp_path)


def test_unknown_dataset_suggests_names():
    with pytest.raises(BenchError, match="did you mean 'fashion-mnist'"):
        load_dataset("fashion-mnst")


def test_splits_are_seeded_disjoint_and_sized(synthetic):
    fit, ev = make_splits(synthetic, 300, 200, seed=5)
    fit2, ev2 = make_splits(synthetic, 300, 200, seed=5)
    assert len(fit) == 300 and len(ev) == 200
    assert torch.equal(fit.x, fit2.x) and torch.equal(ev.y, ev2.y)
    other, _ = make_splits(synthetic, 300, 200, seed=6)
    assert not torch.equal(fit.x, other.x)
    # fit comes from train and eval from test: no eval image is a fit image
    flat_fit = {tuple(v) for v in fit.x.flatten(1).numpy().round(6)}
    assert not any(tuple(v) in flat_fit for v in ev.x.flatten(1).numpy().round(6))


@pytest.mark.parametrize("n,msg", [(0, "positive"), (-3, "positive"), (10**6, "larger than")])
def test_bad_split_sizes(synthetic, n, msg):
    with pytest.raises(BenchError, match=msg):
        subset(synthetic.test, n, 0, what="n")


def test_real_fashion_mnist_when_installed():
    if not data._has_fashion_mnist(data.DEBIAN_FASHION_MNIST):
        pytest.skip("dataset-fashion-mnist is not installed (CI installs it)")
    ds = load_fashion_mnist(data.DEBIAN_FASHION_MNIST)
    assert len(ds.train) == 60000 and len(ds.test) == 10000
    assert sorted(ds.test.y.unique().tolist()) == list(range(10))
