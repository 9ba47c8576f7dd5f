"""Tests for realtime3d.io.poses: the pose-sequence .npz of shared/data/README.md."""
from __future__ import annotations

import numpy as np
import pytest

from realtime3d.io.poses import PoseFileError, PoseSequence, read_poses, write_poses


def _joints3d(n=5, j=17, seed=0):
    rng = np.random.default_rng(seed)
    out = rng.normal(scale=300.0, size=(n, j, 3)).astype(np.float32)
    out[..., 2] += 3000.0
    return out


def _joints2d(n=5, j=17, seed=1):
    rng = np.random.default_rng(seed)
    return (rng.uniform(0, 640, size=(n, j, 2))).astype(np.float32)


def _save(path, **arrays):
    np.savez(path, **arrays)
    return path


def _expect_error(path, match=None, **kwargs):
    with pytest.raises(PoseFileError, match=match) as info:
        read_poses(path, **kwargs)
    assert str(path) in str(info.value)
    return str(info.value)


# ----------------------------------------------------------------------------- round trips


def test_round_trip_full(tmp_path):
    j3, j2 = _joints3d(), _joints2d()
    clip = np.array(["walk", "walk", "run", "run", "jump"])
    vis = np.linspace(0, 1, 5 * 17).reshape(5, 17).astype(np.float32)
    seq = PoseSequence(j3, j2, image_size=(640, 480), focal=512.5, clip=clip, extra={"visibility": vis})
    path = tmp_path / "seq.npz"
    write_poses(path, seq)
    back = read_poses(path)
    assert back.joints3d.dtype == np.float32 and back.joints2d.dtype == np.float32
    np.testing.assert_array_equal(back.joints3d, j3)
    np.testing.assert_array_equal(back.joints2d, j2)
    assert back.image_size == (640, 480)
    assert all(isinstance(v, int) for v in back.image_size)
    assert back.focal == pytest.approx(512.5) and isinstance(back.focal, float)
    assert list(back.clip) == list(clip)
    assert back.num_frames == 5
    assert set(back.extra) == {"visibility"}
    np.testing.assert_array_equal(back.extra["visibility"], vis)
    # the file itself follows the README layout
    with np.load(path, allow_pickle=False) as z:
        assert z["joints3d"].dtype == np.float32 and z["joints3d"].shape == (5, 17, 3)
        assert z["joints2d"].shape == (5, 17, 2)
        assert list(z["image_size"]) == [640, 480] and np.issubdtype(z["image_size"].dtype, np.integer)
        assert float(z["focal"]) == pytest.approx(512.5)
        assert z["clip"].shape == (5,)


def test_round_trip_3d_only_and_float64_input(tmp_path):
    j3 = _joints3d(n=3).astype(np.float64)
    path = tmp_path / "a.npz"
    write_poses(path, PoseSequence(j3))
    back = read_poses(path)
    np.testing.assert_allclose(back.joints3d, j3, rtol=1e-6)
    assert back.joints2d is None and back.image_size is None and back.focal is None
    assert back.clip is None and back.extra is None
    assert back.num_frames == 3


def test_round_trip_focal_precision(tmp_path):
    # A focal from default_focal is not a round number; it should survive to well under a pixel.
    focal = 1108.5125168440815
    path = tmp_path / "f.npz"
    write_poses(path, PoseSequence(_joints3d(), _joints2d(), (1280, 720), focal))
    assert read_poses(path).focal == pytest.approx(focal, abs=1e-3)


def test_round_trip_2d_only(tmp_path):
    j2 = _joints2d()
    path = tmp_path / "b.npz"
    write_poses(path, PoseSequence(None, j2, image_size=(1280, 720), focal=1000.0))
    with pytest.raises(PoseFileError, match="joints3d"):
        read_poses(path)  # 3D is required by default
    back = read_poses(path, require_3d=False)
    assert back.joints3d is None
    np.testing.assert_array_equal(back.joints2d, j2)
    assert back.num_frames == 5


def test_partial_nan_is_allowed(tmp_path):
    j3 = _joints3d()
    j3[1] = np.nan  # a frame without a pose
    j3[2, 4] = np.nan
    path = tmp_path / "c.npz"
    write_poses(path, PoseSequence(j3))
    back = read_poses(path)
    assert np.isnan(back.joints3d[1]).all() and np.isnan(back.joints3d[2, 4]).all()
    np.testing.assert_array_equal(back.joints3d[0], j3[0])
    # every frame misses a joint, yet the file holds poses: still fine
    j3 = _joints3d()
    j3[:, 10] = np.nan
    write_poses(path, PoseSequence(j3))
    assert np.isnan(read_poses(path).joints3d[:, 10]).all()


