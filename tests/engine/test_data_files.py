"""User data: CSV, image folders, .npz and .npy files, including the chunked streaming path."""

import pickle

import numpy as np
import pytest
import torch
from PIL import Image

from engine.data import StreamSplit, load_data, preview
from engine.errors import DataError

CPU = torch.device("cpu")


def write_csv(path, n=60):
    rng = np.random.default_rng(0)
    with open(path, "w") as f:
        f.write("a,b,name,label\n")
        for i in range(n):
            f.write(f"{i},{rng.normal():.5f},row{i},{['cat', 'dog', 'eel'][i % 3]}\n")
    return path


def test_csv_chosen_columns_and_string_labels(tmp_path):
    path = write_csv(tmp_path / "t.csv")
    data = load_data({"source": "csv", "path": str(path), "features": ["a", "b"], "target": "label",
                      "normalize": "none"})
    assert data.task == "multiclass" and data.class_names == ["cat", "dog", "eel"]
    assert data.input_shapes == ((2,),) and len(data.train) + len(data.val) + len(data.test) == 60
    a = data.train.inputs[0][:, 0].long()
    assert torch.equal(data.train.target, a % 3)  # label encoding follows the sorted class names


def test_csv_errors_name_the_file_and_column(tmp_path):
    path = write_csv(tmp_path / "t.csv")
    with pytest.raises(DataError, match=r"no column\(s\) \['colour'\].*columns are"):
        load_data({"source": "csv", "path": str(path), "features": ["a", "colour"], "target": "label"})
    with pytest.raises(DataError, match="feature column 'name' is not numeric"):
        load_data({"source": "csv", "path": str(path), "target": "label"})
    with pytest.raises(DataError, match=r"not found: '.*missing\.csv'"):
        load_data({"source": "csv", "path": str(tmp_path / "missing.csv"), "target": "label"})


def test_csv_regression_target_is_a_float_column(tmp_path):
    path = tmp_path / "r.csv"
    path.write_text("x1,x2,y\n" + "".join(f"{i},{i % 7},{i * 0.5}\n" for i in range(40)))
    data = load_data({"source": "csv", "path": str(path), "target": "y", "normalize": "none",
                      "normalize_target": False})
    assert data.task == "regression" and data.target_shape == (1,)
    assert torch.allclose(data.train.target[:, 0], data.train.inputs[0][:, 0] * 0.5)


def make_image_folder(root, size=(12, 10)):
    for c, name in enumerate(["cat", "dog"]):
        (root / name).mkdir(parents=True)
        for i in range(6):
            pixels = np.full((*size, 3), 40 * c + 10 * i, np.uint8)
            pixels[..., 0] = 200 * c
            Image.fromarray(pixels).save(root / name / f"{i}.png")
    (root / "dog" / "notes.txt").write_text("not an image")


@pytest.mark.parametrize(("color", "channels"), [("grayscale", 1), ("rgb", 3)])
def test_image_folder_loads_resized_images_per_class(tmp_path, color, channels):
    make_image_folder(tmp_path / "imgs")
    section = {"source": "image_folder", "path": str(tmp_path / "imgs"), "size": [8, 6], "color": color,
               "task": "multiclass", "normalize": "none", "split": {"val": 0.25, "test": 0.25}}
    data = load_data(section)
    assert data.input_shapes == ((channels, 8, 6),) and data.class_names == ["cat", "dog"]
    assert len(data.train) + len(data.val) + len(data.test) == 12
    x = torch.cat([data.train.inputs[0], data.val.inputs[0], data.test.inputs[0]])
    assert 0 <= x.min() and x.max() <= 1
    if channels == 3:  # red channel is 0 for cats, 200/255 for dogs
        y = torch.cat([data.train.target, data.val.target, data.test.target])
        assert torch.allclose(x[:, 0].mean((1, 2)), y.float() * 200 / 255, atol=1e-3)
    assert preview(section, n=3)[0].label in ("cat", "dog")


def test_image_folder_without_class_folders(tmp_path):
    (tmp_path / "flat").mkdir()
    with pytest.raises(DataError, match="no sub-folders"):
        load_data({"source": "image_folder", "path": str(tmp_path / "flat")})


