"""The one skeleton definition: Human3.6M's 17 joints.

Every other joint set (BVH dialects, MediaPipe's 33 landmarks) maps *into* this
one, in its own module; nothing else in the project spells out joint indices.
Left and right are the person's own.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Skeleton:
    """A joint set: names, kinematic parents, and the derived bone/pair tables."""

    name: str
    joint_names: tuple[str, ...]
    parents: tuple[int, ...]  # -1 for the root
    left_right_pairs: tuple[tuple[int, int], ...]  # (left, right) joint indices
    root: int = 0
    head: int = -1  # joint used for the head-root scale statistic
    index: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if len(self.joint_names) != len(self.parents):
            raise ValueError("joint_names and parents differ in length")
        object.__setattr__(self, "index", {n: i for i, n in enumerate(self.joint_names)})

    @property
    def num_joints(self) -> int:
        return len(self.joint_names)

    @property
    def bones(self) -> tuple[tuple[int, int], ...]:
        """(parent, child) pairs, one per non-root joint."""
        return tuple((p, c) for c, p in enumerate(self.parents) if p >= 0)

    @property
    def flip_permutation(self) -> np.ndarray:
        """Index array that swaps left and right joints (for mirroring a pose)."""
        perm = np.arange(self.num_joints)
        for left, right in self.left_right_pairs:
            perm[left], perm[right] = right, left
        return perm

    @property
    def bone_flip_permutation(self) -> np.ndarray:
        """Index array into `bones` that swaps left and right bones (a bone on the midline maps to
        itself): bone i of a mirrored pose is bone bone_flip_permutation[i] of the pose."""
        flip = self.flip_permutation
        lookup = {b: i for i, b in enumerate(self.bones)}
        return np.array([lookup[(int(flip[p]), int(flip[c]))] for p, c in self.bones])

    @property
    def symmetric_bones(self) -> tuple[tuple[int, int], ...]:
        """Pairs of bone indices (into `bones`) that mirror each other."""
        return tuple((i, int(j)) for i, j in enumerate(self.bone_flip_permutation) if i < j)

    def side_of_joint(self, j: int) -> str:
        """'left', 'right' or 'center' (for colouring)."""
        for left, right in self.left_right_pairs:
            if j == left:
                return "left"
            if j == right:
                return "right"
        return "center"


H36M17 = Skeleton(
    name="h36m17",
    joint_names=(
        "pelvis",        # 0  midpoint of the hips
        "right_hip",     # 1
        "right_knee",    # 2
        "right_ankle",   # 3
        "left_hip",      # 4
        "left_knee",     # 5
        "left_ankle",    # 6
        "spine",         # 7  midpoint of pelvis and thorax
        "thorax",        # 8  midpoint of the shoulders
        "head",          # 9  base of the skull / midpoint of the ears
        "head_top",      # 10 100 mm above the head along its up axis
        "left_shoulder",   # 11
        "left_elbow",      # 12
        "left_wrist",      # 13
        "right_shoulder",  # 14
        "right_elbow",     # 15
        "right_wrist",     # 16
    ),
    parents=(-1, 0, 1, 2, 0, 4, 5, 0, 7, 8, 9, 8, 11, 12, 8, 14, 15),
    left_right_pairs=((4, 1), (5, 2), (6, 3), (11, 14), (12, 15), (13, 16)),
    root=0,
    head=10,
)

#: Distance from the head joint (9) to the head top (10), in millimetres.
HEAD_TOP_OFFSET_MM = 100.0


def derive_h36m_torso(joints: np.ndarray) -> np.ndarray:
    """Fill pelvis, spine and thorax from hips and shoulders, in place. [..., 17, D]

    The single rule that mocap and detector conversions both use.
    """
    s = H36M17.index
    joints[..., s["pelvis"], :] = 0.5 * (joints[..., s["left_hip"], :] + joints[..., s["right_hip"], :])
    joints[..., s["thorax"], :] = 0.5 * (
        joints[..., s["left_shoulder"], :] + joints[..., s["right_shoulder"], :]
    )
    joints[..., s["spine"], :] = 0.5 * (joints[..., s["pelvis"], :] + joints[..., s["thorax"], :])
    return joints
