"""Labels of a rendered frame, per person: 2D and 3D joints, visibility, box, mask share.

Everything comes from the bodies' own skeletons (body.skeleton_of) and the rasterizer's
label and depth buffers, never from the pixels' colours:

- joints3d: the skeleton in camera coordinates, millimetres (OpenCV axes);
- joints2d: its projection, pixels (may lie outside the image);
- visible: the joint projects inside the image, and near its pixel (within WINDOW_PX) the
  front-most surface is this person's own, no nearer to the camera than OCCLUSION_MARGIN_M
  in front of the joint: a joint lies inside the body, under up to that much of its own
  flesh. Another person, a prop, or the person's own limb in front hides it;
- visible_fraction: this person's pixels in the frame over their pixels drawn alone;
- box: the bounding box of the visible pixels; amodal_box: of the whole silhouette drawn
  alone (both x0, y0, x1, y1 px, NaN when empty).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .cameras import Camera
from .meshes import RenderedFrame

#: How far in front of a joint its own body's surface may lie and the joint still count as seen (m).
OCCLUSION_MARGIN_M = 0.15
#: Half the side of the window searched around a joint's pixel for its body's surface (px).
WINDOW_PX = 2


@dataclass
class FrameLabels:
    """One frame's labels for P people (P = the number of bodies drawn; person k has raster label k + 1).

    Attributes:
        joints3d: [P, 17, 3] float32 mm, camera coordinates.
        joints2d: [P, 17, 2] float32 px.
        visible: [P, 17] bool.
        visible_fraction: [P] float32, 0..1.
        boxes: [P, 4] float32 px, of the visible pixels.
        amodal_boxes: [P, 4] float32 px, of the whole silhouette.
    """
    joints3d: np.ndarray
    joints2d: np.ndarray
    visible: np.ndarray
    visible_fraction: np.ndarray
    boxes: np.ndarray
    amodal_boxes: np.ndarray


def mask_box(mask: np.ndarray) -> np.ndarray:
    """[4] float32 px (x0, y0, x1, y1): the first and last columns and rows of a [H, W] bool mask; NaN if empty."""
    ys, xs = np.nonzero(mask)
    if len(xs) == 0:
        return np.full(4, np.nan, dtype=np.float32)
    return np.array([xs.min(), ys.min(), xs.max(), ys.max()], dtype=np.float32)


def label_frame(camera: Camera, frame: RenderedFrame, joints: np.ndarray, amodal_pixels: np.ndarray,
                amodal_boxes: np.ndarray) -> FrameLabels:
    """The labels of a rendered frame.

    Args:
        camera: the camera it was drawn with.
        frame: the rasterizer's output (labels: person k is k + 1; depth: camera z, m).
        joints: [P, 17, 3] m, the bodies' skeletons in the world.
        amodal_pixels: [P] each person's pixel count drawn alone (Rasterizer.silhouettes).
        amodal_boxes: [P, 4] px, their boxes drawn alone.

    Returns:
        FrameLabels.
    """
    p = joints.shape[0]
    cam = camera.to_camera(joints)                    # [P, 17, 3] m
    uv = camera.project(joints)                       # [P, 17, 2] px
    w, h = camera.image_size
    visible = np.zeros(joints.shape[:2], dtype=bool)
    boxes = np.full((p, 4), np.nan, dtype=np.float32)
    fraction = np.zeros(p, dtype=np.float32)
    for k in range(p):
        mask = frame.labels == k + 1
        boxes[k] = mask_box(mask)
        if amodal_pixels[k] > 0:
            fraction[k] = min(1.0, mask.sum() / float(amodal_pixels[k]))
        for j in range(joints.shape[1]):
            u, v = np.rint(uv[k, j]).astype(int) if np.isfinite(uv[k, j]).all() else (-1, -1)
            if cam[k, j, 2] <= 0 or not (0 <= u < w and 0 <= v < h):
                continue
            y0, y1, x0, x1 = max(v - WINDOW_PX, 0), v + WINDOW_PX + 1, max(u - WINDOW_PX, 0), u + WINDOW_PX + 1
            own = frame.labels[y0:y1, x0:x1] == k + 1
            deep = frame.depth[y0:y1, x0:x1] >= cam[k, j, 2] - OCCLUSION_MARGIN_M
            visible[k, j] = bool((own & deep).any())
    return FrameLabels(joints3d=(cam * 1000.0).astype(np.float32), joints2d=uv.astype(np.float32), visible=visible,
                       visible_fraction=fraction, boxes=boxes, amodal_boxes=np.asarray(amodal_boxes, np.float32))
