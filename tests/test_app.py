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

from realtime3d.io._atomic import TEMP_PREFIX
from realtime3d.io.bvh import read_bvh
from realtime3d.io.bvh_retarget import bvh_to_world
from realtime3d.io.poses import read_poses
from realtime3d.collection import output_dirs, parse_shard, run_one, run_videos, select_shard
from realtime3d.export import NothingToExport
from realtime3d.offline import OVERLAY_HEIGHT, PARTIAL_NAME
from realtime3d.pipeline import VideoOptions, build_pipeline
from realtime3d.skeleton import H36M17

from conftest import SHARED, assert_quiet, needs_xvfb_run, one_line_error, run_cli

MEDIA = SHARED / "data" / "media"
STREET = MEDIA / "street_dance.avi"
STREET_FRAMES = 205
OUTPUTS = ("overlay.mp4", "poses.npz", "poses.json", "poses.csv")     # and poses_<id>.bvh per person


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


def _dancer(out: Path) -> int:
    """The dancer's id: the person who is the largest in the most frames (she is in front)."""
    with np.load(out / "poses.npz") as data:
        heights = np.ptp(data["joints2d"][..., 1], axis=-1)                   # [N, P] px, NaN: absent
        ids = data["person_ids"]
    largest = np.nanargmax(np.where(np.isfinite(heights), heights, -1.0), axis=1)
    return int(ids[np.bincount(largest).argmax()])


