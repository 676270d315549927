"""A CSV column of raw text: tokens, a training-split vocabulary, padding, training and predicting on new text."""

from __future__ import annotations

import numpy as np
import pytest
from train_helpers import chain, single_thread

from engine.data import load_data, preview
from engine.data.text import FIRST_WORD, PAD, UNKNOWN, auto_length, encode, fit_vocab, tokenize
from engine.errors import DataError, TrainingError
from engine.predict import predict_file
from engine.runs import create_run
from engine.train.trainer import Trainer

GOOD = ["great", "wonderful", "moving", "brilliant", "funny", "superb"]
BAD = ["boring", "awful", "dull", "terrible", "clumsy", "tedious"]
FILLER = ["the", "film", "plot", "actors", "was", "and", "story", "ending", "a", "music", "really", "quite"]


def write_reviews(path, n: int = 600, seed: int = 0):
    """Reviews of 3 to 20 words; the label is which kind of opinion word they hold."""
    rng = np.random.default_rng(seed)
    rows = ["review,opinion"]
    for i in range(n):
        words = list(rng.choice(FILLER, rng.integers(2, 19)))
        good = i % 2 == 0
        words.insert(int(rng.integers(0, len(words) + 1)), str(rng.choice(GOOD if good else BAD)))
        text = " ".join(words).capitalize() + ("!" if i % 3 == 0 else ".")
        rows.append(f'"{text}",{"positive" if good else "negative"}')
    path.write_text("\n".join(rows) + "\n")
    return path


def test_tokens_vocabulary_padding_and_unknown_words():
    assert tokenize("Great film, really!") == ["great", "film", ",", "really", "!"]
    vocab = fit_vocab(["a b b", "b c"], max_words=2)
    assert vocab == ["b", "a"]  # most frequent first, ties alphabetical, cut at max_words
    ids = encode(["b a c", "a a a a a"], vocab, 4)
    assert ids.tolist() == [[FIRST_WORD, FIRST_WORD + 1, UNKNOWN, PAD], [FIRST_WORD + 1] * 4]
    assert auto_length(["one two", "one two three"] * 10) == 3


def test_a_text_column_trains_a_classifier_and_predicts_new_sentences(tmp_path):
    section = {"source": "csv", "path": str(write_reviews(tmp_path / "reviews.csv")), "text": "review",
               "target": "opinion"}
    data = load_data(section)
    info = data.text
    assert data.task == "binary" and data.class_names == ["negative", "positive"]
    assert data.input_dtypes == ("int64",) and data.input_shapes == ((info["seq_len"],),)
    assert 15 <= info["seq_len"] <= 21 and data.vocab_size == len(info["vocab"]) + FIRST_WORD
    train_ids = data.train.inputs[0]
    assert int(train_ids.max()) < data.vocab_size and (train_ids[:, -1] == PAD).float().mean() > 0.5
    shown = preview(section, n=2)[0].inputs[0].item()
    assert isinstance(shown, str) and any(w in shown.lower() for w in GOOD + BAD)  # the preview shows raw text
    graph = chain("reviews", {"kind": "tokens", "seq_len": info["seq_len"]}, [
        ("Embedding", {"num_embeddings": data.vocab_size, "embedding_dim": 16, "padding_idx": 0}),
        ("Permute", {"dims": [1, 0]}), ("GlobalAvgPool", {}), ("Dense", {"units": 1}),
    ], "binary", section, {"epochs": 25, "lr": 0.02, "batch_size": 32, "events": {"summaries": False}})
    run = create_run(graph, tmp_path / "runs")
    with single_thread():
        result = Trainer(graph, data=data, run=run).fit()
    assert result.final["test_accuracy"] >= 0.95
    (tmp_path / "new.txt").write_text("What a superb and moving story\nThe plot was tedious.\n")
    rows = predict_file(run.path, tmp_path / "new.txt")
    assert [r["classes"][0][0] for r in rows] == ["positive", "negative"]


def test_the_vocabulary_comes_from_the_training_split_only(tmp_path):
    path = write_reviews(tmp_path / "reviews.csv", n=200)
    with path.open("a") as f:
        f.writelines(f'"zebra{i} film",positive\n' for i in range(30))
    data = load_data({"source": "csv", "path": str(path), "text": "review", "target": "opinion", "split": {"seed": 1}})
    vocab = set(data.text["vocab"])
    rare = {f"zebra{i}" for i in range(30)}
    assert rare & vocab and not rare <= vocab  # the zebras of the validation and test rows are unknown words
    assert (data.test.inputs[0] == UNKNOWN).any()


def test_an_embedding_smaller_than_the_vocabulary_is_named_before_training(tmp_path):
    section = {"source": "csv", "path": str(write_reviews(tmp_path / "reviews.csv", n=80)), "text": "review",
               "target": "opinion", "text_length": 12}
    graph = chain("reviews", {"kind": "tokens", "seq_len": 12}, [
        ("Embedding", {"num_embeddings": 5, "embedding_dim": 4}), ("Flatten", {}), ("Dense", {"units": 1}),
    ], "binary", section)
    with pytest.raises(TrainingError, match=r"Embedding 'embedding1' \(.+\) has num_embeddings 5, but the data's token "
                                            r"ids go up to \d+; set num_embeddings to at least \d+"):
        Trainer(graph)


def test_text_errors_name_the_column_and_streaming_is_refused(tmp_path):
    path = write_reviews(tmp_path / "reviews.csv", n=50)
    with pytest.raises(DataError, match=r"no column\(s\) \['body'\]"):
        load_data({"source": "csv", "path": str(path), "text": "body", "target": "opinion"})
    with pytest.raises(DataError, match="text column is read into memory"):
        load_data({"source": "csv", "path": str(path), "text": "review", "target": "opinion", "stream": True})
