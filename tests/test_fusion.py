"""The fusion model (realtime3d/fusion.py): a lifter's 3D blended with MediaPipe's world landmarks,
on a hand-made pose: its two ends are its two parts, the blend projects onto the 2D, and without
world landmarks (2D files, the skeleton net) the lifter answers alone."""
from __future__ import annotations

import numpy as np
import pytest

from conftest import hand_made_pose_mm, project
from realtime3d.fusion import Fusion, bone_sum
from realtime3d.lifting import Lifter
from realtime3d.skeleton import H36M17
from realtime3d.world_model import place_by_projection

SIZE = (1280, 720)
FOCAL = 1000.0
ROOT = H36M17.root


@pytest.fixture(scope="module")
def lifter():
    lifter = Lifter.from_pretrained("cycle")
    lifter.flip_average = False
    return lifter


def _scene():
    """A pose 3 m ahead, its 2D, and a 'world' answer that differs from the truth in depth: [1, 17, .]."""
    pose = hand_made_pose_mm() + np.array([150.0, -80.0, 3000.0])               # [17, 3] mm
    rel = pose - pose[ROOT]
    world = rel.copy()
    world[:, 2] *= 0.5                                                           # a flatter guess
    return project(pose, FOCAL, SIZE)[None], world[None]


def test_its_ends_are_the_lifter_and_mediapipe(lifter):
    keypoints, world = _scene()
    alone = lifter.lift(keypoints, SIZE, FOCAL)
    np.testing.assert_allclose(Fusion(lifter, 0.0).lift(keypoints, SIZE, FOCAL, world3d=world), alone)
    at_one = Fusion(lifter, 1.0).lift(keypoints, SIZE, FOCAL, world3d=world)
    np.testing.assert_allclose(at_one[0] - at_one[0, ROOT], world[0], atol=1e-3)


def test_the_blend_is_between_its_parts_at_mediapipes_size_and_projects_onto_the_2d(lifter):
    keypoints, world = _scene()
    alone = lifter.lift(keypoints, SIZE, FOCAL)[0]
    half = Fusion(lifter, 0.5).lift(keypoints, SIZE, FOCAL, world3d=world)[0]
    rel_l, rel = alone - alone[ROOT], half - half[ROOT]
    k = bone_sum(world) / bone_sum(rel_l[None])
    np.testing.assert_allclose(rel, 0.5 * k[0] * rel_l + 0.5 * world[0], atol=1e-3)
    t = place_by_projection(rel[None].astype(np.float64), keypoints, np.ones((1, 17), bool), SIZE, FOCAL)[0]
    np.testing.assert_allclose(half[ROOT], t, atol=1e-2)
    assert not np.allclose(half, alone, atol=1.0)                                 # the world answer counts


def test_without_world_landmarks_the_lifter_answers_alone(lifter):
    keypoints, world = _scene()
    alone = lifter.lift(keypoints, SIZE, FOCAL)
    fusion = Fusion(lifter, 0.5)
    np.testing.assert_allclose(fusion.lift(keypoints, SIZE, FOCAL), alone)
    np.testing.assert_allclose(fusion.lift(keypoints, SIZE, FOCAL, world3d=np.full_like(world, np.nan)), alone)
    two = fusion.lift(np.concatenate([keypoints, keypoints]), SIZE, FOCAL,
                      world3d=np.concatenate([world, np.full_like(world, np.nan)]))
    np.testing.assert_allclose(two[1], alone[0], atol=1e-2)            # float noise of a batch of two
    assert not np.allclose(two[0], alone[0], atol=1.0)


def test_a_share_outside_zero_to_one_is_refused(lifter):
    with pytest.raises(ValueError, match="world_share"):
        Fusion(lifter, 1.5)


def test_where_the_answers_part_mediapipe_takes_the_joint(lifter):
    keypoints, _ = _scene()
    alone = lifter.lift(keypoints, SIZE, FOCAL)[0]
    world = alone - alone[ROOT]                                   # MediaPipe agrees everywhere ...
    wrist = H36M17.index["left_wrist"]
    world[wrist, 2] += 500.0                                      # ... but on one wrist's depth
    fused = Fusion(lifter, 0.25, disagreement_mm=100.0).lift(keypoints, SIZE, FOCAL, world3d=world[None])[0]
    rel = fused - fused[ROOT]
    np.testing.assert_allclose(rel[wrist], world[wrist], atol=1.0)           # the wrist: MediaPipe's
    others = [j for j in range(17) if j != wrist]
    # the rest: a blend of two answers that agree but for the lifter's size, which the long wrist bone changed
    np.testing.assert_allclose(rel[others], world[others], atol=40.0)
    plain = Fusion(lifter, 0.25).lift(keypoints, SIZE, FOCAL, world3d=world[None])[0]
    assert abs((plain - plain[ROOT])[wrist, 2] - world[wrist, 2]) > 300        # one share: a quarter of it


def test_with_no_share_mediapipe_takes_only_the_joints_where_the_answers_part(lifter):
    keypoints, _ = _scene()
    alone = lifter.lift(keypoints, SIZE, FOCAL)[0]
    world = alone - alone[ROOT]
    wrist = H36M17.index["left_wrist"]
    world[wrist, 2] += 500.0
    fused = Fusion(lifter, 0.0, disagreement_mm=100.0).lift(keypoints, SIZE, FOCAL, world3d=world[None])[0]
    rel = fused - fused[ROOT]
    np.testing.assert_allclose(rel[wrist], world[wrist], atol=1.0)
    assert not np.allclose(fused, alone, atol=1.0)


def test_the_shipped_fusion_models_load_by_name_and_lift_one_pose():
    from realtime3d.errors import UserError
    from realtime3d.lifting import DEFAULT_MODEL, available_models, fusion_models, load_model
    assert set(fusion_models()) <= set(available_models()) and fusion_models()
    for name in fusion_models():
        model = load_model(name)
        assert isinstance(model, Fusion) and model.reads_world3d and not model.flip_average
        assert 0.0 <= model.world_share <= 1.0 and model.card["kind"] == "fusion"
        with pytest.raises(UserError, match="fusion model"):
            Lifter.from_pretrained(name)
    keypoints, world = _scene()
    model = load_model(DEFAULT_MODEL)
    one = model.lift(keypoints[0], SIZE, FOCAL, world3d=world[0])                  # [17, 2] -> [17, 3]
    np.testing.assert_allclose(one, model.lift(keypoints, SIZE, FOCAL, world3d=world)[0], atol=1e-3)
    assert Lifter.from_pretrained().name == model.lifter.name                    # the default's lifter
