"""Continue a text with a trained next-word model: predict the word after the prompt, append it, repeat."""

from __future__ import annotations

import re
from pathlib import Path

import torch

from engine.data.text import FIRST_WORD, PAD, UNKNOWN, tokenize
from engine.errors import DataError


def generate(run_path: str | Path, prompt: str, words: int = 10, temperature: float = 0.0, seed: int = 0,
             weights: str = "best") -> str:
    """The prompt followed by `words` predicted words: the likeliest each time (temperature 0) or drawn from
    the model's probabilities sharpened (< 1) or flattened (> 1) by `temperature`."""
    from engine.runs import open_run

    run = open_run(run_path)
    model, _graph = run.load_model(weights)
    info = (run.data_info() or {}).get("text")
    if not info or (run.data_info() or {}).get("task") != "multiclass":
        raise DataError(f"run {run.id} was not trained to predict the next word (train on text with task 'next_step')")
    vocab, seq_len = info["vocab"], int(info["seq_len"])
    index = {word: i + FIRST_WORD for i, word in enumerate(vocab)}
    tokens = [index.get(w, UNKNOWN) for w in tokenize(prompt)]
    if not tokens:
        raise DataError("give a prompt of at least one word to continue")
    gen = torch.Generator().manual_seed(seed)
    model.eval()
    for _ in range(words):
        window = tokens[-seq_len:]
        ids = torch.full((1, seq_len), PAD, dtype=torch.long)
        ids[0, : len(window)] = torch.tensor(window)
        with torch.no_grad():
            out = model(ids)
        if out.dim() != 3:
            raise DataError(f"run {run.id}'s model gives one answer per text, not a next word per position")
        scores = out[0, len(window) - 1].float()
        scores[[PAD, UNKNOWN]] = -torch.inf  # never 'write' padding or an unknown word
        if temperature > 0:
            choice = int(torch.multinomial(torch.softmax(scores / temperature, -1), 1, generator=gen))
        else:
            choice = int(scores.argmax())
        tokens.append(choice)
    continuation = [vocab[t - FIRST_WORD] for t in tokens[-words:]] if words else []
    return join_words([*tokenize(prompt), *continuation])


def join_words(words: list[str]) -> str:
    """Tokens back to text: spaces between words, none before punctuation."""
    return re.sub(r" ([.,!?;:])", r"\1", " ".join(words))
