"""Rich tables of an evaluation for the terminal (`deepwire evaluate`)."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from engine.evaluate.metrics import EvaluationResult


def print_report(result: EvaluationResult, console: Console | None = None) -> None:
    console = console or Console()
    head = f"head '{result.head}', " if result.head else ""
    table = Table(title=f"Evaluation ({head}{result.task}, {result.split or 'predictions'}, {result.n} samples)")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for name, value in result.metrics.items():
        table.add_row(name, "-" if value is None else f"{value:.4f}")
    console.print(table)
    if result.per_class and result.task == "detection":
        table = Table(title="Per class (average precision)")
        for col in ("class", "AP@[.5:.95]", "AP@0.5", "objects"):
            table.add_column(col, justify="left" if col == "class" else "right")
        for row in result.per_class:
            table.add_row(str(row["class"]), f"{row['ap']:.3f}", f"{row['ap50']:.3f}", str(row["support"]))
        console.print(table)
    elif result.per_class:
        table = Table(title="Per class")
        for col in ("class", "precision", "recall", "F1", "support", "AUC"):
            table.add_column(col, justify="left" if col == "class" else "right")
        auc = {c.label: c.area for c in result.roc}
        for row in result.per_class:
            area = auc.get(row["class"])
            table.add_row(str(row["class"]), f"{row['precision']:.3f}", f"{row['recall']:.3f}", f"{row['f1']:.3f}",
                          str(row["support"]), "-" if area is None else f"{area:.3f}")
        console.print(table)
    if result.confusion and result.class_names and result.task != "multilabel":
        table = Table(title="Confusion matrix (rows: true, columns: predicted)")
        table.add_column("")
        for name in result.class_names:
            table.add_column(str(name), justify="right")
        for name, row in zip(result.class_names, result.confusion, strict=True):
            table.add_row(str(name), *(str(v) for v in row))
        console.print(table)
    if result.wrong:
        table = Table(title="Most confidently wrong" if result.task != "regression" else "Largest errors")
        key = "confidence" if "confidence" in result.wrong[0] else "error"
        for col in ("index", "true", "predicted", key):
            table.add_column(col)
        for row in result.wrong:
            table.add_row(str(row["index"]), _short(row["true"]), _short(row["pred"]), f"{row[key]:.3f}")
        console.print(table)


def _short(value) -> str:
    text = f"{value:.4g}" if isinstance(value, float) else str(value)
    return text if len(text) <= 40 else text[:37] + "..."
