"""Photos: each on its own (no tracking from one to the next, no temporal filter)."""
from __future__ import annotations

import json
import os
from pathlib import Path

import cv2
import numpy as np

from .io._atomic import atomic_path, atomic_write_text
from .pipeline import FrameResult, PosePipeline, draw_result
from .skeleton import H36M17
from .viz.render3d import SkeletonRenderer


def read_image(path: str | os.PathLike) -> np.ndarray:
    """A photo as BGR uint8 [H, W, 3]; a clear error for a missing file or one OpenCV cannot read."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"no such file: {path}")
    image = cv2.imread(path, cv2.IMREAD_COLOR)
    if image is None or image.size == 0:
        raise ValueError(f"{path}: not an image OpenCV can read")
    return image


def process_image(pipeline: PosePipeline, image_bgr: np.ndarray) -> FrameResult:
    """One photo: a fresh detection (no tracking from the previous photo), no temporal filter."""
    pipeline.restart_tracking()
    return pipeline.process(image_bgr, 0.0)


def _rows_or_null(points: np.ndarray) -> list:
    """[J, D] -> nested lists rounded to 0.01, None for NaN (JSON null)."""
    return [[round(float(v), 2) if np.isfinite(v) else None for v in row] for row in points]


def write_image_outputs(base: str | os.PathLike, image_bgr: np.ndarray, result: FrameResult, focal: float,
                        source: str) -> list[Path]:
    """<base>.json (joint names, 2D px, visibility, 3D mm; null where missing) and
    <base>.overlay.png (the 2D overlay beside the 3D view), each written atomically."""
    base = Path(base)
    height, width = image_bgr.shape[:2]
    record = {"source": source, "image_size": [width, height], "focal_px": round(focal, 3),
              "person": result.person, "joints": list(H36M17.joint_names),
              "joints2d_px": _rows_or_null(result.joints2d),
              "visibility": [round(float(v), 4) for v in result.visibility],
              "joints3d_mm": _rows_or_null(result.joints3d)}
    json_path, png_path = base.with_name(base.name + ".json"), base.with_name(base.name + ".overlay.png")
    atomic_write_text(json_path, json.dumps(record, indent=1) + "\n")
    picture = draw_result(image_bgr.copy(), result, SkeletonRenderer(size=(height, height)))
    with atomic_path(png_path, suffix=".png") as tmp:
        if not cv2.imwrite(tmp, picture):
            raise ValueError(f"{png_path}: OpenCV could not write the image")
    return [json_path, png_path]
