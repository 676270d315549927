"""The editor's PyTorch import off the GUI thread: load the user's model, import it, write the project + weights.

`import_job` is a job's work (see editor/jobs.py). It sends `{"kind": "progress", "text"}` messages, then one
`{"kind": "done", ...}` or `{"kind": "error", "message"}`; an error is a plain sentence, never a traceback.
`model_classes` lists a file's nn.Module classes by reading it, without running it.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

from engine.errors import DeepWireError
from engine.importer_load import user_code_error


@dataclass
class ImportRequest:
    """What to import and where: `project_path` None keeps nothing on disk (no weights, unsaved project)."""

    ref: str
    """`file.py:Class`, `file.py` or `package.module:Class` (engine.importer.load_reference)."""
    shapes: list[tuple[int, ...]]
    batch_axes: list[int]
    name: str | None = None
    task: str | None = None
    output: str | int | None = None
    project_path: str | None = None
    """The project file to write, with its weights as PROJECT.safetensors beside it (as `deepwire import`)."""


class ImportControl:
    """An import cannot stop half-way; cancelling ends the worker process instead (see ImportDialog)."""

    def stop(self) -> None:
        return None


def import_job(outbox, control: ImportControl, request: ImportRequest) -> None:
    """Run the import and send its outcome (see the module docstring)."""
    try:
        outbox.send(_done(request, lambda text: outbox.send({"kind": "progress", "text": text})))
    except DeepWireError as exc:
        outbox.send({"kind": "error", "message": str(exc)})
    except (Exception, SystemExit) as exc:  # noqa: BLE001  the user's forward may raise anything while tracing
        outbox.send({"kind": "error", "message": user_code_error(exc, request.ref)})


def _done(request: ImportRequest, progress) -> dict:
    from engine.importer import import_model
    from engine.importer_load import create_model, load_model_class
    from engine.importer_weights import save_weights

    progress(f"Loading {request.ref} (running its code)…")
    cls = load_model_class(request.ref)
    progress(f"Creating {cls.__name__}()…")
    module = create_model(cls, request.ref)
    shapes = "; ".join(",".join(map(str, s)) for s in request.shapes)
    progress(f"Tracing {cls.__name__} for input shape {shapes} and mapping its operations…")
    imported = import_model(module, request.shapes, request.name or cls.__name__, request.task, request.output,
                            batch_axes=request.batch_axes)
    weights = None
    if request.project_path:
        out = Path(request.project_path)
        progress(f"Writing {out.with_suffix('.safetensors').name} and {out.name}…")
        weights = save_weights(imported, out.with_suffix(".safetensors"))
        imported.graph.finetune = {**imported.graph.finetune, "weights": weights.name}
        imported.graph.save(out)
    return {"kind": "done", "project": imported.graph.to_dict(), "report": imported.report(),
            "problems": len(imported.problems), "warnings": len(imported.warnings),
            "path": request.project_path, "weights": str(weights) if weights else None}


def model_classes(path: str | Path) -> list[str]:
    """The classes `path` defines that derive from a torch.nn class (directly or through another class of the
    file), in file order, the likeliest model (one no other class uses) last. Reads the file; runs nothing.
    Raises SyntaxError for a file that is not Python, OSError for one that cannot be read."""
    tree = ast.parse(Path(path).read_text(encoding="utf-8"), filename=str(path))
    from_nn = {a.asname or a.name for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)
               and n.module in ("torch.nn", "torch.nn.modules") for a in n.names}
    found: list[ast.ClassDef] = []
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and any(_is_module_base(b, from_nn, {c.name for c in found})
                                                  for b in node.bases):
            found.append(node)
    used = {n.id for c in found for n in ast.walk(c) if isinstance(n, ast.Name) and n.id != c.name}
    return sorted((c.name for c in found), key=lambda name: name not in used)


def _is_module_base(base: ast.expr, from_nn: set[str], known: set[str]) -> bool:
    if isinstance(base, ast.Name):
        return base.id in from_nn or base.id in known
    if isinstance(base, ast.Attribute):  # nn.Module, torch.nn.Sequential, ...
        owner = base.value
        return (isinstance(owner, ast.Name) and owner.id == "nn") or (
            isinstance(owner, ast.Attribute) and owner.attr == "nn")
    return False
