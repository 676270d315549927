"""`deepwire settings [SECTION]`: the declared keys of the project sections as a table (the docs print it too)."""

from __future__ import annotations

import argparse

from engine.sections import SECTIONS, Key


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("settings", help="every setting of the training, data, sweep and finetune sections")
    p.add_argument("section", nargs="?", choices=tuple(SECTIONS), help="one section only")
    p.add_argument("--markdown", action="store_true", help="print Markdown tables (for the docs)")
    p.set_defaults(run=run_settings)


def allowed(key: Key) -> str:
    """What a key accepts, in words: its choices, or its kind and range."""
    if key.kind == "choice" and not key.suggest:
        return " / ".join(str(c) for c in key.choices)
    if key.kind == "choice":
        return f"text, e.g. {', '.join(str(c) for c in key.choices[:4])}"
    words = {"int": "whole number", "float": "number", "bool": "true / false", "str": "text",
             "ints": f"list of {key.length or ''} whole numbers", "floats": f"list of {key.length or ''} numbers",
             "any": "see the docs"}[key.kind]
    low = f"> {key.above:g}" if key.above is not None else (f">= {key.min:g}" if key.min is not None else "")
    high = f"< {key.below:g}" if key.below is not None else (f"<= {key.max:g}" if key.max is not None else "")
    bounds = ", ".join(b for b in (low, high) if b)
    return f"{words} ({bounds})" if bounds else words


def rows(name: str) -> list[tuple[str, str, str, str]]:
    """(key, default, accepts, help) of each declared key of a section."""
    return [(k.name, "(none)" if k.default is None else repr(k.default), allowed(k), k.doc)
            for k in SECTIONS[name].keys]


def run_settings(args: argparse.Namespace) -> int:
    for name in [args.section] if args.section else list(SECTIONS):
        if args.markdown:
            print(f"\n### `{name}`\n\n| key | default | accepts | what it does |\n| --- | --- | --- | --- |")
            for key, default, accepts, doc in rows(name):
                print(f"| `{key}` | `{default}` | {accepts} | {doc.replace('|', '/')} |")
            continue
        print(f"\n{name}")
        for key, default, accepts, doc in rows(name):
            print(f"  {name}.{key} = {default}  [{accepts}]\n      {doc}")
    return 0
