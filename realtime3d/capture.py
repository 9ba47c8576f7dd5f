"""Frame sources: a live reader that keeps only the latest frame, and an ordered video reader.

    with LiveSource(0) as camera:                  # a webcam, a stream URL, or a video file
        frame = camera.read()                      # the newest frame not yet taken, or None
        print(camera.status)                       # "live", "frozen", "reconnecting (attempt 2)", ...

    for frame in VideoSource("clip.mp4"):          # every frame, in order
        frame.image, frame.t, frame.index

Both read through open_video: a clip's frames come upright, as a player shows them.

LiveSource follows OpenPose's webcam reader: a thread reads the camera as fast as it
delivers and overwrites one slot (no queue, so the consumer never lags behind); frames
that stay identical for FROZEN_AFTER_S, and empty frames or failed reads, make the
reader drop the device and open it again until it comes back.
"""
from __future__ import annotations

import collections
import os
import queue
import threading
import time
from dataclasses import dataclass
from typing import Callable, Iterator

import cv2
import numpy as np

from .io.inputs import require_file
from .errors import UserError

#: Identical consecutive frames for this long mean the device has frozen (seconds).
FROZEN_AFTER_S = 2.0
#: This many failed or empty reads in a row mean the device has dropped.
MAX_READ_FAILURES = 10
#: Pause between reconnect attempts (seconds).
RECONNECT_DELAY_S = 0.5
#: A video whose header gives no frame rate is read at this rate.
FALLBACK_FPS = 30.0


@dataclass
class Frame:
    """One frame of a source."""

    image: np.ndarray   # [H, W, 3] uint8 BGR
    t: float            # seconds: time.monotonic() at capture (live), index / fps (video file)
    index: int          # position in the source (frames delivered by the device, or in the file)
    rgb: np.ndarray | None = None   # [H, W, 3] uint8, the same frame in RGB order, where a reader made it


def open_video(source: int | str) -> cv2.VideoCapture:
    """cv2.VideoCapture(source) that delivers a video's frames upright, as a player shows them.

    A phone records portrait video on its side and tags the stream with the turn that
    displays it (the display matrix, which older FFmpeg reported as the `rotate` tag).
    OpenCV's FFmpeg backend applies that turn (90, 180 or 270 degrees) to every frame,
    and reports the upright CAP_PROP_FRAME_WIDTH/HEIGHT, when CAP_PROP_ORIENTATION_AUTO
    is on; OpenCV 4.11's wheel leaves it off, so it is set here. A camera ignores it.

    Args:
        source: a camera index, a stream URL or a video file.
    Returns:
        The opened (or failed: check isOpened()) capture.
    """
    cap = cv2.VideoCapture(source)
    cap.set(cv2.CAP_PROP_ORIENTATION_AUTO, 1)
    return cap


def is_camera_index(source: int | str) -> bool:
    return isinstance(source, int) or (isinstance(source, str) and source.strip().isdigit())


def describe_source(source: int | str) -> str:
    return f"camera {int(source)}" if is_camera_index(source) else str(source)


