"""Tests for the renderer's bodies: Anny shaped, posed from CMU mocap of every dialect, dressed."""
from __future__ import annotations

import numpy as np
import pytest

from realtime3d.render.actors import load_motion, make_actor
from realtime3d.render.body import JOINT_BONES, Phenotype, body_shape, pose_body, sample_phenotype
from realtime3d.render.clothing import BOTTOM, HAIR, SHOES, SKIN, TOP, dress, sample_outfit
from realtime3d.render.retarget import bone_angles, retarget
from realtime3d.skeleton import H36M17, HEAD_TOP_OFFSET_MM

J = H36M17.index
#: One file of each BVH dialect (data README): MotionBuilder, Daz, 3ds Max, ASF names.
DIALECT_FILES = ("09/09_12.bvh", "13/13_10.bvh", "131/131_01.bvh", "16/16_01.bvh")


@pytest.fixture(scope="module")
def shape():
    return body_shape(Phenotype(gender=0.3, height=0.4))


def test_rest_pose_faces_plus_z_with_left_on_plus_x(shape):
    rest = pose_body(shape, np.tile(np.eye(3), (1, len(shape.bone_names), 1, 1)), shape.heads[:1].copy())
    joints = rest.joints[0]
    assert np.allclose(rest.vertices[0], shape.vertices, atol=1e-4)
    assert joints[J["left_hip"], 0] > joints[J["right_hip"], 0] + 0.1
    assert joints[J["left_shoulder"], 0] > joints[J["right_shoulder"], 0] + 0.2
    toes = shape.heads[shape.bone("LeftToeBase")]
    assert toes[2] > shape.heads[shape.bone("LeftFoot")][2]          # the feet point at +Z
    assert joints[J["head_top"], 1] > joints[J["head"], 1] > joints[J["thorax"], 1] > joints[J["pelvis"], 1]


def test_skeleton_follows_the_joint_rules(shape):
    rng = np.random.default_rng(0)
    rotations = np.stack([np.tile(np.eye(3), (len(shape.bone_names), 1, 1))] * 2)
    from scipy.spatial.transform import Rotation
    rotations[1, shape.bone("LeftArm")] = Rotation.from_rotvec(rng.normal(size=3)).as_matrix()
    posed = pose_body(shape, rotations, np.zeros((2, 3)))
    for joint, bone in JOINT_BONES.items():
        assert np.allclose(posed.joints[:, J[joint]], posed.heads[:, shape.bone(bone)])
    top = np.linalg.norm(posed.joints[:, J["head_top"]] - posed.joints[:, J["head"]], axis=-1)
    assert np.allclose(top, HEAD_TOP_OFFSET_MM / 1000.0)
    assert np.allclose(posed.joints[:, J["pelvis"]], posed.joints[:, [J["left_hip"], J["right_hip"]]].mean(1))


@pytest.mark.data
@pytest.mark.parametrize("relative", DIALECT_FILES)
def test_retarget_matches_every_bone_of_each_dialect(cmu_root, shape, relative):
    joints = load_motion(cmu_root / relative, 30.0)[:240]
    rotations, root = retarget(shape, joints)
    posed = pose_body(shape, rotations, root)
    angles = bone_angles(joints, posed.joints)                    # [F, 16] deg
    assert angles.mean() < 2.0 and angles.max() < 30.0
    limbs = [k for k, (p, c) in enumerate(H36M17.bones) if c in (2, 3, 5, 6, 12, 13, 15, 16)]
    assert angles[:, limbs].max() < 0.5                           # limbs exactly along the mocap's


@pytest.mark.data
def test_left_stays_left(cmu_root, shape):
    """The body's left hand mesh is at the mocap's left wrist, in every frame: nothing is mirrored."""
    joints = load_motion(cmu_root / "13/13_10.bvh", 30.0)[:300]
    actor = make_actor(joints, np.random.default_rng(1), phenotype=shape.phenotype)
    weights = actor.shape.bone_weights
    for side, other in (("Left", "right"), ("Right", "left")):
        hand = weights[:, actor.shape.bone(f"{side}Hand")] > 0.5
        centre = actor.posed.vertices[:, hand].mean(axis=1)        # [F, 3]
        own = np.linalg.norm(centre - actor.posed.joints[:, J[f"{side.lower()}_wrist"]], axis=1)
        far = np.linalg.norm(centre - actor.posed.joints[:, J[f"{other}_wrist"]], axis=1)
        assert own.max() < 0.15 and (own < far).all()
    # the truth is the body's: its left wrist is on the mocap's left side of the trunk
    across = joints[:, J["left_hip"]] - joints[:, J["right_hip"]]
    body_side = (actor.posed.joints[:, J["left_wrist"]] - actor.posed.joints[:, J["right_wrist"]])
    assert (np.einsum("fi,fi->f", across, body_side) > 0).mean() > 0.9


@pytest.mark.data
def test_actor_stands_on_the_floor(cmu_root):
    joints = load_motion(cmu_root / "14/14_07.bvh", 30.0)[:150]
    actor = make_actor(joints, np.random.default_rng(2))
    lowest = actor.posed.vertices[:, :, 1].min(axis=1)
    assert abs(np.percentile(lowest, 5)) < 1e-3
    assert np.median(lowest) < 0.05


def test_seeds_are_deterministic():
    a, b = np.random.default_rng(7), np.random.default_rng(7)
    assert sample_phenotype(a) == sample_phenotype(b)
    assert sample_outfit(a) == sample_outfit(b)


def test_dress_covers_the_body_sensibly(shape):
    rng = np.random.default_rng(3)
    names = np.array(shape.bone_names)[shape.bone_weights.argmax(1)]
    for _ in range(5):
        outfit = sample_outfit(rng)
        materials = dress(shape, outfit)
        assert materials.shape == (len(shape.vertices),)
        assert (materials[np.isin(names, ["LeftHand", "RightHand", "LeftFingerBase"])] == SKIN).mean() > 0.95
        assert (materials[np.isin(names, ["LeftToeBase", "RightToeBase"])] == SHOES).all()
        assert (materials[names == "Spine1"] == TOP).mean() > 0.8
        assert (materials[np.isin(names, ["LeftUpLeg", "RightUpLeg"])] == BOTTOM).mean() > 0.3
        if outfit.cap or outfit.hair > 0:
            assert (materials == HAIR).any()


def test_the_renderer_knows_nothing_of_training():
    """realtime3d.render is its own room: bodies, cameras, skeletons; no trainer, model or viewer."""
    import subprocess
    import sys
    code = ("import sys, realtime3d.render.benchmark_clips, realtime3d.render.crops; "
            "print(sorted(m for m in sys.modules if m.startswith(('realtime3d.trainers', 'realtime3d.models', "
            "'realtime3d.viz', 'realtime3d.pipeline', 'realtime3d.lifting'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
