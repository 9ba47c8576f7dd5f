"""The application through the real `realtime3d` command: the street video end to end,
resume after a kill, collections, the webcam loop fed by a video, photos, and bad input."""
from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from realtime3d.cli import main
import av

from realtime3d.export import bvh_to_world
from realtime3d.io._atomic import TEMP_PREFIX
from realtime3d.io.bvh import read_bvh
from realtime3d.io.poses import read_poses
from realtime3d.collection import VideoOptions, output_dirs, parse_shard, run_one, run_videos, select_shard
from realtime3d.offline import OVERLAY_HEIGHT, PARTIAL_NAME
from realtime3d.skeleton import H36M17

from conftest import SHARED, one_line_error, run_cli

MEDIA = SHARED / "data" / "media"
STREET = MEDIA / "street_dance.avi"
STREET_FRAMES = 205
OUTPUTS = ("overlay.mp4", "poses.npz", "poses.json", "poses.csv", "poses.bvh")


@pytest.fixture(scope="module")
def street() -> Path:
    if not STREET.is_file():
        pytest.skip(f"test video not found at {STREET} (see shared/data/README.md)")
    return STREET


@pytest.fixture(scope="module")
def street_command(street, tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    """`realtime3d video street_dance.avi -o OUT --no-show`, run once for the tests that read its outputs."""
    out = tmp_path_factory.mktemp("street")
    done = run_cli("video", str(street), "-o", str(out), "--no-show")
    assert done.returncode == 0, done.stderr[-2000:]
    assert f"{STREET_FRAMES} frames" in done.stdout
    return out / "street_dance", done


@pytest.fixture(scope="module")
def street_run(street_command) -> Path:
    return street_command[0]


def test_a_default_run_prints_no_native_log_line(street_command):
    """MediaPipe, TFLite and absl log lines stay off stdout and stderr (native_logs.py)."""
    done = street_command[1]
    for text in (done.stdout, done.stderr):
        for marker in ("XNNPACK", "absl::InitializeLog", "inference_feedback_manager", "landmark_projection",
                       "W0000"):
            assert marker not in text, text[-2000:]


def _cli(capsys, *argv: str) -> tuple[int, str]:
    """The command in this process (same code path as the console script): exit code, stderr."""
    code = main(list(argv))
    return code, capsys.readouterr().err


# ----------------------------------------------------------------------------- the street video


def test_street_video_all_frames_with_a_person(street_run):
    seq = read_poses(street_run / "poses.npz")
    assert len(seq.joints3d) == STREET_FRAMES
    person = np.isfinite(seq.joints3d).all(axis=(1, 2))
    assert person.mean() >= 0.95
    np.testing.assert_allclose(seq.extra["timestamps"], np.arange(STREET_FRAMES) / 50.0)
    assert seq.image_size == (1280, 720) and float(seq.extra["fps"]) == 50.0
    # plausible people: the lifter's skeleton in front of the camera, a body's height
    heights = np.linalg.norm(seq.joints3d[person, 10] - seq.joints3d[person, 3], axis=-1)
    assert np.all(seq.joints3d[person, :, 2] > 0) and 1000 < np.median(heights) < 2200


def test_street_video_every_output_file_is_valid(street_run):
    assert sorted(p.name for p in street_run.iterdir()) == sorted(OUTPUTS)   # no temp or partial file left
    doc = json.loads((street_run / "poses.json").read_text())
    assert doc["joint_names"] == list(H36M17.joint_names) and len(doc["frames"]) == STREET_FRAMES
    with open(street_run / "poses.csv", newline="") as fh:
        assert len(list(csv.reader(fh))) == STREET_FRAMES + 1
    with av.open(str(street_run / "overlay.mp4")) as mp4:    # what browsers need: H.264 in yuv420p
        video = mp4.streams.video[0]
        assert (video.codec_context.name, video.codec_context.pix_fmt) == ("h264", "yuv420p")
        assert video.frames == STREET_FRAMES
        audio = mp4.streams.audio                           # the source's sound, carried over
        assert len(audio) == 1 and audio[0].codec_context.name == "aac"
        assert abs(float(audio[0].duration * audio[0].time_base) - STREET_FRAMES / 50.0) < 0.1
    video = cv2.VideoCapture(str(street_run / "overlay.mp4"))
    assert video.get(cv2.CAP_PROP_FRAME_COUNT) == STREET_FRAMES
    height, width = OVERLAY_HEIGHT, 2 * round(1280 * OVERLAY_HEIGHT / 720 / 2)  # the frame scaled, even
    assert (video.get(cv2.CAP_PROP_FRAME_WIDTH), video.get(cv2.CAP_PROP_FRAME_HEIGHT)) == (width + height, height)
    video.set(cv2.CAP_PROP_POS_FRAMES, 100)
    ok, picture = video.read()
    assert ok
    panel, background = picture[:, width:], picture[5, width + 5].astype(int)
    skeleton = np.abs(panel.astype(int) - background).sum(axis=2) > 120     # bones against the dark panel
    assert skeleton.sum() > 500


def test_street_video_bvh_reads_back_within_1mm_and_stands_on_its_floor(street_run):
    seq = read_poses(street_run / "poses.npz")
    motion = read_bvh(street_run / "poses.bvh")
    positions, _ = motion.forward_kinematics()
    order = [motion.joint_names.index(n) for n in H36M17.joint_names]
    from_bvh = bvh_to_world(positions[:, order])                              # [N, 17, 3] mm, Y up
    person = np.isfinite(seq.joints3d).all(axis=(1, 2))
    error = np.linalg.norm(from_bvh[person] - seq.extra["joints3d_world"][person], axis=-1)
    assert error.max() < 1.0
    # the floor at y = 0: the lower ankle 5 cm below to 15 cm above it (ankles sit above the
    # soles) in 90% of the frames, the trunk near vertical, the walk's depth kept
    lowest = from_bvh[:, [H36M17.index["left_ankle"], H36M17.index["right_ankle"]], 1].min(axis=1)
    assert ((lowest > -50) & (lowest < 150)).mean() >= 0.9
    trunk = from_bvh[:, H36M17.index["thorax"]] - from_bvh[:, H36M17.root]
    assert np.degrees(np.arccos(trunk[:, 1] / np.linalg.norm(trunk, axis=1))).mean() < 10.0
    assert np.ptp(from_bvh[:, H36M17.root, 2]) > 500.0                       # the root trajectory is kept
    assert 0 < float(seq.extra["camera_height_mm"]) < 4000 and 0 < float(seq.extra["camera_pitch_deg"]) < 45


def test_one_frame_is_one_frame(street, tmp_path):
    done = run_cli("video", str(street), "-o", str(tmp_path), "--max-frames", "1")
    assert done.returncode == 0, done.stderr[-2000:]
    assert ": 1 frame (1 with a person" in done.stdout and "1 frames" not in done.stdout


def test_killed_run_resumes_to_the_same_result(street, street_run, tmp_path):
    """SIGKILL once the first chunk is saved; --resume then computes exactly the uninterrupted run."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    argv = [sys.executable, "-m", "realtime3d", "video", str(street), "-o", str(tmp_path), "--no-show"]
    partial = tmp_path / "street_dance" / PARTIAL_NAME
    job = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 300
        while not partial.exists() and job.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert job.poll() is None, "the run ended before it could be interrupted"
        assert partial.exists(), "no partial results saved within 300 s"
    finally:
        job.send_signal(signal.SIGKILL)
        job.wait()
    left = sorted(p.name for p in (tmp_path / "street_dance").iterdir())
    assert not set(left) & set(OUTPUTS)                                      # nothing that looks complete
    assert any(name.startswith(TEMP_PREFIX) for name in left)                # the killed overlay's temp file
    with np.load(partial) as saved:
        assert 0 < len(saved["t"]) < STREET_FRAMES

    done = run_cli("video", str(street), "-o", str(tmp_path), "--no-show", "--resume")
    assert done.returncode == 0, done.stderr[-2000:]
    assert "resumed" in done.stdout
    resumed, whole = read_poses(tmp_path / "street_dance" / "poses.npz"), read_poses(street_run / "poses.npz")
    np.testing.assert_array_equal(resumed.joints2d, whole.joints2d)
    np.testing.assert_array_equal(resumed.joints3d, whole.joints3d)
    assert not partial.exists()
    assert sorted(p.name for p in (tmp_path / "street_dance").iterdir()) == sorted(OUTPUTS)  # temp files gone
    cap = cv2.VideoCapture(str(tmp_path / "street_dance" / "overlay.mp4"))
    assert cap.get(cv2.CAP_PROP_FRAME_COUNT) == STREET_FRAMES

    again = run_one(str(street), str(tmp_path / "street_dance"), VideoOptions(resume=True))
    assert again.already_done and again.frames == STREET_FRAMES                # finished: nothing to redo


# ----------------------------------------------------------------------------- collections


def test_shards_split_a_collection_and_output_folders_never_collide(tmp_path):
    paths = [str(tmp_path / d / "clip.mp4") for d in ("b", "a")] + [str(tmp_path / "c" / "other.mp4")]
    dirs = output_dirs(paths, "out")
    assert len(set(dirs.values())) == 3
    assert dirs[paths[2]] == Path("out/other")
    assert all(dirs[p].name.startswith("clip-") and len(dirs[p].name) == len("clip-") + 8 for p in paths[:2])
    assert output_dirs(list(reversed(paths)), "out") == dirs                 # independent of the order given
    shards = [select_shard(paths, parse_shard(f"{i}/2")) for i in range(2)]
    assert sorted(shards[0] + shards[1]) == sorted(paths) and not set(shards[0]) & set(shards[1])
    assert select_shard(paths, parse_shard("0/1")) == sorted(paths)
    assert select_shard(paths + paths[:1], None) == sorted(paths)                # a file given twice runs once
    for bad in ("2/2", "-1/3", "1", "a/b"):
        with pytest.raises(ValueError, match="--shard"):
            parse_shard(bad)


def test_two_videos_with_one_name_in_two_workers(street, tmp_path):
    for folder in ("day1", "day2"):
        (tmp_path / folder).mkdir()
        shutil.copy(street, tmp_path / folder / "street_dance.avi")
    inputs = [str(tmp_path / f / "street_dance.avi") for f in ("day1", "day2")]
    dirs = output_dirs(inputs, tmp_path / "out")
    results = run_videos(dirs, VideoOptions(max_frames=8), workers=2, progress=False)
    assert sorted(r.outdir for r in results.values()) == sorted(str(d) for d in dirs.values())
    for folder in dirs.values():
        assert len(read_poses(folder / "poses.npz").joints3d) == 8
        assert cv2.VideoCapture(str(folder / "overlay.mp4")).get(cv2.CAP_PROP_FRAME_COUNT) == 8


# ----------------------------------------------------------------------------- webcam and image


def test_webcam_command_on_a_video_played_as_a_camera(street, tmp_path):
    done = run_cli("webcam", "--camera", str(street), "--no-show", "--max-seconds", "3",
                   "--record", str(tmp_path / "rec"))
    assert done.returncode == 0, done.stderr[-2000:]
    assert "fps" in done.stdout and "latency" in done.stdout
    seq = read_poses(tmp_path / "rec" / "poses.npz")
    assert len(seq.joints3d) >= 10 and np.isfinite(seq.joints3d).all(axis=(1, 2)).mean() > 0.8


@pytest.mark.skipif(shutil.which("xvfb-run") is None, reason="xvfb-run is not installed (apt-get install xvfb)")
def test_webcam_command_with_its_windows_under_xvfb(street):
    """Both windows open for real (an X server in memory), show every frame, and close cleanly."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(["xvfb-run", "-a", "-s", "-screen 0 1920x1080x24", sys.executable, "-m", "realtime3d",
                           "webcam", "--camera", str(street), "--max-seconds", "3"],
                          capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "fps" in done.stdout and "frames" in done.stdout


