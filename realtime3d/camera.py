"""The camera model: a pinhole with the principal point at the image centre.

Coordinates follow OpenCV: x right, y down, z forward. "Normalized" camera
coordinates are pixels with the principal point subtracted, divided by the
focal length (so a point (X, Y, Z) projects to (X/Z, Y/Z)).
"""
from __future__ import annotations

import math

import torch

from .defaults import DEFAULT_HFOV_DEG
from .errors import UserError


def default_focal(image_size: tuple[int, int], hfov_deg: float = DEFAULT_HFOV_DEG) -> float:
    """Focal length in pixels for an image (width, height) with the given horizontal FOV."""
    width = float(image_size[0])
    return 0.5 * width / math.tan(math.radians(hfov_deg) / 2.0)


#: The widest horizontal field of view taken for a pinhole camera: a focal length that
#: implies a wider one (such as --focal 1e-9) is refused, not turned into depths near 0.
MAX_HFOV_DEG = 170.0


def hfov_of(focal: float, image_size: tuple[int, int]) -> float:
    """The horizontal field of view (degrees) of a focal length (px) for an image (width, height)."""
    return math.degrees(2.0 * math.atan(0.5 * float(image_size[0]) / float(focal)))


def check_focal(focal: float, image_size: tuple[int, int]) -> float:
    """A user's focal length, checked.

    Args:
        focal: focal length, pixels (what --focal gave).
        image_size: (width, height), pixels.

    Returns:
        focal as a float.

    Raises:
        UserError: unless focal is finite, positive and gives a horizontal field of view of at
            most MAX_HFOV_DEG.
    """
    focal = float(focal)
    if not (math.isfinite(focal) and focal > 0):
        raise UserError(f"--focal must be a positive number of pixels, got {focal:g}")
    least = default_focal(image_size, MAX_HFOV_DEG)
    if focal < least:
        raise UserError(f"--focal {focal:g} px gives a {hfov_of(focal, image_size):.1f} degree field of view "
                         f"for an image {image_size[0]} px wide; a pinhole camera needs at most "
                         f"{MAX_HFOV_DEG:g} (at least {least:.0f} px)")
    return focal


def pixels_to_normalized(pixels: torch.Tensor, image_size: tuple[int, int], focal: float) -> torch.Tensor:
    """[..., 2] pixels -> [..., 2] normalized camera coordinates."""
    center = pixels.new_tensor([image_size[0] / 2.0, image_size[1] / 2.0])
    return (pixels - center) / float(focal)


def normalized_to_pixels(points: torch.Tensor, image_size: tuple[int, int], focal: float) -> torch.Tensor:
    """[..., 2] normalized camera coordinates -> [..., 2] pixels."""
    center = points.new_tensor([image_size[0] / 2.0, image_size[1] / 2.0])
    return points * float(focal) + center


def rotation_from_angles(azimuth: torch.Tensor, elevation: torch.Tensor) -> torch.Tensor:
    """Rotations [..., 3, 3] for a camera orbiting a person (radians).

    The azimuth turns the person about the vertical (camera y) axis; the elevation
    then tilts it about the camera x axis, as a camera raised above the person and
    looking down sees it (the person's up vector leans towards the camera).
    """
    ca, sa = torch.cos(azimuth), torch.sin(azimuth)
    ce, se = torch.cos(elevation), torch.sin(elevation)
    zero, one = torch.zeros_like(azimuth), torch.ones_like(azimuth)
    r_azimuth = torch.stack(
        [ca, zero, sa, zero, one, zero, -sa, zero, ca], dim=-1
    ).reshape(*azimuth.shape, 3, 3)
    r_elevation = torch.stack(
        [one, zero, zero, zero, ce, -se, zero, se, ce], dim=-1
    ).reshape(*elevation.shape, 3, 3)
    return r_elevation @ r_azimuth


def perspective_project(points: torch.Tensor, min_z: float = 1.0) -> torch.Tensor:
    """[..., 3] camera points -> [..., 2], with the depth clamped at min_z (Drover eq. in sec. 3)."""
    z = points[..., 2:3].clamp(min=min_z)
    return points[..., :2] / z


def back_project(points2d: torch.Tensor, depth: torch.Tensor) -> torch.Tensor:
    """[..., 2] normalized points and [...] depths -> [..., 3] camera points (X = z * [x, y, 1])."""
    z = depth.unsqueeze(-1)
    return torch.cat([points2d * z, z], dim=-1)


def rotate_about_depth(points: torch.Tensor, rotations: torch.Tensor, depth: float) -> torch.Tensor:
    """P = R (X - T) + T with T = (0, 0, depth). points [B, J, 3], rotations [B, 3, 3]."""
    t = points.new_tensor([0.0, 0.0, depth])
    return (points - t) @ rotations.transpose(-1, -2) + t


def rotate_project(points: torch.Tensor, rotations: torch.Tensor, depth: float = 10.0,
                   min_z: float = 1.0) -> torch.Tensor:
    """Drover's random projection layer: rotate about (0, 0, depth), then project.

    points [B, J, 3], rotations [B, 3, 3] -> [B, J, 2].
    """
    return perspective_project(rotate_about_depth(points, rotations, depth), min_z)


def world_yup_to_camera(points):
    """Y-up world coordinates -> camera coordinates (x right, y down, z forward).

    A proper rotation (180 degrees about x): (x, y, z) -> (x, -y, -z). Flipping a
    single axis would mirror the skeleton and swap left and right.
    """
    out = points.copy() if hasattr(points, "copy") else points.clone()
    out[..., 1] = -points[..., 1]
    out[..., 2] = -points[..., 2]
    return out