def test_npz_and_npy_arrays(tmp_path):
    x = np.random.default_rng(0).normal(size=(50, 3, 4, 4)).astype(np.float32)
    y = np.arange(50) % 5
    np.savez(tmp_path / "d.npz", images=x, labels=y)
    data = load_data({"source": "npz", "path": str(tmp_path / "d.npz"), "x_key": "images", "y_key": "labels",
                      "task": "multiclass"})
    assert data.input_shapes == ((3, 4, 4),) and data.num_classes == 5 and data.class_names[0] == "0"
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", y.astype(np.float32) / 10)
    reg = load_data({"source": "npy", "x_path": str(tmp_path / "x.npy"), "y_path": str(tmp_path / "y.npy"),
                     "task": "regression", "normalize": "per_channel"})
    assert reg.target_shape == (1,) and len(reg.normalization["mean"]) == 3
    with pytest.raises(DataError, match="has no array 'x'.*keys are"):
        load_data({"source": "npz", "path": str(tmp_path / "d.npz")})
    np.save(tmp_path / "short.npy", y[:10])
    with pytest.raises(DataError, match="50 samples but the target has 10"):
        load_data({"source": "npy", "x_path": str(tmp_path / "x.npy"), "y_path": str(tmp_path / "short.npy")})


def ids_of(data, split, **kw):
    """Row ids (feature column 0 holds the row number) in the order one epoch yields them."""
    seen = [x[0][:, 0] for x, _ in data.batches(split, 7, device=CPU, **kw)]
    return torch.cat(seen).round().long().tolist()


