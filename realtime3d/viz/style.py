"""Colours of the views, one place: the person's left is blue, the right orange.

Left and right are the person's own (skeleton.Skeleton.side_of_joint), so in a
view that faces the person, the blue limbs are on the image's right. A bone takes
the side of its child joint: the pelvis-to-left-hip bone is blue.

Many people: each tracked id has its own colour (person_rgb), drawn on the trunk and
head; the person's left limbs take a light tint of it and the right limbs a dark shade,
so that both who and which side stay readable.
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

#: One colour per person id, in turn (Tableau 10 without its grey, which the background would hide).
PERSON_RGB = ((0.12, 0.47, 0.71), (1.0, 0.5, 0.05), (0.17, 0.63, 0.17), (0.84, 0.15, 0.16),
              (0.58, 0.4, 0.74), (0.55, 0.34, 0.29), (0.89, 0.47, 0.76), (0.74, 0.74, 0.13),
              (0.09, 0.75, 0.81))
#: A person's left limbs: their colour this far towards white; right limbs: this far towards black.
LEFT_TINT, RIGHT_SHADE = 0.45, 0.35


def person_rgb(person_id: int) -> tuple[float, float, float]:
    """The colour of a person id (1, 2, ...): PERSON_RGB in turn."""
    return PERSON_RGB[(int(person_id) - 1) % len(PERSON_RGB)]


def _side_rgb(person_id: int | None) -> dict[str, tuple[float, float, float]]:
    """Side -> colour: the classic blue / orange / grey for None, else the person's colour, tinted by side."""
    if person_id is None:
        return _SIDE_RGB
    c = np.array(person_rgb(person_id))
    return {"center": tuple(c), "left": tuple(c + LEFT_TINT * (1.0 - c)), "right": tuple((1.0 - RIGHT_SHADE) * c)}


def rgb_to_bgr8(rgb: tuple[float, float, float]) -> tuple[int, int, int]:
    """An RGB float colour as the BGR 0..255 tuple OpenCV draws with."""
    r, g, b = (int(round(255 * c)) for c in rgb)
    return (b, g, r)


def joint_colors_rgb(skeleton: Skeleton = H36M17, person_id: int | None = None) -> np.ndarray:
    """[J, 3] RGB floats, by the joint's side (and the person's colour, given an id)."""
    sides = _side_rgb(person_id)
    return np.array([sides[skeleton.side_of_joint(j)] for j in range(skeleton.num_joints)])


def joint_colors_bgr(skeleton: Skeleton = H36M17, person_id: int | None = None) -> list[tuple[int, int, int]]:
    """One BGR 0..255 tuple per joint, for OpenCV."""
    return [rgb_to_bgr8(tuple(c)) for c in joint_colors_rgb(skeleton, person_id)]


def bone_colors_rgb(skeleton: Skeleton = H36M17, person_id: int | None = None) -> np.ndarray:
    """[K, 3] RGB floats, one per bone of skeleton.bones: the side of the bone's child (and the
    person's colour, given an id)."""
    sides = _side_rgb(person_id)
    return np.array([sides[skeleton.side_of_joint(child)] for _, child in skeleton.bones])


def bone_colors_bgr(skeleton: Skeleton = H36M17, person_id: int | None = None) -> list[tuple[int, int, int]]:
    """One BGR 0..255 tuple per bone, for OpenCV."""
    return [rgb_to_bgr8(tuple(c)) for c in bone_colors_rgb(skeleton, person_id)]
