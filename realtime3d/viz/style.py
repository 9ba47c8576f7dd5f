"""Colours of the views, one place: the person's left is blue, the right orange.

Left and right are the person's own (skeleton.Skeleton.side_of_joint), so in a
view that faces the person, the blue limbs are on the image's right. A bone takes
the side of its child joint: the pelvis-to-left-hip bone is blue.
"""
from __future__ import annotations

import numpy as np

from ..skeleton import H36M17, Skeleton

#: RGB floats in 0..1.
LEFT_RGB = (0.15, 0.45, 1.0)     # blue: the person's left
RIGHT_RGB = (1.0, 0.42, 0.08)    # orange: the person's right
CENTER_RGB = (0.88, 0.88, 0.88)  # light grey: pelvis, spine, neck, head
GRID_RGB = (0.42, 0.42, 0.42)    # the ground grid
BACKGROUND_RGB = (0.11, 0.11, 0.13)

_SIDE_RGB = {"left": LEFT_RGB, "right": RIGHT_RGB, "center": CENTER_RGB}


def rgb_to_bgr8(rgb: tuple[float, float, float]) -> tuple[int, int, int]:
    """An RGB float colour as the BGR 0..255 tuple OpenCV draws with."""
    r, g, b = (int(round(255 * c)) for c in rgb)
    return (b, g, r)


def joint_colors_rgb(skeleton: Skeleton = H36M17) -> np.ndarray:
    """[J, 3] RGB floats, by the joint's side."""
    return np.array([_SIDE_RGB[skeleton.side_of_joint(j)] for j in range(skeleton.num_joints)])


def joint_colors_bgr(skeleton: Skeleton = H36M17) -> list[tuple[int, int, int]]:
    """One BGR 0..255 tuple per joint, for OpenCV."""
    return [rgb_to_bgr8(_SIDE_RGB[skeleton.side_of_joint(j)]) for j in range(skeleton.num_joints)]


def bone_colors_rgb(skeleton: Skeleton = H36M17) -> np.ndarray:
    """[K, 3] RGB floats, one per bone of skeleton.bones: the side of the bone's child."""
    return np.array([_SIDE_RGB[skeleton.side_of_joint(child)] for _, child in skeleton.bones])


def bone_colors_bgr(skeleton: Skeleton = H36M17) -> list[tuple[int, int, int]]:
    """One BGR 0..255 tuple per bone, for OpenCV."""
    return [rgb_to_bgr8(tuple(c)) for c in bone_colors_rgb(skeleton)]
