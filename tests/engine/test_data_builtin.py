"""Every built-in dataset loads offline with the promised shapes, dtypes and classes, and no NaN."""

import json

import numpy as np
import pytest
import torch

from engine.data import list_builtin, load_data, preview
from engine.errors import DataError

# name -> (task, input shapes, input dtypes, target shape, num_classes)
EXPECTED = {
    "digits": ("multiclass", ((1, 8, 8),), ("float32",), (), 10),
    "iris": ("multiclass", ((4,),), ("float32",), (), 3),
    "wine": ("multiclass", ((13,),), ("float32",), (), 3),
    "breast_cancer": ("binary", ((30,),), ("float32",), (1,), 2),
    "mnist": ("multiclass", ((1, 28, 28),), ("float32",), (), 10),
    "mnist1d": ("multiclass", ((1, 40),), ("float32",), (), 10),
    "sunspots": ("regression", ((20, 1),), ("float32",), (1,), None),
    "co2": ("regression", ((52, 1),), ("float32",), (1,), None),
    "sine": ("regression", ((30, 1),), ("float32",), (1,), None),
    "sine_from_params": ("regression", ((3,),), ("float32",), (30, 1), None),
    "adding_problem": ("regression", ((50, 2),), ("float32",), (1,), None),
    "toy_text": ("binary", ((20,),), ("int64",), (1,), 2),
    "toy_reviews": ("binary", ((27,),), ("int64",), (1,), 2),
    "tagging": ("multiclass", ((20,),), ("int64",), (20,), 3),
    "digit_pairs": ("siamese", ((1, 8, 8), (1, 8, 8)), ("float32", "float32"), (), 2),
    "ratings": ("regression", ((), ()), ("int64", "int64"), (1,), None),
    "digit_boxes": ("regression", ((1, 24, 24),), ("float32",), (4,), None),
    "shapes_seg": ("multiclass", ((1, 16, 16),), ("float32",), (16, 16), 3),
    "digit_scenes": ("detection", ((1, 48, 48),), ("float32",), (4, 5), 5),
}


def test_registry_lists_every_dataset_with_a_description():
    infos = {info.name: info for info in list_builtin()}
    assert set(infos) == set(EXPECTED)
    for info in infos.values():
        assert info.title and len(info.description) > 80
        assert info.task == EXPECTED[info.name][0]
        json.dumps(info.to_dict())


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_builtin_loads_offline(name):
    task, shapes, dtypes, target_shape, num_classes = EXPECTED[name]
    data = load_data({"source": "builtin", "name": name})
    assert (data.task, data.input_shapes, data.input_dtypes) == (task, shapes, dtypes)
    assert data.target_shape == target_shape and data.num_classes == num_classes
    total = sum(len(data.split(s)) for s in ("train", "val", "test"))
    assert len(data.train) > len(data.val) > 0 and len(data.test) > 0 and total >= 150
    for split in ("train", "val", "test"):
        part = data.split(split)
        for x, shape, dtype in zip(part.inputs, shapes, dtypes, strict=True):
            assert x.shape[1:] == shape and str(x.dtype).endswith(dtype) and len(x) == len(part)
            assert torch.isfinite(x.float()).all()
        assert part.target.shape[1:] == target_shape and torch.isfinite(part.target.float()).all()
        if task == "multiclass":
            assert part.target.dtype == torch.int64 and 0 <= part.target.min() and part.target.max() < num_classes
        if task in ("binary", "siamese"):
            assert set(part.target.unique().tolist()) <= {0.0, 1.0}
    if num_classes:
        assert len(data.class_names) == num_classes
    if "int64" in dtypes:
        assert data.vocab_size is not None and all(int(x.max()) < v for x, v in
                                                  zip(data.train.inputs, data.vocab_sizes, strict=True))
    assert json.loads(json.dumps(data.describe()))["splits"]["train"] == len(data.train)


