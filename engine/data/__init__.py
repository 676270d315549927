"""Datasets for DeepWire: built-in offline sets, user files, streaming, preprocessing, augmentation, batching."""

from engine.data.builtin import DatasetInfo, list_builtin
from engine.data.load import Sample, load_data, preview
from engine.data.prepared import PreparedData, Split, StreamSplit

__all__ = ["DatasetInfo", "PreparedData", "Sample", "Split", "StreamSplit", "list_builtin", "load_data", "preview"]
