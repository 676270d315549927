"""Batching (device-resident, DataLoader, sharded) and augmentation of training batches only."""

import math

import numpy as np
import pytest
import torch

from engine.data import load_data
from engine.data.augment import augment, augment_options
from engine.errors import DataError

CPU = torch.device("cpu")


@pytest.fixture
def numbered(tmp_path):
    """Rows whose features hold their own row number, so batches reveal which samples they contain."""
    x = np.repeat(np.arange(203, dtype=np.float32)[:, None], 3, axis=1)
    np.savez(tmp_path / "n.npz", x=x, y=np.arange(203) % 2)
    return {"source": "npz", "path": str(tmp_path / "n.npz"), "task": "multiclass", "normalize": "none"}


def epoch_ids(data, split="train", batch_size=16, **kw):
    kw.setdefault("shuffle", True)
    batches = list(data.batches(split, batch_size, device=CPU, **kw))
    for inputs, target in batches:
        assert torch.equal(target, inputs[0][:, 0].long() % 2)  # inputs and targets stay paired
    return torch.cat([inputs[0][:, 0] for inputs, _ in batches]).long().tolist(), len(batches)


@pytest.mark.parametrize("resident_max_mb", [1024, 0])  # on the device / through a DataLoader
def test_every_sample_once_per_epoch(numbered, resident_max_mb):
    data = load_data({**numbered, "resident_max_mb": resident_max_mb, "workers": 0})
    g = torch.Generator().manual_seed(0)
    ids, n_batches = epoch_ids(data, generator=g)
    assert sorted(ids) == data.train.inputs[0][:, 0].long().tolist()
    assert n_batches == data.num_batches("train", 16) == math.ceil(len(data.train) / 16)
    ids2, _ = epoch_ids(data, generator=g)
    assert ids2 != ids and sorted(ids2) == sorted(ids)  # a new order each epoch
    assert epoch_ids(data, generator=torch.Generator().manual_seed(0))[0] == ids  # reproducible
    plain, _ = epoch_ids(data, "val", shuffle=False)
    assert plain == data.val.inputs[0][:, 0].long().tolist()


def test_dataloader_workers_give_the_same_samples(numbered):
    data = load_data({**numbered, "resident_max_mb": 0, "workers": 2})
    ids, _ = epoch_ids(data, generator=torch.Generator().manual_seed(4))
    resident = load_data(numbered)
    assert ids == epoch_ids(resident, generator=torch.Generator().manual_seed(4))[0]


def test_resident_tensors_are_moved_once(numbered):
    data = load_data(numbered)
    list(data.batches("train", 50, shuffle=True, device=CPU))
    cached = data._resident[("train", "cpu")]
    list(data.batches("train", 50, shuffle=True, device=CPU))
    assert data._resident[("train", "cpu")] is cached


def test_shards_split_an_epoch_between_processes(numbered):
    data = load_data(numbered)
    shards = [epoch_ids(data, generator=torch.Generator().manual_seed(9), rank=r, world_size=2)[0]
              for r in (0, 1)]
    assert len(shards[0]) == len(shards[1]) == math.ceil(len(data.train) / 2)
    assert set(shards[0]) | set(shards[1]) == set(data.train.inputs[0][:, 0].long().tolist())
    assert data.num_batches("train", 16, world_size=2) == math.ceil(len(shards[0]) / 16)


def test_augmentation_changes_training_batches_only():
    data = load_data({"name": "digits", "augment": {"hflip": True, "rotate_deg": 10, "crop_pad": 1,
                                                     "noise_std": 0.1}})
    kw = {"shuffle": False, "device": CPU, "generator": torch.Generator().manual_seed(0)}
    (plain,), y_plain = next(data.batches("train", 64, **kw))
    (augmented,), y_aug = next(data.batches("train", 64, augment=True, **kw))
    assert augmented.shape == plain.shape and torch.equal(y_aug, y_plain)
    assert not torch.allclose(augmented, plain, atol=0.05)
    assert torch.equal(next(data.batches("val", 64, **kw))[0][0], data.val.inputs[0][:64])
    with pytest.raises(ValueError, match="train split only"):
        next(data.batches("val", 64, augment=True, **kw))


def test_augmentation_ops():
    g = torch.Generator().manual_seed(0)
    x = torch.arange(2 * 1 * 4 * 4, dtype=torch.float32).reshape(2, 1, 4, 4)
    flipped = augment(x.repeat(64, 1, 1, 1), augment_options({"hflip": True}), g)
    same = (flipped == x.repeat(64, 1, 1, 1)).flatten(1).all(1)
    mirrored = (flipped == x.flip(-1).repeat(64, 1, 1, 1)).flatten(1).all(1)
    assert (same | mirrored).all() and same.any() and mirrored.any()
    cropped = augment(x.repeat(32, 1, 1, 1), augment_options({"crop_pad": 1}), g)
    rows = x.repeat(32, 1, 1, 1)
    # every crop is the image shifted by at most one pixel with zeros coming in
    shifts = [torch.roll(torch.nn.functional.pad(rows, (1, 1, 1, 1)), (dy, dx), (2, 3))[..., 1:5, 1:5]
              for dy in (-1, 0, 1) for dx in (-1, 0, 1)]
    assert all(any(torch.allclose(c, s[i], atol=1e-4) for s in shifts) for i, c in enumerate(cropped))
    tokens = torch.arange(10).reshape(2, 5)
    assert augment(tokens, augment_options({"noise_std": 1.0}), g) is tokens
    with pytest.raises(DataError, match="Unknown augmentation"):
        augment_options({"vflip": True})


def test_denoising_autoencoder_target_is_the_clean_augmented_image():
    data = load_data({"name": "digits", "task": "autoencoder", "augment": {"hflip": True, "noise_std": 0.5}})
    (noisy,), clean = next(data.batches("train", 128, shuffle=False, device=CPU, augment=True))
    originals = data.train.inputs[0][:128]
    assert ((clean == originals) | (clean == originals.flip(-1))).flatten(1).all(1).all()
    assert (noisy - clean).std().item() == pytest.approx(0.5, rel=0.1)


def test_cuda_batches_when_available():
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    cuda = torch.device("cuda")
    data = load_data({"name": "digits", "augment": {"rotate_deg": 15, "noise_std": 0.1}})
    g = torch.Generator(device=cuda).manual_seed(0)
    seen = 0
    for (x,), y in data.batches("train", 100, shuffle=True, device=cuda, generator=g, augment=True):
        assert x.is_cuda and y.is_cuda
        seen += len(y)
    assert seen == len(data.train)
