"""One person in one frame: the one per-frame person type of the package."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .detect.detection import Detection
from .skeleton import H36M17


def _not_lifted() -> np.ndarray:
    return np.full((H36M17.num_joints, 3), np.nan, np.float32)


@dataclass
class Person:
    """One person in one frame: the tracker's id, the detector's answer and, once lifted, the 3D pose.

    The one per-frame person type of the package: tracking.PersonTracker.update makes it (joints3d
    not lifted yet), pipeline.PosePipeline fills joints3d, and a run (export.PoseRun)
    gathers the frames' people into arrays with a person axis.
    """

    id: int                 # 1, 2, 3, ... in order of first appearance, never reused in a tracker's life
    detection: Detection    # frame pixels
    frames: int = 1         # frames this id has been matched so far (including this one)
    joints3d: np.ndarray = field(default_factory=_not_lifted)   # [17, 3] mm camera coordinates; NaN: not lifted

    @property
    def joints2d(self) -> np.ndarray:
        """[17, 2] px of the frame."""
        return self.detection.joints2d_px

    @property
    def visibility(self) -> np.ndarray:
        """[17] 0..1."""
        return self.detection.visibility

    @property
    def complete(self) -> bool:
        """The person has a whole 3D pose."""
        return bool(np.isfinite(self.joints3d).all())

    @property
    def confidence(self) -> float:
        """The detector's confidence (the skeleton net's), NaN without one."""
        c = self.detection.confidence
        return float("nan") if c is None else float(c)
