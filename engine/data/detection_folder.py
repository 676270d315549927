"""The `detection_folder` source: an image folder plus boxes in a COCO-style JSON or a CSV, every image resized
to one size with its boxes scaled alike, targets padded to (N, M, 5) rows (class, x0, y0, x1, y1)."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from engine.data import files, images
from engine.data.raw import RawData
from engine.errors import DataError
from engine.safeio import load_image

ANNOTATION_KINDS = (".json", ".csv")
CSV_COLUMNS = ("file", "x0", "y0", "x1", "y1", "label")
EDGE_SLACK = 0.5
"""Pixels a box may reach past its image's edge (rounding in exported annotations) before it is refused."""


@dataclass
class _Image:
    """One annotated image: its file and its boxes as (class, x0, y0, x1, y1) in its own pixels."""

    file: str
    boxes: list[tuple[int, float, float, float, float]] = field(default_factory=list)


def load_detection_folder(section: dict, seed: int | None = None) -> RawData:
    """Images under `path` with the boxes of its `annotations` file, resized to `image_size` [H, W]."""
    folder = _folder(section)
    notes = _annotation_file(folder, section.get("annotations"))
    listing, class_names = (_read_coco if notes.suffix.lower() == ".json" else _read_csv)(notes)
    if not listing:
        raise DataError(f"Annotations '{notes}' list no images; add some to train a detector.")
    size, color = _image_size(section), files.image_color(section)
    pixels, rows = [], []
    for item in listing:
        path = folder / item.file
        if not path.is_file():
            raise DataError(f"Annotations '{notes.name}' name image '{item.file}', which is not in '{folder}'.")
        width, height = load_image(path).size
        rows.append([_scaled(box, width, height, size, item.file, notes.name) for box in item.boxes])
        pixels.append(images.read_image(path, size, 1 if color == "grayscale" else 3))
    target = np.zeros((len(rows), max(1, max(len(r) for r in rows)), 5), dtype=np.float32)
    target[:, :, 0] = -1
    for index, boxes in enumerate(rows):
        if boxes:
            target[index, :len(boxes)] = boxes
    return RawData((np.ascontiguousarray(np.stack(pixels)),), target, "detection", class_names=class_names)


def annotated_image_bytes(section: dict) -> int:
    """Memory the decoded images take (float32), counted from the image files in the folder."""
    folder = _folder(section)
    count = sum(1 for p in folder.iterdir() if p.suffix.lower() in files.IMAGE_SUFFIXES)
    height, width = _image_size(section)
    return count * 4 * (1 if files.image_color(section) == "grayscale" else 3) * height * width


def _folder(section: dict) -> Path:
    folder = files.existing_file(section.get("path"), "path")
    if not folder.is_dir():
        raise DataError(f"Detection data '{folder}' is not a folder; set 'path' to the folder of images.")
    return folder


def _annotation_file(folder: Path, name: str | None) -> Path:
    if not name:
        raise DataError(f"Detection data '{folder}': set 'annotations' to a COCO-style .json or a boxes .csv.")
    path = folder / Path(name).expanduser()
    if path.suffix.lower() not in ANNOTATION_KINDS:
        raise DataError(f"Annotations '{name}': use a COCO-style .json or a .csv with columns {', '.join(CSV_COLUMNS)}.")
    if not path.is_file():
        raise DataError(f"Annotations file not found: '{path}'. Check 'annotations' in the data section.")
    return path


def _image_size(section: dict) -> tuple[int, int]:
    value = section.get("image_size", files.IMAGE_SIZE)
    try:
        height, width = (int(v) for v in value)
    except (TypeError, ValueError):
        height = width = 0
    if height < 1 or width < 1:
        raise DataError(f"Detection data '{section.get('path')}': image_size must be [height, width] in pixels, "
                        f"not {value!r}.")
    return height, width


