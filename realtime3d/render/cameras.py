"""Pinhole cameras of the renderer: where they stand, where they look, and how they project.

The render world is right-handed, Y up, in metres, with the floor at y = 0. A camera maps a
world point X to camera coordinates (OpenCV: x right, y down, z forward) by
X_cam = R (X - position), and projects it with one focal length f (pixels) about the image
centre: u = f x / z + (w - 1) / 2, v = f y / z + (h - 1) / 2, pixel centres at integer
coordinates. R is a proper rotation, so left and right are never mirrored.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..camera import default_focal


@dataclass(frozen=True)
class Camera:
    """One camera at one instant.

    Attributes:
        rotation: [3, 3] world -> camera (rows: the camera's x right, y down, z forward, in world axes).
        position: [3] m, the optical centre in the world.
        focal: pixels.
        image_size: (width, height) pixels.
    """
    rotation: np.ndarray   # [3, 3]
    position: np.ndarray   # [3] m
    focal: float           # px
    image_size: tuple[int, int]
    principal: tuple[float, float] | None = None   # px; None: the image centre

    @property
    def principal_point(self) -> np.ndarray:
        """[2] px: principal, or the image centre ((w - 1) / 2, (h - 1) / 2): pixel centres at integers."""
        if self.principal is not None:
            return np.asarray(self.principal, dtype=np.float64)
        w, h = self.image_size
        return np.array([(w - 1) / 2.0, (h - 1) / 2.0])

    def crop(self, box: np.ndarray, size: int) -> "Camera":
        """The camera of a square window of this one's image, drawn at size x size pixels.

        Args:
            box: [4] px (x0, y0, x1, y1), x1 - x0 = y1 - y0: the square of this image's coordinates
                that the crop covers (crop pixel i has its centre at x0 + (i + 0.5) * side / size).
            size: the crop's side in pixels.
        """
        x0, y0, x1, _ = (float(b) for b in box)
        k = size / (x1 - x0)
        c = self.principal_point
        # u_crop + 0.5 = k (u - x0 + 0.5 * ...): pixel centres map to pixel centres
        principal = ((c[0] - x0) * k - 0.5, (c[1] - y0) * k - 0.5)
        return Camera(self.rotation, self.position, self.focal * k, (size, size), principal)

    def to_camera(self, points: np.ndarray) -> np.ndarray:
        """[..., 3] m world -> [..., 3] m camera coordinates."""
        return (np.asarray(points, dtype=np.float64) - self.position) @ self.rotation.T

    def project(self, points: np.ndarray) -> np.ndarray:
        """[..., 3] m world -> [..., 2] px. Points behind the camera give meaningless pixels."""
        cam = self.to_camera(points)
        return self.focal * cam[..., :2] / cam[..., 2:3] + self.principal_point

    def floor_plane(self) -> np.ndarray:
        """[4] the floor (world y = 0) in camera coordinates, millimetres: (n, d) with n the unit
        normal pointing up and n . X + d = 0 for floor points X (mm)."""
        n = self.rotation @ np.array([0.0, 1.0, 0.0])
        d = -float(n @ self.to_camera(np.zeros(3))) * 1000.0
        return np.array([*n, d])


def look_at(position: np.ndarray, target: np.ndarray, roll_deg: float = 0.0) -> np.ndarray:
    """[3, 3] world -> camera rotation of a camera at position looking at target (both [3] m, world),
    upright (its y axis points down along world -Y as far as the view allows), then rolled by
    roll_deg about its optical axis (positive turns the image clockwise)."""
    z = np.asarray(target, dtype=np.float64) - np.asarray(position, dtype=np.float64)
    z /= np.linalg.norm(z)
    x = np.cross(z, [0.0, 1.0, 0.0])  # right = forward x up
    n = np.linalg.norm(x)
    if n < 1e-6:
        raise ValueError("look_at: the camera looks straight up or down")
    x /= n
    y = np.cross(z, x)
    r = np.stack([x, y, z])
    c, s = np.cos(np.radians(roll_deg)), np.sin(np.radians(roll_deg))
    roll = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
    return roll @ r


def camera_from_hfov(position, target, image_size: tuple[int, int], hfov_deg: float,
                     roll_deg: float = 0.0) -> Camera:
    """A Camera at position (m) looking at target (m) with a horizontal field of view of hfov_deg."""
    return Camera(look_at(position, target, roll_deg), np.asarray(position, dtype=np.float64),
                  default_focal(image_size, hfov_deg), tuple(image_size))
