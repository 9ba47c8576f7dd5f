"""The truth file of a video (io/video_truth.py) and the scoring of a run against it (video_scoring.py),
on hand-made arrays whose scores are known."""
from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from realtime3d.data.sample import standing_pose_mm
from realtime3d.errors import UserError
from realtime3d.export import PoseRun
from realtime3d.io.video_truth import VideoTruth, read_truth, write_truth
from realtime3d.skeleton import H36M17
from realtime3d.video_scoring import (JOINT_SETS, LIMBS12, MATCH_TORSO, aggregate, counted, match_people,
                                      read_run, score_clip, torso_height_px)

SIZE, FOCAL, FPS, N = (1280, 720), 1000.0, 25.0, 20
FLOOR_Y = 1000.0          # mm below the camera: the people stand on it


def project(joints3d: np.ndarray) -> np.ndarray:
    centre = (np.array(SIZE, dtype=np.float64) - 1) / 2
    return (FOCAL * joints3d[..., :2] / joints3d[..., 2:3] + centre).astype(np.float32)


def two_people() -> np.ndarray:
    """[N, 2, 17, 3] mm: two people walking across, turned, the left arm swinging (so they accelerate)."""
    base = standing_pose_mm().astype(np.float64)
    frames = []
    for i in range(N):
        people = []
        for k, (x0, z0, turn) in enumerate(((-900.0, 4500.0, 30.0), (800.0, 5200.0, -50.0))):
            a = np.radians(turn + 2 * i)
            rot = np.array([[np.cos(a), 0, np.sin(a)], [0, 1, 0], [-np.sin(a), 0, np.cos(a)]])
            pose = base.copy()
            pose[H36M17.index["left_wrist"]] += [0, 0, 120 * np.sin(0.7 * i + k)]
            pose = pose @ rot.T + [x0 + 30 * i, FLOOR_Y - 870, z0]
            people.append(pose)
        frames.append(people)
    return np.array(frames, np.float32)


def make_truth(joints3d: np.ndarray | None = None) -> VideoTruth:
    joints3d = two_people() if joints3d is None else joints3d
    joints2d = project(joints3d)
    present = np.isfinite(joints3d).all(axis=(2, 3))
    boxes = np.concatenate([joints2d.min(2), joints2d.max(2)], -1)
    floor = np.tile(np.array([0, -1, 0, FLOOR_Y], np.float32), (len(joints3d), 1))   # n = up = -y; d = height
    return VideoTruth(joints3d=joints3d, joints2d=joints2d, visible=np.repeat(present[..., None], 17, -1),
                      visible_fraction=present.astype(np.float32), boxes=boxes, focal=FOCAL, image_size=SIZE,
                      fps=FPS, floor=floor, person_names=("a", "b"), clip="hand-made")


def make_run(joints3d: np.ndarray, joints2d: np.ndarray | None = None, ids=None) -> PoseRun:
    joints2d = project(joints3d) if joints2d is None else joints2d
    q = joints3d.shape[1]
    return PoseRun(np.arange(1, q + 1) if ids is None else ids, joints3d, joints2d, np.ones(joints3d.shape[:3]),
                   np.arange(len(joints3d)) / FPS, SIZE, 900.0, FPS, "hand-made")


def ground(up=(0.0, -1.0, 0.0), height=FLOOR_Y) -> dict:
    up = np.asarray(up, dtype=np.float64) / np.linalg.norm(up)
    x = np.array([1.0, 0, 0]) - up[0] * up
    x /= np.linalg.norm(x)
    return {"rotation_world_from_camera": [x.tolist(), up.tolist(), np.cross(x, up).tolist()],
            "camera_height_mm": height}


