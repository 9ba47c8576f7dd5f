"""Tests for realtime3d.export and io/bvh_retarget.py: the output files of a run of one person (id 1),
on real CMU motion and lifter output."""
from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest


from conftest import project
from realtime3d.data.mocap import bvh_to_h36m
from realtime3d.errors import UserError
from realtime3d.export import OUTPUT_FILES, PoseRun, write_run
from realtime3d.io.bvh import read_bvh
from realtime3d.io.bvh_retarget import bvh_from_poses, bvh_to_world, constant_bone_poses
from realtime3d.io.poses import read_poses
from realtime3d.lifting import Lifter
from realtime3d.skeleton import H36M17

SIZE, FOCAL = (1280, 720), 1000.0


@pytest.fixture
def cmu_clip(cmu_root) -> tuple[np.ndarray, float]:
    """Three seconds of a real CMU dance clip, 4.5 m in front of the camera: [90, 17, 3] mm."""
    joints, fps = bvh_to_h36m(cmu_root / "05" / "05_01.bvh", fps=30.0)
    joints = joints[:90] - joints[:1, H36M17.root] + np.array([0.0, 0.0, 4500.0], np.float32)
    return joints, fps


BVH = "poses_1.bvh"     # the one person's id is 1


def _run_result(joints3d: np.ndarray, fps: float, missing=slice(40, 48)) -> PoseRun:
    """A run of one person, id 1: joints3d [N, 17, 3] mm with the frames `missing` empty."""
    joints3d = joints3d.copy()
    joints3d[missing] = np.nan                              # frames with no person
    n = len(joints3d)
    vis = np.where(np.isfinite(joints3d[..., 0]), 0.9, 0.0).astype(np.float32)
    return PoseRun(ids=[1], joints3d=joints3d[:, None], joints2d=project(joints3d, FOCAL, SIZE)[:, None],
                   visibility=vis[:, None], timestamps=np.arange(n) / fps, image_size=SIZE, focal=FOCAL, fps=fps,
                   source="clip.avi")


def _bvh_positions_mm(path: Path) -> np.ndarray:
    """A BVH file read back with realtime3d's own reader: the 17 joints [F, 17, 3] mm, world (Y up)."""
    motion = read_bvh(path)
    positions, _ = motion.forward_kinematics()
    order = [motion.joint_names.index(n) for n in H36M17.joint_names]
    return bvh_to_world(positions[:, order])


def _bone_lengths(joints3d: np.ndarray) -> np.ndarray:
    return np.stack([np.linalg.norm(joints3d[:, c] - joints3d[:, p], axis=-1) for p, c in H36M17.bones], -1)


def test_bvh_reads_back_to_the_npz_poses_on_real_mocap(cmu_clip, tmp_path):
    result = _run_result(*cmu_clip)
    paths = write_run(tmp_path / "out", result)
    assert sorted(paths) == sorted([BVH, *OUTPUT_FILES]) and all(p.is_file() for p in paths.values())
    seq = read_poses(paths["poses.npz"])                    # one person id: read without person=1
    valid = result.valid[:, 0]
    back, world = _bvh_positions_mm(paths[BVH]), seq.extra["joints3d_world"]
    assert back.shape == seq.joints3d.shape
    assert np.abs(back[valid] - world[valid]).max() < 1.0                 # within 1 mm
    # frames with no person: NaN in the npz, the last pose held in the BVH
    assert np.isnan(seq.joints3d[~valid]).all() and np.isnan(world[~valid]).all()
    np.testing.assert_allclose(back[40:48], np.repeat(back[39:40], 8, axis=0), atol=1e-6)
    # mocap bones are rigid, so constant bones barely move it; the raw poses are kept
    np.testing.assert_array_equal(seq.extra["joints3d_raw"], result.joints3d[:, 0])
    assert np.nanmax(np.linalg.norm(seq.joints3d - result.joints3d[:, 0], axis=-1)) < 15.0


