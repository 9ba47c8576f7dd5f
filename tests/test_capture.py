"""Frame sources on real video: ordered reading, bad files, and a live reader whose device fails."""
from __future__ import annotations

import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from realtime3d.capture import MAX_READ_FAILURES, LiveSource, VideoSource
from realtime3d.errors import UserError

from conftest import SHARED

STREET = SHARED / "data" / "media" / "street_dance.avi"
STREET_FRAMES = 205


@pytest.fixture(scope="module")
def street() -> Path:
    if not STREET.is_file():
        pytest.skip(f"test video not found at {STREET} (see shared/data/README.md)")
    return STREET


def _prefix_copy(src: Path, dst: Path, fraction: float) -> Path:
    data = src.read_bytes()
    dst.write_bytes(data[:int(len(data) * fraction)])
    return dst


# ----------------------------------------------------------------------------- VideoSource


@pytest.mark.data
def test_video_source_gives_every_frame_in_order_with_timestamps(street):
    source = VideoSource(street)
    assert (source.fps, len(source), source.image_size) == (50.0, STREET_FRAMES, (1280, 720))
    indices, times = [], []
    for frame in source:
        assert frame.image.shape == (720, 1280, 3) and frame.image.dtype == np.uint8
        indices.append(frame.index)
        times.append(frame.t)
    assert indices == list(range(STREET_FRAMES))
    np.testing.assert_allclose(times, np.arange(STREET_FRAMES) / 50.0)
    assert source.skipped == 0


def test_missing_file_and_text_file_are_clear_errors(tmp_path):
    with pytest.raises(UserError, match="no such file"):
        VideoSource(tmp_path / "nothing.mp4")
    text = tmp_path / "notes.mp4"
    text.write_text("this is not a video\n")
    with pytest.raises(ValueError, match="not a video"):
        VideoSource(text)


@pytest.mark.parametrize("suffix,fourcc", [(".avi", "MJPG"), (".mp4", "mp4v")])
def test_zero_frame_video_is_a_clear_error(tmp_path, suffix, fourcc):
    path = tmp_path / f"empty{suffix}"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), 25, (320, 240))
    writer.release()
    assert path.is_file()
    with pytest.raises(ValueError, match="not a video|no frames"):
        VideoSource(path)


@pytest.mark.data
def test_truncated_video_fails_at_once_or_where_decoding_stops(street, tmp_path):
    with pytest.raises(ValueError, match="no frames could be decoded"):
        VideoSource(_prefix_copy(street, tmp_path / "head.avi", 0.015))      # the header and no frame
    source = VideoSource(_prefix_copy(street, tmp_path / "third.avi", 1 / 3))
    seen = []
    stops = rf"truncated or corrupt video: decoding stops at frame \d+ of {STREET_FRAMES}"
    with pytest.raises(ValueError, match=stops):
        for frame in source:
            seen.append(frame.index)
    assert 20 < len(seen) < 120 and seen == list(range(len(seen)))


@pytest.mark.data
def test_frames_that_fail_to_decode_mid_video_are_skipped_and_counted(street, tmp_path):
    data = bytearray(street.read_bytes())
    middle = len(data) // 2
    data[middle:middle + 30000] = bytes(30000)                              # a damaged stretch
    damaged = tmp_path / "damaged.avi"
    damaged.write_bytes(bytes(data))
    source = VideoSource(damaged)
    indices = [frame.index for frame in source]
    assert source.skipped > 0
    assert len(indices) + source.skipped == STREET_FRAMES
    assert indices == sorted(set(indices)) and indices[-1] == STREET_FRAMES - 1


# ----------------------------------------------------------------------------- LiveSource


def test_camera_that_does_not_exist_fails_at_start():
    with pytest.raises(ValueError, match="^camera 99 could not be opened$"):
        LiveSource(99)


