"""Photos: each on its own (no tracking from one to the next, no temporal filter)."""
from __future__ import annotations

import json
import os
from pathlib import Path

import cv2
import numpy as np

from .io._atomic import atomic_path, atomic_write_text
from .io.inputs import require_file
from .errors import UserError
from .export import json_header, person_entry
from .pipeline import FrameResult, PosePipeline
from .viz.frame import draw_result
from .viz.render3d import PoseRenderer


def read_image(path: str | os.PathLike) -> np.ndarray:
    """A photo, upright as a viewer shows it.

    IMREAD_COLOR (without IMREAD_IGNORE_ORIENTATION) makes OpenCV apply a JPEG's or PNG's
    EXIF orientation, the turn or mirror that a phone records instead of turning the pixels.

    Args:
        path: the photo's file.
    Returns:
        [H, W, 3] uint8 BGR, upright.
    Raises:
        UserError: a missing file, or one OpenCV cannot read.
    """
    path = require_file(path)
    image = cv2.imread(path, cv2.IMREAD_COLOR)
    if image is None or image.size == 0:
        raise UserError(f"{path}: not an image OpenCV can read")
    return image


def process_image(pipeline: PosePipeline, image_bgr: np.ndarray) -> FrameResult:
    """One photo [H, W, 3] uint8 BGR: a fresh detection (no tracking from the previous photo, ids from
    1), at time 0 s of a tracker and filters of its own (a filter's first pose passes through)."""
    pipeline.restart_tracking(new_ids=True)
    return pipeline.process(image_bgr, 0.0)


def write_image_outputs(base: str | os.PathLike, image_bgr: np.ndarray, result: FrameResult, focal: float,
                        source: str, panel: bool | None = None) -> list[Path]:
    """<base>.json and <base>.overlay.png (the 2D overlay beside the 3D view), each atomically.

    The JSON is poses.json's schema for one frame (docs/outputs.md): every person with a 3D pose,
    with their id, in "people" ([] when there is none).

    Args:
        base: the path without its suffixes.
        image_bgr: [H, W, 3] uint8, the photo.
        result: its FrameResult.
        focal: px.
        source: the photo's name, as the JSON gives it.
        panel: the skeleton net's panel (viz.frame.draw_result); None: when the result has its detection.
    Returns:
        The two paths written.
    """
    base = Path(base)
    height, width = image_bgr.shape[:2]
    record = {**json_header(source, (width, height), focal),
              "people": [{"id": p.id, **person_entry(p.joints3d, p.joints2d, p.visibility, None, p.confidence)}
                         for p in result.people if p.complete]}
    json_path, png_path = base.with_name(base.name + ".json"), base.with_name(base.name + ".overlay.png")
    atomic_write_text(json_path, json.dumps(record, indent=1) + "\n")
    picture = draw_result(image_bgr.copy(), result, PoseRenderer(size=(height, height)), panel=panel)
    with atomic_path(png_path, suffix=".png") as tmp:
        if not cv2.imwrite(tmp, picture):
            raise UserError(f"{png_path}: OpenCV could not write the image")
    return [json_path, png_path]