def test_bvh_of_lifter_output_has_rotations_and_constant_bones(cmu_clip, tmp_path):
    joints, fps = cmu_clip
    lifted = Lifter.from_pretrained().lift(project(joints, FOCAL, SIZE), SIZE, FOCAL)  # bones vary
    assert _bone_lengths(lifted).std(axis=0).max() > 1.0
    result = _run_result(lifted, fps, missing=slice(0, 5))                  # no person at the start
    paths = write_run(tmp_path, result)
    seq = read_poses(paths["poses.npz"])
    valid = result.valid[:, 0]
    assert _bone_lengths(seq.joints3d[valid]).std(axis=0).max() < 1e-3      # constant bones
    back = _bvh_positions_mm(paths[BVH])
    assert np.abs(back[valid] - seq.extra["joints3d_world"][valid]).max() < 1.0
    np.testing.assert_allclose(back[:5], np.repeat(back[5:6], 5, axis=0), atol=1e-6)  # first pose held

    motion = read_bvh(paths[BVH])
    names = motion.joint_names
    assert motion.channels[0][:3] == ["Xposition", "Yposition", "Zposition"] and len(motion.channels[0]) == 6
    assert all(len(ch) == 3 and all(c.endswith("rotation") for c in ch)
               for name, ch in zip(names[1:], motion.channels[1:]) if not name.endswith("_end"))
    assert motion.motion[:, 3:].std(axis=0).max() > 5.0                     # the rotations move
    for branch in ("pelvis_to_spine", "pelvis_to_left_hip", "thorax_to_head", "thorax_to_right_shoulder"):
        assert np.allclose(motion.offsets[names.index(branch)], 0.0)
    # the rest pose: Y up, the person's left on +X (a T-pose facing +Z)
    assert motion.offsets[names.index("left_hip")][0] > 0 > motion.offsets[names.index("right_hip")][0]
    assert motion.offsets[names.index("spine")][1] > 0 > motion.offsets[names.index("left_knee")][1]
    positions, _ = motion.forward_kinematics()
    assert (positions[:, names.index("head")][:, 1] > positions[:, names.index("pelvis")][:, 1]).all()


def test_every_output_file_is_valid(cmu_clip, tmp_path):
    result = _run_result(*cmu_clip)
    paths = write_run(tmp_path, result)
    n, valid = len(result.joints3d), result.valid[:, 0]
    seq = read_poses(paths["poses.npz"], person=1)
    assert seq.image_size == SIZE and seq.focal == FOCAL
    np.testing.assert_array_equal(seq.extra["visibility"], result.visibility[:, 0])
    np.testing.assert_allclose(seq.extra["timestamps"], result.timestamps)
    assert float(seq.extra["fps"]) == result.fps and str(seq.extra["source"]) == "clip.avi"

    doc = json.loads(paths["poses.json"].read_text())
    assert (doc["format"], doc["version"]) == ("realtime3d poses", 3) and set(doc["units"]) >= {"joints3d_mm"}
    assert doc["joint_names"] == list(H36M17.joint_names) and len(doc["frames"]) == n
    assert doc["person_ids"] == [1]
    assert [len(f["people"]) for f in doc["frames"]] == valid.astype(int).tolist()
    assert doc["frames"][40]["people"] == []                                # no person
    person = doc["frames"][0]["people"][0]
    assert person["id"] == 1
    np.testing.assert_allclose(person["joints3d_mm"], seq.joints3d[0], atol=0.01)
    np.testing.assert_allclose(person["joints3d_world_mm"], seq.extra["joints3d_world"][0], atol=0.01)
    assert doc["ground"]["camera_height_mm"] == pytest.approx(float(seq.extra["camera_height_mm"]), abs=0.1)

    with open(paths["poses.csv"], newline="") as fh:
        rows = list(csv.reader(fh))
    assert len(rows) == valid.sum() + 1 and len(rows[0]) == 3 + 3 * H36M17.num_joints
    assert rows[0][:6] == ["frame", "time_s", "person", "pelvis_x", "pelvis_y", "pelvis_z"]
    assert [int(r[0]) for r in rows[1:]] == np.flatnonzero(valid).tolist()  # no person: no row
    assert {r[2] for r in rows[1:]} == {"1"}
    np.testing.assert_allclose(np.array(rows[1][3:], float).reshape(17, 3), seq.joints3d[0], atol=0.01)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".tmp-")]


def test_unwritable_output_folder_raises_and_leaves_nothing(cmu_clip, tmp_path):
    result = _run_result(*cmu_clip)
    if os.geteuid() == 0:
        outdir = Path("/sys")          # root may write anywhere on disk, but not into sysfs
        if not outdir.is_dir():
            pytest.skip("running as root and /sys is absent: no folder root cannot write")
    else:
        outdir = tmp_path / "readonly"
        outdir.mkdir()
        outdir.chmod(0o555)
    before = set(os.listdir(outdir))
    with pytest.raises(UserError, match="not writable"):
        write_run(outdir, result)
    assert set(os.listdir(outdir)) == before


def test_a_failing_write_leaves_no_partial_file(cmu_clip, tmp_path):
    result = _run_result(*cmu_clip)
    (tmp_path / "poses.json").mkdir()            # the rename onto poses.json fails
    with pytest.raises(OSError):
        write_run(tmp_path, result)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["poses.json", BVH]         # complete files only; no temp file, no poses.npz
    assert (tmp_path / "poses.json").is_dir()


def test_no_person_anywhere_writes_nothing(cmu_clip, tmp_path):
    result = _run_result(*cmu_clip, missing=slice(None))
    with pytest.raises(ValueError, match="no person"):
        write_run(tmp_path / "out", result)
    assert not (tmp_path / "out").exists()