def test_the_truth_itself_scores_zero_whatever_the_order_of_the_people():
    truth = make_truth()
    row = score_clip(truth, make_run(truth.joints3d[:, ::-1].copy(), ids=[4, 9]), ground())
    assert row["found"] == 1.0 and row["counted"] == row["matched"] == 2 * N
    assert row["multi_person"] and row["id_switches"] == 0 and row["extra_person_frames"] == 0
    for name in JOINT_SETS:
        assert row[name]["p_mpjpe_mm"] < 1e-3 and row[name]["mpjpe_mm"] < 1e-3
        assert row[name]["pck150"] == 1.0 and row[name]["accel_error_mm"] < 1e-3
    assert row["accel_samples"] == 2 * (N - 2)
    assert row["error2d_torso"] == {"limbs12": 0.0, "all17": 0.0}
    assert row["visible_joints"] == {"limbs12": 2 * N * 12, "all17": 2 * N * 17}
    assert abs(row["floor"]["camera_height_error_mm"]) < 1e-6 and row["floor"]["up_error_deg"] < 1e-4


def test_known_values_a_larger_person_and_a_wrong_floor():
    """A pose 10 % larger about its pelvis: P-MPJPE (with scale) 0, MPJPE 10 % of the joints' distance
    to the pelvis; the 2D is the truth's, shifted by 0.1 torso: that is the 2D error."""
    truth = make_truth()
    gt = truth.joints3d.astype(np.float64)
    root = gt[:, :, :1]
    pred = (root + 1.1 * (gt - root)).astype(np.float32)
    shift = 0.1 * torso_height_px(truth.joints2d)[..., None, None] * np.array([1.0, 0.0])
    up = (0.0, -np.cos(np.radians(10)), np.sin(np.radians(10)))
    row = score_clip(truth, make_run(pred, (truth.joints2d + shift).astype(np.float32)), ground(up, 1100.0))
    for name, idx in JOINT_SETS.items():
        reach = np.linalg.norm(gt[:, :, idx] - root, axis=-1)                 # [N, 2, J] mm
        assert row[name]["p_mpjpe_mm"] < 1e-2
        assert row[name]["mpjpe_mm"] == pytest.approx(0.1 * reach.mean(), rel=1e-4)
        assert row[name]["pck150"] == pytest.approx((0.1 * reach <= 150).mean())
    assert row["error2d_torso"]["limbs12"] == pytest.approx(0.1, rel=1e-4)
    assert row["floor"]["camera_height_error_mm"] == pytest.approx(100.0)
    assert row["floor"]["up_error_deg"] == pytest.approx(10.0, abs=1e-3)


def test_constant_depth_and_mirrored_predictions_are_caught():
    truth = make_truth()
    gt = truth.joints3d
    flat = gt.copy()
    flat[..., 2] = gt[..., :1, 2]                                               # every joint at the pelvis's depth
    mirrored = gt.copy()
    mirrored[..., 0] = 2 * gt[..., :1, 0] - gt[..., 0]                          # x -> -x about the pelvis: a mirror
    swapped = gt[:, :, H36M17.flip_permutation]                                 # left and right labels exchanged
    for name, pred in (("constant depth", flat), ("mirrored", mirrored), ("left/right swapped", swapped)):
        row = score_clip(truth, make_run(pred, truth.joints2d))
        assert row["found"] == 1.0, name
        for joints in JOINT_SETS:
            assert row[joints]["p_mpjpe_mm"] > 40, (name, joints, row[joints])
            assert row[joints]["mpjpe_mm"] > row[joints]["p_mpjpe_mm"], (name, joints, row[joints])


def test_matching_needs_half_a_torso_and_extra_people_are_counted():
    truth = make_truth()
    torso = torso_height_px(truth.joints2d)[..., None, None]                     # [N, 2, 1, 1]
    for shift, found in ((0.45, 1.0), (0.55, 0.0)):
        far = (truth.joints2d + shift * torso * np.array([1.0, 0.0])).astype(np.float32)
        row = score_clip(truth, make_run(truth.joints3d, far))
        assert row["found"] == found and row["extra_person_frames"] == (0 if found else 2 * N)
        assert row["joints13"]["mpjpe_mm"] is None or found
    third = np.concatenate([truth.joints3d, truth.joints3d[:, :1] + [0, 0, 9000]], axis=1)   # far behind: no truth
    row = score_clip(truth, make_run(third))
    assert row["found"] == 1.0 and row["extra_person_frames"] == N


