"""CMU motion capture in the 17-joint skeleton: dialect name maps, the split, the cache.

The four BVH dialects of ../shared/data/cmu name the same anatomical joints
differently. Each maps to the 17 joints here, by the rules of the data README:
hips, knees, ankles, shoulders (upper arm, not clavicle), elbows, wrists and the
head (base of the skull) come from named joints; pelvis, spine and thorax are
derived (skeleton.derive_h36m_torso); the head top is HEAD_TOP_OFFSET_MM along the
head joint's own up (+Y) axis. Output is millimetres in camera coordinates.
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..camera import world_yup_to_camera
from ..io.bvh import BVHError, BVHMotion, read_bvh
from ..skeleton import H36M17, HEAD_TOP_OFFSET_MM, derive_h36m_torso
from ..errors import UserError

CMU_UNIT_MM = 56.444

# Per dialect: the BVH joint for each named 17-skeleton joint, and the unit in mm.
_NAMED = ("right_hip", "right_knee", "right_ankle", "left_hip", "left_knee", "left_ankle", "head",
          "left_shoulder", "left_elbow", "left_wrist", "right_shoulder", "right_elbow", "right_wrist")


@dataclass(frozen=True)
class Dialect:
    name: str
    unit_mm: float
    joints: dict[str, str]  # 17-skeleton joint name -> BVH joint name


def _dialect(name: str, unit_mm: float, names: str) -> Dialect:
    return Dialect(name, unit_mm, dict(zip(_NAMED, names.split())))


DIALECTS = (
    _dialect("motionbuilder", CMU_UNIT_MM,
             "RightUpLeg RightLeg RightFoot LeftUpLeg LeftLeg LeftFoot Head "
             "LeftArm LeftForeArm LeftHand RightArm RightForeArm RightHand"),
    _dialect("daz", 10.0,
             "rThigh rShin rFoot lThigh lShin lFoot head "
             "lShldr lForeArm lHand rShldr rForeArm rHand"),
    _dialect("3dsmax", CMU_UNIT_MM,
             "RightHip RightKnee RightAnkle LeftHip LeftKnee LeftAnkle Head "
             "LeftShoulder LeftElbow LeftWrist RightShoulder RightElbow RightWrist"),
    _dialect("asf", CMU_UNIT_MM,
             "rfemur rtibia rfoot lfemur ltibia lfoot head "
             "lhumerus lradius lwrist rhumerus rradius rwrist"),
)

# The fixed split of ../shared/data/README.md.
TEST_SUBJECTS = ("09", "13", "14")
#: Train subjects held out for validation (model selection, early stopping). Never test.
VAL_SUBJECTS = ("02", "07")
#: Frames per second that the cached train and val arrays keep: CMU is 120 fps and
#: neighbouring frames repeat. Test keeps every frame, as the data README counts them.
TRAIN_FPS = 30.0
#: The test split's frame rate: every frame of the test subjects' files, all recorded at 120 fps.
TEST_FPS = 120.0


class MissingDataError(UserError, FileNotFoundError):
    """The CMU BVH files of a split are not where they were looked for (a user's set-up)."""


def detect_dialect(joint_names: list[str]) -> Dialect:
    """The first of DIALECTS whose BVH joint names all occur in joint_names; ValueError if none."""
    present = set(joint_names)
    for d in DIALECTS:
        if all(n in present for n in d.joints.values()):
            return d
    raise ValueError("unknown BVH dialect: none of the known joint-name sets matches")


def bvh_to_h36m(path: str | os.PathLike, skip_first: bool = True, fps: float | None = None):
    """Read a CMU BVH file in the 17-joint skeleton.

    Args:
        path: a BVH file of one of DIALECTS.
        skip_first: drop the first frame (often a T-pose).
        fps: if given and below the file's rate, keep every round(file fps / fps)-th frame.

    Returns:
        (joints3d [F, 17, 3] float32 mm, camera coordinates (x right, y down, z forward);
        the frame rate of joints3d, Hz).

    Raises:
        BVHError: the file cannot be read or is of no known dialect.
    """
    motion = read_bvh(path)
    try:
        return motion_to_h36m(motion, skip_first=skip_first, fps=fps)
    except ValueError as exc:
        raise BVHError(f"{os.fspath(path)}: {exc}") from None


def motion_to_h36m(motion: BVHMotion, skip_first: bool = True, fps: float | None = None):
    """A parsed CMU BVH -> (joints3d [F, 17, 3] float32 mm camera coordinates, fps Hz); see bvh_to_h36m."""
    dialect = detect_dialect(motion.joint_names)
    positions, rotations = motion.forward_kinematics()
    if skip_first and positions.shape[0] > 1:
        positions, rotations = positions[1:], rotations[1:]
    src_fps = 1.0 / motion.frame_time
    if fps is not None and fps < src_fps:
        step = max(1, int(round(src_fps / fps)))
        positions, rotations = positions[::step], rotations[::step]
        src_fps = src_fps / step
    idx = {n: i for i, n in enumerate(motion.joint_names)}
    out = np.zeros((positions.shape[0], H36M17.num_joints, 3))
    for ours, theirs in dialect.joints.items():
        out[:, H36M17.index[ours]] = positions[:, idx[theirs]]
    head = idx[dialect.joints["head"]]
    up = rotations[:, head, :, 1]  # the head's own +Y axis in the world
    out[:, H36M17.index["head_top"]] = positions[:, head] + up * (HEAD_TOP_OFFSET_MM / dialect.unit_mm)
    derive_h36m_torso(out)
    out *= dialect.unit_mm
    return world_yup_to_camera(out).astype(np.float32), src_fps


def subject_of(path: str | os.PathLike) -> str:
    """The CMU subject of a BVH file: its folder's name ("01" for cmu/01/01_01.bvh)."""
    return Path(path).parent.name


def split_of(subject: str) -> str:
    """The split of a CMU subject: "test" (TEST_SUBJECTS), "val" (VAL_SUBJECTS) or "train"."""
    if subject in TEST_SUBJECTS:
        return "test"
    if subject in VAL_SUBJECTS:
        return "val"
    return "train"


def cmu_files(root: str | os.PathLike) -> list[Path]:
    """Every root/<subject>/<clip>.bvh, sorted."""
    return sorted(Path(root).glob("*/*.bvh"))


def default_cmu_root() -> Path:
    """../shared/data/cmu beside the checkout, or $REALTIME3D_CMU."""
    env = os.environ.get("REALTIME3D_CMU")
    if env:
        return Path(env)
    here = Path(__file__).resolve()
    for parent in here.parents:
        cand = parent.parent / "shared" / "data" / "cmu"
        if cand.is_dir():
            return cand
    return Path.cwd().parent / "shared" / "data" / "cmu"


def default_cache_dir() -> Path:
    """Where load_split caches its arrays: $REALTIME3D_CACHE or ~/.cache/realtime3d."""
    return Path(os.environ.get("REALTIME3D_CACHE", Path.home() / ".cache" / "realtime3d"))


def load_split(split: str, root: str | os.PathLike | None = None, cache_dir: str | os.PathLike | None = None,
               progress: bool = False) -> dict[str, np.ndarray]:
    """The frames of one CMU split, converted once and cached as arrays.

    The cache is keyed by the file list and the rules (this module, io/bvh.py, skeleton.py,
    camera.py), so a change to either converts again.

    Args:
        split: "train" and "val" (at TRAIN_FPS) or "test" (every frame).
        root: the folder of subject folders; default_cmu_root() by default.
        cache_dir: default_cache_dir() by default.
        progress: show a progress bar while converting.

    Returns:
        {"joints3d": [N, 17, 3] float32 mm, camera coordinates; "clip": [N] str, each frame's
        clip name, a clip's frames contiguous and in order}.

    Raises:
        MissingDataError: no BVH file of the split under root (a UserError and a FileNotFoundError).
    """
    if split not in ("train", "val", "test"):
        raise ValueError(f"unknown split {split!r}")
    root = Path(root) if root else default_cmu_root()
    files = [f for f in cmu_files(root) if split_of(subject_of(f)) == split]
    if not files:
        raise MissingDataError(f"no CMU BVH files for split {split!r} under {root} "
                               "(put them there or set $REALTIME3D_CMU)")
    key = hashlib.sha1()
    from .. import camera, skeleton
    from ..io import bvh
    for module_file in (__file__, bvh.__file__, skeleton.__file__, camera.__file__):  # the rules
        key.update(Path(module_file).read_bytes())
    for f in files:
        key.update(f"{f.relative_to(root)}:{f.stat().st_size}".encode())
    cache = Path(cache_dir) if cache_dir else default_cache_dir()
    cache_file = cache / f"cmu-{split}-{key.hexdigest()[:12]}.npz"
    if cache_file.exists():
        with np.load(cache_file) as z:
            return {k: z[k] for k in z.files}
    iterator = files
    if progress:
        from tqdm import tqdm
        iterator = tqdm(files, desc=f"converting CMU {split}", unit="file")
    joints, clips = [], []
    for f in iterator:
        j, _ = bvh_to_h36m(f, fps=None if split == "test" else TRAIN_FPS)
        joints.append(j)
        clips += [f.stem] * len(j)
    data = {"joints3d": np.concatenate(joints), "clip": np.array(clips)}
    cache.mkdir(parents=True, exist_ok=True)
    from ..io._atomic import atomic_path
    with atomic_path(cache_file, suffix=".npz") as tmp:
        np.savez(tmp, **data)
    return data
