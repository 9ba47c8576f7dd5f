"""One person in one frame, as every detector reports it (detect/mediapipe.py, detect/skeleton_net.py)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import cv2
import numpy as np

#: MediaPipe's visibility threshold (mediapipe/python/solutions/drawing_utils.py): a landmark
#: whose visibility is below it is treated as not seen. The BlazePose detectors' default.
VISIBILITY_THRESHOLD = 0.5


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
    world3d: np.ndarray | None = None       # [17, 3] float32 mm: MediaPipe's world landmarks (its GHUM 3D) as
    #                                         the 17 joints by the rules of mediapipe.py, origin between the
    #                                         hips, camera axes (x right, y down, z forward); the multi-person
    #                                         detector's (--model mediapipe-world)


def check_frame(frame, order: str) -> np.ndarray:
    """The frame as an array, or a ValueError unless it is a uint8 image [H, W, 3] (order: "BGR" or "RGB")."""
    frame = np.asarray(frame)
    if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8 or 0 in frame.shape:
        raise ValueError(f"frame must be a {order} uint8 image [H, W, 3], got {frame.dtype} {list(frame.shape)}")
    return frame


class OnePersonDetector:
    """detect_all / detect_all_rgb of a detector that follows one person, from its detect / detect_rgb
    (each a Detection or None): [the Detection], or []."""

    def detect_all(self, frame_bgr: np.ndarray) -> list[Detection]:
        """A BGR uint8 frame [H, W, 3] -> [the person's Detection], or []."""
        found = self.detect(frame_bgr)
        return [] if found is None else [found]

    def detect_all_rgb(self, frame_rgb: np.ndarray) -> list[Detection]:
        """detect_all() of a frame already in RGB order."""
        found = self.detect_rgb(frame_rgb)
        return [] if found is None else [found]


class ManyPeopleDetector:
    """detect / detect_rgb / detect_all of a detector of every person, from its detect_all_rgb
    (everyone found, largest first): the largest person's Detection or None, and the BGR frame's
    people."""

    def detect(self, frame_bgr: np.ndarray) -> Detection | None:
        """A BGR uint8 frame [H, W, 3] -> the largest person's Detection, or None."""
        found = self.detect_all(frame_bgr)
        return found[0] if found else None

    def detect_rgb(self, frame_rgb: np.ndarray) -> Detection | None:
        """detect() of a frame already in RGB order."""
        found = self.detect_all_rgb(frame_rgb)
        return found[0] if found else None

    def detect_all(self, frame_bgr: np.ndarray) -> list[Detection]:
        """A BGR uint8 frame [H, W, 3] -> every person's Detection, largest first; [] without a person."""
        return self.detect_all_rgb(cv2.cvtColor(check_frame(frame_bgr, "BGR"), cv2.COLOR_BGR2RGB))


@runtime_checkable
class Detector(Protocol):
    """What the pipeline relies on of a 2D detector (blazepose.MultiPoseDetector,
    skeleton_net.SkeletonNetDetector, mediapipe.PoseDetector).

    Attributes:
        name: the `--detector` value that builds it ("blazepose", "skeleton-net"; mediapipe.PoseDetector,
            which no flag builds: "mediapipe-pose").
        visibility_threshold: joints whose visibility is below it go to the lifter as missing (0..1).
        fingerprint: the settings that change its answers, for an offline run's resume check.
    """

    name: str
    visibility_threshold: float

    @property
    def fingerprint(self) -> str: ...

    def detect_all(self, frame_bgr: np.ndarray) -> list[Detection]:
        """A BGR uint8 frame [H, W, 3] -> everyone found, largest first; [] without a person."""

    def detect_all_rgb(self, frame_rgb: np.ndarray) -> list[Detection]:
        """The same for an RGB frame."""

    def reset(self, search: bool = True) -> None:
        """Forget what was followed; the next frame is looked at afresh (search: thoroughly, where
        the detector has a thorough search)."""

    def close(self) -> None:
        """Free the models and threads; the detector is not used again."""
