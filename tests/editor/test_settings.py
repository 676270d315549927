"""Editor settings: typed values survive a reload from disk; bad stored values fall back to defaults."""

from __future__ import annotations

import pytest

from editor.settings import MAX_RECENT, Settings, available_themes


def test_defaults_on_a_fresh_profile(tmp_path):
    settings = Settings()
    assert settings.path.is_relative_to(tmp_path / "settings")  # the test's private config folder
    assert (settings.theme, settings.device, settings.autosave_interval_s) == ("dark", "auto", 3)
    assert settings.recent_files() == []


def test_values_are_written_to_disk_and_read_back_by_a_new_instance():
    first = Settings()
    first.device = "cuda"
    first.autosave_interval_s = 30
    first.theme = "dark"
    text = first.path.read_text(encoding="utf-8")
    assert "device=cuda" in text and "autosave_interval_s=30" in text
    second = Settings()
    assert (second.device, second.autosave_interval_s, second.theme) == ("cuda", 30, "dark")


@pytest.mark.parametrize(("name", "value"), [("device", "tpu"), ("theme", "neon"),
                                             ("autosave_interval_s", 0), ("autosave_interval_s", 3601),
                                             ("autosave_interval_s", 2.5), ("autosave_interval_s", True)])
def test_invalid_values_are_refused(name, value):
    settings = Settings()
    with pytest.raises(ValueError):
        setattr(settings, name, value)
    assert not settings.path.exists()  # nothing was written


def test_hand_edited_garbage_reads_as_defaults():
    path = Settings().path
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("[General]\ntheme=neon\ndevice=gpu9\nautosave_interval_s=soon\n", encoding="utf-8")
    settings = Settings()
    assert (settings.theme, settings.device, settings.autosave_interval_s) == ("dark", "auto", 3)


def test_recent_files_newest_first_unique_capped_and_only_existing(tmp_path):
    files = []
    for i in range(MAX_RECENT + 2):
        path = tmp_path / f"p{i}.json"
        path.write_text("{}")
        files.append(path)
    settings = Settings()
    for path in files:
        settings.add_recent(path)
    settings.add_recent(files[5])  # re-opening moves it to the front without a duplicate
    expected = [files[5]] + [p for p in reversed(files) if p != files[5]][:MAX_RECENT - 1]
    assert Settings().recent_files() == expected
    files[11].unlink()  # a deleted project disappears from the list
    assert files[11] not in Settings().recent_files()
    settings.remove_recent(files[5])
    assert files[5] not in Settings().recent_files()
    settings.clear_recent()
    assert Settings().recent_files() == []


def test_a_single_recent_file_round_trips(tmp_path):
    path = tmp_path / "only.json"
    path.write_text("{}")
    Settings().add_recent(path)
    assert Settings().recent_files() == [path.resolve()]


def test_themes_come_from_the_shipped_stylesheets():
    assert "dark" in available_themes()
