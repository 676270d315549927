"""Continue a text with a trained next-word model: predict the word after the prompt, append it, repeat."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from engine.data.text import FIRST_WORD, PAD, SPECIALS, UNKNOWN, tokenize, vocab_index, word_ids
from engine.errors import DataError


def generate(run_path: str | Path, prompt: str, words: int = 10, temperature: float = 0.0, seed: int = 0,
             weights: str = "best") -> str:
    """The prompt followed by `words` predicted words: the likeliest each time (temperature 0) or drawn from
    the model's probabilities sharpened (< 1) or flattened (> 1) by `temperature`."""
    from engine.runs import open_run

    run = open_run(run_path)
    info = run.data_info() or {}
    if not is_next_word(info):
        raise DataError(f"run {run.id} was not trained to predict the next word (train on text with task 'next_step')")
    model, _graph = run.load_model(weights)
    model.eval()

    def scores_of(ids: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return model(torch.from_numpy(ids)).float().numpy()

    return continue_text(scores_of, info["text"], prompt, words, temperature, seed)


def is_next_word(data_info: dict) -> bool:
    """Whether a run's data record (data.json / preprocessing.json) is next-word prediction on text."""
    names = data_info.get("class_names") or []
    return bool(data_info.get("text")) and data_info.get("task") == "multiclass" and names[:2] == list(SPECIALS)


def continue_text(scores_of: Callable[[np.ndarray], np.ndarray], info: dict, prompt: str, words: int = 10,
                  temperature: float = 0.0, seed: int = 0) -> str:
    """`prompt` and `words` more, each from `scores_of` ((1, seq_len) ids -> (1, seq_len, vocabulary) scores)
    at the position of the last word so far; `info` is the text record (vocab, seq_len)."""
    vocab, seq_len = info["vocab"], int(info["seq_len"])
    tokens = word_ids(prompt, vocab_index(vocab))
    if not tokens:
        raise DataError("give a prompt of at least one word to continue")
    rng = np.random.default_rng(seed)
    for _ in range(words):
        window = tokens[-seq_len:]
        ids = np.full((1, seq_len), PAD, dtype=np.int64)
        ids[0, : len(window)] = window
        out = np.asarray(scores_of(ids), dtype=np.float64)
        if out.ndim != 3:
            raise DataError("this model gives one answer per text, not a next word per position")
        scores = out[0, len(window) - 1].copy()
        scores[[PAD, UNKNOWN]] = -np.inf  # never 'write' padding or an unknown word
        if temperature > 0:
            p = np.exp((scores - scores.max()) / temperature)
            choice = int(rng.choice(len(p), p=p / p.sum()))
        else:
            choice = int(scores.argmax())
        tokens.append(choice)
    continuation = [vocab[t - FIRST_WORD] for t in tokens[len(tokens) - words:]] if words else []
    return join_words([*tokenize(prompt), *continuation])


def join_words(words: list[str]) -> str:
    """Tokens back to text: spaces between words, none before punctuation."""
    return re.sub(r" ([.,!?;:])", r"\1", " ".join(words))
