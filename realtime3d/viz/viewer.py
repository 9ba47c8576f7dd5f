"""The live open3d window: the 3D skeleton on a ground grid, with a camera the user orbits.

Legacy open3d visualizer (GLFW + OpenGL; under xvfb-run it renders with Mesa). The
bones are cylinders and the joints spheres of one triangle mesh, coloured by side
(style.py); open3d's GL core profile draws LineSet lines 1 px wide whatever
line_width says, too thin to read. The view is set once; updates move the mesh only,
so mouse orbit, zoom and pan stay where the user left them; R goes back to the first
view. Q or Esc closes the window.

visible=False needs no display: without one, open3d renders offscreen with EGL
(screenshots still work). A visible window without a display is an error.
"""
from __future__ import annotations

import os

import numpy as np
import open3d as o3d

from ..io._atomic import atomic_path
from ..skeleton import H36M17, Skeleton
from .display import DisplayError, require_display
from ..errors import UserError
from .style import BACKGROUND_RGB, GRID_RGB, bone_colors_rgb, joint_colors_rgb
from .world import (LOOK_AT_HEIGHT_MM, VIEW_AZIMUTH_DEG, VIEW_ELEVATION_DEG, camera_to_world, check_pose,
                    grid_segments, place_people)

BONE_RADIUS_MM = 22.0
JOINT_RADIUS_MM = 38.0
#: open3d's zoom of the first view (1 frames the whole ground grid)
VIEW_ZOOM = 0.45

_UNIT_CYLINDER = o3d.geometry.TriangleMesh.create_cylinder(radius=1.0, height=1.0, resolution=12, split=1)
_UNIT_SPHERE = o3d.geometry.TriangleMesh.create_sphere(radius=1.0, resolution=8)


def _frames_along(directions: np.ndarray) -> np.ndarray:
    """[K, 3] unit vectors -> [K, 3, 3] rotations whose third column is the vector."""
    helper = np.where(np.abs(directions[:, :1]) < 0.9, [[1.0, 0.0, 0.0]], [[0.0, 1.0, 0.0]])   # [K, 3]
    x = np.cross(helper, directions)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    y = np.cross(directions, x)
    return np.stack([x, y, directions], axis=2)


class SkeletonMesh:
    """One open3d TriangleMesh of bone cylinders and joint spheres, moved to each new pose."""

    def __init__(self, skeleton: Skeleton = H36M17, person_id: int | None = None):
        self.bones = np.array(skeleton.bones)                                   # [K, 2]
        cyl_v, sph_v = np.asarray(_UNIT_CYLINDER.vertices), np.asarray(_UNIT_SPHERE.vertices)
        cyl_t, sph_t = np.asarray(_UNIT_CYLINDER.triangles), np.asarray(_UNIT_SPHERE.triangles)
        k, j = len(self.bones), skeleton.num_joints
        self._cyl, self._sph = cyl_v, sph_v
        triangles = [cyl_t + i * len(cyl_v) for i in range(k)]
        triangles += [sph_t + k * len(cyl_v) + i * len(sph_v) for i in range(j)]
        colors = np.concatenate([np.repeat(bone_colors_rgb(skeleton, person_id), len(cyl_v), axis=0),
                                 np.repeat(joint_colors_rgb(skeleton, person_id), len(sph_v), axis=0)])
        self.mesh = o3d.geometry.TriangleMesh()
        self.mesh.triangles = o3d.utility.Vector3iVector(np.concatenate(triangles).astype(np.int32))
        self.mesh.vertex_colors = o3d.utility.Vector3dVector(colors)
        self.mesh.vertices = o3d.utility.Vector3dVector(np.zeros((len(colors), 3)))

    def move_to(self, joints: np.ndarray) -> None:
        """Place the mesh on joints [J, 3] (y-up world, mm); bones or joints with NaN shrink to nothing."""
        start, end = joints[self.bones[:, 0]], joints[self.bones[:, 1]]         # [K, 3]
        ok = np.isfinite(start).all(1) & np.isfinite(end).all(1)                # [K]
        start, end = np.where(ok[:, None], start, 0.0), np.where(ok[:, None], end, 0.0)
        length = np.linalg.norm(end - start, axis=1)                            # [K]
        direction = np.where(length[:, None] > 1e-9, (end - start) / np.maximum(length, 1e-9)[:, None],
                             [[0.0, 0.0, 1.0]])
        scale = np.stack([np.full_like(length, BONE_RADIUS_MM), np.full_like(length, BONE_RADIUS_MM),
                          length], axis=1) * ok[:, None]                        # [K, 3]
        bones = np.einsum("kab,kvb->kva", _frames_along(direction), self._cyl[None] * scale[:, None])
        bones += (0.5 * (start + end))[:, None]                                 # [K, Vc, 3]
        visible = np.isfinite(joints).all(1)                                    # [J]
        centres = np.where(visible[:, None], joints, 0.0)
        radius = JOINT_RADIUS_MM * visible                                       # [J]
        spheres = self._sph[None] * radius[:, None, None] + centres[:, None]    # [J, Vs, 3]
        self.mesh.vertices = o3d.utility.Vector3dVector(np.concatenate([bones.reshape(-1, 3),
                                                                        spheres.reshape(-1, 3)]))
        self.mesh.compute_vertex_normals()