def test_bad_shapes_are_reported():
    n = 4
    with pytest.raises(ValueError, match=r"visibility must be \[4, 1, 17\]"):
        PoseRun([1], np.zeros((n, 1, 17, 3)), np.zeros((n, 1, 17, 2)), np.zeros((n, 1, 16)), np.zeros(n),
                SIZE, FOCAL, 30.0, "x")
    with pytest.raises(ValueError, match=r"poses must be \[N, 17, 3\]"):
        constant_bone_poses(np.zeros((n, 16, 3)))
    with pytest.raises(ValueError, match="fps"):
        bvh_from_poses(np.ones((n, 17, 3)), fps=0.0)


# Run inside Blender (its Python module bpy, or `blender --background --python`): first
# import a minimal, known-good BVH (a Blender whose importer cannot read any file says so,
# and the test skips), then import poses_1.bvh with Blender's own importer and print the
# largest joint error against poses.npz's joints3d_world.
_KNOWN_GOOD_BVH = """HIERARCHY
ROOT hip
{
  OFFSET 0 0 0
  CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation
  JOINT knee
  {
    OFFSET 0 -0.4 0
    CHANNELS 3 Zrotation Xrotation Yrotation
    End Site
    {
      OFFSET 0 -0.4 0
    }
  }
}
MOTION
Frames: 2
Frame Time: 0.04
0 1 0 0 0 0 0 0 0
0 1 0 0 0 0 10 0 0
"""

_BLENDER_SCRIPT = """
import sys
import bpy
import numpy as np

out, names = sys.argv[-2], sys.argv[-1].split(",")
bpy.ops.wm.read_factory_settings(use_empty=True)
try:
    bpy.ops.import_anim.bvh(filepath=out + "/known_good.bvh")
except Exception as exc:
    print("KNOWN_GOOD_FAILED", str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__)
    sys.exit(0)
bpy.ops.wm.read_factory_settings(use_empty=True)
joints = np.load(out + "/poses.npz")["joints3d_world"]
bpy.ops.import_anim.bvh(filepath=out + "/poses_1.bvh", global_scale=1.0, axis_forward="-Z", axis_up="Y",
                        rotate_mode="NATIVE", update_scene_fps=True)
arm = next(o for o in bpy.context.scene.objects if o.type == "ARMATURE")
scene, worst = bpy.context.scene, 0.0
for f, pose in enumerate(joints):
    if np.isfinite(pose).all():
        scene.frame_set(scene.frame_start + f)
        z_up = np.array([list(arm.matrix_world @ arm.pose.bones[n].head) for n in names])
        world_mm = np.stack([z_up[:, 0], z_up[:, 2], -z_up[:, 1]], -1) * 1000.0  # Blender Z-up m -> Y-up mm
        worst = max(worst, float(np.abs(world_mm - pose).max()))
print("FPS", scene.render.fps, "MAX_ERROR_MM", worst)
"""


def _blender_command() -> list[str] | None:
    """A Python with Blender's bpy module ($REALTIME3D_BPY_PYTHON), or the blender program."""
    bpy_python = os.environ.get("REALTIME3D_BPY_PYTHON")
    if bpy_python:
        return [bpy_python]
    blender = shutil.which("blender")
    return [blender, "--background", "--factory-startup", "--python"] if blender else None


def test_blender_imports_the_bvh_at_the_npz_positions(cmu_clip, tmp_path):
    command = _blender_command()
    if command is None:
        pytest.skip("Blender not found: install it, or point REALTIME3D_BPY_PYTHON at a Python with "
                    "`pip install bpy`, to check the import in Blender itself")
    joints, fps = cmu_clip
    write_run(tmp_path, _run_result(joints[:30], fps, missing=slice(10, 12)))
    (tmp_path / "known_good.bvh").write_text(_KNOWN_GOOD_BVH)
    script = tmp_path / "blender_import.py"
    script.write_text(_BLENDER_SCRIPT)
    done = subprocess.run([*command, str(script), "--", str(tmp_path), ",".join(H36M17.joint_names)],
                          capture_output=True, text=True, timeout=300)
    failed = next((ln for ln in done.stdout.splitlines() if ln.startswith("KNOWN_GOOD_FAILED")), None)
    if failed:   # Debian's Blender 3.4 on Python 3.11: its importer calls open(..., 'rU')
        pytest.skip(f"this Blender cannot import even a minimal BVH: {failed.split(' ', 1)[-1]}")
    line = next((ln for ln in done.stdout.splitlines() if ln.startswith("FPS")), None)
    assert done.returncode == 0 and line, done.stdout[-2000:] + done.stderr[-2000:]
    _, scene_fps, _, max_error_mm = line.split()
    assert int(scene_fps) == round(fps) and float(max_error_mm) < 1.0
