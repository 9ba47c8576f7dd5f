"""Many people through the pipeline and into the files: per-person tracks, ids, colours.

The detector's and the tracker's own tests are test_blazepose.py and test_tracking.py; the
real street video and bus.jpg through the command are in test_app.py."""
from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from conftest import project
from realtime3d.data.mocap import bvh_to_h36m
from realtime3d.data.sample import sample_keypoints_px
from realtime3d.detect.detection import Detection
from realtime3d.export import PoseRun, bvh_name, write_run
from realtime3d.filters import OneEuroFilter
from realtime3d.io.bvh import read_bvh
from realtime3d.io.bvh_retarget import bvh_to_world
from realtime3d.io.poses import PoseFileError, read_poses
from realtime3d.lifting import Lifter
from realtime3d.pipeline import PosePipeline
from realtime3d.skeleton import H36M17
from realtime3d.person import Person
from realtime3d.viz.frame import draw_result
from realtime3d.viz.render3d import PoseRenderer
from realtime3d.viz.style import person_rgb, rgb_to_bgr8

SIZE, FOCAL, FPS = (1280, 720), 1000.0, 30.0
J = H36M17.num_joints


@pytest.fixture
def two_people(cmu_root) -> PoseRun:
    """Two real CMU clips seen by one camera, ids 1 and 3: person 1 in every frame, 1.5 m to the
    left; person 3 only in frames 20-69, 1.5 m to the right and 1 m further."""
    first, _ = bvh_to_h36m(cmu_root / "05" / "05_01.bvh", fps=FPS)
    second, _ = bvh_to_h36m(cmu_root / "02" / "02_01.bvh", fps=FPS)
    n = 90
    place = [np.array([-1500.0, 0.0, 5000.0]), np.array([1500.0, 0.0, 6000.0])]
    tracks = [clip[:n] - clip[:1, H36M17.root] + where for clip, where in zip((first, second), place)]
    frames = [[Person(pid, Detection(project(track[i][None], FOCAL, SIZE)[0], np.full(J, 0.9, np.float32)),
                      joints3d=track[i].astype(np.float32))
               for pid, track in zip((1, 3), tracks) if pid == 1 or 20 <= i < 70]
              for i in range(n)]
    result = PoseRun.from_frames(frames, np.arange(n) / FPS, SIZE, FOCAL, FPS, "street.avi")
    assert result.ids.tolist() == [1, 3] and result.confidence is None
    return result


def _bvh_positions_mm(path) -> np.ndarray:
    motion = read_bvh(path)
    positions, _ = motion.forward_kinematics()
    order = [motion.joint_names.index(n) for n in H36M17.joint_names]
    return bvh_to_world(positions[:, order])