def test_other_joint_counts(tmp_path):
    path = _save(tmp_path / "d.npz", joints3d=_joints3d(j=33))
    assert read_poses(path, num_joints=33).joints3d.shape == (5, 33, 3)
    _expect_error(path)  # 17 by default


def test_write_is_atomic_and_overwrites(tmp_path):
    path = tmp_path / "e.npz"
    path.write_bytes(b"old")
    write_poses(path, PoseSequence(_joints3d(n=2)))
    assert read_poses(path).num_frames == 2
    assert [p.name for p in tmp_path.iterdir()] == ["e.npz"]


def test_write_failure_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "f.npz"
    write_poses(path, PoseSequence(_joints3d(n=3)))
    before = path.read_bytes()

    def failing_savez(fh, **arrays):
        fh.write(b"PK partial")
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", failing_savez)
    with pytest.raises(OSError, match="disk full"):
        write_poses(path, PoseSequence(_joints3d(n=7)))
    monkeypatch.undo()
    assert path.read_bytes() == before  # untouched
    assert [p.name for p in tmp_path.iterdir()] == ["f.npz"]  # no temporary left behind
    assert read_poses(path).num_frames == 3


# ----------------------------------------------------------------------------- errors


@pytest.mark.parametrize("shape", [(5, 16, 3), (5, 17, 2), (5, 17, 4), (17, 3), (5, 17, 3, 1), (85, 3)])
def test_wrong_joints3d_shape(tmp_path, shape):
    path = _save(tmp_path / "w.npz", joints3d=np.zeros(shape, np.float32))
    _expect_error(path, match="joints3d")


@pytest.mark.parametrize("shape", [(5, 17, 3), (5, 16, 2), (17, 2)])
def test_wrong_joints2d_shape(tmp_path, shape):
    path = _save(tmp_path / "w.npz", joints3d=_joints3d(), joints2d=np.zeros(shape, np.float32),
                 image_size=np.array([640, 480]), focal=np.float32(500))
    _expect_error(path, match="joints2d")


def test_frame_count_mismatch(tmp_path):
    path = _save(tmp_path / "m.npz", joints3d=_joints3d(n=5), joints2d=_joints2d(n=4),
                 image_size=np.array([640, 480]), focal=np.float32(500))
    _expect_error(path, match="frames")


def test_non_numeric_joints(tmp_path):
    path = _save(tmp_path / "s.npz", joints3d=np.full((2, 17, 3), "x"))
    _expect_error(path)


@pytest.mark.parametrize("missing", ["image_size", "focal", "both"])
def test_joints2d_needs_image_size_and_focal(tmp_path, missing):
    arrays = dict(joints3d=_joints3d(), joints2d=_joints2d(), image_size=np.array([640, 480]),
                  focal=np.float32(500))
    for k in (["image_size", "focal"] if missing == "both" else [missing]):
        del arrays[k]
    path = _save(tmp_path / "n.npz", **arrays)
    _expect_error(path, match="image_size and focal")
    # the same for a 2D-only file
    del arrays["joints3d"]
    path = _save(tmp_path / "n2.npz", **arrays)
    _expect_error(path, match="image_size and focal", require_3d=False)


@pytest.mark.parametrize("image_size, focal", [
    (np.array([640]), 500.0), (np.array([640, 480, 3]), 500.0), (np.array([0, 480]), 500.0),
    (np.array([640, -1]), 500.0), (np.array([640, 480]), 0.0), (np.array([640, 480]), -3.0),
    (np.array([640, 480]), np.nan), (np.array([640, 480]), np.array([500.0, 500.0])),
])
def test_bad_image_size_or_focal(tmp_path, image_size, focal):
    path = _save(tmp_path / "b.npz", joints3d=_joints3d(), joints2d=_joints2d(), image_size=image_size,
                 focal=np.asarray(focal))
    _expect_error(path)


def test_image_size_and_focal_ignored_without_joints2d(tmp_path):
    path = _save(tmp_path / "i.npz", joints3d=_joints3d(), image_size=np.array([0, 0]), focal=np.float32(-1))
    seq = read_poses(path)
    assert seq.image_size is None and seq.focal is None and seq.extra is None


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_joints3d_non_finite_everywhere(tmp_path, value):
    path = _save(tmp_path / "nan.npz", joints3d=np.full((4, 17, 3), value, np.float32))
    _expect_error(path, match="NaN")