@pytest.fixture(scope="module")
def nobody(tmp_path_factory) -> Path:
    """A clip with no person in it: a moving colour gradient, 30 frames of 160x120 at 25 fps (PyAV)."""
    path = tmp_path_factory.mktemp("nobody") / "nobody.mp4"
    with av.open(str(path), "w") as out:
        stream = out.add_stream("mpeg4", rate=25)
        stream.width, stream.height, stream.pix_fmt = 160, 120, "yuv420p"
        x, y = np.meshgrid(np.arange(160), np.arange(120))
        for k in range(30):
            image = np.stack([(x + 5 * k) % 256, 2 * y, (x + y) % 256], axis=-1).astype(np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def _nobody_line(clip: Path, frames: int = 30, why: str = "no person found") -> str:
    return f"realtime3d: error: {clip}: {why} in any of {frames} frames; nothing to export"


@pytest.mark.data
@pytest.mark.slow
@pytest.mark.parametrize("run", ["video", "video-nobody", "image-iccp", "webcam-file", "webcam-refused"])
def test_a_default_run_prints_no_native_log_line(run, street_command, nobody, tmp_path):
    """MediaPipe's, TFLite's, absl's, libpng's, FFmpeg's and libwayland's log lines stay off the terminal
    (native_logs.py): stderr holds progress bars and the command's own lines only. The photo carries an
    sRGB profile that libpng calls incorrect (its iCCP warning); port 9 refuses connections at once."""
    photo = MEDIA / "astronaut.png"
    if run == "video":
        done, expected = street_command[1], []
    else:
        if not (STREET.is_file() and photo.is_file()):
            pytest.skip(f"test media not found in {MEDIA} (see shared/data/README.md)")
        argv, expected = {
            "video-nobody": (["video", str(nobody), "-o", str(tmp_path)], [_nobody_line(nobody)]),
            "image-iccp": (["image", str(photo), "-o", str(tmp_path)], []),
            "webcam-file": (["webcam", "--camera", str(STREET), "--no-show", "--max-seconds", "2"], []),
            "webcam-refused": (["webcam", "--camera", "rtsp://127.0.0.1:9/x", "--no-show"],
                               ["realtime3d: error: rtsp://127.0.0.1:9/x: could not be opened as a camera, "
                                "stream or video"]),
        }[run]
        started = time.monotonic()
        done = run_cli(*argv)
        assert time.monotonic() - started < 60                              # a refused stream fails at once
        assert done.returncode == {"video-nobody": 3, "webcam-refused": 2}.get(run, 0), done.stderr[-2000:]
    assert_quiet(done.stderr, *expected)
    assert not [word for word in ("XNNPACK", "W0000", "libpng", " @ 0x") if word in done.stdout], done.stdout


def _cli(capsys, *argv: str) -> tuple[int, str]:
    """The command in this process (same code path as the console script): exit code, stderr."""
    code = main(list(argv))
    return code, capsys.readouterr().err


# ----------------------------------------------------------------------------- process set-up


def test_importing_the_app_changes_no_process_setting():
    """Importing the pipeline and the runs leaves torch's threads and OpenCV's log level alone; the
    set-up that the command and the worker processes call (runtime.py) sets them."""
    code = ("import torch, cv2; before = (torch.get_num_threads(), cv2.getLogLevel()); "
            "import realtime3d.pipeline, realtime3d.capture, realtime3d.live, realtime3d.offline, "
            "realtime3d.collection, realtime3d.images; "
            "after = (torch.get_num_threads(), cv2.getLogLevel()); "
            "from realtime3d.runtime import set_up_pipeline_process; set_up_pipeline_process(); "
            "print(before == after, before[0] > 1, (torch.get_num_threads(), cv2.getLogLevel()) == (1, 0))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**os.environ, "OMP_NUM_THREADS": "2"}, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["True", "True", "True"]


# ----------------------------------------------------------------------------- the street video


@pytest.mark.data
def test_street_video_tracks_several_people_and_keeps_the_dancers_id(street_run):
    """At least 3 identities tracked for at least 100 frames each, at most
    2 identity switches on the dancer (the id of the largest person changing from frame to frame)."""
    with np.load(street_run / "poses.npz") as data:
        ids, joints3d, joints2d = data["person_ids"], data["joints3d"], data["joints2d"]
    present = np.isfinite(joints3d).all(axis=(2, 3))                           # [N, P]
    assert joints3d.shape == (STREET_FRAMES, len(ids), 17, 3)
    assert (present.sum(axis=0) >= 100).sum() >= 3, dict(zip(ids.tolist(), present.sum(axis=0).tolist()))
    heights = np.where(present, np.ptp(joints2d[..., 1], axis=-1), -1.0)     # [N, P] px
    largest = ids[np.argmax(heights, axis=1)][present.any(axis=1)]
    assert (largest[1:] != largest[:-1]).sum() <= 2
    # each person's 3D stands where their 2D is: the lifted pelvis projects near the 2D pelvis
    k = present.nonzero()
    pelvis3d, pelvis2d = joints3d[k][:, H36M17.root], joints2d[k][:, H36M17.root]
    focal = 1280 / 2 / np.tan(np.radians(60) / 2)
    projected = focal * pelvis3d[:, :2] / pelvis3d[:, 2:] + np.array([639.5, 359.5])
    assert np.median(np.linalg.norm(projected - pelvis2d, axis=1)) < 20.0


@pytest.mark.data
def test_street_video_all_frames_with_the_dancer(street_run):
    seq = read_poses(street_run / "poses.npz", person=_dancer(street_run))
    assert len(seq.joints3d) == STREET_FRAMES
    person = np.isfinite(seq.joints3d).all(axis=(1, 2))
    assert person.mean() >= 0.95
    np.testing.assert_allclose(seq.extra["timestamps"], np.arange(STREET_FRAMES) / 50.0)
    assert seq.image_size == (1280, 720) and float(seq.extra["fps"]) == 50.0
    # plausible people: the lifter's skeleton in front of the camera, a body's height
    heights = np.linalg.norm(seq.joints3d[person, 10] - seq.joints3d[person, 3], axis=-1)
    assert np.all(seq.joints3d[person, :, 2] > 0) and 1000 < np.median(heights) < 2200


@pytest.mark.data
def test_street_video_every_output_file_is_valid(street_run):
    with np.load(street_run / "poses.npz") as data:
        ids, present = data["person_ids"], np.isfinite(data["joints3d"]).all(axis=(2, 3))
    bvhs = [f"poses_{i}.bvh" for i in ids]
    assert sorted(p.name for p in street_run.iterdir()) == sorted([*OUTPUTS, *bvhs])   # no temp or partial file
    doc = json.loads((street_run / "poses.json").read_text())
    assert doc["joint_names"] == list(H36M17.joint_names) and len(doc["frames"]) == STREET_FRAMES
    assert doc["person_ids"] == ids.tolist() and doc["version"] == 3
    assert [len(f["people"]) for f in doc["frames"]] == present.sum(axis=1).tolist()
    with open(street_run / "poses.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == present.sum() and {int(r["person"]) for r in rows} == set(ids.tolist())
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


@pytest.mark.data
def test_street_video_bvh_reads_back_within_1mm_and_stands_on_its_floor(street_run):
    dancer = _dancer(street_run)
    seq = read_poses(street_run / "poses.npz", person=dancer)
    motion = read_bvh(street_run / f"poses_{dancer}.bvh")
    positions, _ = motion.forward_kinematics()
    order = [motion.joint_names.index(n) for n in H36M17.joint_names]
    from_bvh = bvh_to_world(positions[:, order])                              # [N, 17, 3] mm, Y up
    person = np.isfinite(seq.joints3d).all(axis=(1, 2))
    error = np.linalg.norm(from_bvh[person] - seq.extra["joints3d_world"][person], axis=-1)
    assert error.max() < 1.0
    # the floor at y = 0: the lower ankle 5 cm below to 15 cm above it (ankles sit above the
    # soles) in 90% of the frames, the trunk near vertical, the walk's depth kept. The dancer leans
    # and the video has no truth: her mean trunk tilt is 11.0 deg with the default model, 13.1 with
    # MediaPipe's own 3D and 7.9 with drover; a world frame that is wrong by far fails 15 (the
    # floor's tilt against truth is bench_video3d.py's, on rendered video)
    lowest = from_bvh[:, [H36M17.index["left_ankle"], H36M17.index["right_ankle"]], 1].min(axis=1)
    assert ((lowest > -50) & (lowest < 150)).mean() >= 0.9
    trunk = from_bvh[:, H36M17.index["thorax"]] - from_bvh[:, H36M17.root]
    assert np.degrees(np.arccos(trunk[:, 1] / np.linalg.norm(trunk, axis=1))).mean() < 15.0
    assert np.ptp(from_bvh[:, H36M17.root, 2]) > 500.0                       # the root trajectory is kept
    assert 0 < float(seq.extra["camera_height_mm"]) < 4000 and 0 < float(seq.extra["camera_pitch_deg"]) < 45


@pytest.mark.data
def test_one_frame_is_one_frame(street, tmp_path):
    done = run_cli("video", str(street), "-o", str(tmp_path), "--max-frames", "1")
    assert done.returncode == 0, done.stderr[-2000:]
    assert ": 1 frame (1 with a person" in done.stdout and "1 frames" not in done.stdout


@pytest.mark.data
@pytest.mark.slow
def test_one_main_person_is_selected_into_the_same_files(street, tmp_path):
    """--person largest selects the main person; the files are those of every run, with a person axis."""
    done = run_cli("video", str(street), "-o", str(tmp_path), "--person", "largest", "--max-frames", "60",
                   "--max-people", "2")
    assert done.returncode == 0, done.stderr[-2000:]
    out = tmp_path / "street_dance"
    with np.load(out / "poses.npz") as data:
        ids, joints3d = data["person_ids"], data["joints3d"]
    assert sorted(p.name for p in out.iterdir()) == sorted([*OUTPUTS, *(f"poses_{i}.bvh" for i in ids)])
    assert joints3d.shape == (60, len(ids), 17, 3)
    present = np.isfinite(joints3d).all(axis=(2, 3))                          # [N, P]
    assert (present.sum(axis=1) == 1).all()                                   # the one main person in every frame
    seq = read_poses(out / "poses.npz", person=int(ids[np.argmax(present.sum(axis=0))]))
    heights = np.ptp(seq.joints2d[..., 1], axis=-1)
    assert np.nanmedian(heights) > 300                                        # the dancer, the largest
    doc = json.loads((out / "poses.json").read_text())
    assert doc["version"] == 3 and all(len(f["people"]) == 1 for f in doc["frames"])


@pytest.mark.data
@pytest.mark.slow
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
    assert not set(left) & set(OUTPUTS) and not any(n.endswith(".bvh") for n in left)   # nothing that looks complete
    assert any(name.startswith(TEMP_PREFIX) for name in left)                # the killed overlay's temp file
    with np.load(partial) as saved:
        assert 0 < len(saved["t"]) < STREET_FRAMES

    done = run_cli("video", str(street), "-o", str(tmp_path), "--no-show", "--resume")
    assert done.returncode == 0, done.stderr[-2000:]
    assert "resumed" in done.stdout
    with np.load(tmp_path / "street_dance" / "poses.npz") as resumed, np.load(street_run / "poses.npz") as whole:
        for key in ("person_ids", "joints2d", "joints3d", "visibility"):      # the same people, the same ids
            np.testing.assert_array_equal(resumed[key], whole[key])
        bvhs = [f"poses_{i}.bvh" for i in whole["person_ids"]]
    assert not partial.exists()
    assert sorted(p.name for p in (tmp_path / "street_dance").iterdir()) == sorted([*OUTPUTS, *bvhs])  # temps gone
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


@pytest.mark.data
@pytest.mark.slow
def test_two_videos_with_one_name_in_two_workers(street, tmp_path):
    for folder in ("day1", "day2"):
        (tmp_path / folder).mkdir()
        shutil.copy(street, tmp_path / folder / "street_dance.avi")
    inputs = [str(tmp_path / f / "street_dance.avi") for f in ("day1", "day2")]
    dirs = output_dirs(inputs, tmp_path / "out")
    results = run_videos(dirs, VideoOptions(max_frames=8), workers=2, progress=False)
    assert sorted(r.outdir for r in results.values()) == sorted(str(d) for d in dirs.values())
    for folder in dirs.values():
        assert len(read_poses(folder / "poses.npz", person=1).joints3d) == 8
        assert cv2.VideoCapture(str(folder / "overlay.mp4")).get(cv2.CAP_PROP_FRAME_COUNT) == 8


# ----------------------------------------------------------------------------- webcam and image


@pytest.mark.data
def test_webcam_command_on_a_video_played_as_a_camera(street, tmp_path):
    done = run_cli("webcam", "--camera", str(street), "--no-show", "--max-seconds", "3",
                   "--record", str(tmp_path / "rec"))
    assert done.returncode == 0, done.stderr[-2000:]
    assert "fps" in done.stdout and "latency" in done.stdout
    with np.load(tmp_path / "rec" / "poses.npz") as data:
        joints3d, ids = data["joints3d"], data["person_ids"]                    # [N, P, 17, 3]
    assert len(joints3d) >= 10 and joints3d.shape[1] == len(ids) >= 1
    assert np.isfinite(joints3d).all(axis=(2, 3)).any(axis=1).mean() > 0.8
    assert all((tmp_path / "rec" / f"poses_{i}.bvh").is_file() for i in ids)


@pytest.mark.data
@pytest.mark.slow
@needs_xvfb_run
def test_webcam_command_with_its_windows_under_xvfb(street):
    """Both windows open for real (an X server in memory), show every frame, and close cleanly."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(["xvfb-run", "-a", "-s", "-screen 0 1920x1080x24", sys.executable, "-m", "realtime3d",
                           "webcam", "--camera", str(street), "--max-seconds", "3"],
                          capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "fps" in done.stdout and "frames" in done.stdout


@pytest.mark.data
@pytest.mark.slow
def test_image_command_on_real_photos(tmp_path):
    bus, empty = MEDIA / "bus.jpg", tmp_path / "empty.png"
    if not bus.is_file():
        pytest.skip(f"test photos not found in {MEDIA}")
    cv2.imwrite(str(empty), np.full((480, 640, 3), 128, np.uint8))             # a grey picture: nobody
    done = run_cli("image", str(bus), str(empty), "-o", str(tmp_path))
    assert done.returncode == 0, done.stderr[-2000:]
    assert "bus.jpg: 3 people" in done.stdout
    doc = json.loads((tmp_path / "bus.json").read_text())
    assert doc["image_size"] == list(cv2.imread(str(bus)).shape[1::-1])
    assert [p["id"] for p in doc["people"]] == [1, 2, 3]                     # ids of a photo start at 1
    for person in doc["people"]:
        joints3d = np.array(person["joints3d_mm"], dtype=float)
        assert joints3d.shape == (17, 3) and np.isfinite(joints3d).all()
    picture = cv2.imread(str(tmp_path / "bus.overlay.png"))
    assert picture.shape[1] == doc["image_size"][0] + doc["image_size"][1]
    missing = json.loads((tmp_path / "empty.json").read_text())
    assert missing["people"] == [] and "empty.png: no person" in done.stdout
    # one schema: an image's JSON has poses.json's header fields, and its person entry's keys
    header = ("format", "version", "source", "image_size", "focal_px", "units", "joint_names", "parents")
    assert all(key in doc and key in missing for key in header) and doc["format"] == "realtime3d poses"
    assert set(doc["people"][0]) == {"id", "joints3d_mm", "joints2d_px", "visibility"}

    one = run_cli("image", str(bus), "-o", str(tmp_path / "one"), "--person", "largest")
    assert one.returncode == 0, one.stderr[-2000:]
    single = json.loads((tmp_path / "one" / "bus.json").read_text())
    assert single["version"] == 3 and len(single["people"]) == 1              # the largest: the same person, lifted
    assert single["people"][0]["id"] == doc["people"][0]["id"]
    np.testing.assert_allclose(single["people"][0]["joints3d_mm"], doc["people"][0]["joints3d_mm"], atol=0.1)


# ----------------------------------------------------------------------------- nobody to export


@pytest.mark.slow
def test_a_video_with_nobody_is_one_line_status_3_and_no_folder(nobody, capsys, tmp_path):
    """Every --person mode: one line, exit status 3, nothing written, no folder left that the run made;
    a folder that held the user's files stays, with them, and so does an empty one the user made."""
    for person, why in (("all", "no person found"), ("largest", "no person found"), ("7", "person 7 not found")):
        code, err = _cli(capsys, "video", str(nobody), "-o", str(tmp_path / "out"), "--person", person)
        assert code == 3, err
        assert_quiet(err, _nobody_line(nobody, why=why))                       # and the progress bar
        assert not (tmp_path / "out").exists()
    mine = tmp_path / "mine"
    (mine / "nobody").mkdir(parents=True)
    (mine / "notes.txt").write_text("the user's\n")
    code, err = _cli(capsys, "video", str(nobody), "-o", str(mine), "--max-frames", "5")
    assert code == 3, err
    assert_quiet(err, _nobody_line(nobody, frames=5))
    assert sorted(p.name for p in mine.iterdir()) == ["nobody", "notes.txt"] and not any((mine / "nobody").iterdir())


@pytest.mark.slow
def test_nobody_keeps_the_partial_results_of_an_interrupted_run(nobody, tmp_path, monkeypatch):
    """Chunks of 10 frames: a run stopped after 14 frames saved 10; --resume finds nobody in the rest and
    keeps those saved results (an earlier run's); a fresh run removes the ones it saved, and its folder."""
    import realtime3d.offline as offline
    monkeypatch.setattr(offline, "CHUNK_FRAMES", 10)
    monkeypatch.setattr(offline, "LIFT_BATCH", 5)
    pipeline = build_pipeline(VideoOptions())
    out = tmp_path / "out" / "nobody"
    stop = iter(range(100))
    try:
        with pytest.raises(KeyboardInterrupt):
            offline.run_video(nobody, out, pipeline, progress=False, on_result=lambda frame, result: next(stop) < 14)
        assert (out / PARTIAL_NAME).is_file()
        with pytest.raises(NothingToExport, match="no person found in any of 30 frames"):
            offline.run_video(nobody, out, pipeline, resume=True, progress=False)
        assert [p.name for p in out.iterdir()] == [PARTIAL_NAME]
        with pytest.raises(NothingToExport):
            offline.run_video(nobody, tmp_path / "fresh" / "nobody", pipeline, progress=False)
        assert not (tmp_path / "fresh").exists()
    finally:
        pipeline.detector.close()


@pytest.mark.data
@pytest.mark.slow
def test_a_collection_with_an_empty_video_does_the_others_and_names_it(street, nobody, capsys, tmp_path):
    """Two workers: the street video is done, the clip with nobody is named in the summary; status 3."""
    code = main(["video", str(nobody), str(street), "-o", str(tmp_path), "--max-frames", "5", "--workers", "2"])
    out, err = capsys.readouterr()
    assert code == 3, err
    assert_quiet(err, _nobody_line(nobody, frames=5))
    assert f"{street}: 5 frames (5 with a person" in out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["street_dance"]
    assert (tmp_path / "street_dance" / "poses.npz").is_file()


def test_webcam_recording_of_nobody_is_one_line_status_3_and_no_folder(nobody, capsys, tmp_path):
    code, err = _cli(capsys, "webcam", "--camera", str(nobody), "--no-show", "--max-seconds", "3",
                     "--record", str(tmp_path / "rec"))
    assert code == 3 and len(err.strip().splitlines()) == 1, err
    assert err.startswith(f"realtime3d: error: {nobody}: no person found in any of ") and "nothing to export" in err
    assert not (tmp_path / "rec").exists()


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_shard_that_selects_no_video_says_so_and_exits_0(workers, nobody, capsys, tmp_path):
    """The Slurm recipe with more array jobs than videos: shard 3/8 of 3 videos selects none."""
    clips = [tmp_path / f"{name}.mp4" for name in "abc"]
    for clip in clips:
        shutil.copy(nobody, clip)
    code = main(["video", *map(str, clips), "-o", str(tmp_path / "out"), "--shard", "3/8", "--workers", workers])
    assert code == 0 and capsys.readouterr().out == "shard 3/8 selects none of the 3 videos; nothing to do\n"
    assert not (tmp_path / "out").exists()


@pytest.mark.data
def test_more_workers_than_videos(street, capsys, tmp_path):
    code = main(["video", str(street), "-o", str(tmp_path), "--max-frames", "2", "--workers", "4"])
    assert code == 0 and ": 2 frames (2 with a person" in capsys.readouterr().out


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


@pytest.mark.data
@pytest.mark.slow
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


@pytest.mark.data
def test_output_folder_that_is_not_writable(street, capsys, tmp_path):
    """Root ignores permission bits, so the folder lies under a regular file: no user can create it."""
    blocker = tmp_path / "file.txt"
    blocker.write_text("a file, not a folder\n")
    one_line_error(*_cli(capsys, "video", str(street), "-o", str(blocker / "out")), "cannot create", "file.txt")
    one_line_error(*_cli(capsys, "image", str(MEDIA / "bus.jpg"), "-o", str(blocker / "out")), "file.txt")
    one_line_error(*_cli(capsys, "webcam", "--camera", str(street), "--record", str(blocker / "out")), "file.txt")
    assert blocker.read_text() == "a file, not a folder\n"


@pytest.mark.data
def test_bad_flag_values(street, capsys, tmp_path):
    out = str(tmp_path / "out")
    one_line_error(*_cli(capsys, "video", str(street), "-o", out, "--shard", "3/2"), "--shard")
    one_line_error(*_cli(capsys, "video", str(street), "-o", out, "--workers", "0"), "--workers")
    one_line_error(*_cli(capsys, "video", str(street), "-o", out, "--focal", "-3"), "--focal")
    one_line_error(*_cli(capsys, "webcam", "--camera", str(street), "--beta", "-1", "--record", out), "One Euro")
    one_line_error(*_cli(capsys, "image", str(tmp_path / "none.jpg"), "-o", out), "no such file")
    one_line_error(*_cli(capsys, "video", str(street), "-o", out, "--person", "tallest"), "--person")
    one_line_error(*_cli(capsys, "video", str(street), "-o", out, "--person", "0"), "--person")
    one_line_error(*_cli(capsys, "video", str(street), "-o", out, "--max-people", "0"), "--max-people")
    assert not (tmp_path / "out").exists()                                  # nothing made before the error
