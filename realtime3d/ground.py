"""The floor and the up direction of a clip, from its feet: a world frame that stands on the ground.

    ground = estimate_ground(joints3d)             # [N, 17, 3] mm, camera coordinates
    world = ground.to_world(joints3d)              # [N, 17, 3] mm, Y up, floor at y = 0

The lifter answers in the camera's frame, where the floor is a tilted plane (the
camera looks down at it) and the person's depth changes as they walk. A supporting
foot is on the floor in most frames of any clip of a standing, walking or dancing
person, so the floor is the plane that the lower ankle of each frame lies on:

1. up starts as the mean trunk direction (pelvis -> thorax) over the clip;
2. in each frame, the contact point is the ankle lower along up;
3. a plane is fitted to the contact points, trimmed: points farther than
   TRIM_MAD robust standard deviations (1.4826 x the median absolute deviation) from
   the plane are left out (the frames of a jump, a kick, a wrong lift);
4. the plane's normal is the smallest eigenvector of the contact points' scatter plus
   a prior on the trunk direction, PRIOR_MM^2 x (I - u u^T), which only decides the
   tilts that the points leave open (a person walking along a line fixes one tilt,
   standing still fixes none); repeat from 2.

The floor lies ANKLE_HEIGHT_MM below that plane: ankle joints sit above the soles.
The world frame has Y up (gravity along -Y), the floor at y = 0, the origin on the
floor below the clip's median pelvis, and X along the camera's x axis laid flat, so
Z = X x Y points from the scene towards the camera (a person facing it faces +Z). One frame
serves the whole clip: a camera that pans or tilts during the clip is not followed.

Monocular depth errors leave a lifted person standing a little above or below any
plane from frame to frame. place_on_floor() takes that out in the world frame: each
frame moves vertically by the running median, over CONTACT_WINDOW_S, of its lower
ankle's height above ANKLE_HEIGHT_MM. A foot stays on the floor; a jump shorter than
half the window keeps its height. Tests and benchmarks/bench_ground.py check the
whole on CMU train clips seen through known cameras, and on the street video.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import median_filter

from .anthropometry import ANKLE_HEIGHT_MM
from .skeleton import H36M17

#: Contact points farther from the plane than this many robust standard deviations are
#: left out of the next fit.
TRIM_MAD = 2.0
#: Weight of the trunk-direction prior, as the spread (mm) of contact heights that
#: a 1-radian tilt of the prior would be worth. Small against the spread of a walk.
#: PRIOR_MM and TRIM_MAD were chosen among 30/100/300/1000 mm and 2/2.5/3.5 on CMU
#: train clips only (benchmarks/bench_ground.py: the smallest worst-case up error).
PRIOR_MM = 100.0
ITERATIONS = 6
#: place_on_floor's window (s): a flight phase shorter than half of it is kept.
CONTACT_WINDOW_S = 0.5

_ANKLES = [H36M17.index["left_ankle"], H36M17.index["right_ankle"]]
_PELVIS, _THORAX = H36M17.index["pelvis"], H36M17.index["thorax"]


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=-1, keepdims=True).clip(min=1e-12)


@dataclass(frozen=True)
class GroundFrame:
    """A world frame on the floor: world = rotation @ (camera point - origin), all in mm."""

    rotation: np.ndarray      # [3, 3] rows: world X, Y (up), Z in camera coordinates
    origin: np.ndarray        # [3] camera coordinates of the world origin, on the floor
    contact_frames: int       # frames whose contact point the final fit kept
    frames: int               # frames with a complete pose

    @property
    def up(self) -> np.ndarray:
        """[3] the up direction in camera coordinates (minus gravity)."""
        return self.rotation[1]

    def to_world(self, points: np.ndarray) -> np.ndarray:
        """[..., 3] camera coordinates (mm) -> [..., 3] world (mm); NaN stays NaN."""
        return (np.asarray(points, dtype=np.float64) - self.origin) @ self.rotation.T

    @property
    def camera_position(self) -> np.ndarray:
        """[3] the camera's centre in the world (mm)."""
        return self.to_world(np.zeros(3))

    @property
    def camera_height_mm(self) -> float:
        """How high the camera's centre is above the floor."""
        return float(self.camera_position[1])

    @property
    def camera_pitch_deg(self) -> float:
        """The optical axis's angle below the horizon (positive: the camera looks down)."""
        return float(np.degrees(np.arcsin(np.clip(-self.up[2], -1.0, 1.0))))

    @property
    def camera_roll_deg(self) -> float:
        """The camera x axis's angle above the horizon (positive: the camera's right side is raised)."""
        return float(np.degrees(np.arcsin(np.clip(self.up[0], -1.0, 1.0))))

    def as_dict(self) -> dict:
        return {"rotation_world_from_camera": np.round(self.rotation, 6).tolist(),
                "origin_in_camera_mm": np.round(self.origin, 2).tolist(),
                "camera_position_mm": np.round(self.camera_position, 2).tolist(),
                "camera_height_mm": round(self.camera_height_mm, 1),
                "camera_pitch_deg": round(self.camera_pitch_deg, 2),
                "camera_roll_deg": round(self.camera_roll_deg, 2),
                "contact_frames": self.contact_frames, "frames": self.frames}


