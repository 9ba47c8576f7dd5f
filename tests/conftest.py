"""Shared fixtures: where ../shared is, and a hand-made pose sequence."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

SHARED = Path(__file__).resolve().parents[2] / "shared"
CMU = SHARED / "data" / "cmu"


@pytest.fixture
def cmu_root() -> Path:
    if not CMU.is_dir():
        pytest.skip(f"CMU mocap data not found at {CMU} (see shared/data/README.md)")
    return CMU


def hand_made_pose_mm() -> np.ndarray:
    """One standing person, written joint by joint: [17, 3] mm, camera coordinates
    (x right, y down, z forward), facing the camera, so the person's left is on +x."""
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


def project(joints3d_mm: np.ndarray, focal: float, size: tuple[int, int]) -> np.ndarray:
    """Pinhole projection to pixels, principal point at the image centre."""
    xy = joints3d_mm[..., :2] / joints3d_mm[..., 2:3]
    return (xy * focal + np.array([size[0] / 2, size[1] / 2])).astype(np.float32)


@pytest.fixture
def hand_made_npz(tmp_path) -> Path:
    """A pose-sequence file made by hand: 8 frames, 1280x720, f = 1000 px, 2D in pixels."""
    base = hand_made_pose_mm()
    frames = []
    for k in range(8):
        a = np.radians(20 * k - 70)   # the person turns on the spot
        rot = np.array([[np.cos(a), 0, np.sin(a)], [0, 1, 0], [-np.sin(a), 0, np.cos(a)]], np.float32)
        frames.append(base @ rot.T + np.array([150.0 * (k - 4), 100.0, 4500.0], np.float32))
    joints3d = np.stack(frames)
    path = tmp_path / "hand_made.npz"
    np.savez(path, joints3d=joints3d, joints2d=project(joints3d, 1000.0, (1280, 720)),
             image_size=np.array([1280, 720]), focal=np.float32(1000.0),
             clip=np.array(["turn"] * 4 + ["turn2"] * 4))
    return path


def run_cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """The real `realtime3d` command in a subprocess: real exit codes and stderr."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "realtime3d", *args], capture_output=True, text=True,
                          timeout=timeout, env=env, cwd=Path(__file__).resolve().parent)