def test_counting_rule_visible_fraction_and_joints():
    truth = make_truth()
    fraction, visible = truth.visible_fraction.copy(), truth.visible.copy()
    fraction[:5, 0] = 0.4                                                       # mostly hidden
    visible[5:10, 1, :10] = False                                               # 7 joints visible
    hidden = replace(truth, visible_fraction=fraction, visible=visible)
    assert counted(hidden).sum() == 2 * N - 10
    row = score_clip(hidden, make_run(truth.joints3d))
    assert row["counted"] == row["matched"] == 2 * N - 10 and row["extra_person_frames"] == 0


def test_id_switches_count_changes_not_gaps():
    truth = make_truth()
    one = np.full((N, 3, 17, 3), np.nan, np.float32)
    one[:, 0] = truth.joints3d[:, 1]                                            # person b: id 1 ...
    one[:10, 1] = truth.joints3d[:10, 0]                                        # person a: id 2, then id 3
    one[10:, 2] = truth.joints3d[10:, 0]
    row = score_clip(truth, make_run(one, np.where(np.isfinite(one[..., :2]), project(one), np.nan)))
    assert row["id_switches"] == 1 and row["found"] == 1.0
    gap = one.copy()
    gap[5:8, 0] = np.nan                                                        # b missed for 3 frames, same id after
    row = score_clip(truth, make_run(gap, np.where(np.isfinite(gap[..., :2]), project(gap), np.nan)))
    assert row["id_switches"] == 1 and row["matched"] == 2 * N - 3
    assert row["accel_samples"] == 2 * (N - 2) - 5 - 2                         # b loses 5 triples, a 2 at the switch


def test_match_people_is_a_one_to_one_assignment():
    truth = make_truth()
    pred2d = np.concatenate([truth.joints2d[:, ::-1], truth.joints2d[:, :1] + 3.0], axis=1)   # b, a, a again
    match = match_people(truth.joints2d, truth.visible, pred2d, np.ones(pred2d.shape[:2], bool))
    assert (match[:, 0] == 1).all() and (match[:, 1] == 0).all()
    assert MATCH_TORSO == 0.5 and len(LIMBS12) == 12 and len(JOINT_SETS["joints13"]) == 13


def test_aggregate_weighs_clips_by_person_frames():
    truth = make_truth()
    good = score_clip(truth, make_run(truth.joints3d), ground())
    short = replace(truth, visible_fraction=np.where(np.arange(N)[:, None] < 5, truth.visible_fraction, 0))
    gt = truth.joints3d.astype(np.float64)
    bad = score_clip(short, make_run((gt[:, :, :1] + 1.2 * (gt - gt[:, :, :1])).astype(np.float32)),
                     ground(height=FLOOR_Y + 200))
    total = aggregate([good, bad])
    assert total["counted"] == 2 * N + 10 and total["found"] == 1.0 and total["clips"] == 2
    expected = bad["joints17"]["mpjpe_mm"] * 10 / (2 * N + 10)
    assert total["joints17"]["mpjpe_mm"] == pytest.approx(expected)
    assert total["floor"]["camera_height_abs_error_mm"] == pytest.approx(100.0)
    assert total["id_switches"] == 0 and total["multi_person_clips"] == 2


def test_frames_the_run_lacks_are_misses():
    truth = make_truth()
    run = make_run(truth.joints3d[5:])
    run.timestamps = run.timestamps + 5 / FPS                                   # the run starts at frame 5
    row = score_clip(truth, run)
    assert row["matched"] == 2 * (N - 5) and row["joints17"]["mpjpe_mm"] < 1e-3


# ----------------------------------------------------------------------------- the truth file


def test_truth_file_round_trip(tmp_path):
    truth = make_truth()
    write_truth(tmp_path / "truth.npz", truth)
    back = read_truth(tmp_path / "truth.npz")
    for name in ("joints3d", "joints2d", "visible", "visible_fraction", "boxes", "floor"):
        np.testing.assert_array_equal(getattr(back, name), getattr(truth, name))
    assert (back.focal, back.image_size, back.fps, back.person_names, back.clip) == \
        (FOCAL, SIZE, FPS, ("a", "b"), "hand-made")
    assert back.camera_rotation is None and back.first_frames(5).num_frames == 5
    assert back.projection_error_px() < 1e-3


