"""The demos run as users run them: real subprocesses on the street video (the webcam demo
plays it as a camera, with its windows under Xvfb); none prints a native library's log line."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import SHARED, assert_quiet, needs_xvfb_run

from realtime3d.io.poses import read_poses

DEMOS = Path(__file__).resolve().parents[1] / "demos"
STREET = SHARED / "data" / "media" / "street_dance.avi"


@pytest.fixture(scope="module")
def street() -> Path:
    if not STREET.is_file():
        pytest.skip(f"test video not found at {STREET} (see shared/data/README.md)")
    return STREET


def _run(*argv: str, timeout: float = 300) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout, env=env)


@pytest.mark.data
@pytest.mark.slow
@needs_xvfb_run
def test_webcam_demo_plays_a_video_as_a_camera(street):
    done = _run("xvfb-run", "-a", "-s", "-screen 0 1920x1080x24", sys.executable, str(DEMOS / "webcam_demo.py"),
                str(street))
    assert done.returncode == 0, done.stderr[-2000:]
    assert_quiet(done.stderr)
    depths = [float(z) for z in re.findall(r"z=\s*(-?\d+) mm", done.stdout)]
    # the demo takes the newest frame whenever it is free: one thread, and Xvfb's software GL
    # draws both windows (50 to 80 of the 205 frames on 2 cores, fewer when the machine is busy)
    assert len(depths) >= 20
    assert 1500 < np.median(depths) < 8000                     # a person a few metres in front of the camera


@pytest.mark.data
@pytest.mark.slow
def test_video_demo_writes_the_outputs(street, tmp_path):
    done = _run(sys.executable, str(DEMOS / "video_demo.py"), str(street), str(tmp_path))
    assert done.returncode == 0, done.stderr[-2000:]
    assert_quiet(done.stderr)                                  # the progress bar only
    assert "205 frames, a person in 205, 0 failed to decode" in done.stdout and "people tracked" in done.stdout
    for name in ("overlay.mp4", "poses.npz", "poses.json", "poses.csv", "poses_1.bvh"):
        assert (tmp_path / name).stat().st_size > 0
    assert read_poses(tmp_path / "poses.npz", person=1).joints3d.shape == (205, 17, 3)


@pytest.mark.slow
@needs_xvfb_run
def test_screenshots_create_the_folder_they_are_given(tmp_path):
    out = tmp_path / "not" / "there" / "yet"
    env = {k: v for k, v in os.environ.items() if k != "XDG_RUNTIME_DIR"}       # as under a bare ssh or cron
    done = subprocess.run(["xvfb-run", "-a", sys.executable, str(DEMOS / "screenshots.py"), "--out-dir", str(out)],
                          capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    assert_quiet(done.stderr)
    assert (out / "overlay.png").stat().st_size > 0 and (out / "view3d.png").stat().st_size > 0


@pytest.mark.data
@pytest.mark.slow
@needs_xvfb_run
def test_screenshots_of_a_video_frame_draw_every_person(street, tmp_path):
    """Frame 172 of the street video has the dancer and three people behind her: all four drawn, quietly."""
    done = _run("xvfb-run", "-a", sys.executable, str(DEMOS / "screenshots.py"), "--video", str(street),
                "--frame", "172", "--out-dir", str(tmp_path))
    assert done.returncode == 0, done.stderr[-2000:]
    assert_quiet(done.stderr)
    people = int(re.search(r"\((\d+) people\)", done.stdout).group(1))
    assert people >= 3, done.stdout
    picture = cv2.imread(str(tmp_path / "overlay.png"))
    assert picture is not None and picture.shape[1] == 1280