class LiveSource:
    """A camera (index), a stream URL, or a video file played as a live camera.

    read() returns the newest frame that has not been returned yet; frames the consumer
    is too slow to take are dropped. A video file is paced by its own frame rate
    (realtime_video, on by default for files) and ends with status "ended"; a camera or
    stream that drops or freezes is reopened (status "reconnecting (attempt k)") until
    it comes back or max_reconnects is used up (status "lost").

    open_fn(source) must return a cv2.VideoCapture-like object (isOpened, read, release,
    get); it is the device seam for tests. The default, open_video, turns a tagged video
    upright. size=(width, height) resizes every (upright) frame.
    """

    def __init__(self, source: int | str, open_fn: Callable = open_video,
                 size: tuple[int, int] | None = None, realtime_video: bool | None = None,
                 frozen_after_s: float = FROZEN_AFTER_S, reconnect_delay_s: float = RECONNECT_DELAY_S,
                 max_reconnects: int | None = None):
        self.source = int(source) if is_camera_index(source) else str(source)
        self.name = describe_source(source)
        is_file = isinstance(self.source, str) and "://" not in self.source
        if is_file and not os.path.isfile(self.source):
            raise UserError(f"no such video file: {self.source}")
        self.realtime_video = is_file if realtime_video is None else bool(realtime_video)
        if size is not None and (len(size) != 2 or min(size) < 1):
            raise ValueError(f"size must be (width, height), got {size}")
        self.size = None if size is None else (int(size[0]), int(size[1]))
        self._open_fn = open_fn
        self.frozen_after_s = float(frozen_after_s)
        self.reconnect_delay_s = float(reconnect_delay_s)
        self.max_reconnects = max_reconnects
        self.fps = 0.0                     # the device's nominal rate (0 when unknown)
        self.frames_read = 0               # frames delivered by the device
        self.frames_taken = 0              # frames returned by read()
        self.status_history: collections.deque[str] = collections.deque(maxlen=64)
        self._status = ""
        self._latest: Frame | None = None
        self._taken_index = -1
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._cap = self._open()
        if self._cap is None:
            if is_camera_index(self.source):
                raise UserError(f"{self.name} could not be opened")
            raise UserError(f"{self.name}: could not be opened as a camera, stream or video")
        self._set_status("live")

    # -- the consumer's side ------------------------------------------------------------

    def start(self) -> "LiveSource":
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name=f"capture {self.name}", daemon=True)
            self._thread.start()
        return self

    def read(self, timeout: float = 1.0) -> Frame | None:
        """The newest frame not returned before; None after timeout seconds or once the source ended."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._latest is None or self._latest.index <= self._taken_index:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not self.running:
                    return None
                self._cond.wait(remaining)
            frame = self._latest
            self._taken_index = frame.index
            self.frames_taken += 1
            return frame

    @property
    def status(self) -> str:
        return self._status

    @property
    def running(self) -> bool:
        """False once the source has ended, was lost, or was stopped."""
        return not self._stop.is_set()

    def stop(self) -> None:
        """Stop the reader thread and release the device (idempotent)."""
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5.0)
        if self._cap is not None:
            self._cap.release()
            self._cap = None

    def __enter__(self) -> "LiveSource":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- the reader thread ------------------------------------------------------------------

    def _set_status(self, status: str) -> None:
        if status != self._status:
            self._status = status
            self.status_history.append(status)

    def _open(self):
        cap = self._open_fn(self.source)
        if cap is None or not cap.isOpened():
            if cap is not None:
                cap.release()
            return None
        fps = cap.get(cv2.CAP_PROP_FPS)
        self.fps = float(fps) if fps and np.isfinite(fps) and fps > 0 else 0.0
        return cap

    def _finish(self, status: str) -> None:
        self._set_status(status)
        self._stop.set()
        with self._cond:
            self._cond.notify_all()

    def _run(self) -> None:
        period = 1.0 / (self.fps or FALLBACK_FPS) if self.realtime_video else 0.0
        started = time.monotonic()
        played = 0                       # frames of a paced video released so far
        failures = 0
        previous, same_since = None, None
        while not self._stop.is_set():
            if self._cap is None:
                if not self._reconnect():
                    return
                failures, previous, same_since = 0, None, None
                started, played = time.monotonic(), 0
                continue
            ok, image = self._cap.read()
            now = time.monotonic()
            if not ok or image is None or image.size == 0:
                failures += 1
                if failures >= MAX_READ_FAILURES:
                    if self.realtime_video:
                        self._finish("ended")
                        return
                    self._drop()
                continue
            failures = 0
            if self.realtime_video:
                # frame k belongs at started + k * period: wait for it, or drop it when late
                due = started + played * period
                played += 1
                if now > due + period:
                    continue
                self._stop.wait(max(0.0, due - now))
                now = time.monotonic()
            probe = image[::16, ::16]    # a sparse grid of pixels is enough to tell frozen frames
            if not self.realtime_video and previous is not None and np.array_equal(probe, previous):
                same_since = same_since or now
                if now - same_since > self.frozen_after_s:
                    self._set_status("frozen")
                    self._drop()
                continue
            previous, same_since = probe.copy(), None
            if self.size is not None and (image.shape[1], image.shape[0]) != self.size:
                image = cv2.resize(image, self.size, interpolation=cv2.INTER_LINEAR)
            with self._cond:
                self._latest = Frame(image=image, t=now, index=self.frames_read)
                self.frames_read += 1
                self._set_status("live")
                self._cond.notify_all()

    def _drop(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None

    def _reconnect(self) -> bool:
        attempt = 0
        while not self._stop.is_set():
            attempt += 1
            if self.max_reconnects is not None and attempt > self.max_reconnects:
                self._finish("lost")
                return False
            self._set_status(f"reconnecting (attempt {attempt})")
            if self._stop.wait(self.reconnect_delay_s):
                return False
            self._cap = self._open()
            if self._cap is not None:
                return True
        return False


class VideoSource:
    """Every frame of a video file, in order: `for frame in VideoSource(path)`.

    Frames are upright, as a player shows them (open_video): image_size is their
    (width, height), rotation the stream's tag that turned them (clockwise degrees: 0,
    90, 180 or 270). The constructor opens the file and decodes its first frame, so a
    missing file, a file that is not a video, or one with no decodable frame fails at
    once with a clear error. Frames that fail to decode in the middle are skipped and
    counted (.skipped); a video that stops decoding before the frame count of its header
    is truncated or corrupt, and iteration raises ValueError there.
    """

    def __init__(self, path: str | os.PathLike):
        self.path = require_file(path)
        if cv2.haveImageReader(self.path):   # OpenCV would play a photo as a one-frame video
            raise UserError(f"{self.path}: a still image, not a video (realtime3d image reads photos)")
        cap = open_video(self.path)
        if not cap.isOpened():
            raise UserError(f"{self.path}: not a video (no decoder can open it)")
        ok, first = cap.read()
        cap.release()
        if not ok or first is None or first.size == 0:
            raise UserError(f"{self.path}: no frames could be decoded (empty, truncated or corrupt video)")
        cap = open_video(self.path)
        fps = cap.get(cv2.CAP_PROP_FPS)
        self.fps = float(fps) if fps and np.isfinite(fps) and fps > 0 else FALLBACK_FPS
        count = cap.get(cv2.CAP_PROP_FRAME_COUNT)
        self.frame_count = int(count) if count and np.isfinite(count) and count > 0 else 0  # 0: unknown
        turn = cap.get(cv2.CAP_PROP_ORIENTATION_META)                  # the tag, clockwise degrees
        self.rotation = int(turn) % 360 if np.isfinite(turn) else 0
        cap.release()
        self.image_size = (first.shape[1], first.shape[0])          # (width, height), upright
        self.skipped = 0

    def __len__(self) -> int:
        return self.frame_count

    def __iter__(self) -> Iterator[Frame]:
        """Frames with index = position in the file (from the decoder's timestamps) and t = index / fps."""
        self.skipped = 0
        cap = open_video(self.path)
        try:
            last, failures, first_pts = -1, 0, None
            while failures < MAX_READ_FAILURES:
                ok, image = cap.read()
                if not ok or image is None or image.size == 0:
                    failures += 1
                    continue
                failures = 0
                pts = round(cap.get(cv2.CAP_PROP_POS_MSEC) * self.fps / 1000.0)
                first_pts = pts if first_pts is None else first_pts
                index = pts - first_pts if pts - first_pts > last else last + 1
                self.skipped += index - last - 1
                last = index
                yield Frame(image=image, t=index / self.fps, index=index)
        finally:
            cap.release()
        decoded_to = last + 1
        # headers estimate the count for some containers: allow a frame or two of slack
        if self.frame_count and decoded_to < self.frame_count - max(2, self.frame_count // 100):
            raise UserError(f"{self.path}: truncated or corrupt video: decoding stops at frame "
                             f"{decoded_to} of {self.frame_count}")


def put_unless_stopped(q: queue.Queue, item, stop: threading.Event) -> bool:
    """Put item into a bounded queue, waiting while it is full; False if stop was set first."""
    while not stop.is_set():
        try:
            q.put(item, timeout=0.1)
            return True
        except queue.Full:
            pass
    return False
