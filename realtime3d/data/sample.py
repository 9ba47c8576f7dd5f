"""A standing person written joint by joint: the project's own sample pose.

For demos, documentation pictures and tests that must not depend on (or commit
anything derived from) the shared mocap and media.
"""
from __future__ import annotations

import numpy as np


def standing_pose_mm() -> np.ndarray:
    """[17, 3] mm in camera coordinates (x right, y down, z forward), root at the origin,
    facing the camera, so the person's left is on +x; the left leg steps forward and the
    left hand reaches forward."""
    return np.array([
        [0, 0, 0],            # pelvis
        [-100, 0, 0],         # right hip
        [-110, 420, 20],      # right knee
        [-110, 830, 60],      # right ankle
        [100, 0, 0],          # left hip
        [120, 410, -60],      # left knee (stepping forward)
        [130, 800, -10],      # left ankle
        [0, -230, 0],         # spine
        [0, -460, 0],         # thorax
        [0, -600, -20],       # head
        [0, -700, -20],       # head top
        [170, -440, 0],       # left shoulder
        [290, -200, -80],     # left elbow
        [300, 20, -220],      # left wrist (reaching forward)
        [-170, -440, 0],      # right shoulder
        [-200, -180, 30],     # right elbow
        [-210, 60, 20],       # right wrist
    ], dtype=np.float32)
