"""Tests for realtime3d.data.mocap on the real CMU BVH files (all four dialects).

The expectations come from ../shared/data/README.md, written out again here (not
imported from the module under test): which BVH joint is which, the units, the
derived-joint rules, left/right, camera coordinates and the fixed split.
"""
from __future__ import annotations

import copy
from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest

from realtime3d.data import mocap
from realtime3d.data.mocap import bvh_to_h36m, detect_dialect, load_split, motion_to_h36m
from realtime3d.errors import UserError
from realtime3d.io.bvh import read_bvh
from realtime3d.skeleton import H36M17

pytestmark = pytest.mark.data   # every test reads the CMU mocap of ../shared/data

CMU = Path(__file__).resolve().parents[2] / "shared" / "data" / "cmu"

if not CMU.is_dir():
    pytest.skip(f"CMU mocap data not found at {CMU} (see shared/data/README.md)", allow_module_level=True)

J = H36M17.index
CMU_UNIT_MM = 56.444  # README: 1 CMU unit = 0.056444 m

# subject -> (dialect, unit in mm, {our joint: BVH joint}, (left toe, right toe, left ankle, right ankle))
# From the README's dialect table. Shoulders are the upper-arm joints, not the clavicles.
_SIDES = ("hip", "knee", "ankle", "shoulder", "elbow", "wrist")
DIALECTS = {
    "01": ("motionbuilder", CMU_UNIT_MM,
           dict(hip="UpLeg", knee="Leg", ankle="Foot", shoulder="Arm", elbow="ForeArm", wrist="Hand"),
           "{side}{part}", ("Left", "Right"), "Head", ("LeftToeBase", "RightToeBase")),
    "10": ("daz", 10.0,
           dict(hip="Thigh", knee="Shin", ankle="Foot", shoulder="Shldr", elbow="ForeArm", wrist="Hand"),
           "{side}{part}", ("l", "r"), "head", ("lFoot_end", "rFoot_end")),
    "131": ("3dsmax", CMU_UNIT_MM,
            dict(hip="Hip", knee="Knee", ankle="Ankle", shoulder="Shoulder", elbow="Elbow", wrist="Wrist"),
            "{side}{part}", ("Left", "Right"), "Head", ("LeftToe", "RightToe")),
    "16": ("asf", CMU_UNIT_MM,
           dict(hip="femur", knee="tibia", ankle="foot", shoulder="humerus", elbow="radius", wrist="wrist"),
           "{side}{part}", ("l", "r"), "head", ("ltoes", "rtoes")),
}
SUBJECTS = tuple(DIALECTS)


def expected_names(subject: str) -> dict[str, str]:
    """our joint name -> BVH joint name, for the 13 named joints."""
    _, _, parts, fmt, (left, right), head, _ = DIALECTS[subject]
    out = {"head": head}
    for part in _SIDES:
        out[f"left_{part}"] = fmt.format(side=left, part=parts[part])
        out[f"right_{part}"] = fmt.format(side=right, part=parts[part])
    return out


def ankle_and_toe_names(subject: str):
    n = expected_names(subject)
    lt, rt = DIALECTS[subject][-1]
    return n["left_ankle"], n["right_ankle"], lt, rt


@lru_cache(maxsize=None)
def bvh_file(subject: str) -> Path:
    files = sorted((CMU / subject).glob("*.bvh"))
    if not files:
        pytest.skip(f"no BVH file for subject {subject} under {CMU}")
    return files[0]


@lru_cache(maxsize=None)
def parsed(subject: str):
    return read_bvh(bvh_file(subject))


def rest_motion(subject: str, frames: int = 2):
    m = copy.deepcopy(parsed(subject))
    m.motion = np.zeros((frames, m.motion.shape[1]))
    return m


def yup_to_cam(p: np.ndarray) -> np.ndarray:
    """The README's example rotation (x, y, z) -> (x, -y, -z), for test-side vectors only."""
    return p * np.array([1.0, -1.0, -1.0])


