"""Synthetic people: CMU mocap poses drawn as a shaded 3D body in person-centred crops.

Training data for an image -> skeleton-image network without labels (the skeleton-image
prior Phi of Sosa & Hogg, 2023): the network sees these crops, and the 2D labels are
returned for evaluation only. The package knows cameras and skeletons, nothing of training.

The body is 23 capsules (a segment swept by a radius that tapers linearly from one end to
the other) built on the 17 joints of skeleton.H36M17: torso and flanks, hips, shoulders,
upper and lower limbs, hands a little beyond each wrist along the forearm, feet from each
ankle forward, a neck, a head between the head joint and the head top, and a nose (so the
face shows which way the head looks). Each pixel takes the nearest surface in depth over
the parts (a z-buffer): for a capsule whose axis projects to an image segment, a pixel at
image distance d from it, d_mm = d * z / f at the axis depth z, is covered when d_mm < r,
at depth z - sqrt(r^2 - d_mm^2); its normal is the in-plane offset (d_mm / r along the
image direction away from the axis) plus the out-of-plane height towards the camera. The
shade is Lambert (a light direction, ambient + diffuse strengths) times the part's colour:
skin, hair (the back and top of the head), or a garment (shirt, trousers, shoes) with a
texture in coordinates along the bone (mm) and around it (angle times radius), so stripes
follow the limbs. Background (a photo window or a procedural texture) behind, 0-2
occluders in front, then a colour tint, a Gaussian blur and pixel noise.

Conventions:
- joints are millimetres in mocap.load_split's world frame: camera-style axes, y down
  (gravity), so the world's up is -y;
- the person's forward is normalize(cross(left - right, up)), with left - right the sum of
  the hip and shoulder axes made horizontal: for a person facing a camera (left on +x,
  up -y) it is -z, towards the camera. On CMU walking clips it points along the walk and
  the knees bend towards it (tests/test_synth.py checks it against the pelvis velocity);
  the feet and the face point that way;
- the camera orbits the pivot (the pelvis unless told): P = R (X - pivot) + t, with R =
  camera.rotation_from_angles(azimuth, elevation) (azimuth about the vertical axis; the
  elevation raises the camera so it looks down a little), t = distance * (cx, cy, 1); a
  proper rotation, so left and right are never mirrored. It projects with focal f into a
  virtual FRAME_SIZE frame, principal point at its centre;
- pixel centres are at integer coordinates, x right, y down (the kernels' convention), in
  the frame and in the crop. A crop box (x0, y0, x1, y1), x1 - x0 = y1 - y0 = side, is the
  square of frame coordinates it covers: crop pixel i has its centre at frame coordinate
  x0 + (i + 0.5) * side / size. The crop is rendered directly at that resolution (the
  focal scaled by size / side), which is the resampling done exactly.

Modules, in the order a render runs through them: appearance (parts, materials,
`sample_appearance`), bodies (cameras, limb scaling, the parts' axes), rasterizing (the
z-buffer), textures (patterns, backgrounds, `load_backgrounds`), shading (materials, light,
occluders, blur) and rendering (the public renders).
"""
from __future__ import annotations

from .appearance import (BACKGROUNDS, BLUR_SIGMA_PX, GARMENTS, HAIR, LIMB_SCALE, MAX_OCCLUDERS, NOISE_STD,
                         NUM_PARTS, PARTS, PATTERNS, SHIRT, SHOES, SKIN, TROUSERS, Appearance, sample_appearance)
from .bodies import (AZIMUTH_DEG, DISTANCE_MM, ELEVATION_DEG, FRAME_SIZE, HFOV_DEG, MARGIN, MARGIN_JITTER, SHIFT,
                     Camera, camera_rotation, forward_direction, sample_camera, scale_limbs, to_camera)
from .rasterizing import TILE
from .rendering import pair_indices, render, render_pairs, render_random
from .textures import load_backgrounds

__all__ = [
    "AZIMUTH_DEG", "BACKGROUNDS", "BLUR_SIGMA_PX", "DISTANCE_MM", "ELEVATION_DEG", "FRAME_SIZE", "GARMENTS",
    "HAIR", "HFOV_DEG", "LIMB_SCALE", "MARGIN", "MARGIN_JITTER", "MAX_OCCLUDERS", "NOISE_STD", "NUM_PARTS",
    "PARTS", "PATTERNS", "SHIFT", "SHIRT", "SHOES", "SKIN", "TILE", "TROUSERS", "Appearance", "Camera",
    "camera_rotation", "forward_direction", "load_backgrounds", "pair_indices", "render", "render_pairs",
    "render_random", "sample_appearance", "sample_camera", "scale_limbs", "to_camera",
]