class _PlugCamera:
    """A camera that delivers the street video's frames until its cable is pulled (read fails)."""

    def __init__(self, path: Path, frames_before_failing: int):
        self.capture, self.left = cv2.VideoCapture(str(path)), frames_before_failing

    def isOpened(self) -> bool:
        return self.capture.isOpened()

    def read(self):
        if self.left <= 0:
            return False, None
        self.left -= 1
        return self.capture.read()

    def get(self, prop: int) -> float:
        return 0.0                                                          # a webcam that reports no rate

    def release(self) -> None:
        self.capture.release()


class _Device:
    """open_fn: works, is unplugged for `unplugged` open attempts after the first drop, then is back."""

    def __init__(self, path: Path, frames_before_failing: int, unplugged: int):
        self.path, self.frames, self.unplugged, self.opens = path, frames_before_failing, unplugged, 0

    def __call__(self, source):
        self.opens += 1
        if self.opens == 1:
            return _PlugCamera(self.path, self.frames)
        if self.opens <= 1 + self.unplugged:
            return cv2.VideoCapture()                                       # a real capture that is not open
        return _PlugCamera(self.path, 10**6)


def _wait_for(predicate, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


@pytest.mark.data
def test_camera_that_disconnects_reconnects_and_goes_live_again(street):
    device = _Device(street, frames_before_failing=12, unplugged=2)
    with LiveSource(0, open_fn=device, reconnect_delay_s=0.05) as camera:
        _wait_for(lambda: camera.frames_read > 20)
        frame = camera.read()
        history = list(camera.status_history)
    assert history == ["live", "reconnecting (attempt 1)", "reconnecting (attempt 2)",
                       "reconnecting (attempt 3)", "live"]
    assert device.opens == 4
    assert frame is not None and frame.index > 12 and frame.image.shape == (720, 1280, 3)


@pytest.mark.data
def test_frozen_camera_is_detected_and_reopened(street):
    ok, image = cv2.VideoCapture(str(street)).read()
    assert ok

    class FrozenCamera(_PlugCamera):
        def read(self):
            return True, image.copy()                                       # the same picture, forever

    with LiveSource(0, open_fn=lambda s: FrozenCamera(street, 0), frozen_after_s=0.2,
                    reconnect_delay_s=0.05) as camera:
        _wait_for(lambda: "reconnecting (attempt 1)" in camera.status_history)
        history = list(camera.status_history)
        assert camera.frames_read >= 1                                      # the first frame went through
    assert history[:3] == ["live", "frozen", "reconnecting (attempt 1)"]


@pytest.mark.data
def test_a_device_that_never_comes_back_is_lost(street):
    device = _Device(street, frames_before_failing=3, unplugged=10**6)
    with LiveSource(0, open_fn=device, reconnect_delay_s=0.01, max_reconnects=3) as camera:
        _wait_for(lambda: not camera.running)
        assert camera.status == "lost"
        camera.read(timeout=0.1)                                            # the last frame, if not taken yet
        assert camera.read(timeout=0.1) is None
    assert device.opens == 1 + 3 and MAX_READ_FAILURES > 1


@pytest.mark.data
@pytest.mark.slow
def test_video_played_as_a_camera_keeps_only_the_latest_frame(street):
    """A consumer at about 10 Hz on a 50 fps video: it always gets a fresh frame, the rest are dropped."""
    taken = []
    started = time.monotonic()
    with LiveSource(str(street)) as camera:
        assert camera.realtime_video and camera.fps == 50.0
        while (frame := camera.read(timeout=1.0)) is not None:
            taken.append((frame.index, time.monotonic() - frame.t))
            time.sleep(0.1)
        assert camera.status == "ended"
        frames_read = camera.frames_read
    elapsed = time.monotonic() - started
    assert STREET_FRAMES / 50.0 - 0.2 < elapsed < STREET_FRAMES / 50.0 + 2.0    # paced in real time
    indices = [i for i, _ in taken]
    assert indices == sorted(indices) and 20 <= len(indices) <= 60
    assert np.median(np.diff(indices)) >= 3                                    # frames in between were dropped
    assert max(age for _, age in taken) < 0.1                                  # never a stale frame
    assert frames_read > 150