def fit_linear_map(src: np.ndarray, dst: np.ndarray) -> tuple[np.ndarray, float]:
    """Least-squares M with dst - mean(dst) ~ (src - mean(src)) @ M.T, per frame centred. [F, K, 3]."""
    s = (src - src.mean(1, keepdims=True)).reshape(-1, 3)
    d = (dst - dst.mean(1, keepdims=True)).reshape(-1, 3)
    mt, *_ = np.linalg.lstsq(s, d, rcond=None)
    resid = np.abs(s @ mt - d).max()
    return mt.T, float(resid)


@lru_cache(maxsize=None)
def converter_map(subject: str) -> np.ndarray:
    """The linear map (BVH file units -> output mm) that motion_to_h36m applies to the
    named joints, fitted on the real frames of the subject's file."""
    m = parsed(subject)
    joints, _ = motion_to_h36m(m, skip_first=False)
    pos, _ = m.forward_kinematics()
    idx = {n: i for i, n in enumerate(m.joint_names)}
    names = expected_names(subject)
    M, _ = fit_linear_map(pos[:, [idx[v] for v in names.values()]], joints[:, [J[k] for k in names]].astype(np.float64))
    return M


def unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def triple(left: np.ndarray, up: np.ndarray, forward: np.ndarray) -> np.ndarray:
    """L . (U x F) on unit vectors: +1 for a non-mirrored person (left = up x forward)."""
    return np.einsum("...i,...i->...", unit(left), np.cross(unit(up), unit(forward)))


# ----------------------------------------------------------------------------- the README's own claims


@pytest.mark.parametrize("subject", SUBJECTS)
def test_dialect_detection(subject):
    m = parsed(subject)
    assert detect_dialect(m.joint_names).name == DIALECTS[subject][0]
    for bvh_name in expected_names(subject).values():
        assert bvh_name in m.joint_names


@pytest.mark.parametrize("subject", SUBJECTS)
def test_rest_pose_is_a_non_mirrored_person_facing_plus_z(subject):
    # A check of the test's premise, on the raw BVH: in the zero pose, Y up, the figure
    # faces world +Z (toes in front of ankles) and its left is at +X.
    pos, _ = rest_motion(subject, 1).forward_kinematics()
    idx = {n: i for i, n in enumerate(parsed(subject).joint_names)}
    names = expected_names(subject)
    la, ra, lt, rt = (idx[n] for n in ankle_and_toe_names(subject))
    fwd = pos[0, lt] - pos[0, la] + pos[0, rt] - pos[0, ra]
    fwd[1] = 0
    assert unit(fwd)[2] > 0.9
    assert pos[0, idx[names["left_hip"]], 0] > pos[0, idx[names["right_hip"]], 0]
    assert pos[0, idx[names["head"]], 1] > pos[0, idx[names["left_hip"]], 1]


# ----------------------------------------------------------------------------- conversion


@lru_cache(maxsize=None)
def converted(subject: str):
    return bvh_to_h36m(bvh_file(subject))


@pytest.mark.parametrize("subject", SUBJECTS)
def test_bvh_to_h36m_shape_units_bones(subject):
    joints, fps = converted(subject)
    m = parsed(subject)
    assert isinstance(joints, np.ndarray) and joints.dtype == np.float32
    assert joints.shape == (m.num_frames - 1, 17, 3)  # the first (T-pose) frame is skipped
    assert np.isfinite(joints).all()
    assert fps == pytest.approx(1.0 / m.frame_time, rel=1e-6)
    assert fps == pytest.approx(30.0 if subject == "16" else 120.0, rel=1e-3)

    def bone(a, b):
        return np.linalg.norm(joints[:, J[a]] - joints[:, J[b]], axis=-1)

    for side in ("left", "right"):
        thigh, shin = bone(f"{side}_hip", f"{side}_knee"), bone(f"{side}_knee", f"{side}_ankle")
        assert 300 < thigh.min() and thigh.max() < 550, (side, thigh.min(), thigh.max())
        assert 300 < shin.min() and shin.max() < 550, (side, shin.min(), shin.max())
        upper, fore = bone(f"{side}_shoulder", f"{side}_elbow"), bone(f"{side}_elbow", f"{side}_wrist")
        assert 200 < upper.min() and upper.max() < 400
        assert 150 < fore.min() and fore.max() < 350
        # bones are rigid: FK in mm does not stretch them from frame to frame
        assert np.ptp(thigh) < 0.05 and np.ptp(shin) < 0.05
    assert 100 < bone("left_hip", "right_hip").mean() < 300
    assert 200 < bone("left_shoulder", "right_shoulder").mean() < 450
    np.testing.assert_allclose(bone("left_hip", "left_knee"), bone("right_hip", "right_knee"), rtol=0.05)