def grid_lineset() -> o3d.geometry.LineSet:
    segments = grid_segments()                                                  # [L, 2, 3]
    grid = o3d.geometry.LineSet(o3d.utility.Vector3dVector(segments.reshape(-1, 3)),
                                o3d.utility.Vector2iVector(np.arange(2 * len(segments)).reshape(-1, 2)))
    grid.colors = o3d.utility.Vector3dVector(np.tile(GRID_RGB, (len(segments), 1)))
    return grid


class PoseViewer:
    """The live 3D window. update(pose) each frame; False once the user has closed it."""

    def __init__(self, skeleton: Skeleton = H36M17, title: str = "realtime3d", width: int = 960,
                 height: int = 720, visible: bool = True, position: tuple[int, int] = (50, 50)):
        if visible:
            require_display("open3d window")
        self.skeleton = skeleton
        self._vis = o3d.visualization.VisualizerWithKeyCallback()
        if not self._vis.create_window(window_name=title, width=int(width), height=int(height),
                                       left=int(position[0]), top=int(position[1]), visible=visible):
            raise DisplayError("cannot open the open3d window (open3d could not create an OpenGL context)")
        self._open = True
        options = self._vis.get_render_option()
        options.background_color = np.array(BACKGROUND_RGB)
        options.mesh_show_back_face = True
        self._vis.add_geometry(grid_lineset())            # sets the bounding box the view is framed on
        self._meshes: dict[int | None, SkeletonMesh] = {}     # person id -> its mesh (None: one person)
        self._shown: set[int | None] = set()
        self._set_initial_view()
        self._vis.register_key_callback(ord("R"), lambda vis: self._set_initial_view() or True)

    def _set_initial_view(self) -> None:
        """The view at start, and again on R (open3d's own R would frame the bounding box instead)."""
        view = self._vis.get_view_control()
        az, el = np.radians(VIEW_AZIMUTH_DEG), np.radians(VIEW_ELEVATION_DEG)
        view.set_front([np.sin(az) * np.cos(el), np.sin(el), np.cos(az) * np.cos(el)])
        view.set_lookat([0.0, LOOK_AT_HEIGHT_MM, 0.0])
        view.set_up([0.0, 1.0, 0.0])
        view.set_zoom(VIEW_ZOOM)

    def update(self, joints3d_mm: np.ndarray | None) -> bool:
        """Show the pose [J, 3] (camera coordinates, mm), or no skeleton for None; then draw.

        Returns False once the window has been closed (Q, Esc or the window's close button).
        """
        return self.update_people([(None, joints3d_mm)])

    def update_people(self, people: list[tuple[int | None, np.ndarray | None]]) -> bool:
        """update() of many people: (id, pose [J, 3] camera mm) pairs, each in its id's colour,
        standing where the lifter put them relative to each other (world.place_people)."""
        if not self._open:
            return False
        checked = [(pid, check_pose(pose, self.skeleton)) for pid, pose in people]
        poses = [(pid, joints) for pid, joints in checked if joints is not None]
        placed = place_people([camera_to_world(joints) for _, joints in poses], self.skeleton)
        for pid in self._shown - {pid for pid, _ in poses}:
            self._vis.remove_geometry(self._meshes[pid].mesh, reset_bounding_box=False)
            self._shown.discard(pid)
        for (pid, _), joints in zip(poses, placed):
            if pid not in self._meshes:
                self._meshes[pid] = SkeletonMesh(self.skeleton, pid)
            self._meshes[pid].move_to(joints)
            if pid in self._shown:
                self._vis.update_geometry(self._meshes[pid].mesh)
            else:
                self._vis.add_geometry(self._meshes[pid].mesh, reset_bounding_box=False)
                self._shown.add(pid)
        if not self._vis.poll_events():
            self.close()
            return False
        self._vis.update_renderer()
        return True

    def screenshot(self, path: str | os.PathLike) -> None:
        """Save the current view as an image (PNG or JPEG by the extension), written atomically."""
        if not self._open:
            raise RuntimeError("the viewer window is closed")
        folder = os.path.dirname(os.path.abspath(path))
        if not os.path.isdir(folder):
            raise UserError(f"screenshot folder does not exist: {folder}")
        with atomic_path(path) as tmp:
            self._vis.capture_screen_image(tmp, do_render=True)
            if os.path.getsize(tmp) == 0:
                raise OSError(f"open3d could not write the screenshot {path}")

    def close(self) -> None:
        if self._open:
            self._open = False
            self._vis.destroy_window()

    def __enter__(self) -> "PoseViewer":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