def _scaled(box: tuple, width: int, height: int, size: tuple[int, int], file: str, notes: str) -> list[float]:
    """One box checked against its image and scaled to the resized image's pixels."""
    label, x0, y0, x1, y1 = box
    inside = -EDGE_SLACK <= x0 < x1 <= width + EDGE_SLACK and -EDGE_SLACK <= y0 < y1 <= height + EDGE_SLACK
    if not inside:
        raise DataError(f"Annotations '{notes}': box ({x0:g}, {y0:g}, {x1:g}, {y1:g}) of image '{file}' is empty or "
                        f"outside the image ({width}×{height} px); boxes are x0 < x1, y0 < y1 in the image's pixels.")
    sx, sy = size[1] / width, size[0] / height
    x0, x1 = np.clip([x0, x1], 0, width) * sx
    y0, y1 = np.clip([y0, y1], 0, height) * sy
    return [float(label), float(x0), float(y0), float(x1), float(y1)]


def _read_coco(path: Path) -> tuple[list[_Image], list[str]]:
    """COCO instances: `images` (id, file_name), `annotations` (image_id, category_id, bbox x,y,w,h), `categories`."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        categories = sorted(doc["categories"], key=lambda c: c["id"])
        class_of = {c["id"]: index for index, c in enumerate(categories)}
        names = [str(c.get("name", c["id"])) for c in categories]
        listing = {entry["id"]: _Image(str(entry["file_name"])) for entry in doc["images"]}
        for note in doc.get("annotations", []):
            image_id, category = note["image_id"], note["category_id"]
            if image_id not in listing:
                raise DataError(f"Annotations '{path.name}': annotation {note.get('id', '?')} names image id "
                                f"{image_id}, which is not in 'images'.")
            if category not in class_of:
                raise DataError(f"Annotations '{path.name}': unknown category {category} on image "
                                f"'{listing[image_id].file}'; the categories are {sorted(class_of)}.")
            x, y, w, h = (float(v) for v in note["bbox"])
            listing[image_id].boxes.append((class_of[category], x, y, x + w, y + h))
    except DataError:
        raise
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(f"Annotations '{path}' are not valid JSON ({exc}).") from None
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise DataError(f"Annotations '{path}' are not COCO-style ({type(exc).__name__}: {exc}); they need 'images' "
                        "(id, file_name), 'annotations' (image_id, category_id, bbox [x, y, w, h]) and "
                        "'categories' (id, name).") from None
    return list(listing.values()), names


def _read_csv(path: Path) -> tuple[list[_Image], list[str]]:
    """Rows `file,x0,y0,x1,y1,label`, one per box; a row with empty box cells lists an image without objects."""
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            missing = [c for c in CSV_COLUMNS if c not in (reader.fieldnames or [])]
            if missing:
                raise DataError(f"Annotations '{path.name}' lack column(s) {missing}; the columns are "
                                f"{', '.join(CSV_COLUMNS)}.")
            rows = list(reader)
    except UnicodeDecodeError as exc:
        raise DataError(f"Annotations '{path}' are not a text CSV ({exc}).") from None
    except csv.Error as exc:
        raise DataError(f"Annotations '{path}' are not a readable CSV ({exc}).") from None
    labels = sorted({r["label"].strip() for r in rows if (r["label"] or "").strip()}, key=_label_order)
    class_of = {label: index for index, label in enumerate(labels)}
    listing: dict[str, _Image] = {}
    for line, row in enumerate(rows, start=2):
        file = (row["file"] or "").strip()
        if not file:
            raise DataError(f"Annotations '{path.name}' line {line}: no file name.")
        item = listing.setdefault(file, _Image(file))
        cells = [(row[c] or "").strip() for c in CSV_COLUMNS[1:]]
        if not any(cells):
            continue
        try:
            x0, y0, x1, y1 = (float(v) for v in cells[:4])
        except ValueError:
            raise DataError(f"Annotations '{path.name}' line {line}: the box {cells[:4]} needs four numbers.") from None
        if not cells[4]:
            raise DataError(f"Annotations '{path.name}' line {line}: the box of '{file}' has no label.")
        item.boxes.append((class_of[cells[4]], x0, y0, x1, y1))
    return list(listing.values()), labels


def _label_order(label: str) -> tuple:
    """Whole-number labels in numeric order (2 before 10), others alphabetically after them."""
    return (0, int(label), "") if label.lstrip("-").isdigit() else (1, 0, label)