@pytest.mark.parametrize("subject", SUBJECTS)
def test_named_joints_are_the_readme_joints_under_a_proper_rotation(subject):
    # The 13 named joints must be the BVH joints of the README table, scaled to mm and
    # moved into camera coordinates by a proper rotation (det +1, no mirror) that takes
    # world up (+Y) to camera up (-y).
    m = parsed(subject)
    joints, _ = motion_to_h36m(m, skip_first=False)
    pos, _ = m.forward_kinematics()
    idx = {n: i for i, n in enumerate(m.joint_names)}
    names = expected_names(subject)
    ours = [J[k] for k in names]
    theirs = [idx[v] for v in names.values()]
    unit_mm = DIALECTS[subject][1]
    M, resid = fit_linear_map(pos[:, theirs] * unit_mm, joints[:, ours].astype(np.float64))
    assert resid < 0.05, f"named joints are not a rigid image of the README's BVH joints (residual {resid} mm)"
    np.testing.assert_allclose(M, converter_map(subject) / unit_mm, atol=1e-9)
    np.testing.assert_allclose(M @ M.T, np.eye(3), atol=1e-4)  # a rotation, units right
    assert np.linalg.det(M) == pytest.approx(1.0, abs=1e-4)      # not a reflection
    np.testing.assert_allclose(M @ [0, 1, 0], [0, -1, 0], atol=1e-4)  # Y up -> y down
    # with the README's example rotation, exactly:
    np.testing.assert_allclose(joints[:, ours], yup_to_cam(pos[:, theirs] * unit_mm), atol=0.05)


@pytest.mark.parametrize("subject", SUBJECTS)
def test_rest_pose_left_right(subject):
    # In the zero pose the figure faces world +Z, so in camera coordinates it faces the
    # camera: its own left must be on the image's right (larger x).
    joints, _ = motion_to_h36m(rest_motion(subject), skip_first=False)
    assert joints.shape == (2, 17, 3)
    j = joints[0]
    for part in ("hip", "knee", "ankle", "shoulder", "elbow", "wrist"):
        assert j[J[f"left_{part}"], 0] > j[J[f"right_{part}"], 0] + 20, part
    # upright in camera coordinates: the head is above (smaller y than) the pelvis and the ankles
    assert j[J["head"], 1] < j[J["thorax"], 1] < j[J["pelvis"], 1] < j[J["left_ankle"], 1]

    # Handedness-invariant: L . (U x F) with L = left - right hip, U = thorax - pelvis and
    # F the facing direction. Facing -z (the camera) with up = -y, the left is at +x:
    # (-y) x (-z) = y x z = +x, so L . (U x F) > 0 for a real person, < 0 for a mirror image.
    left = j[J["left_hip"]] - j[J["right_hip"]]
    up = j[J["thorax"]] - j[J["pelvis"]]
    assert triple(left, up, np.array([0.0, 0.0, -1.0])) > 0.9
    # shoulders too
    assert triple(j[J["left_shoulder"]] - j[J["right_shoulder"]], up, np.array([0.0, 0.0, -1.0])) > 0.9

    # ... and F = -z is the figure's own facing, not an assumption: the toes, rotated into
    # camera coordinates by the map the converter itself applies, point at the camera.
    m = rest_motion(subject)
    pos, _ = m.forward_kinematics()
    idx = {n: i for i, n in enumerate(m.joint_names)}
    M = converter_map(subject)
    la, ra, lt, rt = (idx[n] for n in ankle_and_toe_names(subject))
    fwd_cam = M @ (pos[0, lt] - pos[0, la] + pos[0, rt] - pos[0, ra])
    fwd_cam[1] = 0.0
    assert unit(fwd_cam)[2] < -0.9, "the rest pose does not face the camera"
    assert triple(left, up, fwd_cam) > 0.9


