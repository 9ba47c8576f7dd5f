"""One person in one frame, as every detector reports it (detect/mediapipe.py, detect/skeleton_net.py)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Detection:
    """One person in one frame. The first two fields are every detector's; the others are
    filled by the detector that has them, None otherwise.

    Pixels are the frame's, pixel centres at integer coordinates (x right, y down)."""

    joints2d_px: np.ndarray   # [17, 2] float32, pixels of the frame
    visibility: np.ndarray    # [17] float32 in 0..1: MediaPipe's visibility (derived joints: min of
    #                           their sources); the skeleton net's Phi/Omega agreement of the joint's bones
    landmarks33: np.ndarray | None = None   # [33, 4] float32 raw MediaPipe (x_px, y_px, z, visibility)
    skeleton: np.ndarray | None = None      # [16, 64, 64] float32: Phi's skeleton image, one channel per bone
    rendered: np.ndarray | None = None      # [16, 64, 64] float32: kappa of Omega's 2D (render_skeleton)
    crop_box: tuple[float, float, float] | None = None   # (x0, y0, side): the square crop's top-left
    #                                                      corner and side in frame pixels (frame corner: -0.5, -0.5)
    confidence: float | None = None         # 0..1: the skeleton net's mean Phi/Omega agreement over bones
    box: tuple[float, float, float, float] | None = None   # (x0, y0, x1, y1) frame px: the person's box, the
    #                                                        extent of its landmarks (the multi-person detector)
    score: float | None = None              # 0..1: the landmark model's pose-presence score (multi-person detector)


def check_frame(frame, order: str) -> np.ndarray:
    """The frame as an array, or a ValueError unless it is a uint8 image [H, W, 3] (order: "BGR" or "RGB")."""
    frame = np.asarray(frame)
    if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8 or 0 in frame.shape:
        raise ValueError(f"frame must be a {order} uint8 image [H, W, 3], got {frame.dtype} {list(frame.shape)}")
    return frame