def _fit_normal(points: np.ndarray, prior: np.ndarray) -> np.ndarray:
    """The unit normal [3] of the plane through points [P, 3], pulled towards prior [3] where
    the points leave it open, oriented along prior."""
    centred = points - points.mean(0)
    scatter = centred.T @ centred / max(len(points), 1)                     # [3, 3] mm^2
    system = scatter + PRIOR_MM ** 2 * (np.eye(3) - np.outer(prior, prior))
    normal = np.linalg.eigh(system)[1][:, 0]                               # smallest eigenvalue
    return normal if normal @ prior >= 0 else -normal


def estimate_ground(joints3d: np.ndarray) -> GroundFrame:
    """The floor of a clip [N, 17, 3] (mm, camera coordinates; NaN rows: no person), see the module."""
    joints3d = np.asarray(joints3d, dtype=np.float64)
    if joints3d.ndim != 3 or joints3d.shape[1:] != (H36M17.num_joints, 3):
        raise ValueError(f"poses must be [N, {H36M17.num_joints}, 3], got {list(joints3d.shape)}")
    poses = joints3d[np.isfinite(joints3d).all(axis=(1, 2))]                # [V, 17, 3]
    if not len(poses):
        raise ValueError("no frame holds a complete pose")
    prior = _unit(_unit(poses[:, _THORAX] - poses[:, _PELVIS]).mean(0))    # [3], trunk up
    up = prior
    keep = np.ones(len(poses), bool)
    for _ in range(ITERATIONS):
        ankles = poses[:, _ANKLES]                                          # [V, 2, 3]
        lower = np.argmin(ankles @ up, axis=1)                              # [V]
        contact = ankles[np.arange(len(poses)), lower]                      # [V, 3]
        up = _fit_normal(contact[keep], prior)
        height = contact @ up                                               # [V]
        centre = np.median(height[keep])
        spread = max(1.4826 * np.median(np.abs(height[keep] - centre)), 1.0)
        keep = np.abs(height - centre) <= TRIM_MAD * spread
    plane = float(np.mean((contact @ up)[keep]))                           # the ankles' plane: x . up
    floor = plane - ANKLE_HEIGHT_MM
    x_axis = _unit(np.array([1.0, 0.0, 0.0]) - up[0] * up)                  # camera x, laid flat
    rotation = np.stack([x_axis, up, np.cross(x_axis, up)])                 # [3, 3] rows X, Y, Z
    pelvis = np.median(poses[:, _PELVIS], axis=0)
    origin = pelvis - (pelvis @ up - floor) * up                            # below it, on the floor
    return GroundFrame(rotation=rotation, origin=origin, contact_frames=int(keep.sum()), frames=len(poses))


def place_on_floor(world: np.ndarray, fps: float, window_s: float = CONTACT_WINDOW_S) -> np.ndarray:
    """World poses [N, 17, 3] (mm, Y up) -> the same, each frame moved vertically so that the
    running median of the lower ankle's height is ANKLE_HEIGHT_MM (see the module). NaN rows stay."""
    world = np.array(world, dtype=np.float64)
    valid = np.isfinite(world).all(axis=(1, 2))
    if not valid.any():
        return world
    lowest = world[valid][:, _ANKLES, 1].min(axis=1)                       # [V]
    size = max(1, int(round(window_s * fps)) | 1)                          # odd, in frames
    offset = median_filter(lowest - ANKLE_HEIGHT_MM, size=size, mode="nearest")
    world[valid, :, 1] -= offset[:, None]
    return world
