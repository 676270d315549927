"""Makes NodeGraphQt 0.6.44 work under PySide6: import this before PySide6 or NodeGraphQt anywhere."""

from __future__ import annotations

import os
import sys
import warnings

os.environ.setdefault("PYSIDE6_OPTION_PYTHON_ENUM", "9")
sys.pyside6_option_python_enum = 9  # PySide2-style enum access on instances, which NodeGraphQt uses
os.environ.setdefault("QT_API", "pyside6")

warnings.filterwarnings("ignore", message=".*LooseVersion.*", category=DeprecationWarning)
warnings.filterwarnings("ignore", message=".*exec_.*", category=DeprecationWarning)

from NodeGraphQt.widgets import tab_search, viewer  # noqa: E402
from PySide6 import QtCore  # noqa: E402
from PySide6.QtOpenGLWidgets import QOpenGLWidget  # noqa: E402


def _update_model(self) -> None:
    """Qt6 replacement for the Qt5-only QRegExp filter in the Tab search completer."""
    if not self._using_orig_model:
        self._filter_model.setSourceModel(self._source_model)
    self._filter_model.setFilterCaseSensitivity(QtCore.Qt.CaseSensitivity.CaseInsensitive)
    self._filter_model.setFilterFixedString(self._local_completion_prefix)


def _use_opengl(self) -> None:
    """Qt6 home of QOpenGLWidget (the original import fails with UnboundLocalError)."""
    self.setViewport(QOpenGLWidget())


tab_search.TabSearchCompleter.updateModel = _update_model
viewer.NodeViewer.use_OpenGL = _use_opengl
