"""MediaPipe's own 3D as a model: `--model mediapipe-world`.

The BlazePose landmark model that finds each person (detect/blazepose/) also gives world
landmarks: a metric 3D pose (its GHUM 3D), origin between the hips. The detector maps them to the
17 joints by the same rules as its 2D (Detection.world3d); this model places each pose in the
camera frame, at the translation whose perspective projection best matches the pose's 2D
(least squares over the visible joints), so that it goes through the same filters, floor
estimate and exports as every lifter. Its size is MediaPipe's own estimate; nothing is learned
here, and no realtime3d training reads it.

    model = WorldLandmarks()
    joints3d = model.lift(joints2d_px, (1280, 720), focal=1000.0, visibility=vis, world3d=world)
"""
from __future__ import annotations

import numpy as np

from .camera import default_focal
from .errors import UserError
from .skeleton import H36M17

#: The model's name, beside the shipped lifters' (lifting.available_models).
WORLD_MODEL = "mediapipe-world"
#: Its model card, as `realtime3d models` shows it.
WORLD_CARD = {
    "name": WORLD_MODEL,
    "description": "MediaPipe's own 3D: the world landmarks (GHUM 3D) of the BlazePose landmark model "
                   "that finds each person, as the 17 joints by the detector's rules, placed in the camera "
                   "frame where they project onto the 2D; its metric size is MediaPipe's estimate",
    "method": "mediapipe",
    "reads_3d": "MediaPipe's own training (Google's), not this project's",
    "needs": "--detector blazepose",
}


class WorldLandmarks:
    """MediaPipe's world landmarks placed in the camera frame: a model with a lifter's calling
    convention that reads each person's world3d (reads_world3d) besides their 2D."""

    name = WORLD_MODEL
    #: lift() needs each pose's Detection.world3d
    reads_world3d = True

    def __init__(self) -> None:
        self.card = dict(WORLD_CARD)

    def lift(self, keypoints_px, image_size: tuple[int, int], focal: float | None = None, visibility=None,
             threshold: float = 0.5, world3d=None, min_joints: int = 6) -> np.ndarray:
        """Place root-relative metric poses in the camera frame by their 2D.

        Args:
            keypoints_px: [N, 17, 2] pixels (H36M17 order); NaN = missing.
            image_size: (width, height), pixels.
            focal: focal length, pixels; by default that of defaults.DEFAULT_HFOV_DEG.
            visibility: [N, 17] in 0..1, or None (every finite joint is visible).
            threshold: joints below this visibility do not place the pose.
            world3d: [N, 17, 3] mm, MediaPipe's world landmarks as the 17 joints (Detection.world3d);
                NaN rows: none.
            min_joints: a pose needs this many visible joints to be placed.

        Returns:
            [N, 17, 3] float32 mm, camera coordinates (x right, y down, z forward); NaN rows for
            poses without world3d, with too few visible joints, or placed behind the camera.
        """
        kp = np.asarray(keypoints_px, dtype=np.float64)
        if kp.ndim != 3 or kp.shape[1:] != (H36M17.num_joints, 2):
            raise ValueError(f"keypoints must be [N, {H36M17.num_joints}, 2], got {list(kp.shape)}")
        if world3d is None:
            raise UserError(f"--model {WORLD_MODEL} needs MediaPipe's world landmarks: use it with "
                            "--detector blazepose")
        rel = np.asarray(world3d, dtype=np.float64)
        if rel.shape != kp.shape[:2] + (3,):
            raise ValueError(f"world3d must be {list(kp.shape[:2]) + [3]}, got {list(rel.shape)}")
        focal = float(focal) if focal is not None else default_focal(image_size)
        mask = np.isfinite(kp).all(-1) & np.isfinite(rel).all(-1)                # [N, J]
        if visibility is not None:
            mask &= np.asarray(visibility, dtype=np.float64) >= threshold
        root = place_by_projection(np.nan_to_num(rel), np.nan_to_num(kp), mask, image_size, focal)   # [N, 3]
        ok = (mask.sum(1) >= min_joints) & (root[:, 2] > 0)
        out = np.full(rel.shape, np.nan, dtype=np.float32)
        out[ok] = (rel[ok] + root[ok, None, :]).astype(np.float32)
        return out


def place_by_projection(rel: np.ndarray, keypoints_px: np.ndarray, mask: np.ndarray,
                        image_size: tuple[int, int], focal: float) -> np.ndarray:
    """The translation t of each pose whose perspective projection best fits its 2D.

    For a joint X (camera axes) seen at normalized u = (pixel - image centre) / focal, X + t
    projects onto u when (X + t)_xy = u (X + t)_z: two equations a joint, linear in t, solved by
    least squares over the joints of mask.

    Args:
        rel: [N, J, 3] mm, the poses relative to any origin.
        keypoints_px: [N, J, 2] pixels.
        mask: [N, J] bool, the joints that count.
        image_size: (width, height), pixels.
        focal: pixels.

    Returns:
        [N, 3] mm: t (NaN where fewer than two joints count).
    """
    centre = np.array([image_size[0] / 2.0, image_size[1] / 2.0])
    u = (keypoints_px - centre) / float(focal)                                    # [N, J, 2]
    w = mask.astype(np.float64)                                                   # [N, J]
    b = u * rel[..., 2:3] - rel[..., :2]                                          # [N, J, 2]
    n = w.sum(1)
    su = (w[..., None] * u).sum(1)                                                # [N, 2]
    ata = np.zeros((len(rel), 3, 3))
    ata[:, 0, 0] = ata[:, 1, 1] = n
    ata[:, 0, 2] = ata[:, 2, 0] = -su[:, 0]
    ata[:, 1, 2] = ata[:, 2, 1] = -su[:, 1]
    ata[:, 2, 2] = (w * (u ** 2).sum(-1)).sum(1)
    atb = np.stack([(w * b[..., 0]).sum(1), (w * b[..., 1]).sum(1), -(w * (u * b).sum(-1)).sum(1)], axis=-1)
    t = np.full((len(rel), 3), np.nan)
    ok = (n >= 2) & (np.abs(np.linalg.det(ata)) > 1e-12)
    if ok.any():
        t[ok] = np.linalg.solve(ata[ok], atb[ok][..., None])[..., 0]
    return t
