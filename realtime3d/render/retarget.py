"""Retargeting motion capture onto a body: 17 joints -> the rotation of each of the body's bones.

The mocap is read through the project's 17 joints (data/mocap.py), so every BVH dialect,
and any other source of 17-joint 3D, poses a body the same way. Each bone of the body
turns so that its direction matches the mocap's; where the 17 joints leave a rotation
open, it is chosen so:

- pelvis: its up along pelvis -> thorax, its across along the hips (right -> left);
- chest: the same up, its across along the shoulders; the three spine bones share the
  turn from pelvis to chest in thirds (slerp);
- thigh and upper arm: along the limb, turned about it so that the knee bends backwards
  and the elbow forwards towards where the shin or the forearm points; when the limb is
  nearly straight (bend under ~10 degrees) the turn blends into the minimal swing from
  the parent's, so that nothing spins;
- shin, forearm, neck and head: the minimal swing from the parent's orientation to the
  mocap's direction; hands, fingers, toes and clavicles turn with their parents;
- feet: the 17 joints have no toes, so a foot near the ground lies flat (its rest pitch,
  heading where the shin points it) and a raised foot turns with the shin, blended by the
  ankle's height above the clip's lowest ankles (FLAT_ANKLE_M).

The root goes to the mocap's pelvis, scaled by the ratio of the body's leg length to the
mocap's, so that a shorter body takes shorter steps. The mocap's bone lengths are not
kept: the body keeps its own, and its skeleton (body.skeleton_of) is the truth.
"""
from __future__ import annotations

import numpy as np
from scipy.spatial.transform import Rotation

from ..skeleton import H36M17
from .body import BodyShape

_J = H36M17.index
#: Bend under which a limb counts as straight: sin of about 9 and 20 degrees (a linear blend between).
_STRAIGHT, _BENT = 0.15, 0.35
#: Rest bend directions in the world (the body faces +Z): knees bend backwards, elbows forwards.
_BACKWARD, _FORWARD = np.array([0.0, 0.0, -1.0]), np.array([0.0, 0.0, 1.0])
#: Ankle heights above the clip's lowest ankle (m) below which a foot is flat, and above which it
#: turns with the shin; blended between.
FLAT_ANKLE_M = (0.04, 0.15)


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-12)


def _basis(primary: np.ndarray, secondary: np.ndarray) -> np.ndarray:
    """[..., 3, 3] orthonormal columns: primary, secondary made orthogonal to it, their cross product."""
    a = _unit(primary)
    b = _unit(secondary - (secondary * a).sum(-1, keepdims=True) * a)
    return np.stack([a, b, np.cross(a, b)], axis=-1)


def _skew(w: np.ndarray) -> np.ndarray:
    """[..., 3] -> [..., 3, 3], the cross-product matrix [w]x."""
    z = np.zeros(w.shape[:-1])
    return np.stack([np.stack([z, -w[..., 2], w[..., 1]], -1), np.stack([w[..., 2], z, -w[..., 0]], -1),
                     np.stack([-w[..., 1], w[..., 0], z], -1)], -2)


