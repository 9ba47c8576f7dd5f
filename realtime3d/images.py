"""Photos: each on its own (no tracking from one to the next, no temporal filter)."""
from __future__ import annotations

import json
import os
from pathlib import Path

import cv2
import numpy as np

from .io._atomic import atomic_path, atomic_write_text
from .io.inputs import require_file
from .export import json_header, person_entry
from .pipeline import FrameResult, PosePipeline, draw_result
from .viz.render3d import SkeletonRenderer


def read_image(path: str | os.PathLike) -> np.ndarray:
    """A photo, upright as a viewer shows it.

    IMREAD_COLOR (without IMREAD_IGNORE_ORIENTATION) makes OpenCV apply a JPEG's or PNG's
    EXIF orientation, the turn or mirror that a phone records instead of turning the pixels.

    Args:
        path: the photo's file.
    Returns:
        [H, W, 3] uint8 BGR, upright.
    Raises:
        FileNotFoundError, ValueError: a missing file, or one OpenCV cannot read.
    """
    path = require_file(path)
    image = cv2.imread(path, cv2.IMREAD_COLOR)
    if image is None or image.size == 0:
        raise ValueError(f"{path}: not an image OpenCV can read")
    return image


def process_image(pipeline: PosePipeline, image_bgr: np.ndarray) -> FrameResult:
    """One photo: a fresh detection (no tracking from the previous photo, ids from 1), no temporal filter."""
    pipeline.restart_tracking(new_ids=True)
    return pipeline.process(image_bgr, 0.0)


def write_image_outputs(base: str | os.PathLike, image_bgr: np.ndarray, result: FrameResult, focal: float,
                        source: str, panel: bool | None = None, people: bool = True) -> list[Path]:
    """<base>.json (poses.json's schema for one frame: docs/outputs.md) and <base>.overlay.png (the 2D
    overlay beside the 3D view), each atomically. people: the JSON lists every person with their
    id ("people", [] when there is none); else it holds the one person ("person", null when there
    is none). panel: the skeleton net's panel (pipeline.draw_result); None: when the result has its
    detection."""
    base = Path(base)
    height, width = image_bgr.shape[:2]
    header = json_header(source, (width, height), focal, people=people)
    if people:
        record = {**header, "people": [{"id": p.id, **person_entry(p.joints3d, p.joints2d, p.visibility, None,
                                                                   p.confidence)}
                                       for p in result.people if p.complete]}
    else:
        main = result.main
        record = {**header, "person": person_entry(main.joints3d, main.joints2d, main.visibility, None,
                                                   main.confidence) if main is not None and main.complete else None}
    json_path, png_path = base.with_name(base.name + ".json"), base.with_name(base.name + ".overlay.png")
    atomic_write_text(json_path, json.dumps(record, indent=1) + "\n")
    picture = draw_result(image_bgr.copy(), result, SkeletonRenderer(size=(height, height)), panel=panel)
    with atomic_path(png_path, suffix=".png") as tmp:
        if not cv2.imwrite(tmp, picture):
            raise ValueError(f"{png_path}: OpenCV could not write the image")
    return [json_path, png_path]
