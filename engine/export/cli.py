"""CLI commands for trained models: evaluate, export, predict, and import of PyTorch modules."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console
from rich.table import Table

from engine import importer_cli
from engine.errors import DataError
from engine.export.formats import EXPORT_FORMATS


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("evaluate", help="confusion matrix, per-class scores, ROC/PR, regression errors of a run")
    p.add_argument("run_path", metavar="RUN", help="run folder")
    p.add_argument("--split", default="test", help="train, val, test (default) or a labelled .csv/.npz/.npy file")
    p.add_argument("--weights", choices=("best", "last"), default="best")
    p.add_argument("--plots", metavar="DIR", help="also write PNG plots into DIR")
    p.set_defaults(run=run_evaluate)
    p = sub.add_parser("export", help=f"export a run's model: {', '.join(EXPORT_FORMATS)}")
    p.add_argument("run_path", metavar="RUN", help="run folder")
    p.add_argument("--format", required=True, choices=tuple(EXPORT_FORMATS))
    p.add_argument("--out", required=True, help="folder to write into (or the model file, e.g. model.onnx)")
    p.add_argument("--weights", choices=("best", "last"), default="best")
    p.set_defaults(run=run_export)
    p = sub.add_parser("predict", help="run a trained model (run or export folder) on a csv/image/npy/npz file "
                                       "(or .txt for a text model)")
    p.add_argument("model", metavar="EXPORT_OR_RUN")
    p.add_argument("input", metavar="INPUT")
    p.add_argument("--top", type=int, default=1, help="classes shown per sample (multiclass)")
    p.add_argument("--score", type=float, default=0.5, help="detection: boxes scored at least this (default 0.5)")
    p.add_argument("--out", metavar="FILE.csv|FILE.json", help="also write the predictions to this file (a model "
                   "with several Outputs: every head's answer, a CSV column per head)")
    p.set_defaults(run=run_predict)
    p = sub.add_parser("generate", help="continue a text with a run trained to predict the next word")
    p.add_argument("run_path", metavar="RUN", help="run folder of a next-word model (data task next_step on text)")
    p.add_argument("prompt", help="the words to start from, e.g. 'the plot was'")
    p.add_argument("--words", type=int, default=10, help="words to add (default 10)")
    p.add_argument("--temperature", type=float, default=0.0,
                   help="0 = always the likeliest word; above 0 draw words, higher = more varied")
    p.add_argument("--seed", type=int, default=0, help="seed of the draws (temperature > 0)")
    p.set_defaults(run=run_generate)
    p = sub.add_parser("import", help="turn a torch.nn.Module into a DeepWire project (torch.fx)")
    p.add_argument("ref", metavar="MODULE:CLASS|FILE.py[:CLASS]")
    p.add_argument("--input-shape", action="append", required=True, metavar="D,D,...",
                   help="per-sample shape of an input without the batch dim, e.g. 1,28,28; repeat per input; "
                        "for a sequence-first (T, N) input put N at the batch position, e.g. 35,N")
    p.add_argument("--task", choices=("multiclass", "binary", "multilabel", "regression"))
    p.add_argument("--name", help="project name (default: the class name)")
    p.add_argument("--out", required=True, metavar="PROJECT.json")
    importer_cli.add_arguments(p)
    p.set_defaults(run=importer_cli.run_import)


def run_evaluate(args: argparse.Namespace) -> int:
    from engine.evaluate import evaluate_run
    from engine.evaluate.plots import write_plots
    from engine.evaluate.report import print_report
    from engine.evaluate.run import output_heads

    heads = output_heads(args.run_path)
    for head in heads:
        result = evaluate_run(args.run_path, args.split, args.weights, head=head if len(heads) > 1 else None)
        print_report(result)
        if args.plots:
            folder = Path(args.plots) / head if len(heads) > 1 else args.plots
            for path in write_plots(result, folder):
                print(f"wrote {path}")
    return 0


def run_export(args: argparse.Namespace) -> int:
    from engine.export import export_run

    result = export_run(args.run_path, args.format, args.out, args.weights)
    for path in result.files:
        print(f"wrote {path}")
    if result.check:
        c = result.check
        print(f"check: outputs match the trained model on a batch of {c['batch']} "
              f"(max difference {c['max_abs_diff']:.3g}, tolerance {c['atol']:g} + {c['rtol']:g} x |output|)")
    return 0


def run_generate(args: argparse.Namespace) -> int:
    from engine.generate import generate

    if args.words < 0 or args.temperature < 0:
        raise DataError("--words and --temperature must be 0 or more")
    print(generate(args.run_path, args.prompt, args.words, args.temperature, args.seed))
    return 0


def run_predict(args: argparse.Namespace) -> int:
    from engine.predict import predict_file, write_predictions

    rows = predict_file(args.model, args.input, args.top, args.score)
    if args.out:
        print(f"wrote {write_predictions(rows, args.out)}")
    table = Table(title=f"Predictions for {args.input}")
    table.add_column("sample", justify="right")
    table.add_column("prediction")
    for row in rows:
        text = " · ".join(f"{name}: {_answer_text(part)}" for name, part in row["heads"].items()) \
            if "heads" in row else _answer_text(row)
        table.add_row(str(row["index"]), text)
    Console().print(table)
    return 0


def _answer_text(row: dict) -> str:
    """One sample's answer (or one head's) in words: boxes, values or classes with confidences."""
    if "boxes" in row:
        return "; ".join(f"{b['class']} {b['score']:.2f} at ({', '.join(f'{v:.0f}' for v in b['box'])})"
                         for b in row["boxes"]) or "(no box)"
    if "values" in row:
        return ", ".join(f"{v:.4g}" for v in _flat(row["values"]))
    classes = row["classes"]
    if classes and isinstance(classes[0], list):
        return " ".join(step[0][0] for step in classes)
    return ", ".join(f"{name} ({p:.1%})" for name, p in classes) or "(none)"


def _flat(values) -> list[float]:
    if isinstance(values, list):
        return [v for item in values for v in _flat(item)]
    return [values]
