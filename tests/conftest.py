"""Shared fixtures: where ../shared is, and a hand-made pose sequence."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

# Triton kernels run in its interpreter on the CPU; set before anything imports triton.
os.environ.setdefault("TRITON_INTERPRET", "1")

from realtime3d.data.sample import standing_pose_mm  # noqa: E402

SHARED = Path(__file__).resolve().parents[2] / "shared"
CMU = SHARED / "data" / "cmu"
MEDIA = SHARED / "data" / "media"


@pytest.fixture
def cmu_root() -> Path:
    if not CMU.is_dir():
        pytest.skip(f"CMU mocap data not found at {CMU} (see shared/data/README.md)")
    return CMU


def hand_made_pose_mm() -> np.ndarray:
    """One standing person, written joint by joint: [17, 3] mm, camera coordinates
    (x right, y down, z forward), facing the camera, so the person's left is on +x."""
    return standing_pose_mm()


def project(joints3d_mm: np.ndarray, focal: float, size: tuple[int, int]) -> np.ndarray:
    """Pinhole projection to pixels, principal point at the image centre."""
    xy = joints3d_mm[..., :2] / joints3d_mm[..., 2:3]
    return (xy * focal + np.array([size[0] / 2, size[1] / 2])).astype(np.float32)


@pytest.fixture
def hand_made_npz(tmp_path) -> Path:
    """A pose-sequence file made by hand: 8 frames, 1280x720, f = 1000 px, 2D in pixels."""
    base = hand_made_pose_mm()
    frames = []
    for k in range(8):
        a = np.radians(20 * k - 70)   # the person turns on the spot
        rot = np.array([[np.cos(a), 0, np.sin(a)], [0, 1, 0], [-np.sin(a), 0, np.cos(a)]], np.float32)
        frames.append(base @ rot.T + np.array([150.0 * (k - 4), 100.0, 4500.0], np.float32))
    joints3d = np.stack(frames)
    path = tmp_path / "hand_made.npz"
    np.savez(path, joints3d=joints3d, joints2d=project(joints3d, 1000.0, (1280, 720)),
             image_size=np.array([1280, 720]), focal=np.float32(1000.0),
             clip=np.array(["turn"] * 4 + ["turn2"] * 4))
    return path


def run_cli(*args: str, timeout: float = 300, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """The real `realtime3d` command in a subprocess (in cwd, default tests/): real exit codes and stderr."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "realtime3d", *args], capture_output=True, text=True,
                          timeout=timeout, env=env, cwd=cwd or Path(__file__).resolve().parent)


def one_line_error(code: int, err: str, *words: str) -> None:
    """Exit code 2 and one `realtime3d: error: ...` line, the last one (a progress bar may precede it)."""
    lines = [line for line in err.splitlines() if line.strip()]
    ours = [line for line in lines if line.startswith("realtime3d:")]
    assert code == 2 and len(ours) == 1 and lines[-1] == ours[0], err
    assert ours[0].startswith("realtime3d: error: ") and "Traceback" not in err, err
    for word in words:
        assert word in ours[0], ours[0]


#: Words of the native libraries' routine log lines (native_logs.py): none may reach the terminal.
NATIVE_NOISE = ("XNNPACK", "absl::InitializeLog", "inference_feedback_manager", "landmark_projection", "W0000",
                "libpng warning", " @ 0x", "XDG_RUNTIME_DIR")
_PROGRESS = re.compile(r"\[\d+:\d\d[<,\]]")        # a tqdm bar: its elapsed time, "[00:03<" or "[00:03,"


def assert_quiet(err: str, *expected: str) -> None:
    """stderr holds progress bars (tqdm's, redrawn with \\r) and exactly the expected lines, in order:
    no native library's line, no traceback."""
    lines = [part.strip() for line in err.splitlines() for part in line.split("\r")]
    assert not [word for word in NATIVE_NOISE if word in err], err[-2000:]
    assert [line for line in lines if line and not _PROGRESS.search(line)] == list(expected), err[-2000:]


def lifted_p_mpjpe(network, pool) -> float:
    """P-MPJPE (mm) of a lifting network or a Lifter (one pass as it is called) on a pool's
    normalized 2D pool.pose2d [N, J, 2], every joint seen, against its 3D pool.body [N, J, 3]."""
    import torch
    from realtime3d.lifting import Lifter
    from realtime3d.metrics import p_mpjpe
    from realtime3d.normalization import BODY_UNIT_MM
    known = torch.ones(pool.pose2d.shape[:2], dtype=torch.bool)
    with torch.no_grad():
        pred = network.lift_normalized(pool.pose2d, known) if isinstance(network, Lifter) else network(pool.pose2d)
    return float(p_mpjpe(pred.numpy(), pool.body.numpy() * BODY_UNIT_MM).mean())


def val_p_mpjpe(network, frames: int) -> float:
    """lifted_p_mpjpe on `frames` of the val subjects' fixed random-projection validation views."""
    from realtime3d.trainers.evaluation import Validator
    from realtime3d.trainers.sampling import validation_pool
    return lifted_p_mpjpe(network, Validator(validation_pool("random-projection"), max_frames=frames))


@pytest.fixture(scope="session")
def xvfb_display():
    """A private X server for the session; DISPLAY points at it while the tests run."""
    if shutil.which("Xvfb") is None:
        pytest.skip("Xvfb is not installed (apt-get install xvfb): the window tests need an X server")
    read_fd, write_fd = os.pipe()
    server = subprocess.Popen(["Xvfb", "-displayfd", str(write_fd), "-screen", "0", "1280x1024x24",
                               "-nolisten", "tcp"], pass_fds=(write_fd,), stderr=subprocess.DEVNULL)
    os.close(write_fd)
    with os.fdopen(read_fd) as pipe:
        number = pipe.readline().strip()          # Xvfb picks a free display and writes its number
    if not number:
        server.kill()
        pytest.fail("Xvfb did not start")
    old = os.environ.get("DISPLAY")
    os.environ["DISPLAY"] = f":{number}"
    yield os.environ["DISPLAY"]
    if old is None:
        os.environ.pop("DISPLAY", None)
    else:
        os.environ["DISPLAY"] = old
    server.terminate()
    server.wait(timeout=10)


@pytest.fixture(scope="session")
def media():
    """The shared real photos and videos; the test skips, saying where they should be, without them."""
    if not MEDIA.is_dir():
        pytest.skip(f"real images not found at {MEDIA} (see shared/data/README.md)")
    return MEDIA


#: The fixtures that put a test in a tier (pyproject.toml registers the markers): what the test
#: asks for says what it needs.
TIER_OF_FIXTURE = {"cmu_root": "data", "media": "data", "xvfb_display": "gui"}


def pytest_collection_modifyitems(items):
    """A test that asks for the real data is in the `data` tier, one that asks for an X server in the
    `gui` tier; modules that read the data by path mark themselves (pytestmark)."""
    for item in items:
        for fixture in set(getattr(item, "fixturenames", ())) & set(TIER_OF_FIXTURE):
            item.add_marker(TIER_OF_FIXTURE[fixture])


def needs_xvfb_run(test):
    """A test of the gui tier that runs a command under `xvfb-run`; it skips without xvfb."""
    skip = pytest.mark.skipif(shutil.which("xvfb-run") is None, reason="xvfb-run is not installed (apt-get install xvfb)")
    return pytest.mark.gui(skip(test))