def test_people_files_carry_a_person_axis_and_ids(two_people, tmp_path):
    paths = write_run(tmp_path, two_people)
    assert sorted(paths) == sorted(["poses_1.bvh", "poses_3.bvh", "poses.json", "poses.csv", "poses.npz"])
    with np.load(tmp_path / "poses.npz") as data:
        assert data["person_ids"].tolist() == [1, 3]
        assert data["joints3d"].shape == (90, 2, J, 3) and data["joints3d_world"].shape == (90, 2, J, 3)
        assert data["visibility"].shape == (90, 2, J)
        present = np.isfinite(data["joints3d"]).all(axis=(2, 3))
    assert present[:, 0].all() and present[:, 1].tolist() == [20 <= i < 70 for i in range(90)]
    one = read_poses(tmp_path / "poses.npz", person=3)                   # one person's track, as before
    assert one.joints3d.shape == (90, J, 3) and np.isfinite(one.joints3d[20:70]).all()
    assert np.isnan(one.joints3d[:20]).all() and one.extra["visibility"].shape == (90, J)
    with pytest.raises(PoseFileError, match="holds 2 people"):
        read_poses(tmp_path / "poses.npz")
    with pytest.raises(PoseFileError, match="no person with id 2"):
        read_poses(tmp_path / "poses.npz", person=2)

    doc = json.loads((tmp_path / "poses.json").read_text())
    assert doc["person_ids"] == [1, 3] and len(doc["frames"]) == 90
    assert [p["id"] for p in doc["frames"][10]["people"]] == [1]
    assert [p["id"] for p in doc["frames"][30]["people"]] == [1, 3]
    entry = doc["frames"][30]["people"][1]
    np.testing.assert_allclose(entry["joints3d_mm"], one.joints3d[30], atol=0.01)
    with open(tmp_path / "poses.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 90 + 50 and {r["person"] for r in rows} == {"1", "3"}
    row = next(r for r in rows if r["frame"] == "30" and r["person"] == "3")
    assert abs(float(row["pelvis_z"]) - one.joints3d[30, H36M17.root, 2]) < 0.01


def test_each_person_has_a_bvh_on_one_floor(two_people, tmp_path):
    write_run(tmp_path, two_people)
    with np.load(tmp_path / "poses.npz") as data:
        world = data["joints3d_world"]                                   # [N, 2, 17, 3] mm, Y up
    for k, pid in enumerate((1, 3)):
        from_bvh = _bvh_positions_mm(tmp_path / bvh_name(pid))           # the whole clip: held outside
        present = np.isfinite(world[:, k]).all(axis=(1, 2))
        assert len(from_bvh) == 90
        assert np.abs(from_bvh[present] - world[present, k]).max() < 1.0
        lowest = world[present, k][:, [H36M17.index["left_ankle"], H36M17.index["right_ankle"]], 1].min(axis=1)
        assert np.median(lowest) == pytest.approx(68.0, abs=40.0)      # both stand on the one floor
    # the two stand where the camera saw them: 3 m apart across, 1 m apart in depth
    both = np.isfinite(world).all(axis=(1, 2, 3))
    gap = world[both, 1, H36M17.root] - world[both, 0, H36M17.root]
    assert np.median(np.hypot(gap[:, 0], gap[:, 2])) == pytest.approx(np.hypot(3000.0, 1000.0), rel=0.1)


def test_nobody_anywhere_writes_nothing(two_people, tmp_path):
    two_people.joints3d[:] = np.nan
    with pytest.raises(ValueError, match="no person found"):
        write_run(tmp_path / "out", two_people)
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def _person(shift_x: float, scale: float = 1.0) -> Detection:
    joints = sample_keypoints_px().astype(np.float32)                 # [17, 2] px
    centre = joints.mean(axis=0)
    joints = (joints - centre) * scale + centre + np.array([shift_x, 0.0], np.float32)
    return Detection(joints, np.ones(J, np.float32))


@pytest.fixture(scope="module")
def lifter() -> Lifter:
    return Lifter.from_pretrained()


def test_every_person_is_lifted_in_one_call_with_an_id(lifter):
    calls = []

    class Counting:
        name = lifter.name
        reads_world3d = False

        def lift(self, joints2d, *args, **kwargs):
            calls.append(len(joints2d))
            return lifter.lift(joints2d, *args, **kwargs)

    pipeline = PosePipeline(Counting(), detector=None)
    result = pipeline.complete([_person(-300), _person(0, 1.4), _person(300)], SIZE, 0.0)
    assert calls == [3] and [p.id for p in result.people] == [1, 2, 3]
    assert all(p.complete for p in result.people) and result.person
    assert result.main.id == 2                                          # the largest
    alone = PosePipeline(lifter, detector=None).complete([_person(0, 1.4)], SIZE, 0.0)
    np.testing.assert_allclose(result.people[1].joints3d, alone.people[0].joints3d, atol=1e-3)
    empty = pipeline.complete([], SIZE, 0.1)
    assert empty.people == [] and not empty.person and empty.main is None and empty.lifted == []


def test_a_batch_of_frames_is_the_frames_one_by_one(lifter):
    """complete_batch (the offline run's loop): tracked frame by frame, lifted in one call, and each
    person filtered at their own frame's time, as complete() does frame by frame (the live loop)."""
    rng = np.random.default_rng(0)
    frames = [([_person(-300 + 40 * k + rng.normal(0, 5)), _person(300 + rng.normal(0, 5), 1.2)], k / FPS)
              for k in range(8)]
    single = PosePipeline(lifter, detector=None, filter=OneEuroFilter())
    one_by_one = [single.complete(found, SIZE, t) for found, t in frames]
    batch = PosePipeline(lifter, detector=None, filter=OneEuroFilter()).complete_batch(frames, SIZE)
    assert len(batch) == len(frames)
    for alone, batched in zip(one_by_one, batch):
        assert [p.id for p in alone.people] == [p.id for p in batched.people] == [1, 2]
        for a, b in zip(alone.people, batched.people):
            np.testing.assert_allclose(a.joints3d, b.joints3d, atol=1e-3)      # mm
    unfiltered = PosePipeline(lifter, detector=None).complete_batch(frames, SIZE)
    moved = np.abs(unfiltered[-1].people[0].joints3d - batch[-1].people[0].joints3d).max()
    assert moved > 1.0                          # the filter ran, at the frames' times


def test_person_choice_keeps_the_main_person_or_one_id(lifter):
    largest = PosePipeline(lifter, detector=None, person="largest")
    first = largest.complete([_person(-300), _person(300, 1.3)], SIZE, 0.0)
    assert [p.id for p in first.people] == [2]
    # the other one grows larger: the main person is kept while tracked
    later = largest.complete([_person(-300, 1.5), _person(300, 1.3)], SIZE, 0.04)
    assert [p.id for p in later.people] == [2]
    gone = largest.complete([_person(-300, 1.5)], SIZE, 0.08)
    assert [p.id for p in gone.people] == [1]                          # lost: the largest again
    chosen = PosePipeline(lifter, detector=None, person=2)
    assert [p.id for p in chosen.complete([_person(-300), _person(300)], SIZE, 0.0).people] == [2]
    with pytest.raises(ValueError, match="--person"):
        PosePipeline(lifter, detector=None, person="tallest")


def test_each_person_has_a_filter_of_their_own(lifter):
    pipeline = PosePipeline(lifter, detector=None, filter=OneEuroFilter())
    solo = PosePipeline(lifter, detector=None, filter=OneEuroFilter())
    for i in range(5):
        t = i / 30
        both = pipeline.complete([_person(-300 + 5 * i), _person(300)], SIZE, t)
        one = solo.complete([_person(-300 + 5 * i)], SIZE, t)
        np.testing.assert_allclose(both.people[0].joints3d, one.people[0].joints3d, atol=1e-3)


def _has_colour(image: np.ndarray, rgb, tolerance: int = 30) -> int:
    return int((np.abs(image.astype(int) - np.array(rgb_to_bgr8(rgb))).sum(axis=2) < tolerance).sum())


def test_overlay_and_3d_view_draw_each_person_in_their_colour(lifter):
    pipeline = PosePipeline(lifter, detector=None)
    result = pipeline.complete([_person(-350), _person(350)], SIZE, 0.0)
    frame = np.full((SIZE[1], SIZE[0], 3), 60, np.uint8)
    picture = draw_result(frame, result, PoseRenderer(size=(SIZE[1], SIZE[1])))
    left_half, right_half = picture[:, :SIZE[0] // 2], picture[:, SIZE[0] // 2:SIZE[0]]
    assert _has_colour(left_half, person_rgb(1)) > 100 and _has_colour(left_half, person_rgb(2)) == 0
    assert _has_colour(right_half, person_rgb(2)) > 100 and _has_colour(right_half, person_rgb(1)) == 0
    panel = picture[:, SIZE[0]:]
    assert _has_colour(panel, person_rgb(1)) > 50 and _has_colour(panel, person_rgb(2)) > 50


def test_viewer_shows_every_person_in_their_colour(xvfb_display, lifter, tmp_path):
    from realtime3d.viz.viewer import PoseViewer

    pipeline = PosePipeline(lifter, detector=None)
    result = pipeline.complete([_person(-350), _person(350)], SIZE, 0.0)
    with PoseViewer(width=640, height=480) as viewer:
        assert viewer.update_people([(p.id, p.joints3d) for p in result.people])
        viewer.screenshot(tmp_path / "two.png")
        assert viewer.update_people([(2, result.people[1].joints3d)])
        viewer.screenshot(tmp_path / "one.png")
    import cv2
    two, one = cv2.imread(str(tmp_path / "two.png")), cv2.imread(str(tmp_path / "one.png"))
    assert _has_colour(two, person_rgb(1), 60) > 100 and _has_colour(two, person_rgb(2), 60) > 100
    assert _has_colour(one, person_rgb(1), 60) == 0 and _has_colour(one, person_rgb(2), 60) > 100