def _swing(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """[..., 3, 3] the smallest rotation taking direction u to direction v (both [..., 3]):
    I + [w]x + [w]x^2 / (1 + c), with w = u x v and c = u . v; a half turn about an axis
    orthogonal to u where they are opposite."""
    u, v = _unit(u), _unit(v)
    w = np.cross(u, v)
    c = (u * v).sum(-1)[..., None, None]
    k = _skew(w)
    out = np.eye(3) + k + (k @ k) / np.maximum(1.0 + c, 1e-12)
    opposite = c[..., 0, 0] < -1.0 + 1e-9
    if opposite.any():
        other = np.where(np.abs(u[..., :1]) < 0.9, np.array([1.0, 0.0, 0.0]), np.array([0.0, 1.0, 0.0]))
        axis = _unit(np.cross(u, other))
        half_turn = 2.0 * axis[..., :, None] * axis[..., None, :] - np.eye(3)
        out = np.where(opposite[..., None, None], half_turn, out)
    return out


def _slerp(a: np.ndarray, b: np.ndarray, t: float | np.ndarray) -> np.ndarray:
    """[F, 3, 3] the rotation a fraction t (a number, or [F]) of the way from a to b."""
    relative = Rotation.from_matrix(np.swapaxes(a, -1, -2) @ b).as_rotvec()
    return a @ Rotation.from_rotvec(relative * np.reshape(t, (-1, 1))).as_matrix()


def leg_length(joints: np.ndarray) -> float:
    """The median hip -> knee -> ankle length of [..., 17, 3] joints, both legs, in their unit."""
    lengths = []
    for hip, knee, ankle in (("left_hip", "left_knee", "left_ankle"), ("right_hip", "right_knee", "right_ankle")):
        lengths.append(np.linalg.norm(joints[..., _J[knee], :] - joints[..., _J[hip], :], axis=-1)
                       + np.linalg.norm(joints[..., _J[ankle], :] - joints[..., _J[knee], :], axis=-1))
    return float(np.median(np.concatenate([np.ravel(x) for x in lengths])))


def retarget(shape: BodyShape, joints: np.ndarray, scale: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Bone rotations that pose a body like a 17-joint skeleton.

    Args:
        shape: the body.
        joints: [F, 17, 3] m, the mocap in the render world (Y up), skeleton.H36M17.
        scale: multiplies the mocap's positions (the root's path); None: the body's leg length
            over the mocap's.

    Returns:
        (rotations [F, B, 3, 3], each bone's world rotation from rest, for body.pose_body;
        root [F, 3] m, where the root bone's head goes).
    """
    joints = np.asarray(joints, dtype=np.float64)
    if joints.ndim != 3 or joints.shape[1:] != (H36M17.num_joints, 3):
        raise ValueError(f"retarget: joints must be [F, 17, 3], got {list(joints.shape)}")
    rest = shape.rest_joints
    if scale is None:
        scale = leg_length(rest) / leg_length(joints)
    f, nb = joints.shape[0], len(shape.bone_names)
    rot = np.zeros((f, nb, 3, 3))
    done = np.zeros(nb, dtype=bool)

    def put(name: str, value: np.ndarray) -> None:
        rot[:, shape.bone(name)] = value
        done[shape.bone(name)] = True

    def rest_dir(a: str, b: str) -> np.ndarray:
        return rest[_J[b]] - rest[_J[a]]

    def target(a: str, b: str) -> np.ndarray:
        return joints[:, _J[b]] - joints[:, _J[a]]

    # Trunk: pelvis and chest share the up (pelvis -> thorax), each with its own across.
    up0, up = rest_dir("pelvis", "thorax"), target("pelvis", "thorax")
    pelvis = _basis(up, target("right_hip", "left_hip")) @ _basis(up0, rest_dir("right_hip", "left_hip")).T
    chest = _basis(up, target("right_shoulder", "left_shoulder")) @ _basis(
        up0, rest_dir("right_shoulder", "left_shoulder")).T
    put("Hips", pelvis)
    for name, t in (("LowerBack", 1 / 3), ("Spine", 2 / 3)):
        put(name, _slerp(pelvis, chest, t))
    put("Spine1", chest)

    # Limbs.
    for side in ("left", "right"):
        for upper, lower, (a, b, c), bend0, parent in (
                (f"{side.title()}UpLeg", f"{side.title()}Leg", (f"{side}_hip", f"{side}_knee", f"{side}_ankle"),
                 _BACKWARD, pelvis),
                (f"{side.title()}Arm", f"{side.title()}ForeArm",
                 (f"{side}_shoulder", f"{side}_elbow", f"{side}_wrist"), _FORWARD, chest)):
            a0, l0 = rest_dir(a, b), rest_dir(b, c)
            along, next_ = target(a, b), target(b, c)
            na = _unit(along)
            bent = next_ - (next_ * na).sum(-1, keepdims=True) * na
            sin_bend = np.linalg.norm(bent, axis=-1, keepdims=True) / np.maximum(
                np.linalg.norm(next_, axis=-1, keepdims=True), 1e-12)
            carried = _swing(parent @ a0, along) @ parent                    # minimal swing from the parent
            fallback = carried @ bend0
            w = np.clip((sin_bend - _STRAIGHT) / (_BENT - _STRAIGHT), 0.0, 1.0)
            bend = w * _unit(bent) + (1.0 - w) * _unit(fallback - (fallback * na).sum(-1, keepdims=True) * na)
            bend = np.where(np.linalg.norm(bend, axis=-1, keepdims=True) > 1e-6, bend, fallback)
            upper_rot = _basis(along, bend) @ _basis(a0, bend0).T
            put(upper, upper_rot)
            put(lower, _swing(upper_rot @ l0, next_) @ upper_rot)

    # Feet: with the shin when the ankle is high; flat (the rest pitch, the shin's heading) when it is
    # within FLAT_ANKLE_M of the lowest ankle of the clip, blended between.
    ankles = joints[:, [_J["left_ankle"], _J["right_ankle"]], 1]
    floor = np.percentile(ankles.min(axis=1), 5)
    for side in ("Left", "Right"):
        shin = rot[:, shape.bone(f"{side}Leg")]
        foot0 = shape.heads[shape.bone(f"{side}ToeBase")] - shape.heads[shape.bone(f"{side}Foot")]
        pitch = np.arcsin(np.clip(_unit(foot0)[1], -1.0, 1.0))
        follow = shin @ foot0
        heading = follow * np.array([1.0, 0.0, 1.0])
        flat = _unit(heading) * np.cos(pitch) + np.array([0.0, np.sin(pitch), 0.0])
        flat = np.where(np.linalg.norm(heading, axis=-1, keepdims=True) > 1e-6, flat, follow)
        flat_rot = _swing(follow, flat) @ shin
        height = joints[:, _J[f"{side.lower()}_ankle"], 1] - floor
        w = np.clip(1.0 - (height - FLAT_ANKLE_M[0]) / (FLAT_ANKLE_M[1] - FLAT_ANKLE_M[0]), 0.0, 1.0)
        put(f"{side}Foot", _slerp(shin, flat_rot, w))

    # Neck and head.
    # The neck's bones start above the thorax (the midpoint of the shoulders), which turns with the
    # chest: aim them so that the head lands along the mocap's thorax -> head.
    neck_root = shape.heads[shape.bone("Neck")]
    fixed = chest @ (neck_root - rest[_J["thorax"]])
    reach = _unit(target("thorax", "head")) * np.linalg.norm(rest_dir("thorax", "head")) - fixed
    neck = _swing(chest @ (rest[_J["head"]] - neck_root), reach) @ chest
    put("Neck", neck)
    put("Neck1", neck)
    put("Head", _swing(neck @ rest_dir("head", "head_top"), target("head", "head_top")) @ neck)

    # Everything else turns with its parent (bones are ordered parents first).
    for b in range(nb):
        if not done[b]:
            rot[:, b] = rot[:, shape.parents[b]]
    # The root bone's head sits off the pelvis: place it so that the pelvis lands on the scaled mocap's.
    root_offset = shape.heads[0] - rest[_J["pelvis"]]
    root = joints[:, _J["pelvis"]] * scale + pelvis @ root_offset
    return rot, root


def bone_angles(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """[..., 16] degrees between the bones (skeleton.H36M17.bones) of two [..., 17, 3] skeletons."""
    child = np.array([c for _, c in H36M17.bones])
    parent = np.array([p for p, _ in H36M17.bones])
    u, v = _unit(a[..., child, :] - a[..., parent, :]), _unit(b[..., child, :] - b[..., parent, :])
    return np.degrees(np.arccos(np.clip((u * v).sum(-1), -1.0, 1.0)))
