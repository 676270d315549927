"""The sentiment template learns negation from raw review text; the wave generator writes a whole wave from 3 numbers."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from sklearn.linear_model import LogisticRegression
from train_helpers import single_thread

from engine.data import load_data, preview
from engine.data.text import FIRST_WORD
from engine.predict import predict_file
from engine.runs import create_run
from engine.templates import load_project
from engine.train.trainer import Trainer


def bag_of_words(ids: torch.Tensor, vocab_size: int) -> np.ndarray:
    """How often each vocabulary id occurs in each text (padding not counted): word order thrown away."""
    counts = np.zeros((len(ids), vocab_size))
    np.add.at(counts, (np.arange(len(ids))[:, None], ids.numpy()), 1)
    counts[:, 0] = 0
    return counts


def test_the_review_template_matches_its_data():
    graph = load_project("sentiment")
    data = load_data(graph.data, seed=0)
    nodes = {n.type: n for n in graph.nodes.values()}
    assert data.text["seq_len"] == graph.data["text_length"] == nodes["Input"].params["seq_len"]
    assert data.text["column"] == "text" and data.vocab_size == len(data.text["vocab"]) + FIRST_WORD
    assert nodes["Embedding"].params["num_embeddings"] == data.vocab_size
    assert {"not", "never", "good", "boring"} <= set(data.text["vocab"])
    shown = preview(graph.data, n=3)
    assert all(isinstance(s.inputs[0].item(), str) and s.label in ("negative", "positive") for s in shown)


def test_sentiment_reads_negation_that_a_bag_of_words_misses_and_predicts_a_txt_file(tmp_path):
    graph = load_project("sentiment")
    graph.training.update(epochs=6, events={"summaries": False})
    data = load_data(graph.data, seed=0)
    bow = LogisticRegression(max_iter=2000).fit(bag_of_words(data.train.inputs[0], data.vocab_size),
                                                data.train.target.numpy().ravel())
    bow_accuracy = bow.score(bag_of_words(data.test.inputs[0], data.vocab_size), data.test.target.numpy().ravel())
    run = create_run(graph, tmp_path / "runs")
    with single_thread():
        result = Trainer(graph, data=data, run=run).fit()
    assert result.final["test_accuracy"] >= 0.9 and result.final["test_accuracy"] >= bow_accuracy + 0.15
    saved = json.loads((run.path / "data.json").read_text(encoding="utf-8"))
    assert saved["text"]["vocab"] == data.text["vocab"]
    (tmp_path / "new.txt").write_text("The acting was superb and the story was not boring!\n"
                                      "I thought the plot was dull, the ending was not good.\n", encoding="utf-8")
    rows = predict_file(run.path, tmp_path / "new.txt")
    assert [r["classes"][0][0] for r in rows] == ["positive", "negative"]


def test_the_wave_generator_writes_waves_far_better_than_the_mean_wave():
    graph = load_project("wave_generator")
    graph.training.update(epochs=10, events={"summaries": False})
    data = load_data(graph.data, seed=0)
    repeat = next(n for n in graph.nodes.values() if n.type == "RepeatVector")
    assert data.input_shapes == ((3,),) and data.target_shape == (repeat.params["times"], 1)
    with single_thread():
        result = Trainer(graph, data=data).fit()
    # test_loss is the MSE on standardized targets, so the mean wave of the training split scores about their variance
    mean_wave = data.train.target.mean(0)
    baseline = float((data.test.target - mean_wave).pow(2).mean())
    assert baseline > 0.5
    assert result.final["test_loss"] < 0.2 * baseline


def test_next_word_model_beats_the_commonest_word_and_writes_on_from_a_prompt(tmp_path):
    from engine.data.text import IGNORE
    from engine.evaluate import evaluate_run
    from engine.generate import generate

    graph = load_project("next_word")
    data = load_data(graph.data, seed=0)
    target = data.train.target
    assert data.task == "multiclass" and data.class_names[:2] == ["<pad>", "<unk>"]
    assert torch.equal(target[:, :-1][target[:, :-1] != IGNORE], data.train.inputs[0][:, 1:][target[:, :-1] != IGNORE])
    real = target[target != IGNORE]
    commonest = float((real == real.mode().values).float().mean())  # always guessing the most frequent word
    run = create_run(graph, tmp_path)
    with single_thread():
        result = Trainer(graph, run=run).fit()
    assert result.final["test_accuracy"] > commonest + 0.2  # padding positions are not counted
    report = evaluate_run(run.path, "test", "last")  # the weights the final test metrics came from
    assert report.metrics["accuracy"] == pytest.approx(result.final["test_accuracy"], abs=0.02)
    text = generate(run.path, "The plot was", words=6)
    assert text.startswith("the plot was ") and len(text.split()) >= 7
    assert text == generate(run.path, "The plot was", words=6)  # temperature 0: the likeliest words, every time
    assert set(text.replace(",", " ").replace(".", " ").split()) <= set(data.text["vocab"])


def test_generate_refuses_a_model_that_does_not_predict_words(tmp_path):
    from engine.errors import DataError
    from engine.generate import generate

    graph = load_project("sentiment")
    graph.training["epochs"] = 1
    run = create_run(graph, tmp_path)
    with single_thread():
        Trainer(graph, run=run).fit()
    with pytest.raises(DataError, match="was not trained to predict the next word"):
        generate(run.path, "the plot")
