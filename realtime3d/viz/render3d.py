"""A software render of a 3D skeleton with OpenCV (no GL): the 3D panel of overlay.mp4.

The pose is placed as in the live viewer (world.py: y up, pelvis centred, the lower
ankle on the ground grid) and seen by a pinhole camera (camera.py) that orbits a
point LOOK_AT_HEIGHT_MM above the ground: azimuth 0 is the recording camera's side,
so the person faces the viewer; a positive elevation looks down from above.
"""
from __future__ import annotations

import cv2
import numpy as np
import torch

from ..camera import (default_focal, normalized_to_pixels, perspective_project, rotate_about_depth,
                      rotation_from_angles, world_yup_to_camera)
from ..skeleton import H36M17, Skeleton
from .overlay import check_frame, to_int_pixels
from .style import BACKGROUND_RGB, GRID_RGB, bone_colors_bgr, joint_colors_bgr, rgb_to_bgr8
from .world import (LOOK_AT_HEIGHT_MM, VIEW_AZIMUTH_DEG, VIEW_ELEVATION_DEG, camera_to_world, check_pose,
                    grid_segments, place_people)


class PoseRenderer:
    """Renders poses [J, 3] (camera coordinates, mm) to BGR images of a fixed size and view."""

    def __init__(self, size: tuple[int, int] = (480, 480), skeleton: Skeleton = H36M17,
                 azimuth_deg: float = VIEW_AZIMUTH_DEG, elevation_deg: float = VIEW_ELEVATION_DEG,
                 distance_mm: float = 3000.0):
        width, height = (int(v) for v in size)
        if width < 16 or height < 16:
            raise ValueError(f"size must be (width, height) of at least 16 px, got {tuple(size)}")
        if not distance_mm > 0:
            raise ValueError(f"distance_mm must be positive, got {distance_mm}")
        self.size = (width, height)
        self.skeleton = skeleton
        self.distance_mm = float(distance_mm)
        self._view_distance = self.distance_mm      # the distance the background was drawn from
        self.focal = default_focal(self.size)
        self.rotation = rotation_from_angles(torch.tensor(np.radians(azimuth_deg), dtype=torch.float64),
                                             torch.tensor(np.radians(elevation_deg), dtype=torch.float64))
        self.thickness = max(2, int(round(min(self.size) / 120)))
        self._bone_colors = bone_colors_bgr(skeleton)
        self._joint_colors = joint_colors_bgr(skeleton)
        self._background = self._draw_background()

    def project(self, points_world: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """[N, 3] placed y-up world points -> ([N, 2] pixels, [N] depths from the view camera)."""
        cam = torch.from_numpy(world_yup_to_camera(np.asarray(points_world, dtype=np.float64)))
        # the look-at point goes onto the optical axis at distance_mm, and the view turns about it
        distance = self._view_distance
        shifted = cam + cam.new_tensor([0.0, LOOK_AT_HEIGHT_MM, distance])
        view = rotate_about_depth(shifted[None], self.rotation[None], distance)[0]   # [N, 3]
        pixels = normalized_to_pixels(perspective_project(view), self.size, self.focal)    # [N, 2]
        return pixels.numpy(), view[:, 2].numpy()

    def _draw_background(self) -> np.ndarray:
        image = np.empty((self.size[1], self.size[0], 3), np.uint8)
        image[:] = rgb_to_bgr8(BACKGROUND_RGB)
        segments = grid_segments()                                                 # [L, 2, 3]
        pixels, _ = self.project(segments.reshape(-1, 3))
        ends = to_int_pixels(pixels, image.shape).reshape(-1, 2, 2)                # [L, 2, 2]
        for a, b in ends:
            cv2.line(image, tuple(map(int, a)), tuple(map(int, b)), rgb_to_bgr8(GRID_RGB), 1, cv2.LINE_AA)
        return image

    def render(self, joints3d_mm: np.ndarray | None, out: np.ndarray | None = None) -> np.ndarray:
        """BGR uint8 [H, W, 3] of the pose [J, 3] in camera coordinates (mm); None -> the grid alone.

        Bones are drawn far to near so that the nearer limb covers the farther one;
        bones with a NaN joint are left out. out: an [H, W, 3] uint8 array (a view of a
        larger image will do) to draw into instead of a new one.
        """
        return self.render_people([(None, joints3d_mm)], out=out)

    def render_people(self, people: list[tuple[int | None, np.ndarray | None]],
                      out: np.ndarray | None = None) -> np.ndarray:
        """render() of many people: (id, pose [J, 3] camera mm) pairs, each in its id's colour (an id
        of None: the one-person colours), placed as world.place_people does. The view backs off
        from its distance_mm, in whole metres, until the group's spread fits."""
        checked = [(pid, check_pose(pose, self.skeleton)) for pid, pose in people]
        poses = [(pid, joints) for pid, joints in checked if joints is not None]
        placed = place_people([camera_to_world(joints) for _, joints in poses], self.skeleton)
        spread = max((np.nanmax(np.abs(p[:, [0, 2]])) for p in placed if np.isfinite(p).any()), default=0.0)
        distance = max(self.distance_mm, 1000.0 * np.ceil(2.2 * spread / 1000.0))
        if distance != self._view_distance:
            self._view_distance = distance
            self._background = self._draw_background()
        if out is None:
            image = self._background.copy()
        else:
            if check_frame(out, "out").shape != self._background.shape:
                raise ValueError(f"out must be {list(self._background.shape)}, got {list(out.shape)}")
            image = out
            image[:] = self._background
        drawn = [(pid, *self.project(p)) for (pid, _), p in zip(poses, placed)]
        for pid, pixels, depth in sorted(drawn, key=lambda d: -float(np.nanmean(d[2]))):   # far people first
            self._draw_pose(image, pixels, depth, pid)
        return image

    def _draw_pose(self, image: np.ndarray, pixels: np.ndarray, depth: np.ndarray, person_id: int | None) -> None:
        points = to_int_pixels(pixels, image.shape)                                # [J, 2]
        finite = np.isfinite(pixels).all(axis=1) & np.isfinite(depth)              # [J]
        bones = self.skeleton.bones
        bone_colors = self._bone_colors if person_id is None else bone_colors_bgr(self.skeleton, person_id)
        joint_colors = self._joint_colors if person_id is None else joint_colors_bgr(self.skeleton, person_id)
        order = np.argsort([-(depth[p] + depth[c]) for p, c in bones], kind="stable")
        for k in order:
            parent, child = bones[k]
            if finite[parent] and finite[child]:
                cv2.line(image, tuple(map(int, points[parent])), tuple(map(int, points[child])),
                         bone_colors[k], self.thickness, cv2.LINE_AA)
        for j in np.argsort(-np.nan_to_num(depth), kind="stable"):
            if finite[j]:
                cv2.circle(image, tuple(map(int, points[j])), self.thickness + 1, joint_colors[j], -1,
                           cv2.LINE_AA)


def side_by_side(frame_bgr: np.ndarray, panel_bgr: np.ndarray) -> np.ndarray:
    """[H, W1 + W2', 3]: the frame, then the panel resized to the frame's height (aspect kept)."""
    check_frame(frame_bgr, "frame_bgr")
    check_frame(panel_bgr, "panel_bgr")
    height = frame_bgr.shape[0]
    if panel_bgr.shape[0] != height:
        width = max(1, int(round(panel_bgr.shape[1] * height / panel_bgr.shape[0])))
        panel_bgr = cv2.resize(panel_bgr, (width, height), interpolation=cv2.INTER_AREA)
    return np.hstack([frame_bgr, panel_bgr])
