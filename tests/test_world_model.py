"""MediaPipe's own 3D as a model (`--model mediapipe-world`): the placement by projection on a
hand-made pose, the detector's world landmarks on real photos, and the three app commands on real
media."""
from __future__ import annotations

import json

import numpy as np
import pytest

from conftest import MEDIA, hand_made_pose_mm, one_line_error, project, run_cli
from realtime3d.cli import main
from realtime3d.skeleton import H36M17
from realtime3d.world_model import WorldLandmarks, place_by_projection

STREET = MEDIA / "street_dance.avi"
SIZE = (1280, 720)


def test_placement_recovers_the_translation_of_a_projected_pose():
    pose = hand_made_pose_mm()                                                   # [17, 3] mm, camera axes
    rel = pose - pose[H36M17.root]
    for t in ([0.0, 0.0, 3000.0], [-400.0, 250.0, 6500.0], [900.0, -100.0, 2200.0]):
        keypoints = project(rel + np.array(t), 1000.0, SIZE)                     # [17, 2] px
        mask = np.ones((1, 17), bool)
        found = place_by_projection(rel[None], keypoints[None], mask, SIZE, 1000.0)
        np.testing.assert_allclose(found[0], t, atol=1e-6 * t[2])
        placed = WorldLandmarks().lift(keypoints[None], SIZE, 1000.0, world3d=rel[None])
        np.testing.assert_allclose(placed[0], rel + np.array(t), atol=1e-3)


def test_too_few_visible_joints_or_no_world_landmarks_give_no_pose():
    rel = hand_made_pose_mm() - hand_made_pose_mm()[H36M17.root]
    keypoints = project(rel + np.array([0.0, 0.0, 3000.0]), 1000.0, SIZE)[None]
    vis = np.zeros((1, 17), np.float32)
    vis[0, :5] = 1.0
    assert np.isnan(WorldLandmarks().lift(keypoints, SIZE, 1000.0, visibility=vis, world3d=rel[None])).all()
    assert np.isnan(WorldLandmarks().lift(keypoints, SIZE, 1000.0, world3d=np.full((1, 17, 3), np.nan))).all()


@pytest.mark.data
def test_the_detectors_world_landmarks_are_metric_and_project_onto_the_2d(media):
    import cv2

    from realtime3d.detect.blazepose import MultiPoseDetector
    found = []
    with MultiPoseDetector(static_image_mode=True, world_landmarks=True) as detector:
        for name in ("bus.jpg", "zidane.jpg"):
            image = cv2.imread(str(media / name))
            found += [(d, image.shape[1::-1]) for d in detector.detect_all(image)]
    with MultiPoseDetector(static_image_mode=True) as plain:                     # the app's default: none
        assert all(d.world3d is None for d in plain.detect_all(image))
    assert len(found) >= 4
    bones = np.array(H36M17.bones)
    for det, size in found:
        world = det.world3d                                                      # [17, 3] mm
        assert world.shape == (17, 3) and np.isfinite(world).all()
        assert np.abs(world[H36M17.root]).max() < 20                             # origin between the hips
        bone_sum = np.linalg.norm(world[bones[:, 1]] - world[bones[:, 0]], axis=-1).sum()
        assert 2500 < bone_sum < 6000, bone_sum             # a person's size (zidane.jpg: upper bodies, ~2.9 m)
        s = H36M17.index
        assert world[s["head"], 1] < world[s["thorax"], 1] < world[s["pelvis"], 1]   # y down: head up
        focal = 0.8 * size[0]
        placed = WorldLandmarks().lift(det.joints2d_px[None], size, focal, visibility=det.visibility[None],
                                       world3d=world[None])[0]
        visible = det.visibility >= 0.5
        error = np.linalg.norm(project(placed, focal, size) - det.joints2d_px, axis=-1)[visible]
        height = np.ptp(det.joints2d_px[visible, 1])
        assert np.median(error) < 0.08 * height, (np.median(error), height)     # mirrored would miss by far more


@pytest.mark.data
def test_image_and_video_commands_with_mediapipe_world(media, tmp_path):
    assert main(["image", str(media / "bus.jpg"), "-o", str(tmp_path / "img"), "--model", "mediapipe-world"]) == 0
    people = json.loads((tmp_path / "img" / "bus.json").read_text())["people"]
    assert len(people) >= 2 and all(np.isfinite(np.array(p["joints3d_mm"], float)).all() for p in people)
    done = run_cli("video", str(media / "street_dance.avi"), "-o", str(tmp_path / "vid"), "--max-frames", "20",
                   "--model", "mediapipe-world")
    assert done.returncode == 0, done.stderr[-2000:]
    with np.load(tmp_path / "vid" / "street_dance" / "poses.npz") as data:
        joints3d = data["joints3d"]                                              # [N, P, 17, 3] mm
    assert len(joints3d) == 20 and np.isfinite(joints3d).all(axis=(2, 3)).any(axis=1).all()
    assert (joints3d[..., 2][np.isfinite(joints3d[..., 2])] > 500).all()         # in front of the camera


@pytest.mark.data
def test_webcam_command_with_mediapipe_world(media, tmp_path):
    done = run_cli("webcam", "--camera", str(media / "street_dance.avi"), "--no-show", "--max-seconds", "2",
                   "--model", "mediapipe-world", "--record", str(tmp_path / "rec"))
    assert done.returncode == 0, done.stderr[-2000:]
    with np.load(tmp_path / "rec" / "poses.npz") as data:
        joints3d = data["joints3d"]
    assert len(joints3d) >= 5 and np.isfinite(joints3d).all(axis=(2, 3)).any(axis=1).mean() > 0.8


def test_mediapipe_world_needs_the_blazepose_detector_and_an_app_command(capsys, tmp_path):
    code = main(["image", "photo.jpg", "-o", str(tmp_path), "--model", "mediapipe-world", "--detector", "skeleton-net"])
    one_line_error(code, capsys.readouterr().err, "mediapipe-world needs --detector blazepose")
    code = main(["eval", "--data", "cmu-test", "--model", "mediapipe-world"])
    one_line_error(code, capsys.readouterr().err, "not on 2D files")


def test_a_partial_run_keeps_the_world_landmarks_for_an_exact_resume():
    from realtime3d.detect.detection import Detection
    from realtime3d.offline import _detection_arrays, _saved_detections
    rng = np.random.default_rng(0)
    with_world = Detection(rng.random((17, 2), np.float32), np.ones(17, np.float32),
                           world3d=rng.random((17, 3)).astype(np.float32))
    without = Detection(rng.random((17, 2), np.float32), np.ones(17, np.float32))
    back = _saved_detections(_detection_arrays([[with_world], [], [without]]), 3)
    np.testing.assert_array_equal(back[0][0].world3d, with_world.world3d)
    assert back[1] == [] and back[2][0].world3d is None