@pytest.mark.parametrize("subject", SUBJECTS)
def test_real_frames_are_not_mirrored(subject):
    # Over real motion, with the facing direction taken from the feet (ankle -> toe,
    # Y-up world, turned into camera coordinates by the README rotation), the person
    # stays a non-mirrored one in (nearly) every frame.
    m = parsed(subject)
    joints, _ = motion_to_h36m(m, skip_first=False)
    pos, _ = m.forward_kinematics()
    idx = {n: i for i, n in enumerate(m.joint_names)}
    la, ra, lt, rt = (idx[n] for n in ankle_and_toe_names(subject))
    fwd = yup_to_cam(pos[:, lt] - pos[:, la] + pos[:, rt] - pos[:, ra])
    up_cam = np.array([0.0, -1.0, 0.0])
    fwd = fwd - np.outer(fwd @ up_cam, up_cam)  # horizontal part
    left = joints[:, J["left_hip"]] - joints[:, J["right_hip"]]
    up = joints[:, J["thorax"]] - joints[:, J["pelvis"]]
    t = triple(left.astype(np.float64), up.astype(np.float64), fwd)
    assert (t > 0).mean() > 0.98, (t > 0).mean()
    assert np.median(t) > 0.8


@pytest.mark.parametrize("subject", SUBJECTS)
def test_derived_joints_follow_the_rules(subject):
    joints, _ = converted(subject)
    j = joints.astype(np.float64)
    tol = dict(atol=0.01)  # mm; float32 output
    np.testing.assert_allclose(j[:, J["pelvis"]], 0.5 * (j[:, J["left_hip"]] + j[:, J["right_hip"]]), **tol)
    np.testing.assert_allclose(j[:, J["thorax"]],
                               0.5 * (j[:, J["left_shoulder"]] + j[:, J["right_shoulder"]]), **tol)
    np.testing.assert_allclose(j[:, J["spine"]], 0.5 * (j[:, J["pelvis"]] + j[:, J["thorax"]]), **tol)
    head_len = np.linalg.norm(j[:, J["head_top"]] - j[:, J["head"]], axis=-1)
    np.testing.assert_allclose(head_len, 100.0, atol=0.01)
    # the head top is above the head in (almost) all frames of these upright motions
    assert (j[:, J["head_top"], 1] < j[:, J["head"], 1]).mean() > 0.9


@pytest.mark.parametrize("subject", SUBJECTS)
def test_head_top_along_the_heads_own_up_axis(subject):
    # In the zero pose every joint frame is the world frame: the head top is straight
    # up in camera coordinates (-y), 100 mm away.
    joints, _ = motion_to_h36m(rest_motion(subject), skip_first=False)
    np.testing.assert_allclose(joints[:, J["head_top"]] - joints[:, J["head"]],
                               np.tile([0.0, -100.0, 0.0], (2, 1)), atol=1e-3)
    # With real motion: along the head joint's own +Y axis, rotated into the camera.
    m = parsed(subject)
    joints, _ = motion_to_h36m(m, skip_first=False)
    _, rot = m.forward_kinematics()
    head = m.joint_names.index(expected_names(subject)["head"])
    want = yup_to_cam(rot[:, head, :, 1]) * 100.0
    np.testing.assert_allclose(joints[:, J["head_top"]] - joints[:, J["head"]], want, atol=0.01)


def test_skip_first_and_fps_subsampling():
    m = parsed("01")
    full, fps_full = motion_to_h36m(m, skip_first=False)
    skipped, _ = motion_to_h36m(m, skip_first=True)
    np.testing.assert_array_equal(skipped, full[1:])
    sub, fps_sub = motion_to_h36m(m, skip_first=True, fps=30.0)
    assert fps_sub == pytest.approx(fps_full / 4, rel=1e-6)
    np.testing.assert_array_equal(sub, full[1:][::4])
    same, fps_same = motion_to_h36m(m, skip_first=True, fps=1000.0)  # no upsampling
    assert fps_same == pytest.approx(fps_full) and len(same) == len(skipped)
    # a frame time a hair longer than 1/120 s still subsamples by 4 (rounding, not truncation)
    m2 = copy.deepcopy(m)
    m2.frame_time = 1.0 / 119.99
    sub2, fps2 = motion_to_h36m(m2, skip_first=True, fps=30.0)
    np.testing.assert_array_equal(sub2, full[1:][::4])
    assert fps2 == pytest.approx(119.99 / 4)
    one, _ = motion_to_h36m(rest_motion("01", 1), skip_first=True)  # a 1-frame file keeps its frame
    assert one.shape == (1, 17, 3)


