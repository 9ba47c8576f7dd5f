"""The detector's 2D of rendered people, with no label: train 2D that looks like what the app feeds a lifter.

Renders person crops of the synthetic people (crops.CropSampler, posed by the CMU mocap of one
split), runs the app's landmark model on each as the tracker runs it on a tracked person
(CropLandmarks), and keeps what it answers: the 2D, the visibility and MediaPipe's world
landmarks. The renders' labels (their 2D, 3D, visibility) are never read: the mocap's 3D only
poses the bodies that make the images, as a sampler's random cameras only make views.

The output is pose-sequence files (realtime3d.io.poses) that a trainer reads as its own 2D
(`train.data` = the folder): joints2d [N, 17, 2] px, the detector's visibility [N, 17] (extra
"visibility") and MediaPipe's world landmarks [N, 17, 3] mm (extra "world3d"), all in one virtual
camera (VIRTUAL_SIZE, VIRTUAL_FOCAL) that every crop's view is moved into: a crop's pixels go to
normalized camera coordinates by its own camera, and from there to the virtual camera's pixels,
so the 2D is the view a 1280x720 camera of that focal length would have had.

    python -m realtime3d.render.detections --split train --out runs/detections/train --minutes 40

Writes shard-SEED-K.npz files of SHARD_SIZE detections as it goes (atomic); a run that is
stopped (Ctrl-C or SIGTERM) keeps what it detected, and one started again with another --seed
adds to them.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

#: The virtual camera that every detection's 2D is expressed in: (width, height) px and focal px.
VIRTUAL_SIZE = (1280, 720)
VIRTUAL_FOCAL = 1000.0
#: Detections per written file.
SHARD_SIZE = 500
#: Mocap frames per second kept for posing (neighbouring frames at 120 fps repeat).
POSE_FPS = 10.0


def split_poses(split: str, cmu_root: Path, fps: float = POSE_FPS) -> np.ndarray:
    """[N, 17, 3] m, render world: every frame (at fps) of the split's CMU subjects."""
    from realtime3d.data.mocap import cmu_files, split_of, subject_of
    from .actors import load_motion
    files = [f for f in cmu_files(cmu_root) if split_of(subject_of(f)) == split]
    if not files:
        raise FileNotFoundError(f"no CMU BVH files of the {split} subjects under {cmu_root}")
    return np.concatenate([load_motion(f, fps) for f in files])


def to_virtual(joints_px: np.ndarray, box: np.ndarray, size: int, frame_focal: float,
               frame_size: tuple[int, int]) -> np.ndarray:
    """A crop's 2D [J, 2] px -> the virtual camera's px: through the frame the crop is a window of.

    Args:
        joints_px: [J, 2] px in the size x size crop.
        box: [4] the crop's window (x0, y0, x1, y1) in the frame, px.
        size: the crop's side, px.
        frame_focal: the frame camera's focal, px (principal point at the frame's centre).
        frame_size: the frame's (width, height), px.
    """
    # pixel centres at integer coordinates: a crop pixel's corner -0.5 is the window's corner
    frame_px = box[:2] + (joints_px + 0.5) * ((box[2] - box[0]) / size) - 0.5
    normalized = (frame_px - np.asarray(frame_size, dtype=np.float64) / 2) / frame_focal
    return normalized * VIRTUAL_FOCAL + np.asarray(VIRTUAL_SIZE, dtype=np.float64) / 2


#: The landmark model's pose score below which its answer is "no person" (the tracker's).
MIN_SCORE = 0.5


class CropLandmarks:
    """The app's landmark model on a crop centred on a person, as the tracker runs it: first on the
    whole crop (upright), then on the ROI its own landmarks give (aligned on the body, as for a
    tracked person's next frame). detect(crop_rgb) -> Detection (2D, visibility, world3d) or None."""

    def __init__(self):
        from realtime3d.detect.blazepose.landmarks import LandmarkModel
        self.model = LandmarkModel(threads=1)

    def detect(self, crop_rgb: np.ndarray):
        from realtime3d.detect.blazepose.landmarks import roi_from_landmarks
        from realtime3d.detect.blazepose.rois import Roi
        from realtime3d.detect.blazepose.tracker import _detection
        size = crop_rgb.shape[1]
        landmarks, score, _ = self.model(crop_rgb, Roi(size / 2 - 0.5, size / 2 - 0.5, size, size, 0.0))
        if score < MIN_SCORE:
            return None
        landmarks, score, world = self.model(crop_rgb, roi_from_landmarks(landmarks, (size, size)))
        if score < MIN_SCORE:
            return None
        det = _detection(landmarks, score, size, world)
        return det if (det.visibility >= 0.5).sum() >= 6 else None


