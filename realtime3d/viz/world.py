"""The viewers' world: y up, the person centred and standing on a ground grid.

The lifter answers in camera coordinates (OpenCV: x right, y down, z forward;
camera.py). Both viewers turn that into a y-up world by the 180 degree rotation
about x, (x, y, z) -> (x, -y, -z); flipping one axis would mirror the person. The
person faces +z in that world, towards where the recording camera was.

Placement is per frame: the pelvis goes to x = z = 0 and the lower ankle to y = 0,
so the view follows the person and the feet stand on the grid (a jump is not
shown as leaving the ground: monocular lifting has no reliable absolute height).
Many people (place_people): each stands on the grid, where the lifter put them
relative to the others, the group's mean pelvis at x = z = 0.
"""
from __future__ import annotations

import numpy as np

from ..camera import world_yup_to_camera
from ..skeleton import H36M17, Skeleton

#: The ground grid: a square of this half-width around the person, lines every GRID_STEP_MM.
GRID_HALF_MM = 1500.0
GRID_STEP_MM = 500.0
#: Both views orbit the point this far above the ground, about a standing person's hips.
LOOK_AT_HEIGHT_MM = 900.0
#: Both views start here: from the recording camera's side (the person faces the viewer),
#: turned by this azimuth about the vertical and raised by this elevation.
VIEW_AZIMUTH_DEG = 25.0
VIEW_ELEVATION_DEG = 15.0


def camera_to_world(joints: np.ndarray) -> np.ndarray:
    """[..., 3] camera coordinates -> [..., 3] y-up world, (x, y, z) -> (x, -y, -z).

    The rotation is its own inverse, so this is camera.world_yup_to_camera applied once more.
    """
    return world_yup_to_camera(np.asarray(joints, dtype=np.float64))


def check_pose(joints3d_mm, skeleton: Skeleton = H36M17) -> np.ndarray | None:
    """A pose as float64 [J, 3], or None for "no person" (None, or no finite joint)."""
    if joints3d_mm is None:
        return None
    joints = np.asarray(joints3d_mm, dtype=np.float64)
    if joints.shape != (skeleton.num_joints, 3):
        raise ValueError(f"joints3d_mm must be [{skeleton.num_joints}, 3], got {list(joints.shape)}")
    if not np.isfinite(joints).all(axis=1).any():
        return None
    return joints


def stand_on_ground(joints_world: np.ndarray, skeleton: Skeleton = H36M17) -> np.ndarray:
    """[J, 3] y-up world -> [J, 3] with the pelvis at x = z = 0 and the lower ankle at y = 0.

    NaN joints stay NaN. Without a pelvis the mean of the joints is centred; without
    ankles the lowest joint stands on the ground.
    """
    out = np.array(joints_world, dtype=np.float64)
    root = out[skeleton.root]
    centre = root if np.isfinite(root).all() else np.nanmean(out, axis=0)
    ankles = [skeleton.index[n] for n in ("left_ankle", "right_ankle") if n in skeleton.index]
    feet_y = out[ankles, 1] if ankles else out[:, 1]
    if not np.isfinite(feet_y).any():
        feet_y = out[:, 1]
    out -= np.array([centre[0], np.nanmin(feet_y), centre[2]])
    return out


def place_people(poses_world: list[np.ndarray], skeleton: Skeleton = H36M17) -> list[np.ndarray]:
    """Poses [J, 3] in the y-up world -> each standing on y = 0 (stand_on_ground), kept where it is
    relative to the others: the group's mean pelvis (over the poses that have one) at x = z = 0."""
    placed = [stand_on_ground(p, skeleton) for p in poses_world]
    roots = np.array([p[skeleton.root] for p in poses_world]).reshape(-1, 3)          # [P, 3]
    roots = roots[np.isfinite(roots).all(axis=1)]
    if len(placed) < 2 or not len(roots):
        return placed
    centre = roots.mean(axis=0)
    return [q + np.array([p[skeleton.root, 0] - centre[0], 0.0, p[skeleton.root, 2] - centre[2]])
            if np.isfinite(p[skeleton.root]).all() else q for p, q in zip(poses_world, placed)]


def grid_segments(half_mm: float = GRID_HALF_MM, step_mm: float = GRID_STEP_MM) -> np.ndarray:
    """[L, 2, 3] segments of a square grid in the ground plane y = 0, centred on the origin."""
    ticks = np.arange(-half_mm, half_mm + 0.5 * step_mm, step_mm)      # [T]
    zeros, lo, hi = np.zeros_like(ticks), np.full_like(ticks, -half_mm), np.full_like(ticks, half_mm)
    along_z = np.stack([np.stack([ticks, zeros, lo], -1), np.stack([ticks, zeros, hi], -1)], 1)
    along_x = np.stack([np.stack([lo, zeros, ticks], -1), np.stack([hi, zeros, ticks], -1)], 1)
    return np.concatenate([along_z, along_x])                           # [2T, 2, 3]
