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


#: The camera of sample_keypoints_px: 1280x720 pixels, focal length 1000 px.
SAMPLE_IMAGE_SIZE, SAMPLE_FOCAL_PX = (1280, 720), 1000.0


def sample_pose_in_camera(depth_mm: float = 3200.0, turn_deg: float = 35.0) -> np.ndarray:
    """The sample pose [17, 3] mm turned by turn_deg about the vertical, its pelvis depth_mm in
    front of the camera and 150 mm below its axis."""
    a = np.radians(turn_deg)
    turn = np.array([[np.cos(a), 0, np.sin(a)], [0, 1, 0], [-np.sin(a), 0, np.cos(a)]], np.float32)
    return standing_pose_mm() @ turn.T + np.array([0.0, 150.0, depth_mm], np.float32)


def sample_keypoints_px(depth_mm: float = 3200.0, turn_deg: float = 35.0) -> np.ndarray:
    """The sample pose as a detector would give it: [17, 2] px of the SAMPLE_IMAGE_SIZE camera
    with SAMPLE_FOCAL_PX, principal point at the image centre."""
    joints = sample_pose_in_camera(depth_mm, turn_deg)
    centre = np.array(SAMPLE_IMAGE_SIZE, np.float32) / 2
    return (joints[:, :2] / joints[:, 2:] * SAMPLE_FOCAL_PX + centre).astype(np.float32)