def test_class_balance_and_semantics_of_generated_sets():
    pairs = load_data({"name": "digit_pairs", "normalize": "none"})
    same = pairs.train.target.bool()
    equal = (pairs.train.inputs[0] == pairs.train.inputs[1]).flatten(1).all(1)
    assert not equal[~same].any()  # different-class pairs never show the same image
    assert 0.4 < same.float().mean() < 0.6
    adding = load_data({"name": "adding_problem", "options": {"seq_len": 10, "n_samples": 200}})
    x, y = adding.train.inputs[0], adding.train.target
    assert torch.allclose((x[..., 0] * x[..., 1]).sum(1, keepdim=True), y) and (x[..., 1].sum(1) == 2).all()
    text = load_data({"name": "toy_text", "normalize": "none"})
    tokens, label = text.train.inputs[0], text.train.target[:, 0].bool()
    has_pattern = ((tokens[:, :-1] == 1) & (tokens[:, 1:] == 2)).any(1)
    assert torch.equal(has_pattern, label) and (tokens > 0).all()


def test_toy_reviews_are_raw_texts_whose_negations_flip_the_opinion_word():
    from engine.data.builtin import _BAD, _GOOD, load_builtin
    from engine.data.text import tokenize

    raw = load_builtin("toy_reviews", {"n_samples": 400})
    assert raw.inputs == () and raw.class_names == ["negative", "positive"] and 0.4 < raw.target.mean() < 0.6
    lengths = [len([w for w in tokenize(t) if w.isalpha()]) for t in raw.texts]
    assert min(lengths) >= 4 and max(lengths) <= 25 and len(set(lengths)) > 10
    negated = 0
    for text, label in zip(raw.texts, raw.target[:, 0], strict=True):
        words = tokenize(text)
        votes = set()
        for i, word in enumerate(words):
            if word in _GOOD or word in _BAD:
                before = words[max(i - 2, 0):i]
                flipped = "not" in before or "never" in before  # "not good", "not very good"
                votes.add((word in _GOOD) != flipped)
                negated += flipped
        assert votes == {bool(label)}, text
    assert 100 < negated < 300  # a good share of the opinions is negated
    again = load_builtin("toy_reviews", {"n_samples": 400})
    assert list(again.texts) == list(raw.texts)


def test_sine_from_params_targets_are_the_waves_the_inputs_describe():
    data = load_data({"name": "sine_from_params", "options": {"n_samples": 300, "noise": 0.0}, "normalize": "none"})
    (amp, freq, phase), wave = data.train.inputs[0].T, data.train.target[..., 0]
    steps = torch.arange(30)
    expected = amp[:, None] * torch.sin(freq[:, None] * steps + phase[:, None])
    assert torch.allclose(wave, expected, atol=1e-4)


def test_digit_boxes_are_tight_unscaled_boxes_around_the_pasted_digit():
    data = load_data({"name": "digit_boxes", "options": {"n_samples": 300}})
    assert data.normalization == {"method": "none"}  # images stay in [0, 1], boxes stay fractions
    x, box = data.train.inputs[0][:, 0], data.train.target * 24
    x0, y0 = (box[:, :2] - box[:, 2:] / 2).round().long().T
    x1, y1 = (box[:, :2] + box[:, 2:] / 2).round().long().T
    assert (x0 >= 0).all() and (y0 >= 0).all() and (x1 <= 24).all() and (y1 <= 24).all()
    assert (box[:, 2:] >= 1).all() and (box[:, 2:] <= 16).all()
    for img, a, b, c, d in zip(x, x0, y0, x1, y1, strict=True):
        inside = img[b:d, a:c]
        edges = (inside[0].max(), inside[-1].max(), inside[:, 0].max(), inside[:, -1].max())
        assert min(edges) > 0.25  # tight: ink touches every side of the box
        outside = img.clone()
        outside[b:d, a:c] = 0
        assert outside.max() < 0.4  # only faint noise (and faint digit edges) outside it


