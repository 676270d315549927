"""Write the docs' editor screenshots at 1280×800 and 1440×900: a blank project, LeNet mid-training, its
evaluation, the U-Net and ResNet templates, and an imported ResNet-18 (timm's definition, through `deepwire
import`): `python tools/scenes.py OUT_DIR [--sizes 1280x800,1440x900]
[--only blank,training,...]`. Under Xvfb (QT_QPA_PLATFORM=xcb) or offscreen; the window is grabbed as a PNG.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("DEEPWIRE_DATA_DIR", tempfile.mkdtemp(prefix="deepwire-scenes-"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from PySide6.QtCore import QSettings  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from editor.app import application, settle  # noqa: E402
from editor.main_window import MainWindow  # noqa: E402
from editor.window_layout import apply_default_layout  # noqa: E402
from engine.templates import load_project  # noqa: E402

SCENES = ("blank", "training", "evaluation", "unet", "resnet", "imported-resnet18", "imported-resnet18-zoomed")
ROOT = Path(__file__).resolve().parents[1]
TIMEOUT_S = 300


def wait_for(condition, timeout_s: float = TIMEOUT_S) -> None:
    import time

    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit("timed out waiting for the scene")
        QApplication.processEvents()
        time.sleep(0.02)


def window_of(width: int, height: int) -> MainWindow:
    from editor.settings import Settings
    from editor.window_layout import STATE_KEY

    Settings().store.remove(STATE_KEY)  # each shot as a first start looks, not as the previous one left the docks
    window = MainWindow()
    window.resize(width, height)
    window.show()
    apply_default_layout(window)
    settle()
    return window


def blank(window: MainWindow) -> None:
    """A new project with a few layers wired from the palette, the Input following the digits data."""
    window.new_blank()
    wait_for(lambda: window.controller.data_info is not None)
    c = window.controller
    ids = [c.add_node(t, pos=(i * 220.0, 0.0)) for i, t in enumerate(("Input", "Flatten", "Dense", "ReLU", "Dense",
                                                                      "Output"))]
    for a, b in zip(ids, ids[1:], strict=False):
        c.connect(a, b)
    c.set_param(ids[2], "units", 64)
    c.fit_view()


def training(window: MainWindow) -> None:
    """LeNet on digits, shown in its second epoch."""
    graph = load_project("lenet")
    graph.training.update({"epochs": 8, "batch_size": 32})
    window.document.new(graph)
    ws = window.training
    ws.runner.backend = "thread"
    ws.train()
    wait_for(lambda: len(ws.live.series.epochs) >= 2)
    settle(600)


def evaluation(window: MainWindow) -> None:
    """LeNet trained for a few epochs, then its evaluation on the test split."""
    graph = load_project("lenet")
    graph.training.update({"epochs": 3, "batch_size": 32})
    window.document.new(graph)
    ws = window.training
    ws.runner.backend = "thread"
    ws.train()
    wait_for(lambda: ws.evaluation.result is not None and not ws.runner.busy)
    settle(600)


def imported_resnet18(window: MainWindow) -> None:
    """timm's ResNet-18 imported as `deepwire import` does it (project + weights file), opened and fitted."""
    sys.path.insert(0, str(ROOT / "tests" / "engine"))
    from import_zoo import load_timm  # timm without torchvision's compiled ops, as the import tests load it

    from engine.importer import import_model
    from engine.importer_weights import save_weights

    model = load_timm().create_model("resnet18", pretrained=False, num_classes=10)
    imported = import_model(model, [(3, 64, 64)], "resnet18")
    out = Path(os.environ["DEEPWIRE_DATA_DIR"]) / "resnet18.json"
    imported.graph.finetune = {**imported.graph.finetune, "weights": save_weights(imported, out.with_suffix(
        ".safetensors")).name}
    imported.graph.save(out)
    window.open_file(str(out))
    settle()
    window.controller.fit_view()


def imported_resnet18_zoomed(window: MainWindow) -> None:
    """The imported ResNet-18 at the legible zoom, on its stem and first residual block."""
    from PySide6.QtCore import QPointF

    from editor.canvas.controller import READABLE_ZOOM

    imported_resnet18(window)
    c = window.controller
    first = c.view.node_rect(c.graph.input_nodes()[0].id)
    c._show(QPointF(first.left() + 360, first.top() + 330), READABLE_ZOOM)  # noqa: SLF001  a view, not an edit


def template(stem: str):
    def show(window: MainWindow) -> None:
        window.document.new(load_project(stem))
        settle()
        window.controller.fit_view()
    show.__doc__ = f"The {stem} template, fitted."
    return show


def shoot(scene: str, width: int, height: int, out_dir: Path) -> Path:
    window = window_of(width, height)
    {"blank": blank, "training": training, "evaluation": evaluation, "unet": template("unet"),
     "resnet": template("resnet"), "imported-resnet18": imported_resnet18,
     "imported-resnet18-zoomed": imported_resnet18_zoomed}[scene](window)
    settle(400)
    path = out_dir / f"{scene}-{width}x{height}.png"
    window.grab().save(str(path))
    if window.training.runner.busy:
        window.training.stop_and_wait()
    window.document.close_cleanly()
    window.controller.undo_stack.setClean()
    window.close()
    window.deleteLater()
    settle(100)
    return path


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="scenes.py", description=__doc__.strip().splitlines()[0])
    parser.add_argument("out_dir")
    parser.add_argument("--sizes", default="1280x800,1440x900")
    parser.add_argument("--only", default=",".join(SCENES))
    args = parser.parse_args(argv)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, os.environ["DEEPWIRE_DATA_DIR"])
    application()
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for size in args.sizes.split(","):
        width, height = (int(v) for v in size.lower().split("x"))
        for scene in args.only.split(","):
            print(shoot(scene, width, height, out), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
