"""Loading the user's model for an import: their file or module, their class, one instance of it.

Importing runs the user's code; whatever it raises comes back as one GraphError sentence naming the line of their
file, never a traceback. Used by `deepwire import` and the editor's import job alike.
"""

from __future__ import annotations

import inspect
import sys
import traceback
from pathlib import Path

from torch import nn

from engine.errors import DeepWireError, GraphError


def load_model_class(ref: str) -> type[nn.Module]:
    """The nn.Module class `ref` names (see importer.load_reference); a file's folder joins the import path so
    its own imports of files beside it work."""
    from engine.importer import load_reference, split_reference

    target = split_reference(ref)[0]
    if target.endswith(".py") and str(Path(target).parent.resolve()) not in sys.path:
        sys.path.insert(0, str(Path(target).parent.resolve()))
    try:
        return load_reference(ref)
    except DeepWireError:
        raise
    except SyntaxError as exc:
        line = f", line {exc.lineno}" if exc.lineno else ""
        raise GraphError(f"{Path(exc.filename or target).name}{line}: the file is not valid Python ({exc.msg})") from None
    except (Exception, SystemExit) as exc:  # noqa: BLE001  the user's code may raise anything
        raise GraphError(user_code_error(exc, ref)) from None


def create_model(cls: type[nn.Module], ref: str) -> nn.Module:
    """`cls()`, with a clear error when its constructor needs arguments or raises."""
    check_constructor(cls)
    try:
        return cls()
    except (Exception, SystemExit) as exc:  # noqa: BLE001
        raise GraphError(user_code_error(exc, ref)) from None


def check_constructor(cls: type) -> None:
    """A clear error when `cls()` cannot work because its constructor needs arguments."""
    try:
        params = inspect.signature(cls).parameters.values()
    except (TypeError, ValueError):
        return
    needed = [p.name for p in params if p.default is p.empty
              and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    if needed:
        raise GraphError(f"{cls.__name__}() needs arguments ({', '.join(needed)}): DeepWire creates the model "
                         "without any. Give them defaults, or add a class that builds it with your values, "
                         f"e.g. class My{cls.__name__}({cls.__name__}) calling super().__init__(...)")


def user_code_error(exc: BaseException, ref: str) -> str:
    """One sentence for an exception raised by the user's code, naming the line of their file it came from."""
    from engine.importer import split_reference

    target = split_reference(ref)[0]
    frames = traceback.extract_tb(exc.__traceback__)
    if target.endswith(".py"):
        mine = [f for f in frames if Path(f.filename).resolve() == Path(target).resolve()]
        frames = mine or frames
    where = f" at {Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else ""
    what = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return f"{Path(target).name} raised {what}{where}"
