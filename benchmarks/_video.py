"""A video's frames for the benchmarks that time or score detectors on them."""
from __future__ import annotations

import cv2
import numpy as np


def frames_rgb(video: str, limit: int | None = None) -> list[np.ndarray]:
    """The first `limit` frames (all when None) of a video, in RGB order, as the app's decode
    thread hands them to a detector; SystemExit with one line when none can be read."""
    capture, out = cv2.VideoCapture(video), []
    while limit is None or len(out) < limit:
        ok, frame = capture.read()
        if not ok:
            break
        out.append(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
    capture.release()
    if not out:
        raise SystemExit(f"no frames could be read from {video}")
    return out
