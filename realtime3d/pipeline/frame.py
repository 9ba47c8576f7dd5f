"""One frame through the pipeline: its people (tracking.Person) and the stage timings."""
from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from ..detect.detection import Detection
from ..lifting import VISIBILITY_THRESHOLD
from ..person import Person


@dataclass
class FrameResult:
    """One frame through the pipeline: every person kept (the --person choice), by id."""

    people: list[Person] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)   # ms: detect, track, lift, filter
    visibility_threshold: float = VISIBILITY_THRESHOLD   # joints below it went to the lifter as missing

    @property
    def main(self) -> Person | None:
        """The largest person of the frame (box_area), None without one."""
        return max(self.people, key=lambda p: box_area(p.detection), default=None)

    @property
    def person(self) -> bool:
        """Someone in the frame has a whole 3D pose."""
        return any(p.complete for p in self.people)

    @property
    def lifted(self) -> list[tuple[int, np.ndarray]]:
        """(id, joints3d [17, 3] mm) of the people with a whole 3D pose: what the 3D views show."""
        return [(p.id, p.joints3d) for p in self.people if p.complete]

    def light_people(self) -> list[Person]:
        """The people with light detections (light_detection): what a run keeps of every frame."""
        return [replace(p, detection=light_detection(p.detection)) for p in self.people]

    def scaled(self, scale_xy: np.ndarray) -> "FrameResult":
        """The same result with its 2D (joints, boxes) in pixels scaled by (sx, sy) [2]."""
        return replace(self, people=[replace(p, detection=scaled_detection(p.detection, scale_xy))
                                     for p in self.people])


def box_area(detection: Detection) -> float:
    """A person's size in the frame (px^2): the area of the detection's box, else of its finite 2D
    joints' extent."""
    if detection.box is not None:
        x0, y0, x1, y1 = detection.box
    else:
        joints2d = detection.joints2d_px
        finite = joints2d[np.isfinite(joints2d).all(axis=1)]
        if not len(finite):
            return 0.0
        (x0, y0), (x1, y1) = finite.min(axis=0), finite.max(axis=0)
    return float(max(x1 - x0, 0.0) * max(y1 - y0, 0.0))


def scaled_detection(detection: Detection, scale_xy: np.ndarray) -> Detection:
    """A detection's pixels (joints, landmarks, crop box, box) scaled by (sx, sy) [2]."""
    crop, box = detection.crop_box, detection.box
    landmarks = detection.landmarks33
    if landmarks is not None:
        landmarks = landmarks.copy()
        landmarks[:, :2] *= scale_xy
    return replace(detection, joints2d_px=detection.joints2d_px * scale_xy, landmarks33=landmarks,
                   crop_box=None if crop is None else (crop[0] * scale_xy[0], crop[1] * scale_xy[1],
                                                       crop[2] * scale_xy[0]),
                   box=None if box is None else (box[0] * scale_xy[0], box[1] * scale_xy[1],
                                                 box[2] * scale_xy[0], box[3] * scale_xy[1]))


def light_detection(detection: Detection) -> Detection:
    """The fields of a detection that a run keeps for every frame (2D, visibility, box, score,
    confidence, world3d), without the landmarks and the skeleton images."""
    return Detection(detection.joints2d_px, detection.visibility, confidence=detection.confidence,
                     box=detection.box, score=detection.score, world3d=detection.world3d)
