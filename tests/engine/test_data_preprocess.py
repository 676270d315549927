"""Splits and normalization: statistics come from the training split only; stratification keeps proportions."""

import numpy as np
import pytest
import torch

from engine.data import load_data
from engine.data.preprocess import split_indices
from engine.errors import DataError


def npz_section(tmp_path, x, y, **extra):
    np.savez(tmp_path / "d.npz", x=x, y=y)
    return {"source": "npz", "path": str(tmp_path / "d.npz"), **extra}


def test_standardize_uses_train_statistics_only(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(5, 3, (400, 3)).astype(np.float32) * np.array([1, 10, 100], np.float32)
    section = npz_section(tmp_path, x, np.arange(400) % 4, task="multiclass")
    raw = load_data({**section, "normalize": "none"})
    data = load_data(section)  # default: standardize
    train = raw.train.inputs[0].double().numpy()
    assert np.allclose(data.normalization["mean"], train.mean(0), rtol=1e-6)
    assert np.allclose(data.normalization["std"], train.std(0), rtol=1e-6)
    assert not np.allclose(data.normalization["mean"], x.mean(0), rtol=1e-6)  # all rows would differ
    assert torch.allclose(data.train.inputs[0].mean(0), torch.zeros(3), atol=1e-4)
    assert torch.allclose(data.test.inputs[0], (raw.test.inputs[0] - torch.tensor(data.normalization["mean"],
                          dtype=torch.float32)) / torch.tensor(data.normalization["std"], dtype=torch.float32),
                          atol=1e-5)


def test_minmax_and_per_channel_statistics(tmp_path):
    rng = np.random.default_rng(1)
    x = rng.uniform(0, 1, (120, 3, 4, 4)).astype(np.float32) * np.array([1, 2, 4], np.float32)[:, None, None]
    section = npz_section(tmp_path, x, np.arange(120) % 2, task="multiclass")
    raw = load_data({**section, "normalize": "none"}).train.inputs[0].numpy()
    mm = load_data({**section, "normalize": "minmax"})
    assert mm.normalization["axis"] is None and np.isclose(mm.normalization["min"][0], raw.min())
    assert np.isclose(mm.normalization["max"][0], raw.max())
    assert mm.train.inputs[0].min() == 0 and np.isclose(mm.train.inputs[0].max().item(), 1)
    pc = load_data({**section, "normalize": "per_channel"})
    assert pc.normalization["axis"] == 0
    assert np.allclose(pc.normalization["mean"], raw.mean((0, 2, 3)), rtol=1e-5)
    assert torch.allclose(pc.train.inputs[0].std((0, 2, 3), unbiased=False), torch.ones(3), atol=1e-4)


def test_apply_preprocessing_matches_training_inputs(tmp_path):
    x = np.random.default_rng(2).normal(size=(90, 1, 5, 5)).astype(np.float32) + 3
    data = load_data(npz_section(tmp_path, x, np.arange(90) % 3, task="multiclass", normalize="per_channel",
                                 split={"val": 0.0, "test": 0.0}))
    assert torch.allclose(data.apply_preprocessing(x), data.train.inputs[0], atol=1e-5)
    one = data.apply_preprocessing(torch.from_numpy(x[7]))
    assert one.shape == (1, 1, 5, 5) and torch.allclose(one[0], data.train.inputs[0][7], atol=1e-5)
    with pytest.raises(DataError, match="per-sample shape"):
        data.apply_preprocessing(np.zeros((2, 5, 5)))
    tokens = load_data({"name": "toy_text"})
    assert tokens.apply_preprocessing(np.array([3, 1, 2] * 6 + [4, 5])).dtype == torch.int64


def test_stratified_split_keeps_class_proportions():
    labels = np.repeat([0, 1, 2], [600, 300, 100])
    parts = split_indices(1000, 0.2, 0.1, 0, labels)
    assert sum(len(p) for p in parts.values()) == 1000
    assert len(np.unique(np.concatenate(list(parts.values())))) == 1000
    for name, frac in (("train", 0.7), ("val", 0.2), ("test", 0.1)):
        counts = np.bincount(labels[parts[name]], minlength=3)
        assert np.abs(counts - np.array([600, 300, 100]) * frac).max() <= 1, name
    again = split_indices(1000, 0.2, 0.1, 0, labels)
    other = split_indices(1000, 0.2, 0.1, 1, labels)
    assert np.array_equal(again["test"], parts["test"]) and not np.array_equal(other["test"], parts["test"])


def test_builtin_split_is_stratified_and_seeded():
    data = load_data({"name": "digits", "split": {"val": 0.2, "test": 0.2, "seed": 5}})
    shares = [torch.bincount(data.split(s).target, minlength=10) / len(data.split(s)) for s in ("train", "test")]
    assert (shares[0] - shares[1]).abs().max() < 0.01


def test_bad_split_and_normalization_raise_data_error():
    with pytest.raises(DataError, match="sum to less than 1"):
        load_data({"name": "iris", "split": {"val": 0.5, "test": 0.5}})
    with pytest.raises(DataError, match="Unknown normalization 'zscore'"):
        load_data({"name": "iris", "normalize": "zscore"})
    with pytest.raises(DataError, match="stratified split"):
        split_indices(5, 0.2, 0.2, 0, np.array([0, 0, 0, 1, 2]))
