"""PNG plots of an evaluation (matplotlib, Agg backend): confusion matrix, ROC, PR, residuals."""

from __future__ import annotations

from pathlib import Path

from engine.evaluate.metrics import Curve, EvaluationResult


def write_plots(result: EvaluationResult, folder: str | Path) -> list[Path]:
    """Write every plot that applies to `result` into `folder`; return the files."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    if result.confusion is not None and result.confusion_normalized is not None:
        fig, ax = plt.subplots(figsize=(6, 5))
        image = ax.imshow(result.confusion_normalized, cmap="Blues", vmin=0, vmax=1)
        names = result.class_names or []
        ax.set_xticks(range(len(names)), names, rotation=45, ha="right")
        ax.set_yticks(range(len(names)), names)
        for i, row in enumerate(result.confusion):
            for j, count in enumerate(row):
                dark = result.confusion_normalized[i][j] > 0.5
                ax.text(j, i, str(count), ha="center", va="center", fontsize=8, color="white" if dark else "black")
        ax.set_xlabel("predicted")
        ax.set_ylabel("true")
        ax.set_title("Confusion matrix (colour: share of the true class)")
        fig.colorbar(image, ax=ax)
        files.append(_save(plt, fig, folder / "confusion.png"))
    for curves, stem, labels in ((result.roc, "roc", ("false positive rate", "true positive rate")),
                                 (result.pr, "pr", ("recall", "precision"))):
        if curves:
            files.append(_save(plt, _curve_figure(plt, curves, stem, labels), folder / f"{stem}.png"))
    if result.residuals:
        fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
        true, pred, residual = (result.residuals[k] for k in ("y_true", "y_pred", "residual"))
        left.scatter(true, pred, s=6, alpha=0.6)
        low, high = min(true + pred), max(true + pred)
        left.plot([low, high], [low, high], color="grey", linewidth=1)
        left.set_xlabel("true")
        left.set_ylabel("predicted")
        lo, hi = min(residual), max(residual)
        right.hist(residual, bins=40, range=(lo - 0.5, hi + 0.5) if hi - lo < 1e-9 * max(1.0, abs(hi)) else None)
        right.set_xlabel("residual (predicted - true)")
        files.append(_save(plt, fig, folder / "residuals.png"))
    return files


def _curve_figure(plt, curves: list[Curve], stem: str, labels: tuple[str, str]):
    fig, ax = plt.subplots(figsize=(6, 5))
    area = "AUC" if stem == "roc" else "AP"
    for c in curves:
        ax.plot(c.x, c.y, label=f"{c.label} ({area} {c.area:.3f})" if c.area is not None else c.label)
    if stem == "roc":
        ax.plot([0, 1], [0, 1], color="grey", linestyle="--", linewidth=1)
    ax.set_xlabel(labels[0])
    ax.set_ylabel(labels[1])
    ax.set_title("ROC curves (one-vs-rest)" if stem == "roc" else "Precision-recall curves")
    if len(curves) <= 12:
        ax.legend(fontsize=7)
    return fig


def _save(plt, fig, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    fig.clf()
    import matplotlib.pyplot as plt

    plt.close(fig)
    return path