def _write(out: Path, seed: int, index: int, joints: list[np.ndarray], vis: list[np.ndarray],
           world: list[np.ndarray]) -> Path:
    from realtime3d.io.poses import PoseSequence, write_poses
    path = out / f"shard-{seed}-{index:04d}.npz"
    write_poses(path, PoseSequence(joints3d=None, joints2d=np.stack(joints).astype(np.float32),
                                   image_size=VIRTUAL_SIZE, focal=VIRTUAL_FOCAL,
                                   extra={"visibility": np.stack(vis).astype(np.float32),
                                          "world3d": np.stack(world).astype(np.float32)}))
    return path


def generate(split: str, out: Path, minutes: float, seed: int, size: int, cmu_root: Path,
             max_detections: int = 0) -> dict:
    """Render crops and keep the detector's 2D until minutes pass (or max_detections are kept).
    Returns counts and timings."""
    from tqdm import tqdm
    from .crops import CropSampler
    out.mkdir(parents=True, exist_ok=True)
    poses = split_poses(split, cmu_root)
    sampler = CropSampler(poses, size=size, seed=seed)
    frame_size = (1280, 720)
    joints, vis, world = [], [], []
    crops = shards = 0
    start = time.perf_counter()
    bar = tqdm(total=round(minutes * 60), unit="s", desc=f"detections {split}", dynamic_ncols=True, mininterval=2)
    detector = CropLandmarks()
    try:
        while time.perf_counter() - start < minutes * 60 and not (max_detections and
                                                                 shards * SHARD_SIZE + len(joints) >= max_detections):
            batch = sampler.sample(1)
            crops += 1
            det = detector.detect(batch.images[0])
            if det is not None:
                # the frame camera's focal from the crop's: the crop camera's focal is the frame's times size/side
                side = float(batch.boxes[0, 2] - batch.boxes[0, 0])
                frame_focal = float(batch.focal[0]) * side / size
                joints.append(to_virtual(det.joints2d_px, batch.boxes[0].astype(np.float64), size, frame_focal,
                                         frame_size))
                vis.append(det.visibility)
                world.append(det.world3d if det.world3d is not None else np.full((17, 3), np.nan, np.float32))
            if len(joints) == SHARD_SIZE:
                _write(out, seed, shards, joints, vis, world)
                shards += 1
                joints, vis, world = [], [], []
            bar.update(min(round(time.perf_counter() - start), bar.total) - bar.n)
    finally:                        # stopped or done: what was detected is kept
        bar.close()
        if joints:
            _write(out, seed, shards, joints, vis, world)
    kept = shards * SHARD_SIZE + len(joints)
    return {"crops": crops, "detections": kept, "seconds": round(time.perf_counter() - start, 1)}


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    import signal
    from realtime3d.data.mocap import default_cmu_root
    from realtime3d.native_logs import quiet_native_logs
    ap = argparse.ArgumentParser(prog="python -m realtime3d.render.detections", description=__doc__.splitlines()[0])
    ap.add_argument("--split", choices=("train", "val", "test"), default="train",
                    help="whose mocap poses the rendered people (default: %(default)s)")
    ap.add_argument("--out", type=Path, required=True, help="folder of the pose-sequence shards (made if missing)")
    ap.add_argument("--minutes", type=float, default=10.0, help="how long to render and detect (default: %(default)s)")
    ap.add_argument("--max-detections", type=int, default=0, help="stop after this many detections (0: no limit)")
    ap.add_argument("--seed", type=int, default=0, help="the renders' seed; also names the shards (default: %(default)s)")
    ap.add_argument("--size", type=int, default=256, help="crop side, px (default: %(default)s)")
    ap.add_argument("--cmu", type=Path, default=None, help="the CMU BVH folder (default: ../shared/data/cmu)")
    args = ap.parse_args(argv)
    quiet_native_logs()
    signal.signal(signal.SIGTERM, _interrupt)       # a killed run keeps its detections, as an interrupted one
    try:
        stats = generate(args.split, args.out, args.minutes, args.seed, args.size, args.cmu or default_cmu_root(),
                         args.max_detections)
    except (FileNotFoundError, ValueError) as exc:
        print(f"detections: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("detections: stopped; the shards written so far are kept", file=sys.stderr)
        return 130
    print(f"detections: {stats['detections']} of {stats['crops']} crops in {stats['seconds']} s -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
