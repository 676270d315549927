"""Raw text to token ids: words and punctuation, a vocabulary fitted on the training split, fixed length.

Id 0 is padding (texts shorter than `seq_len` are padded at the end, longer ones cut), id 1 stands for
a word the vocabulary does not hold, and ids 2, 3, ... are the vocabulary's words, most frequent first.
An Embedding layer with `padding_idx` 0 then learns nothing for the padding.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

import numpy as np

PAD, UNKNOWN = 0, 1
FIRST_WORD = 2
IGNORE = -100
"""A next-word target past a text's end: the loss (cross-entropy's default ignore_index) and metrics skip it."""
SPECIALS = ("<pad>", "<unk>")
MAX_AUTO_LENGTH = 256
_TOKEN = re.compile(r"\w+|[^\w\s]")


def tokenize(text: str) -> list[str]:
    """Lower-cased words and single punctuation marks: "Great film!" -> ['great', 'film', '!']."""
    return _TOKEN.findall(text.lower())


def fit_vocab(texts: Iterable[str], max_words: int = 20_000, min_count: int = 1) -> list[str]:
    """The words seen at least `min_count` times, most frequent first (ties alphabetical), at most `max_words`."""
    counts = Counter(word for text in texts for word in tokenize(text))
    ranked = sorted((w for w, c in counts.items() if c >= min_count), key=lambda w: (-counts[w], w))
    return ranked[:max_words]


def auto_length(texts: Iterable[str]) -> int:
    """A length that keeps 95 % of the texts whole (at least 1, at most MAX_AUTO_LENGTH)."""
    lengths = [len(tokenize(t)) for t in texts] or [1]
    return int(min(max(np.percentile(lengths, 95), 1), MAX_AUTO_LENGTH))


def next_word_pairs(ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(inputs, targets) for next-word prediction from (N, L + 1) ids: each position's target is the word
    after it, IGNORE where the text has ended."""
    target = ids[:, 1:].copy()
    target[target == PAD] = IGNORE
    return ids[:, :-1], target


def vocab_index(vocab: list[str]) -> dict[str, int]:
    """word -> id for a vocabulary from `fit_vocab`."""
    return {word: i + FIRST_WORD for i, word in enumerate(vocab)}


def word_ids(text: str, index: dict[str, int]) -> list[int]:
    """The ids of `text`'s tokens (UNKNOWN for words outside the vocabulary), not padded or cut."""
    return [index.get(w, UNKNOWN) for w in tokenize(text)]


def encode(texts: Iterable[str], vocab: list[str], seq_len: int) -> np.ndarray:
    """(N, seq_len) int64 ids of `texts`, padded with PAD at the end or cut after `seq_len` tokens."""
    index = vocab_index(vocab)
    rows = [word_ids(t, index)[:seq_len] for t in texts]
    out = np.full((len(rows), seq_len), PAD, dtype=np.int64)
    for i, row in enumerate(rows):
        out[i, : len(row)] = row
    return out