def test_image_command_on_real_photos(tmp_path):
    bus, zidane = MEDIA / "bus.jpg", MEDIA / "zidane.jpg"
    if not bus.is_file():
        pytest.skip(f"test photos not found in {MEDIA}")
    done = run_cli("image", str(bus), str(zidane), "-o", str(tmp_path))
    assert done.returncode == 0, done.stderr[-2000:]
    doc = json.loads((tmp_path / "bus.json").read_text())
    assert doc["person"] and doc["image_size"] == list(cv2.imread(str(bus)).shape[1::-1])
    joints3d = np.array(doc["person"]["joints3d_mm"], dtype=float)
    assert joints3d.shape == (17, 3) and np.isfinite(joints3d).all()
    picture = cv2.imread(str(tmp_path / "bus.overlay.png"))
    assert picture.shape[1] == doc["image_size"][0] + doc["image_size"][1]
    missing = json.loads((tmp_path / "zidane.json").read_text())
    assert missing["person"] is None                                              # MediaPipe finds none there
    # one schema: an image's JSON has poses.json's header fields, and its person entry's keys
    header = ("format", "version", "source", "image_size", "focal_px", "units", "joint_names", "parents")
    assert all(key in doc and key in missing for key in header) and doc["format"] == "realtime3d poses"
    assert set(doc["person"]) == {"joints3d_mm", "joints2d_px", "visibility"}


