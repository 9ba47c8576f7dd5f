"""BVH retargeting: a pose sequence of the 17 joints -> a BVH animation (rotations over a rest pose),
written by io/bvh.py.

A BVH has fixed bone lengths, so the poses are first made to have constant bones
(constant_bone_poses): every bone keeps its direction and gets the median length over
the run. The BVH rest pose is a T-pose, Y up, facing +Z, the person's left on +X; units
are metres (BVH_UNIT_MM), so that Blender imports the person at true size with its defaults.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
from scipy.spatial.transform import Rotation

from ..skeleton import H36M17
from .bvh import write_bvh

#: The BVH files are in metres, so Blender imports the person at true size with its defaults.
BVH_UNIT_MM = 1000.0
#: Length of the End Site stub after each leaf joint (wrists, ankles, head top), in mm:
#: Blender makes a bone of it; it is not data.
END_SITE_MM = 50.0

# The BVH rest pose (a T-pose, Y up, facing +Z, the person's left on +X): each joint's
# direction from its parent.
_LEFT, _RIGHT, _UP, _DOWN = (1.0, 0.0, 0.0), (-1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, -1.0, 0.0)
_REST_DIRECTION = {
    "right_hip": _RIGHT, "right_knee": _DOWN, "right_ankle": _DOWN,
    "left_hip": _LEFT, "left_knee": _DOWN, "left_ankle": _DOWN,
    "spine": _UP, "thorax": _UP, "head": _UP, "head_top": _UP,
    "left_shoulder": _LEFT, "left_elbow": _LEFT, "left_wrist": _LEFT,
    "right_shoulder": _RIGHT, "right_elbow": _RIGHT, "right_wrist": _RIGHT,
}
# Joints with several children get a rotation of their own from a body frame:
# x from the right to the left child, y towards the child that continues the trunk.
_BODY_FRAME = {"pelvis": ("right_hip", "left_hip", "spine"),
               "thorax": ("right_shoulder", "left_shoulder", "head")}


def constant_bone_poses(joints3d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Poses [N, 17, 3] -> (the same poses with every bone at its median length, lengths [16]).

    Root-out: the root stays, each bone keeps its direction and gets the median of its
    length over the frames where the pose is complete. Other frames stay NaN.
    """
    joints3d = np.asarray(joints3d, dtype=np.float64)
    if joints3d.ndim != 3 or joints3d.shape[1:] != (H36M17.num_joints, 3):
        raise ValueError(f"poses must be [N, {H36M17.num_joints}, 3], got {list(joints3d.shape)}")
    valid = np.isfinite(joints3d).all(axis=(1, 2))                            # [N]
    if not valid.any():
        raise ValueError("no frame holds a complete pose")
    parents = [p for p, _ in H36M17.bones]
    children = [c for _, c in H36M17.bones]
    vectors = joints3d[valid][:, children] - joints3d[valid][:, parents]       # [V, 16, 3]
    lengths = np.median(np.linalg.norm(vectors, axis=-1), axis=0)              # [16]
    out = np.full_like(joints3d, np.nan)
    src = joints3d[valid]
    dst = np.empty_like(src)
    dst[:, H36M17.root] = src[:, H36M17.root]
    for (p, c), length in zip(H36M17.bones, lengths):  # parents precede children
        d = src[:, c] - src[:, p]
        dst[:, c] = dst[:, p] + length * d / np.linalg.norm(d, axis=-1, keepdims=True).clip(min=1e-9)
    out[valid] = dst
    return out, lengths


@dataclass
class BVHAnimation:
    """The arguments of realtime3d.io.bvh.write_bvh for a pose sequence (units: metres)."""

    names: list[str]
    parents: list[int]
    offsets: np.ndarray          # [B, 3] rest offsets from the parent
    root_positions: np.ndarray   # [F, 3]
    local_rotations: np.ndarray  # [F, B, 3, 3]
    frame_time: float
    end_sites: dict[int, np.ndarray]

    def write(self, path: str | os.PathLike) -> None:
        write_bvh(path, self.names, self.parents, self.offsets, self.root_positions,
                  self.local_rotations, self.frame_time, self.end_sites)


def world_to_bvh(points_mm: np.ndarray) -> np.ndarray:
    """World coordinates in mm (Y up, ground.py) -> BVH metres (the same axes)."""
    return np.asarray(points_mm, dtype=np.float64) / BVH_UNIT_MM


def bvh_to_world(points: np.ndarray) -> np.ndarray:
    """The inverse of world_to_bvh: BVH metres -> world coordinates in mm."""
    return np.asarray(points, dtype=np.float64) * BVH_UNIT_MM