def test_shapes_seg_masks_mark_bright_squares_and_discs():
    data = load_data({"name": "shapes_seg", "options": {"n_samples": 300}, "normalize": "none"})
    x, mask = data.train.inputs[0][:, 0], data.train.target
    assert data.class_names == ["background", "square", "disc"]
    assert set(mask.unique().tolist()) == {0, 1, 2} and ((mask > 0).flatten(1).any(1)).all()
    assert x[mask > 0].mean() > 0.6 > 0.1 > x[mask == 0].abs().mean()
    again = load_data({"name": "shapes_seg", "options": {"n_samples": 300}, "normalize": "none"})
    assert torch.equal(again.train.target, mask)


def test_series_next_step_and_image_autoencoder_variants():
    step = load_data({"name": "sine", "task": "next_step", "normalize": "none"})
    x, y = step.train.inputs[0], step.train.target
    assert y.shape == x.shape and torch.equal(x[:, 1:], y[:, :-1])
    auto = load_data({"name": "digits", "task": "autoencoder"})
    assert auto.target_shape == (1, 8, 8) and torch.equal(auto.train.target, auto.train.inputs[0])


def test_series_split_in_time_order_and_scaled_targets():
    data = load_data({"name": "sunspots", "options": {"window": 10}})
    assert data.normalization["method"] == "standardize" and "target" in data.normalization
    raw = load_data({"name": "sunspots", "options": {"window": 10}, "normalize": "none"})
    # windows are not shuffled: the first test window starts right after the last validation one
    assert torch.equal(raw.val.inputs[0][-1, 1:], raw.test.inputs[0][0, :-1])
    back = data.denormalize_target(data.test.target)
    assert torch.allclose(back, raw.test.target, atol=1e-3)


def test_options_and_seed():
    a = load_data({"name": "ratings", "options": {"n_users": 20, "n_items": 10, "n_ratings": 150}}, seed=1)
    b = load_data({"name": "ratings", "options": {"n_users": 20, "n_items": 10, "n_ratings": 150}}, seed=1)
    c = load_data({"name": "ratings", "options": {"n_users": 20, "n_items": 10, "n_ratings": 150}}, seed=2)
    assert len(a.train) + len(a.val) + len(a.test) == 150 and a.vocab_sizes == (20, 10)
    assert torch.equal(a.train.target, b.train.target) and not torch.equal(a.train.target, c.train.target)


def test_preview_gives_raw_samples_with_labels():
    samples = preview({"source": "builtin", "name": "digits"}, n=5)
    assert len(samples) == 5
    for s in samples:
        assert s.inputs[0].shape == (1, 8, 8) and 0 <= s.inputs[0].min() and s.inputs[0].max() <= 1
        assert s.label == str(int(s.target))
    pair = preview({"name": "digit_pairs"}, n=2)[0]
    assert len(pair.inputs) == 2 and pair.label in ("same", "different")
    assert len(preview({"name": "tagging"}, n=1)[0].label.split()) == 20
    mask = preview({"name": "shapes_seg"}, n=1)[0]  # a class per pixel: the classes the mask holds
    assert mask.label == "+".join(["background", "square", "disc"][c] for c in np.unique(mask.target))


def test_unknown_dataset_option_and_task_raise_data_error():
    with pytest.raises(DataError, match="Unknown built-in dataset 'cifar'.*digits"):
        load_data({"source": "builtin", "name": "cifar"})
    with pytest.raises(DataError, match="'iris' has no option"):
        load_data({"name": "iris", "options": {"n_samples": 3}})
    with pytest.raises(DataError, match="supports tasks"):
        load_data({"name": "iris", "task": "regression"})
    with pytest.raises(DataError, match="Unknown data source"):
        load_data({"source": "ftp"})


def test_mnist1d_generation_leaves_global_random_state_alone():
    np.random.seed(123)
    expected = np.random.rand()
    np.random.seed(123)
    load_data({"name": "mnist1d", "options": {"n_samples": 500}})
    assert np.random.rand() == expected
