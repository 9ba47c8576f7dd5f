"""2D training samples: random or fixed cameras looking at 3D mocap (Drover secs. 3-4).

A root-centred skeleton, in units of BODY_UNIT_MM, is turned by a random camera
rotation (azimuth 0-360 deg, elevation 0-20 deg), placed at (0, 0, DEPTH) and
projected perspectively; the 2D pose is then normalized (normalization.py).
"""
from __future__ import annotations

import math
import zlib

import numpy as np
import torch

from ..camera import rotation_from_angles
from ..kernels import rotate_project
from ..normalization import BODY_UNIT_MM, DEPTH, normalize_2d
from ..skeleton import H36M17, Skeleton

AZIMUTH_DEG = (0.0, 360.0)
ELEVATION_DEG = (0.0, 20.0)


def random_rotations(n: int, generator: torch.Generator | None = None,
                     azimuth_deg=AZIMUTH_DEG, elevation_deg=ELEVATION_DEG) -> torch.Tensor:
    """[n, 3, 3] camera rotations with uniform azimuth and elevation."""
    u = torch.rand(n, 2, generator=generator)
    az = math.radians(azimuth_deg[0]) + u[:, 0] * math.radians(azimuth_deg[1] - azimuth_deg[0])
    el = math.radians(elevation_deg[0]) + u[:, 1] * math.radians(elevation_deg[1] - elevation_deg[0])
    return rotation_from_angles(az, el)


#: Cameras per clip of the fixed-camera protocol (as many as Human3.6M has).
FIXED_CAMERAS = 4


def fixed_camera_rotations(clips: np.ndarray, seed: int, cameras: int = FIXED_CAMERAS) -> torch.Tensor:
    """The fixed-camera protocol's cameras, [N, cameras, 3, 3] for the frames of clips [N] (names).

    Each clip gets `cameras` cameras around the person, as a studio's stand: azimuths evenly
    spaced (360 / cameras deg apart) from a random offset, each with its own elevation drawn
    uniformly from ELEVATION_DEG. They are fixed for the whole clip (the person turns and walks
    in front of them) and follow the pelvis at depth DEPTH, as every training view does. The
    draw is seeded by (seed, clip name), so a clip keeps its cameras whatever else is loaded.
    """
    out = torch.empty(len(clips), cameras, 3, 3)
    for name in np.unique(clips):
        gen = torch.Generator().manual_seed(seed * 1_000_003 + zlib.crc32(str(name).encode()))
        u = torch.rand(cameras + 1, generator=gen)
        az = (u[0] + torch.arange(cameras)) * (2 * math.pi / cameras)
        el = math.radians(ELEVATION_DEG[0]) + u[1:] * math.radians(ELEVATION_DEG[1] - ELEVATION_DEG[0])
        out[torch.from_numpy(clips == name)] = rotation_from_angles(az, el)
    return out


def to_body_units(joints3d_mm: torch.Tensor, skeleton: Skeleton = H36M17) -> torch.Tensor:
    """[B, J, 3] mm -> root-centred [B, J, 3] in body units."""
    return (joints3d_mm - joints3d_mm[:, skeleton.root:skeleton.root + 1]) / BODY_UNIT_MM


def at_depth(pose: torch.Tensor, skeleton: Skeleton = H36M17, depth: float = DEPTH) -> torch.Tensor:
    """The pose [B, J, 3] moved so that its root is at (0, 0, depth), the centre of every rotation."""
    return pose - pose[:, skeleton.root:skeleton.root + 1] + pose.new_tensor([0.0, 0.0, depth])


def random_projection(points: torch.Tensor, rotations: torch.Tensor, depth: float = DEPTH) -> torch.Tensor:
    """Drover's random projection layer: turn points [B, J, 3] about (0, 0, depth) by rotations
    [B, 3, 3] and project them -> [B, J, 2] (differentiable).

    The one call site of the projection behind every training view (project_views, and the
    trainers' random projection layer): the kernels' fused rotate_project (Triton on CUDA,
    the PyTorch reference on the CPU), with one view per pose.
    """
    return rotate_project(points, rotations[:, None], depth=depth)[:, 0]          # [B, 1, J, 2] -> [B, J, 2]


def project_views(joints3d_mm: torch.Tensor, rotations: torch.Tensor,
                  skeleton: Skeleton = H36M17) -> tuple[torch.Tensor, torch.Tensor]:
    """Views of mocap poses. joints3d_mm [B, J, 3], rotations [B, 3, 3].

    Returns (normalized 2D [B, J, 2], the rotated 3D in body units at depth DEPTH [B, J, 3]).
    """
    units = to_body_units(joints3d_mm, skeleton)                               # [B, J, 3]
    t = units.new_tensor([0.0, 0.0, DEPTH])
    body = units @ rotations.transpose(-1, -2) + t                            # [B, J, 3]
    pose2d, _, _ = normalize_2d(random_projection(units + t, rotations), skeleton=skeleton)
    return pose2d, body


def drop_joints(n: int, num_joints: int, max_drop: int, prob: float,
                generator: torch.Generator | None = None) -> torch.Tensor:
    """A visibility mask [n, J]: with probability prob, 1..max_drop random joints are hidden."""
    mask = torch.ones(n, num_joints, dtype=torch.bool)
    if max_drop <= 0 or prob <= 0:
        return mask
    hit = torch.rand(n, generator=generator) < prob
    k = torch.randint(1, max_drop + 1, (n,), generator=generator)
    ranks = torch.rand(n, num_joints, generator=generator).argsort(dim=1).argsort(dim=1)
    return ~(hit[:, None] & (ranks < k[:, None]))