def test_unknown_dialect_is_an_error(tmp_path):
    path = tmp_path / "x.bvh"
    path.write_text("HIERARCHY\nROOT a\n{\n  OFFSET 0 0 0\n  CHANNELS 3 Xposition Yposition Zposition\n"
                    "  End Site\n  {\n    OFFSET 0 1 0\n  }\n}\nMOTION\nFrames: 1\nFrame Time: 0.1\n0 0 0\n")
    with pytest.raises(ValueError, match="dialect") as info:
        bvh_to_h36m(path)
    assert str(path) in str(info.value)


# ----------------------------------------------------------------------------- the split


def _subjects(clips) -> set[str]:
    return {str(c).split("_")[0] for c in np.unique(clips)}


@pytest.fixture(scope="module")
def splits():
    return {s: load_split(s, root=CMU) for s in ("train", "val", "test")}


def test_split_subjects(splits):
    assert _subjects(splits["test"]["clip"]) == {"09", "13", "14"}
    for s in ("train", "val"):
        assert not _subjects(splits[s]["clip"]) & {"09", "13", "14"}, s
    assert not set(np.unique(splits["val"]["clip"])) & set(np.unique(splits["train"]["clip"]))
    assert not _subjects(splits["val"]["clip"]) & _subjects(splits["train"]["clip"])
    on_disk = {p.name for p in CMU.iterdir() if p.is_dir() and any(p.glob("*.bvh"))}
    assert (_subjects(splits["train"]["clip"]) | _subjects(splits["val"]["clip"])
            | _subjects(splits["test"]["clip"])) == on_disk
    for s, d in splits.items():
        assert d["joints3d"].ndim == 3 and d["joints3d"].shape[1:] == (17, 3), s
        assert len(d["clip"]) == len(d["joints3d"]), s
        assert np.isfinite(d["joints3d"]).all(), s
    # README: the test subjects hold about 13,000 frames, all kept
    assert 12_000 < len(splits["test"]["joints3d"]) < 14_500


def test_split_clips_match_fresh_conversion(splits):
    # Guards against a stale cache: the cached rows of a clip are what the converter
    # gives now (test keeps every frame; train keeps 30 fps).
    test, train = splits["test"], splits["train"]
    for split, clip, fps in ((test, "09_01", None), (train, "16_01", 30.0), (train, "10_04", 30.0)):
        path = CMU / clip.split("_")[0] / f"{clip}.bvh"
        if not path.exists():
            continue
        fresh, _ = bvh_to_h36m(path, fps=fps)
        rows = split["joints3d"][split["clip"] == clip]
        assert rows.shape == fresh.shape, clip
        np.testing.assert_allclose(rows, fresh, atol=1e-3, err_msg=clip)


def test_load_split_builds_and_reuses_its_cache(tmp_path, monkeypatch, splits):
    data = load_split("test", root=CMU, cache_dir=tmp_path)
    cached = list(tmp_path.glob("*.npz"))
    assert len(cached) == 1
    np.testing.assert_array_equal(data["joints3d"], splits["test"]["joints3d"])
    np.testing.assert_array_equal(data["clip"], splits["test"]["clip"])

    def boom(*args, **kwargs):
        raise AssertionError("converted again instead of reading the cache")

    monkeypatch.setattr(mocap, "bvh_to_h36m", boom)
    again = load_split("test", root=CMU, cache_dir=tmp_path)
    np.testing.assert_array_equal(again["joints3d"], data["joints3d"])


def test_load_split_errors(tmp_path):
    with pytest.raises(ValueError):
        load_split("validation", root=CMU, cache_dir=tmp_path)
    with pytest.raises(UserError):
        load_split("test", root=tmp_path, cache_dir=tmp_path)