# ----------------------------------------------------------------------------- bad input


def test_missing_file_through_the_console_command(tmp_path):
    done = run_cli("video", str(tmp_path / "nothing.mp4"), "-o", str(tmp_path / "out"))
    one_line_error(done.returncode, done.stderr, "no such file", "nothing.mp4")
    assert not (tmp_path / "out").exists()


def test_text_file_named_mp4(capsys, tmp_path):
    fake = tmp_path / "movie.mp4"
    fake.write_text("not a video\n")
    one_line_error(*_cli(capsys, "video", str(fake), "-o", str(tmp_path / "out")), "movie.mp4", "not a video")
    assert not (tmp_path / "out").exists()


def test_zero_frame_video(capsys, tmp_path):
    empty = tmp_path / "empty.avi"
    cv2.VideoWriter(str(empty), cv2.VideoWriter_fourcc(*"MJPG"), 25, (320, 240)).release()
    one_line_error(*_cli(capsys, "video", str(empty), "-o", str(tmp_path / "out")), "empty.avi", "no frames")


def test_truncated_video_leaves_nothing_that_looks_complete(street, capsys, tmp_path):
    data = street.read_bytes()
    cut = tmp_path / "cut.avi"
    cut.write_bytes(data[:len(data) // 5])
    code, err = _cli(capsys, "video", str(cut), "-o", str(tmp_path / "out"), "--no-filter")
    one_line_error(code, err, "cut.avi", "truncated")
    out = tmp_path / "out" / "cut"
    assert not [p for p in out.iterdir() if not p.name.startswith(".")]     # no overlay.mp4, no poses.*


def test_camera_that_does_not_exist(capsys):
    one_line_error(*_cli(capsys, "webcam", "--camera", "99", "--no-show"), "camera 99 could not be opened")


def test_output_folder_that_is_not_writable(street, capsys, tmp_path):
    """Root ignores permission bits, so the folder lies under a regular file: no user can create it."""
    blocker = tmp_path / "file.txt"
    blocker.write_text("a file, not a folder\n")
    one_line_error(*_cli(capsys, "video", str(street), "-o", str(blocker / "out")), "cannot create", "file.txt")
    one_line_error(*_cli(capsys, "image", str(MEDIA / "bus.jpg"), "-o", str(blocker / "out")), "file.txt")
    one_line_error(*_cli(capsys, "webcam", "--camera", str(street), "--record", str(blocker / "out")), "file.txt")
    assert blocker.read_text() == "a file, not a folder\n"


def test_bad_flag_values(street, capsys, tmp_path):
    out = str(tmp_path / "out")
    one_line_error(*_cli(capsys, "video", str(street), "-o", out, "--shard", "3/2"), "--shard")
    one_line_error(*_cli(capsys, "video", str(street), "-o", out, "--workers", "0"), "--workers")
    one_line_error(*_cli(capsys, "video", str(street), "-o", out, "--focal", "-3"), "--focal")
    one_line_error(*_cli(capsys, "webcam", "--camera", str(street), "--beta", "-1", "--record", out), "One Euro")
    one_line_error(*_cli(capsys, "image", str(tmp_path / "none.jpg"), "-o", out), "no such file")
    assert not (tmp_path / "out").exists()                                  # nothing made before the error
