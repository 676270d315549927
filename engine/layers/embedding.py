"""Embedding: a learned lookup table from whole-number token ids to vectors."""

from __future__ import annotations

from engine.layers.registry import register
from engine.layers.spec import LayerSpec, Param, Params, Shape
from engine.lazy import LazyModule
from engine.shapes_format import format_shape

seq_modules = LazyModule("engine.layers.seq_modules")


def _check(p: Params, shapes: list[Shape]) -> tuple[str, str] | None:
    shape = shapes[0]
    if len(shape) not in (1, 2):
        return (f"Embedding expects token ids (N, T) or (N,) but gets {format_shape(shape)}",
                "feed it an Input of kind 'tokens'; for real-valued features use a Dense layer instead")
    if p.padding_idx >= p.num_embeddings:
        return (f"Embedding padding_idx = {p.padding_idx} is outside the vocabulary of {p.num_embeddings} ids",
                f"use an id below {p.num_embeddings}, or -1 for no padding id")
    return None


EMBEDDING = LayerSpec(
    type_id="Embedding", category="Embedding", title="Embedding",
    summary="Turns whole-number ids (words, users, items) into learned dense vectors: (N, T) -> (N, T, D).",
    explanation=(
        "An Embedding is a table with one learned row of embedding_dim numbers per id; the layer simply "
        "looks up the row of each id it receives. Its input is whole-number token ids from 0 to "
        "num_embeddings - 1, not measurements: (N, T) ids give (N, T, D) vectors and one id per sample "
        "(N,) gives (N, D). During training ids that behave alike (synonyms, users with similar taste) "
        "drift to nearby vectors, so the table becomes a compact, meaningful representation. This is "
        "mathematically the same as a one-hot vector times a weight matrix, only far cheaper. "
        "padding_idx marks the id used to pad short sequences: its vector stays zero and is never updated."),
    advantages=("Handles huge vocabularies cheaply: only the looked-up rows are touched.",
                "Learns similarity between categories, unlike one-hot encoding.",
                "The trained vectors can be reused in other models."),
    disadvantages=("Ids never seen in training keep their random vectors.",
                   "The table can be large (vocabulary x dimension) and overfit rare ids.",
                   "Every id must be below num_embeddings; a larger id fails at run time."),
    when_to_use="The first layer for text (word or character ids) and for categorical ids such as users "
                "and items in a recommender.",
    params=(
        Param("num_embeddings", "int", 1000, min=1, max=100_000_000, key=True,
              doc="Vocabulary size: how many different ids exist (ids run from 0 to this minus 1)."),
        Param("embedding_dim", "int", 32, min=1, max=65_536, key=True, doc="Length of each id's vector."),
        Param("padding_idx", "int", -1, min=-1, max=100_000_000,
              doc="Id used for padding, kept as a zero vector; -1 means none."),
    ),
    build=lambda p, s: seq_modules.TokenEmbedding(p.num_embeddings, p.embedding_dim,
                                      padding_idx=None if p.padding_idx < 0 else p.padding_idx),
    check=_check,
    example=((None, 10),),
)

register(EMBEDDING)