def test_bad_truth_files_are_one_line_user_errors(tmp_path):
    truth = make_truth()
    with pytest.raises(UserError, match="no such truth file"):
        read_truth(tmp_path / "none.npz")
    np.savez(tmp_path / "partial.npz", joints3d=truth.joints3d)
    with pytest.raises(UserError, match="missing joints2d"):
        read_truth(tmp_path / "partial.npz")
    (tmp_path / "text.npz").write_text("not a zip")
    with pytest.raises(UserError, match="not a readable"):
        read_truth(tmp_path / "text.npz")
    cases = {
        "metres": dict(joints3d=truth.joints3d / 1000, joints2d=truth.joints2d),
        "y up": dict(joints3d=truth.joints3d * np.array([1, -1, 1], np.float32)),
        "mirror": dict(camera_rotation=np.tile(np.diag([-1.0, 1, 1]), (N, 1, 1)), camera_position=np.zeros((N, 3))),
        "half a pose": dict(joints3d=np.where(np.arange(17)[:, None] < 3, np.nan, truth.joints3d)),
        "fraction": dict(visible_fraction=truth.visible_fraction * 2),
    }
    words = {"metres": "millimetres", "y up": "projection", "mirror": "proper rotations", "half a pose": "all 17",
             "fraction": "0..1"}
    for name, change in cases.items():
        with pytest.raises(ValueError, match=words[name]):
            replace(truth, **change)
    bad = replace(truth)
    bad.visible_fraction = bad.visible_fraction * 2                             # written as a bad file
    arrays = {k: getattr(bad, k) for k in ("joints3d", "joints2d", "visible", "visible_fraction", "boxes", "floor")}
    np.savez(tmp_path / "bad.npz", focal=FOCAL, image_size=np.array(SIZE), fps=FPS, **arrays)
    with pytest.raises(UserError, match=r"bad\.npz: visible_fraction must lie in 0\.\.1"):
        read_truth(tmp_path / "bad.npz")


def test_read_run_reads_a_written_run(tmp_path):
    from realtime3d.export import write_run
    truth = make_truth()
    write_run(tmp_path, make_run(truth.joints3d))
    run, floor = read_run(tmp_path)
    assert run.joints3d.shape == (N, 2, 17, 3) and set(floor) >= {"camera_height_mm", "rotation_world_from_camera"}
    row = score_clip(truth, run, floor)
    assert row["found"] == 1.0 and row["joints13"]["p_mpjpe_mm"] < 10         # constant bones (a swinging forearm)
    with pytest.raises(UserError, match="not a readable poses.npz"):
        read_run(tmp_path / "none.npz")


def test_replay_detector_is_a_detector():
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from bench_video3d import ReplayDetector

    from realtime3d.detect.detection import Detection, Detector
    frames = [[Detection(np.zeros((17, 2), np.float32), np.ones(17, np.float32))], []]
    replay = ReplayDetector(frames)
    assert isinstance(replay, Detector)
    image = np.zeros((4, 4, 3), np.uint8)
    assert replay.detect_all_rgb(image) == frames[0] and replay.detect_all(image) == []
    with pytest.raises(ValueError, match="2 frames"):
        replay.detect_all_rgb(image)


def test_cached_detections_give_the_runs_own_poses(tmp_path):
    """The benchmark's cached path: a run replayed on its recorded detections writes the same poses."""
    from conftest import MEDIA
    video = MEDIA / "street_dance.avi"
    if not video.is_file():
        pytest.skip(f"{video} not found (see shared/data/README.md)")
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from bench_video3d import app_options, record_run, replay_run

    from realtime3d.lifting import DEFAULT_MODEL, load_model
    options = app_options(DEFAULT_MODEL, max_frames=12)
    recorder, found = record_run(video, tmp_path / "detected", options)
    assert found and len(recorder.frames) == 12
    replay_run(video, tmp_path / "cached", load_model(DEFAULT_MODEL), recorder.frames, recorder.visibility_threshold,
               options)
    (a, _), (b, _) = read_run(tmp_path / "detected"), read_run(tmp_path / "cached")
    assert a.ids.tolist() == b.ids.tolist()
    np.testing.assert_array_equal(a.joints3d, b.joints3d)
