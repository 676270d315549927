"""Section declarations: one Key per setting, the training config's checks and `deepwire validate` read them."""

from __future__ import annotations

import dataclasses

import pytest

from engine import sections
from engine.cli import main as cli_main
from engine.data import augment
from engine.data.load import DEFAULTS as DATA_DEFAULTS
from engine.errors import TrainingError
from engine.graph import Graph
from engine.sections import DATA, SECTIONS, TRAINING, Key, Section, section_problems
from engine.templates import load_project
from engine.train.config import TrainingConfig
from engine.validate import validate


def config_paths(cls: type, prefix: str = "") -> dict[str, object]:
    """Every leaf key of a config dataclass with its default ('early_stopping.patience': 5)."""
    out = {}
    for f in dataclasses.fields(cls):
        default = getattr(cls(), f.name)
        if dataclasses.is_dataclass(default):
            out.update(config_paths(type(default), f"{prefix}{f.name}."))
        else:
            out[f"{prefix}{f.name}"] = list(default) if isinstance(default, tuple) else default
    return out


def test_every_training_key_has_exactly_one_declaration_with_the_configs_default():
    declared = TRAINING.paths()
    assert len(declared) == len(set(declared))
    expected = config_paths(TrainingConfig)
    assert set(declared) == set(expected)
    assert {k.name: k.default for k in TRAINING.keys} == expected


def test_declared_data_defaults_are_the_loaders():
    assert DATA.default("split.val") == DATA_DEFAULTS["split"]["val"]
    assert DATA.default("augment.rotate_deg") == augment.DEFAULTS["rotate_deg"]
    assert DATA.default("workers") == DATA_DEFAULTS["workers"]
    for section in SECTIONS.values():
        assert len(section.paths()) == len(set(section.paths()))
        for key in section.keys:  # every default passes its own check
            assert key.coerce(key.default) == key.default or key.default is None


@pytest.mark.parametrize(("value", "message"), [
    ("fast", "training.lr: expected a number, found 'fast'"),
    (0, "training.lr: must be greater than 0, found 0"),
])
def test_training_config_checks_come_from_the_declaration(value, message):
    with pytest.raises(TrainingError, match=message):
        TrainingConfig.from_dict({"lr": value})


def test_validate_reports_every_bad_section_key_at_once(tmp_path, capsys):
    graph = load_project("mlp")
    graph.training = {**graph.training, "lr": "fast", "batch_size": 0, "epochs": -1, "optimiser": "adam",
                      "early_stopping": {"patence": 3}}
    graph.data = {**graph.data, "split": {"val": 2.0}, "colour": "rgb"}
    messages = [(p.severity, p.message, p.hint) for p in validate(graph).problems if p.kind == "section"]
    text = "\n".join(m for _s, m, _h in messages)
    assert "training.lr: expected a number, found 'fast'" in text
    assert "training.batch_size: must be greater than 0, found 0" in text
    assert "training.epochs: must be greater than 0, found -1" in text
    assert "data.split.val: must be at most 0.9, found 2.0" in text
    by_message = {m: (s, h) for s, m, h in messages}
    assert by_message["training.optimiser is not a known setting"] == ("error", "did you mean training.optimizer?")
    assert by_message["training.early_stopping.patence is not a known setting"][1] == \
        "did you mean training.early_stopping.patience?"
    assert by_message["data.colour is not a known setting"] == ("warning", "did you mean data.color?")
    assert len(messages) == 7
    path = tmp_path / "bad.dwproj"
    graph.save(path)
    assert cli_main(["validate", str(path)]) == 1
    out = capsys.readouterr().out
    assert "training.lr: expected a number" in out and "training.epochs: must be greater than 0" in out


def test_a_valid_project_has_no_section_problems():
    for name in ("mlp", "lenet"):
        assert [p for p in validate(load_project(name)).problems if p.kind == "section"] == []
    assert section_problems("training", None) == []
    assert section_problems("sweep", "nope")[0].message.startswith("The sweep section must be a JSON object")


def test_changing_a_range_in_the_declaration_changes_the_check(monkeypatch):
    narrowed = narrow_epochs(monkeypatch, 5)
    assert narrowed.key("epochs").max == 5
    graph = Graph(name="x", training={"epochs": 6})
    assert [p.message for p in validate(graph).problems if p.kind == "section"] == \
        ["training.epochs: must be at most 5, found 6"]
    with pytest.raises(TrainingError, match="training.epochs: must be at most 5, found 6"):
        TrainingConfig.from_dict({"epochs": 6})
    TrainingConfig.from_dict({"epochs": 5})


def narrow_epochs(monkeypatch, most: int) -> Section:
    """Replace the declared training section with one whose epochs key allows at most `most`."""
    keys = tuple(dataclasses.replace(k, max=most) if k.name == "epochs" else k for k in TRAINING.keys)
    narrowed = Section("training", keys)
    monkeypatch.setattr(sections, "TRAINING", narrowed)
    monkeypatch.setitem(sections.SECTIONS, "training", narrowed)
    return narrowed


def test_key_kinds_and_bounds():
    key = Key("rate", "float", 0.5, above=0, below=1, decimals=2)
    assert (key.lowest, key.highest) == (0.01, 0.99)
    with pytest.raises(ValueError, match="rate: must be less than 1, found 1.0"):
        key.coerce(1)
    stream = DATA.key("stream")
    assert stream.coerce(True) is True and stream.coerce("auto") == "auto"
    with pytest.raises(ValueError, match="is not one of"):
        stream.coerce(1)
    assert TRAINING.key("monitor").coerce("val_top5") == "val_top5"  # suggestions, not a closed list
    assert TRAINING.key("betas").coerce([0.5, 0.9]) == [0.5, 0.9]
    with pytest.raises(ValueError, match="betas: must be less than 1"):
        TRAINING.key("betas").coerce([0.5, 1.0])


def test_sweep_targets_are_checked_against_the_declared_training_keys():
    from engine.sweep.config import SweepConfig, SweepError, apply_values

    def sweep(dimension: dict) -> SweepConfig:
        graph.sweep = {"dimensions": [dimension]}
        return SweepConfig.from_graph(graph)

    graph = load_project("mlp")
    with pytest.raises(SweepError, match=r"dimensions\[0\]: training.lr: must be greater than 0, found -1"):
        sweep({"target": "training.lr", "low": -1, "high": 1})
    with pytest.raises(SweepError, match="is not one of"):
        sweep({"target": "training.optimizer", "choices": ["adam", "lion"]})
    config = sweep({"target": "training.early_stopping.patience", "low": 1, "high": 4})
    trial = apply_values(graph, {config.dimensions[0].target: 3})
    assert TrainingConfig.from_dict(trial.training).early_stopping.patience == 3


def test_deepwire_settings_prints_each_declared_key_from_its_declaration(capsys, monkeypatch):
    assert cli_main(["settings", "training", "--markdown"]) == 0
    out = capsys.readouterr().out
    assert "| `lr` | `0.001` | number (> 0) |" in out and "| `optimizer` | `'adam'` | sgd / adam / adamw / rmsprop |" in out
    narrow_epochs(monkeypatch, 5)
    assert cli_main(["settings", "training"]) == 0
    assert "training.epochs = 10  [whole number (> 0, <= 5)]" in capsys.readouterr().out
