"""The native libraries' routine log lines, kept off the terminal.

MediaPipe's C++ graph, TFLite and absl write straight to file descriptor 2 on every
run ("INFO: Created TensorFlow Lite XNNPACK delegate for CPU.", "W0000 ...
inference_feedback_manager.cc ...", "... landmark_projection_calculator.cc ..."),
from threads of their own and into the middle of the progress bar. Python's logging
cannot reach them, and none of the three offers a setting that works from Python.

quiet_native_logs() points descriptor 2 at a pipe whose reader thread drops the
lines that match NOISE (informational and warning lines in the formats of TFLite and
absl) and passes every other line through, so a native error still shows.
Python's own sys.stderr (tqdm bars, realtime3d's errors, warnings, tracebacks) is
rebound to the real terminal and never goes through the pipe. `--verbose` skips all
of this. Worker processes inherit the pipe, so their native lines are filtered too.

Two other libraries are quietened by their own settings rather than filtered: OpenCV's
FFmpeg backend prints FFmpeg's error lines ("[tcp @ 0x...] Connection ... refused" for a
stream that cannot be opened) unless OPENCV_FFMPEG_LOGLEVEL is set before its first use,
and libwayland, which Mesa's EGL asks for a display before it falls back to X11, prints
"error: XDG_RUNTIME_DIR is invalid or not set" unless that variable holds an absolute
path. quiet_native_logs() sets both (the latter to a private temporary folder) when they
are unset; the command reports what went wrong in its own one-line errors.
"""
from __future__ import annotations

import atexit
import os
import re
import shutil
import sys
import tempfile
import threading

#: Native log lines that are routine: TFLite's "INFO: ..." lines, absl's note about
#: logging before InitializeLog, absl/glog INFO and WARNING lines
#: ("W0000 00:00:1796128151.407747    4601 file.cc:114] ..."), and libpng's warnings inside
#: OpenCV's imread ("libpng warning: iCCP: known incorrect sRGB profile": the image still
#: reads). Errors (E, F, "libpng error") pass.
NOISE = re.compile(rb"^(INFO: |WARNING: All log messages before absl::InitializeLog\(\)"
                   rb"|[IW]\d{4} \d\d:\d\d:\d+\.\d+ +\d+ [\w./-]+:\d+\] |libpng warning: )")
#: OPENCV_FFMPEG_LOGLEVEL: FFmpeg's AV_LOG_FATAL (its error lines hidden, a crash's still shown).
FFMPEG_LOGLEVEL = "8"

_installed = False


def is_noise(line: bytes) -> bool:
    return NOISE.match(line) is not None


def _forward(read_fd: int, out_fd: int) -> None:
    """Reader thread: copy whole lines from the pipe to out_fd, except the noise."""
    pending = b""
    with os.fdopen(read_fd, "rb", buffering=0) as pipe:
        while chunk := pipe.read(65536):
            pending += chunk
            *lines, pending = pending.split(b"\n")
            kept = b"".join(line + b"\n" for line in lines if not is_noise(line))
            if kept:
                os.write(out_fd, kept)
    if pending and not is_noise(pending):
        os.write(out_fd, pending)


def quiet_native_logs() -> None:
    """Filter descriptor 2 for the rest of the process (see the module docstring). Idempotent."""
    global _installed
    if _installed:
        return
    _installed = True
    _quiet_by_settings()
    try:
        sys.stderr.flush()
        terminal = os.dup(2)                   # the real stderr, for Python and for kept lines
    except (OSError, AttributeError, ValueError):   # no stderr to filter (closed, or None)
        return
    read_fd, write_fd = os.pipe()
    os.dup2(write_fd, 2)
    os.close(write_fd)
    sys.stderr = open(terminal, "w", buffering=1, encoding=sys.stderr.encoding or "utf-8",
                      errors="backslashreplace", closefd=False)
    reader = threading.Thread(target=_forward, args=(read_fd, terminal), name="native log filter", daemon=True)
    reader.start()

    def drain() -> None:
        """At exit: later native lines go to /dev/null; what is in the pipe is still filtered out."""
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 2)                    # closes this process's write end of the pipe
        os.close(devnull)
        reader.join(timeout=1.0)               # EOF once worker processes have exited too
    atexit.register(drain)


def _quiet_by_settings() -> None:
    """OPENCV_FFMPEG_LOGLEVEL and XDG_RUNTIME_DIR (see the module docstring), unless the user set them."""
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", FFMPEG_LOGLEVEL)
    if not os.path.isabs(os.environ.get("XDG_RUNTIME_DIR", "")):
        try:
            runtime = tempfile.mkdtemp(prefix="realtime3d-runtime-")    # mode 0700, as the variable asks
        except OSError:
            return
        os.environ["XDG_RUNTIME_DIR"] = runtime
        atexit.register(shutil.rmtree, runtime, ignore_errors=True)
