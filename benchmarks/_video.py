"""A video's frames for the benchmarks that time or score detectors on them, and the skeleton net's
adaptation to footage that two of them run."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np


def frames_rgb(video: str, limit: int | None = None) -> list[np.ndarray]:
    """The first `limit` frames (all when None) of a video, in RGB order, as the app's decode
    thread hands them to a detector; SystemExit with one line when none can be read."""
    capture, out = cv2.VideoCapture(video), []
    while limit is None or len(out) < limit:
        ok, frame = capture.read()
        if not ok:
            break
        out.append(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
    capture.release()
    if not out:
        raise SystemExit(f"no frames could be read from {video}")
    return out


#: The config that adapts the shipped skeleton net to footage without labels.
ADAPT_CONFIG = "skeleton-net_adapt-footage_w16-l4_15min"


def adapt_skeleton_net(footage: str, run_dir: Path) -> Path:
    """Adapt the shipped skeleton net to footage (a video, photo or folder) without labels, in a
    `realtime3d train` process (resumed where run_dir holds a checkpoint) -> its best.pt."""
    import subprocess
    import sys
    run_dir = Path(run_dir)
    cmd = [sys.executable, "-m", "realtime3d", "train", ADAPT_CONFIG, "--run-dir", str(run_dir),
           "--set", f"params.footage={footage}"]
    if (run_dir / "ckpt-last.pt").exists():
        cmd.append("--resume")
    subprocess.run(cmd, check=True)
    return run_dir / "best.pt"