@pytest.mark.parametrize("workers", [0, 2])
def test_streamed_csv_yields_every_row_once_per_epoch(tmp_path, workers):
    path = tmp_path / "big.csv"
    path.write_text("id,v,label\n" + "".join(f"{i},{i % 11},{'ab'[i % 2]}\n" for i in range(1000)))
    data = load_data({"source": "csv", "path": str(path), "target": "label", "stream": True, "chunk_rows": 64,
                      "normalize": "none", "workers": workers})
    assert isinstance(data.train, StreamSplit) and data.streaming and data.task == "binary"
    with pytest.raises(DataError, match="streamed"):
        _ = data.train.inputs
    seen = {}
    for split in ("train", "val", "test"):
        ids = ids_of(data, split, shuffle=True, generator=torch.Generator().manual_seed(3))
        assert len(ids) == len(set(ids)) == len(data.split(split))
        assert data.num_batches(split, 7) == -(-len(ids) // 7)
        seen[split] = set(ids)
    assert seen["train"] | seen["val"] | seen["test"] == set(range(1000))
    assert 0.6 < len(seen["train"]) / 1000 < 0.8
    first = ids_of(data, "train", shuffle=True, generator=torch.Generator().manual_seed(1))
    second = ids_of(data, "train", shuffle=True, generator=torch.Generator().manual_seed(2))
    assert first != second and sorted(first) == sorted(second)
    batch_x, batch_y = next(data.batches("train", 5, shuffle=False, device=CPU))
    assert torch.equal(batch_y[:, 0], batch_x[0][:, 0] % 2)  # 'a' -> 0, 'b' -> 1


def test_streamed_npy_normalizes_with_train_statistics_only(tmp_path):
    x = np.stack([np.arange(500), np.arange(500) ** 0.5], axis=1).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", (np.arange(500) % 4).astype(np.int64))
    section = {"source": "npy", "x_path": str(tmp_path / "x.npy"), "y_path": str(tmp_path / "y.npy"),
               "stream": True, "chunk_rows": 50, "workers": 0}
    data = load_data(section)
    assert data.num_classes == 4 and data.input_shapes == ((2,),)
    plain = load_data({**section, "normalize": "none"})
    train_rows = torch.cat([b[0][0] for b in plain.batches("train", 64, shuffle=False, device=CPU)]).numpy()
    assert len(train_rows) < 450
    assert np.allclose(data.normalization["mean"], train_rows.mean(0), rtol=1e-5)
    assert np.allclose(data.normalization["std"], train_rows.std(0), rtol=1e-4)
    normed = torch.cat([b[0][0] for b in data.batches("train", 64, shuffle=False, device=CPU)])
    assert torch.allclose(normed.mean(0), torch.zeros(2), atol=1e-4)


def test_auto_streaming_above_the_size_threshold(tmp_path):
    np.save(tmp_path / "x.npy", np.zeros((300, 4), np.float32))
    np.save(tmp_path / "y.npy", np.arange(300) % 3)
    section = {"source": "npy", "x_path": str(tmp_path / "x.npy"), "y_path": str(tmp_path / "y.npy"),
               "normalize": "none", "workers": 0}
    assert not load_data(section).streaming
    assert load_data({**section, "stream_threshold_mb": 0.001}).streaming


def all_rows(data, split):
    batches = list(data.batches(split, 4, shuffle=True, device=CPU, generator=torch.Generator().manual_seed(5)))
    return torch.cat([x[0] for x, _ in batches]), torch.cat([y for _, y in batches])


@pytest.mark.parametrize("workers", [0, 2])
def test_streamed_image_folder_matches_the_in_memory_images(tmp_path, workers):
    make_image_folder(tmp_path / "imgs")
    section = {"source": "image_folder", "path": str(tmp_path / "imgs"), "size": [8, 6], "color": "rgb",
               "normalize": "none", "chunk_rows": 5, "workers": workers}
    streamed, whole = load_data({**section, "stream": True}), load_data(section)
    assert streamed.streaming and not whole.streaming
    assert streamed.class_names == whole.class_names == ["cat", "dog"] and streamed.task == "binary"
    assert streamed.input_shapes == whole.input_shapes == ((3, 8, 6),)
    x, y = zip(*(all_rows(streamed, split) for split in ("train", "val", "test")), strict=True)
    x, y = torch.cat(x), torch.cat(y)
    assert len(x) == 12 and y.shape == (12, 1)
    every = torch.cat([whole.train.inputs[0], whole.val.inputs[0], whole.test.inputs[0]])
    key = lambda images: sorted(images.mean((1, 2, 3)).tolist())  # noqa: E731  one number per image
    assert key(x) == pytest.approx(key(every), abs=1e-6)
    assert torch.allclose(x[:, 0].mean((1, 2)), y[:, 0] * 200 / 255, atol=1e-3)  # red is 200 for dogs only
    assert preview({**section, "stream": True}, n=3)[0].label in ("cat", "dog")


def test_large_image_folders_stream_by_their_decoded_size(tmp_path):
    make_image_folder(tmp_path / "imgs")
    section = {"source": "image_folder", "path": str(tmp_path / "imgs"), "size": [8, 6], "workers": 0}
    assert not load_data(section).streaming
    assert load_data({**section, "stream_threshold_mb": 12 * 8 * 6 * 4 / 2**20 * 0.9}).streaming


def test_streamed_npz_reads_uncompressed_arrays_in_chunks(tmp_path):
    x = np.stack([np.arange(300), np.arange(300) % 7], axis=1).astype(np.float32)
    np.savez(tmp_path / "d.npz", x=x, y=np.arange(300) % 3)
    section = {"source": "npz", "path": str(tmp_path / "d.npz"), "normalize": "none", "chunk_rows": 40,
               "workers": 0}
    data = load_data({**section, "stream": True})
    assert data.streaming and data.num_classes == 3 and data.input_shapes == ((2,),)
    ids = torch.cat([all_rows(data, split)[0][:, 0] for split in ("train", "val", "test")]).long()
    assert sorted(ids.tolist()) == list(range(300))
    rows, target = all_rows(data, "train")
    assert torch.equal(target, rows[:, 0].long() % 3)
    copy = pickle.loads(pickle.dumps(data.train.dataset))  # DataLoader workers started by spawn get a pickled copy
    assert sum(len(x[0]) for x, _ in copy) == len(data.train)
    np.savez_compressed(tmp_path / "z.npz", x=x, y=np.arange(300) % 3)
    with pytest.raises(DataError, match=r"z\.npz' is compressed .*np\.savez or as \.npy"):
        load_data({**section, "path": str(tmp_path / "z.npz"), "stream": True})
    with pytest.raises(DataError, match="has no array 'pixels'; its keys are"):
        load_data({**section, "x_key": "pixels", "stream": True})


def test_streamed_token_ids_stay_whole_numbers_and_are_not_normalized(tmp_path):
    ids = np.random.default_rng(0).integers(0, 50, size=(200, 12))
    np.save(tmp_path / "x.npy", ids)
    np.save(tmp_path / "y.npy", ids[:, 0] % 2)
    data = load_data({"source": "npy", "x_path": str(tmp_path / "x.npy"), "y_path": str(tmp_path / "y.npy"),
                      "tokens": True, "stream": True, "chunk_rows": 64, "workers": 0})
    assert data.input_dtypes == ("int64",) and data.normalization["method"] == "none"
    rows, target = all_rows(data, "train")
    assert rows.dtype == torch.int64 and rows.max() < 50
    assert torch.equal(target[:, 0], (rows[:, 0] % 2).float())
