"""The floor estimate (realtime3d/ground.py) on real CMU motion seen through known, tilted cameras."""
from __future__ import annotations

import numpy as np
import pytest

from conftest import project
from realtime3d.camera import world_yup_to_camera
from realtime3d.data.mocap import bvh_to_h36m
from realtime3d.io.bvh_retarget import constant_bone_poses
from realtime3d.ground import ANKLE_HEIGHT_MM, estimate_ground, place_on_floor
from realtime3d.lifting import Lifter
from realtime3d.skeleton import H36M17

SIZE, FOCAL = (1280, 720), 1000.0
ANKLES = [H36M17.index["left_ankle"], H36M17.index["right_ankle"]]


def _camera(pitch_deg: float, height_mm: float, world: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A camera 5 m in front of the clip's mean position (along world +Z), pitched down:
    (rotation [3, 3] rows x, y, z in the world, centre [3])."""
    pitch = np.radians(pitch_deg)
    forward = np.array([0.0, -np.sin(pitch), np.cos(pitch)])
    right = np.cross(forward, [0.0, 1.0, 0.0])
    right /= np.linalg.norm(right)
    centre = world[:, H36M17.root].mean(0)
    return np.stack([right, np.cross(forward, right), forward]), np.array([centre[0], height_mm, centre[2] - 5000])


@pytest.fixture(scope="module")
def walk_in_tilted_camera():
    from conftest import CMU
    if not CMU.is_dir():
        pytest.skip(f"CMU mocap data not found at {CMU} (see shared/data/README.md)")
    joints, fps = bvh_to_h36m(CMU / "08" / "08_04.bvh", fps=30.0)            # 4 s of walking (train split)
    world = world_yup_to_camera(joints.astype(np.float64))                    # Y-up mocap, floor at y = 0
    rotation, centre = _camera(15.0, 1500.0, world)
    return (world - centre) @ rotation.T, rotation, fps                        # [F, 17, 3] camera


@pytest.mark.data
@pytest.mark.parametrize("source", ["mocap", "lifted"])
def test_floor_and_camera_are_recovered(walk_in_tilted_camera, source):
    joints, rotation, fps = walk_in_tilted_camera
    if source == "lifted":
        # exact mocap 2D: a lifter of mocap views (the default's lifter learned MediaPipe's 2D instead)
        joints = Lifter.from_pretrained("cycle").lift(project(joints, FOCAL, SIZE), SIZE, FOCAL)
    poses, _ = constant_bone_poses(joints)
    ground = estimate_ground(poses)
    true_up = rotation @ np.array([0.0, 1.0, 0.0])
    assert np.degrees(np.arccos(ground.up @ true_up)) < (2.0 if source == "mocap" else 6.0)
    assert abs(ground.camera_pitch_deg - 15.0) < (1.5 if source == "mocap" else 5.0)
    assert abs(ground.camera_height_mm - 1500.0) < (150 if source == "mocap" else 400)
    world = place_on_floor(ground.to_world(poses), fps)
    lowest = world[:, ANKLES, 1].min(axis=1)
    assert ((lowest > -50) & (lowest < 150)).mean() >= 0.9
    trunk = world[:, H36M17.index["thorax"]] - world[:, H36M17.root]
    assert np.degrees(np.arccos(trunk[:, 1] / np.linalg.norm(trunk, axis=1))).mean() < 10.0


@pytest.mark.data
def test_place_on_floor_keeps_a_short_jump(walk_in_tilted_camera):
    """place_on_floor takes out slow drifts, not a short jump: a 0.2 s hop stays in the air."""
    joints, _, fps = walk_in_tilted_camera
    ground = estimate_ground(joints)
    world = ground.to_world(joints)
    hop = slice(60, 66)                                                         # 0.2 s at 30 fps
    world[hop, :, 1] += 300.0
    placed = place_on_floor(world, fps)
    assert placed[hop][:, ANKLES, 1].min() > 200.0
    steady = np.r_[0:50, 76:len(world)]
    assert np.abs(np.median(placed[steady][:, ANKLES, 1].min(axis=1)) - ANKLE_HEIGHT_MM) < 1.0


def test_nan_frames_and_bad_shapes():
    pose = np.zeros((3, 17, 3))
    pose[:] = np.nan
    with pytest.raises(ValueError, match="no frame"):
        estimate_ground(pose)
    with pytest.raises(ValueError, match=r"\[N, 17, 3\]"):
        estimate_ground(np.zeros((3, 16, 3)))
