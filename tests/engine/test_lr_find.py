"""The learning-rate range test: robust smoothing, suggestions that train better than bad LRs, the CLI."""

from __future__ import annotations

import json
import math

import pytest

from engine.cli import main
from engine.data import load_data
from engine.lr_find import find_lr, lr_grid, running_median, short_run
from engine.memory import training_config
from engine.templates import load_project


def test_running_median_is_not_dragged_by_an_early_spike():
    raw = [2.0, 50.0, 1.9, 1.8, 1.7, 1.6, 1.5, 1.4, 1.3, 1.2]
    smooth = running_median(raw, 5)
    assert max(smooth[2:]) <= 2.0  # an exponential average would stay far above 2 for several steps
    assert smooth[-1] == pytest.approx(1.4)
    assert running_median([1.0, math.nan, 1.0], 3)[-1] == 1.0


def test_lr_grid_is_exponential_from_min_to_max():
    grid = lr_grid(1e-5, 1e-1, 5)
    assert grid[0] == pytest.approx(1e-5) and grid[-1] == pytest.approx(1e-1)
    assert grid[2] == pytest.approx(1e-3)


@pytest.mark.slow
def test_the_suggestion_trains_better_than_clearly_bad_learning_rates():
    graph = load_project("mlp")
    data = load_data(graph.data, seed=0)
    result = find_lr(graph, repeats=2, steps=60, data=data)
    assert len(result.curves) == 2 and len(result.median) == 60
    assert all(lo <= m <= hi for lo, m, hi in zip(result.low, result.median, result.high, strict=True)
               if math.isfinite(m))
    cfg = training_config(graph)
    good = short_run(graph, cfg.replace(lr=result.suggested_lr), data, 60, None)
    for bad in (1e-6, 30.0):  # far too small to move, far too large to stay finite
        assert good < short_run(graph, cfg.replace(lr=bad), data, 60, None)


def test_a_far_too_small_default_gets_a_larger_suggestion_with_its_reason():
    graph = load_project("mlp")
    graph.training = {**graph.training, "lr": 1e-5}
    result = find_lr(graph, repeats=2, steps=40)
    assert not result.keep_default
    assert result.suggested_lr > 1e-3
    assert result.check["suggested"] < result.check["default"]
    assert "trained better than the current 1e-05" in result.reason


@pytest.mark.slow
@pytest.mark.parametrize("template", ["lenet", "mlp"])
def test_on_templates_the_range_suggestion_matches_or_beats_the_default(template: str):
    graph = load_project(template)
    data = load_data(graph.data, seed=0)
    result = find_lr(graph, repeats=2, steps=60, data=data)
    assert result.range_suggestion is not None
    cfg = training_config(graph)
    suggested = short_run(graph, cfg.replace(lr=result.range_suggestion), data, 60, None)
    default = short_run(graph, cfg, data, 60, None)
    assert suggested <= 1.1 * default
    if result.keep_default:
        assert result.suggested_lr == cfg.lr and "the default is already good" in result.reason


def test_cli_prints_the_curve_as_json(capsys):
    assert main(["lr-find", "mlp", "--repeats", "1", "--steps", "20", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert len(out["lrs"]) == 20 and out["suggested_lr"] > 0 and out["reason"]


def test_cli_refuses_a_bad_range(capsys):
    assert main(["lr-find", "mlp", "--min-lr", "1", "--max-lr", "0.1"]) == 2
    assert "min_lr < max_lr" in capsys.readouterr().err