def _bvh_joints() -> tuple[list[str], list[int], list[int | None], list[int | None]]:
    """The BVH hierarchy: the 17 joints plus a zero-offset branch joint per child of a
    joint with several children, so that every bone has a rotation of its own.

    Returns names, parents (BVH indices), the 17-joint index of each BVH joint (None
    for a branch) and the 17-joint index of the bone end each BVH joint's rotation aims.
    """
    children = {j: [c for c in range(H36M17.num_joints) if H36M17.parents[c] == j]
                for j in range(H36M17.num_joints)}
    names: list[str] = []
    parents: list[int] = []
    joint_of: list[int | None] = []
    aims: list[int | None] = []

    def add(name: str, parent: int, joint: int | None, aim: int | None) -> int:
        names.append(name)
        parents.append(parent)
        joint_of.append(joint)
        aims.append(aim)
        return len(names) - 1

    def visit(j: int, parent: int) -> None:
        kids = children[j]
        b = add(H36M17.joint_names[j], parent, j, kids[0] if len(kids) == 1 else None)
        for c in kids:
            if len(kids) == 1:
                visit(c, b)
            else:
                branch = add(f"{H36M17.joint_names[j]}_to_{H36M17.joint_names[c]}", b, None, c)
                visit(c, branch)

    visit(H36M17.root, -1)
    return names, parents, joint_of, aims


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=-1, keepdims=True).clip(min=1e-12)


def _body_frame(right: np.ndarray, left: np.ndarray, up: np.ndarray) -> np.ndarray:
    """Rotations [F, 3, 3] whose x axis points right -> left and y axis (made orthogonal) up."""
    x = _unit(left - right)
    y = _unit(up - np.sum(up * x, axis=-1, keepdims=True) * x)
    return np.stack([x, y, np.cross(x, y)], axis=-1)


def _shortest_rotation(u: np.ndarray, w: np.ndarray) -> np.ndarray:
    """The smallest rotations [F, 3, 3] turning the unit vector u [3] onto unit vectors w [F, 3]."""
    axis = np.cross(u, w)                                                      # [F, 3]
    sin, cos = np.linalg.norm(axis, axis=-1), w @ u                            # [F]
    any_perpendicular = _unit(np.cross(u, [0.0, 0.0, 1.0] if abs(u[2]) < 0.9 else [1.0, 0.0, 0.0]))
    axis = np.where(sin[:, None] > 1e-12, axis / sin.clip(min=1e-12)[:, None], any_perpendicular)
    return Rotation.from_rotvec(axis * np.arctan2(sin, cos)[:, None]).as_matrix()


def bvh_from_poses(joints_world: np.ndarray, fps: float) -> BVHAnimation:
    """Poses [N, 17, 3] mm in a Y-up world (ground.py) -> a BVH animation with rotations.

    The poses are first given constant bones (constant_bone_poses); the BVH then
    reproduces exactly those poses. Frames without a complete pose hold the last
    complete one (the first complete one before it). Y up, metres.
    """
    if not fps > 0:
        raise ValueError(f"fps must be positive, got {fps}")
    poses, lengths = constant_bone_poses(joints_world)
    valid = np.isfinite(poses).all(axis=(1, 2))
    held = np.maximum.accumulate(np.where(valid, np.arange(len(poses)), -1))   # last valid frame
    held[held < 0] = np.argmax(valid)
    pos = world_to_bvh(poses[held])                                            # [F, 17, 3] m
    bone_length = {c: lengths[k] / BVH_UNIT_MM for k, (_, c) in enumerate(H36M17.bones)}

    names, parents, joint_of, aims = _bvh_joints()
    num_frames, num_bvh = len(pos), len(names)
    offsets = np.zeros((num_bvh, 3))
    local = np.zeros((num_frames, num_bvh, 3, 3))
    world = np.zeros((num_frames, num_bvh, 3, 3))
    end_sites = {}
    idx = H36M17.index
    for b, (parent, j, aim) in enumerate(zip(parents, joint_of, aims)):
        if j is not None and parent >= 0:
            offsets[b] = np.array(_REST_DIRECTION[H36M17.joint_names[j]]) * bone_length[j]
        parent_world = world[:, parent] if parent >= 0 else np.broadcast_to(np.eye(3), (num_frames, 3, 3))
        if aim is not None:       # this joint's rotation aims its one bone
            rest = np.array(_REST_DIRECTION[H36M17.joint_names[aim]])
            start = pos[:, H36M17.parents[aim]]
            target = np.einsum("fji,fj->fi", parent_world, _unit(pos[:, aim] - start))
            local[:, b] = _shortest_rotation(rest, target)
        elif j is not None and H36M17.joint_names[j] in _BODY_FRAME:  # several children
            right, left, up = (idx[n] for n in _BODY_FRAME[H36M17.joint_names[j]])
            frame = _body_frame(pos[:, right], pos[:, left], pos[:, up] - pos[:, j])
            local[:, b] = np.swapaxes(parent_world, -1, -2) @ frame
        else:                     # a leaf: it follows its parent
            local[:, b] = np.eye(3)
            end_sites[b] = np.array(_REST_DIRECTION[H36M17.joint_names[j]]) * END_SITE_MM / BVH_UNIT_MM
        world[:, b] = parent_world @ local[:, b]
    return BVHAnimation(names, parents, offsets, pos[:, H36M17.root], local, 1.0 / fps, end_sites)

