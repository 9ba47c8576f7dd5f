"""Actors: a body, its clothes and a motion, placed in the render world and posed frame by frame.

A motion is 17-joint 3D (data/mocap.py reads CMU BVH of every dialect into it) turned into
the render world: Y up, metres. An actor turns the motion about the vertical axis and moves
it to its place, retargets it onto its body (retarget.py), and stands the body on the floor:
the whole clip moves vertically so that the body's lowest vertex, in the frames where it is
lowest (the 5th percentile over frames), touches y = 0. Jumps keep their height.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from ..camera import world_yup_to_camera
from ..data.mocap import bvh_to_h36m
from .body import BodyShape, Phenotype, PosedBody, body_shape, pose_body, sample_phenotype
from .clothing import Outfit, dress, sample_outfit
from .meshes import Mesh
from .retarget import retarget


def camera_to_world(joints_mm: np.ndarray) -> np.ndarray:
    """[..., 3] mm camera-style mocap coordinates (data/mocap.py: y down, z forward) -> [..., 3] m,
    Y up: the rotation (x, y, z) -> (x, -y, -z), never a single-axis flip."""
    return world_yup_to_camera(np.asarray(joints_mm, dtype=np.float64) / 1000.0)   # its own inverse


def load_motion(path: str | os.PathLike, fps: float) -> np.ndarray:
    """[F, 17, 3] m, a CMU BVH file's 17 joints in the render world (Y up) at fps (every k-th frame)."""
    joints, _ = bvh_to_h36m(path, fps=fps)
    return camera_to_world(joints)


def turn_and_place(joints: np.ndarray, heading_rad: float, at: np.ndarray) -> np.ndarray:
    """[F, 17, 3] m motion turned by heading_rad about the vertical axis (counter-clockwise seen from
    above) and moved so that its first frame's pelvis stands above at = (x, z) m."""
    c, s = np.cos(heading_rad), np.sin(heading_rad)
    turn = np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])
    out = joints @ turn.T
    out[..., 0] += at[0] - out[0, 0, 0]
    out[..., 2] += at[1] - out[0, 0, 2]
    return out


@dataclass
class Actor:
    """A dressed body performing a motion.

    Attributes:
        shape: the body.
        outfit: its clothes.
        materials: [V] int, each vertex's material in outfit.materials.
        posed: the body over the clip's frames (render world).
        name: what it performs (the motion's file name) for the truth file.
    """
    shape: BodyShape
    outfit: Outfit
    materials: np.ndarray
    posed: PosedBody
    name: str = ""

    @property
    def num_frames(self) -> int:
        return self.posed.vertices.shape[0]

    def mesh(self, frame: int, label: int) -> Mesh:
        """The body at a frame as a meshes.Mesh, labelled label (1..255) in the label buffer."""
        return Mesh(vertices=self.posed.vertices[frame], faces=self.shape.faces, material_index=self.materials,
                    materials=list(self.outfit.materials), pattern_coords=self.shape.vertices.astype(np.float32),
                    label=label, closed=True)


@dataclass(frozen=True)
class Dressed:
    """A body in its clothes, before any motion: what actors reuse across clips and crops."""
    shape: BodyShape
    outfit: Outfit
    materials: np.ndarray   # [V] int


def dressed_body(rng: np.random.Generator, phenotype: Phenotype | None = None,
                 outfit: Outfit | None = None, holdout: str = "all") -> Dressed:
    """A random (or given) body in random (or given) clothes (clothing.sample_outfit's holdout)."""
    shape = body_shape(phenotype if phenotype is not None else sample_phenotype(rng))
    outfit = outfit if outfit is not None else sample_outfit(rng, holdout)
    return Dressed(shape, outfit, dress(shape, outfit))


def make_actor(joints: np.ndarray, rng: np.random.Generator, phenotype: Phenotype | None = None,
               outfit: Outfit | None = None, name: str = "", body: Dressed | None = None) -> Actor:
    """An actor performing joints ([F, 17, 3] m, render world) on a body: body if given, else a random
    (or given) phenotype in random (or given) clothes."""
    body = body if body is not None else dressed_body(rng, phenotype, outfit)
    shape = body.shape
    rotations, root = retarget(shape, joints)
    posed = pose_body(shape, rotations, root)
    lowest = posed.vertices[:, :, 1].min(axis=1)                       # [F] m
    lift = -float(np.percentile(lowest, 5))
    posed = PosedBody(posed.vertices + np.float32(lift) * np.array([0, 1, 0], dtype=np.float32),
                      posed.heads + [0.0, lift, 0.0], posed.orientations, posed.joints + [0.0, lift, 0.0])
    return Actor(shape, body.outfit, body.materials, posed, name)
