"""The user's editor settings (theme, default device, autosave interval, recent files, first run), typed, over QSettings.

Stored as an INI file in the platform's standard config location (organisation and app "DeepWire").
A missing, mistyped or out-of-range stored value reads as the default, so a hand-edited file never breaks
the start-up.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings

DEVICES = ("auto", "cpu", "cuda", "mps")
THEMES = ("dark", "light")
DEFAULT_THEME = "dark"
DEFAULT_DEVICE = "auto"
DEFAULT_AUTOSAVE_S = 3
AUTOSAVE_RANGE_S = (1, 3600)
MAX_RECENT = 10


def available_themes() -> list[str]:
    """Names of the themes, in menu order (editor/theme.py holds the colours of each)."""
    return list(THEMES)


class Settings:
    """Typed access to the stored settings; every setter writes through to disk at once."""

    def __init__(self, store: QSettings | None = None) -> None:
        self.store = store or QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope,
                                        "DeepWire", "DeepWire")

    def _set(self, key: str, value: object) -> None:
        self.store.setValue(key, value)
        self.store.sync()

    @property
    def path(self) -> Path:
        """The settings file on disk."""
        return Path(self.store.fileName())

    @property
    def theme(self) -> str:
        value = self.store.value("theme", DEFAULT_THEME)
        return value if value in available_themes() else DEFAULT_THEME

    @theme.setter
    def theme(self, name: str) -> None:
        if name not in available_themes():
            raise ValueError(f"unknown theme {name!r}; available: {', '.join(available_themes())}")
        self._set("theme", name)

    @property
    def device(self) -> str:
        """The default training device: auto (cuda > mps > cpu), cpu, cuda or mps."""
        value = self.store.value("device", DEFAULT_DEVICE)
        return value if value in DEVICES else DEFAULT_DEVICE

    @device.setter
    def device(self, name: str) -> None:
        if name not in DEVICES:
            raise ValueError(f"unknown device {name!r}; use one of {', '.join(DEVICES)}")
        self._set("device", name)

    @property
    def autosave_interval_s(self) -> int:
        """Seconds between a change and its crash-recovery autosave."""
        try:
            value = int(self.store.value("autosave_interval_s", DEFAULT_AUTOSAVE_S))
        except (TypeError, ValueError):
            return DEFAULT_AUTOSAVE_S
        low, high = AUTOSAVE_RANGE_S
        return value if low <= value <= high else DEFAULT_AUTOSAVE_S

    @autosave_interval_s.setter
    def autosave_interval_s(self, seconds: int) -> None:
        low, high = AUTOSAVE_RANGE_S
        if isinstance(seconds, bool) or not isinstance(seconds, int) or not low <= seconds <= high:
            raise ValueError(f"autosave interval must be a whole number of seconds from {low} to {high}")
        self._set("autosave_interval_s", seconds)

    @property
    def welcome_shown(self) -> bool:
        """Whether the first-run welcome view has been shown (it then only opens from Help > Welcome)."""
        return str(self.store.value("welcome_shown", "false")).lower() == "true"

    @welcome_shown.setter
    def welcome_shown(self, shown: bool) -> None:
        self._set("welcome_shown", bool(shown))

    @property
    def last_project(self) -> Path | None:
        """The saved project that was open when the editor last closed (None: none, or it is gone)."""
        value = self.store.value("last_project", "")
        return Path(value) if isinstance(value, str) and value and Path(value).is_file() else None

    @last_project.setter
    def last_project(self, path: Path | str | None) -> None:
        self._set("last_project", str(Path(path).resolve()) if path else "")

    def recent_files(self) -> list[Path]:
        """Recently opened or saved projects, newest first, only those that still exist."""
        value = self.store.value("recent_files", [])
        entries = [value] if isinstance(value, str) else list(value or [])
        return [Path(p) for p in entries if isinstance(p, str) and Path(p).is_file()][:MAX_RECENT]

    def add_recent(self, path: Path | str) -> None:
        """Put `path` first in the recent list (once), keeping at most MAX_RECENT entries."""
        path = Path(path).resolve()
        entries = [path, *(p for p in self.recent_files() if p.resolve() != path)]
        self._set("recent_files", [str(p) for p in entries[:MAX_RECENT]])

    def remove_recent(self, path: Path | str) -> None:
        path = Path(path).resolve()
        self._set("recent_files", [str(p) for p in self.recent_files() if p.resolve() != path])

    def clear_recent(self) -> None:
        self._set("recent_files", [])