def test_joints2d_nan_everywhere(tmp_path):
    path = _save(tmp_path / "nan2.npz", joints3d=_joints3d(), joints2d=np.full((5, 17, 2), np.nan, np.float32),
                 image_size=np.array([640, 480]), focal=np.float32(500))
    _expect_error(path, match="joints2d")


def test_zero_frames(tmp_path):
    path = _save(tmp_path / "z.npz", joints3d=np.zeros((0, 17, 3), np.float32))
    _expect_error(path, match="no frames")
    path = _save(tmp_path / "z2.npz", joints2d=np.zeros((0, 17, 2), np.float32),
                 image_size=np.array([640, 480]), focal=np.float32(500))
    _expect_error(path, match="no frames", require_3d=False)


def test_missing_joints(tmp_path):
    path = _save(tmp_path / "empty.npz", clip=np.array(["a"]))
    _expect_error(path, match="joints3d")
    _expect_error(path, require_3d=False)


def test_clip_length_mismatch(tmp_path):
    path = _save(tmp_path / "c.npz", joints3d=_joints3d(n=5), clip=np.array(["a", "b"]))
    _expect_error(path, match="clip")


def test_missing_file(tmp_path):
    _expect_error(tmp_path / "does_not_exist.npz", match="no such file")


@pytest.mark.parametrize("content", [b"", b"this is not a zip file\n", b"PK\x03\x04truncated"])
def test_not_an_npz_file(tmp_path, content):
    path = tmp_path / "bad.npz"
    path.write_bytes(content)
    _expect_error(path)


def test_pickled_object_array_is_refused(tmp_path):
    path = tmp_path / "obj.npz"
    np.savez(path, joints3d=_joints3d(), clip=np.array([{"a": 1}] * 5, dtype=object))
    _expect_error(path)


def test_directory_instead_of_file(tmp_path):
    _expect_error(tmp_path)


def test_npy_file_is_not_an_npz(tmp_path):
    path = tmp_path / "poses.npy"
    np.save(path, _joints3d())
    _expect_error(path)


# ----------------------------------------------------------------------------- a run's layouts


def test_a_run_file_of_the_old_one_person_layout_is_still_read(tmp_path):
    """poses.npz as runs with --person largest or ID wrote it before every file had a person axis:
    no person_ids, joints3d [N, 17, 3]; read as it is, with its extra arrays."""
    n = 5
    j3, j2 = _joints3d(n), _joints2d(n)
    j3[2] = np.nan                                                     # a frame with no person
    path = _save(tmp_path / "poses.npz", joints3d=j3, joints2d=j2, image_size=np.array([640, 480]),
                 focal=np.float32(500.0), visibility=np.full((n, 17), 0.9, np.float32),
                 timestamps=np.arange(n) / 30.0, fps=np.float64(30.0), source=np.str_("clip.mp4"),
                 joints3d_raw=j3, joints3d_world=j3)
    seq = read_poses(path)
    np.testing.assert_array_equal(seq.joints3d, j3)
    np.testing.assert_array_equal(seq.joints2d, j2)
    assert seq.image_size == (640, 480) and seq.focal == 500.0
    assert seq.extra["joints3d_world"].shape == (n, 17, 3) and str(seq.extra["source"]) == "clip.mp4"
    _expect_error(path, "holds one person's poses, no person ids", person=1)


def test_a_run_file_with_a_person_axis_is_read_by_person(tmp_path):
    """The layout every run writes: person_ids [P], joints3d [N, P, 17, 3]. One id is read without
    person=ID; of several, person=ID picks the track."""
    n = 4
    j3 = np.stack([_joints3d(n, seed=0), _joints3d(n, seed=1)], axis=1)          # [N, 2, 17, 3]
    j2 = np.stack([_joints2d(n, seed=2), _joints2d(n, seed=3)], axis=1)
    both = dict(joints3d=j3, joints2d=j2, image_size=np.array([640, 480]), focal=np.float32(500.0),
                visibility=np.ones((n, 2, 17), np.float32), timestamps=np.arange(n) / 30.0)
    two = _save(tmp_path / "two.npz", person_ids=np.array([3, 7]), **both)
    np.testing.assert_array_equal(read_poses(two, person=7).joints3d, j3[:, 1])
    _expect_error(two, r"holds 2 people \(ids 3, 7\); choose one", person=None)
    _expect_error(two, "no person with id 5", person=5)
    one = _save(tmp_path / "one.npz", person_ids=np.array([3]),
                **{k: v[:, :1] if k in ("joints3d", "joints2d", "visibility") else v for k, v in both.items()})
    seq = read_poses(one)
    np.testing.assert_array_equal(seq.joints3d, j3[:, 0])
    assert seq.extra["visibility"].shape == (n, 17)
