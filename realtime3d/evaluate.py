"""The evaluation protocol behind `realtime3d eval`.

A data set is a pose-sequence file (io/poses.py) or "cmu-test". When it holds
joints2d in pixels with image_size and focal, those pixels go through Lifter.lift,
exactly as a user's detections do. Otherwise each frame gets a seeded random
camera (RANDOM_CAMERA below) and the GT 3D is projected through it to pixels,
which then take the same path. Every method is scored on the same frames, with
the metrics of metrics.py (METRICS): P-MPJPE and MPJPE; PCK@150 and AUC root-relative
(MPI-INF-3DHP's standard form); PA-PCK@150 and PA-AUC after the Procrustes alignment.
Each method's block also says whether its lifter averages in the mirrored pose
(flip_average, lifting.py): the shipped drover and supervised models do, drover-live
(distilled from that average) lifts in one pass.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .camera import normalized_to_pixels, perspective_project
from .data.views import random_rotations
from .errors import UserError
from .io.poses import PoseSequence, read_poses
from .lifting import MIN_VISIBLE_JOINTS, Lifter
from .metrics import METRIC_KEYS, all_metrics
from .models import ConstantDepthNetwork
from .skeleton import H36M17

#: The metrics of every method block, in table order (metrics.py defines each).
METRICS = METRIC_KEYS


@dataclass(frozen=True)
class RandomCamera:
    """The seeded cameras used when a data set has no 2D: a 1280x720 image, f = 1000 px,
    azimuth 0-360 deg and elevation 0-20 deg (Drover's ranges), the root on the optical
    axis at a depth drawn uniformly from 4-8 m."""

    image_size: tuple[int, int] = (1280, 720)
    focal: float = 1000.0
    depth_mm: tuple[float, float] = (4000.0, 8000.0)


RANDOM_CAMERA = RandomCamera()


def load_dataset(spec: str) -> tuple[str, PoseSequence]:
    """Load what `realtime3d eval --data` names.

    Args:
        spec: "cmu-test" (mocap.load_split("test")), a CMU-dialect .bvh, or a pose-sequence
            file (io/poses.py).

    Returns:
        (the data set's name, its PoseSequence: joints3d [N, 17, 3] mm, and joints2d [N, 17, 2]
        px with image_size and focal where the file has them).

    Raises:
        UserError: the CMU files are missing, or the file is missing or malformed.
    """
    if spec == "cmu-test":
        from .data.mocap import TEST_FPS, load_split
        data = load_split("test", progress=True)
        return "cmu-test", PoseSequence(data["joints3d"], clip=data["clip"], extra={"fps": TEST_FPS})
    if spec.lower().endswith(".bvh"):
        from pathlib import Path

        from .data.mocap import bvh_to_h36m
        joints, _ = bvh_to_h36m(spec)
        return spec, PoseSequence(joints, clip=np.array([Path(spec).stem] * len(joints)))
    return spec, read_poses(spec)


#: Passes over every clip under the per-clip cameras (with_clip_cameras), each through its own camera.
CLIP_CAMERA_PASSES = 4


def with_random_cameras(seq: PoseSequence, seed: int, cam: RandomCamera = RANDOM_CAMERA) -> PoseSequence:
    """Give every frame a seeded random camera (RandomCamera's ranges).

    Args:
        seq: joints3d [N, 17, 3] mm.
        seed: the cameras' seed.
        cam: the ranges drawn from.

    Returns:
        A PoseSequence with joints3d [N, 17, 3] mm in each frame's camera, joints2d [N, 17, 2]
        px, cam.image_size and cam.focal, and seq's clips.
    """
    return _through_cameras(seq, seed, np.arange(seq.num_frames), cam)


def with_clip_cameras(seq: PoseSequence, seed: int, passes: int = CLIP_CAMERA_PASSES,
                      cam: RandomCamera = RANDOM_CAMERA) -> PoseSequence:
    """Every clip seen whole by still cameras: `passes` copies of seq, in each of which every clip has
    one seeded random camera (RandomCamera's ranges) for all its frames, as a person filmed by a still
    camera; the protocol for lifters that read a track (the same cameras for every model of a run).

    Returns:
        A PoseSequence of passes x N frames: joints3d [passes * N, 17, 3] mm, joints2d px, clips named
        "CLIP#k" for pass k, and seq's other extras (its fps).
    """
    clips = np.asarray(seq.clip if seq.clip is not None else ["all"] * seq.num_frames).astype(str)
    names = np.concatenate([np.char.add(clips, f"#{k}") for k in range(passes)])
    camera_of = np.unique(names, return_inverse=True)[1]                                 # [passes * N]
    tiled = PoseSequence(np.tile(seq.joints3d, (passes, 1, 1)), clip=names, extra=seq.extra)
    return _through_cameras(tiled, seed, camera_of, cam)


def _through_cameras(seq: PoseSequence, seed: int, camera_of: np.ndarray, cam: RandomCamera) -> PoseSequence:
    """seq's joints3d through seeded random cameras, camera camera_of[i] for frame i."""
    gen = torch.Generator().manual_seed(seed)
    j3 = torch.from_numpy(seq.joints3d).double()
    n = int(camera_of.max()) + 1 if len(camera_of) else 0
    which = torch.from_numpy(np.asarray(camera_of, dtype=np.int64))
    rot = random_rotations(n, gen).double()[which]
    depth = (cam.depth_mm[0] + torch.rand(n, generator=gen, dtype=torch.float64)
             * (cam.depth_mm[1] - cam.depth_mm[0]))[which]
    root = H36M17.root
    cam3d = (j3 - j3[:, root:root + 1]) @ rot.transpose(-1, -2)
    cam3d[..., 2] += depth[:, None]
    px = normalized_to_pixels(perspective_project(cam3d, min_z=1e-6), cam.image_size, cam.focal)
    return PoseSequence(cam3d.float().numpy(), px.float().numpy(), cam.image_size, cam.focal, seq.clip, extra=seq.extra)


def drop_mask(num_frames: int, k: int, seed: int) -> np.ndarray | None:
    """Visibility [N, 17] float32 (0 hidden, 1 visible) with k random joints hidden per frame
    (seeded), or None for k = 0. k must leave MIN_VISIBLE_JOINTS visible (the CLI checks it)."""
    if k <= 0:
        return None
    if k > H36M17.num_joints - MIN_VISIBLE_JOINTS:
        raise ValueError(f"--drop-joints must be at most {H36M17.num_joints - MIN_VISIBLE_JOINTS}, got {k}")
    rng = np.random.default_rng(seed + 1)
    ranks = rng.random((num_frames, H36M17.num_joints)).argsort(1).argsort(1)
    return (ranks >= k).astype(np.float32)


def constant_depth() -> Lifter:
    """Drover's trivial baseline, which has no weights."""
    return Lifter(ConstantDepthNetwork(), name="constant_depth")


def baselines() -> dict[str, Lifter]:
    """The methods every evaluation also scores: constant_depth and the shipped supervised lifter."""
    return {"constant_depth": constant_depth(), "supervised": Lifter.from_pretrained("supervised")}


def evaluate(seq: PoseSequence, methods: dict[str, Lifter], drop_joints: int = 0, seed: int = 0,
             clip_cameras: bool | None = None) -> dict:
    """Score every method on the same frames.

    Args:
        seq: joints3d [N, 17, 3] mm ground truth; joints2d [N, 17, 2] px with image_size and
            focal, or none (then with_random_cameras(seq, seed) makes them, or with_clip_cameras
            with clip_cameras); an optional extra["visibility"] [N, 17].
        methods: name -> Lifter.
        drop_joints: joints hidden at random per frame (drop_mask).
        seed: the seed of the cameras and of the hidden joints.
        clip_cameras: for data without 2D, a still camera per clip (with_clip_cameras) instead of
            one per frame; None: when a method reads tracks (a temporal lifter), so that all of them
            see the same still cameras.

    Returns:
        {"frames": scored frames, "cameras": "per frame" or "per clip", "per_clip": {clip: {"frames", method: {metric: mean}}},
        method: {metric: mean over the frames it lifted (METRICS), "lifted_frames",
        "flip_average"}}; errors in mm, PCK and AUC as fractions.

    Raises:
        UserError: the data's visibility has the wrong shape, no frame has finite 3D, or a
            method can lift no frame.
    """
    cameras = None
    if seq.joints2d is None:
        if clip_cameras is None:
            clip_cameras = any(getattr(m, "temporal", False) for m in methods.values())
        seq = with_clip_cameras(seq, seed) if clip_cameras else with_random_cameras(seq, seed)
        cameras = "per clip" if clip_cameras else "per frame"
    visibility = drop_mask(seq.num_frames, drop_joints, seed)
    if seq.extra and "visibility" in seq.extra:  # the file's own per-joint visibility
        given = np.asarray(seq.extra["visibility"], dtype=np.float32)
        if given.shape != (seq.num_frames, H36M17.num_joints):
            raise UserError(f"visibility must be [N, {H36M17.num_joints}], got {list(given.shape)}")
        visibility = given if visibility is None else visibility * given
    gt = seq.joints3d
    valid = np.isfinite(gt).all(axis=(1, 2))
    if not valid.any():
        raise UserError("no frame has a finite joints3d")
    clips = seq.clip if seq.clip is not None else np.array(["all"] * seq.num_frames)
    result: dict = {"frames": int(valid.sum()), "cameras": cameras or "the data's own", "per_clip": {}}
    for name, lifter in methods.items():
        pred = lift_frames(lifter, seq, clips, visibility)
        lifted = valid & np.isfinite(pred).all(axis=(1, 2))
        if not lifted.any():
            raise UserError(f"{name}: no frame could be lifted (too few visible, finite 2D joints)")
        per_frame = all_metrics(pred[lifted], gt[lifted])
        result[name] = {m: float(per_frame[m].mean()) for m in METRICS}
        result[name]["lifted_frames"] = int(lifted.sum())
        result[name]["flip_average"] = bool(getattr(lifter, "flip_average", False))
        for clip in np.unique(clips[lifted]):
            sel = clips[lifted] == clip
            row = result["per_clip"].setdefault(str(clip), {"frames": int(sel.sum())})
            row[name] = {m: float(per_frame[m][sel].mean()) for m in METRICS}
    return result


#: The frame rate a temporal lifter's tracks are given at (its training's: the mocap at 30 fps).
TEMPORAL_FPS = 30.0


def lift_frames(lifter, seq: PoseSequence, clips: np.ndarray, visibility: np.ndarray | None) -> np.ndarray:
    """Every frame of seq lifted [N, 17, 3] mm. A temporal lifter (Lifter.temporal) lifts each clip's
    frames as tracks at TEMPORAL_FPS: a file at k x that rate (its extra["fps"]; frames without one
    are taken to be at TEMPORAL_FPS) is lifted as k interleaved tracks (frames 0, k, 2k, ...; 1, k + 1,
    ...), so every frame is scored, each seeing its clip at the rate the lifter learned; a track's
    first and last frames see its end frames repeated (models/temporal.py)."""
    if not getattr(lifter, "temporal", False):
        return lifter.lift(seq.joints2d, seq.image_size, seq.focal, visibility)
    fps = float((seq.extra or {}).get("fps", TEMPORAL_FPS))
    stride = max(1, int(round(fps / TEMPORAL_FPS)))
    out = np.full(seq.joints2d.shape[:2] + (3,), np.nan, dtype=np.float32)
    for clip in np.unique(clips):
        frames = np.flatnonzero(clips == clip)
        for phase in range(stride):
            sub = frames[phase::stride]
            out[sub] = lifter.lift_sequence(seq.joints2d[sub], seq.image_size, seq.focal,
                                            None if visibility is None else visibility[sub])
    return out


def format_table(result: dict, methods: list[str]) -> str:
    """Per-clip P-MPJPE for every method, then every metric overall.

    PCK@150 and AUC are root-relative (MPI-INF-3DHP's form), PA-PCK@150 and PA-AUC
    Procrustes-aligned; "lift" says whether the method averages in the mirrored pose."""
    width = max([len(c) for c in result["per_clip"]] + [8])
    head = f"{'clip':<{width}} {'frames':>7} " + " ".join(f"{m[:14]:>14}" for m in methods)
    lines = ["P-MPJPE (mm) per clip", head, "-" * len(head)]
    for clip, row in sorted(result["per_clip"].items()):
        cells = " ".join(f"{row[m]['p_mpjpe_mm']:14.1f}" if m in row else f"{'-':>14}" for m in methods)
        lines.append(f"{clip:<{width}} {row['frames']:7d} {cells}")
    mw = max([len(m) for m in methods] + [16])
    lines += ["", f"overall ({result['frames']} frames; PCK/AUC root-relative, PA-: after Procrustes alignment)",
              f"{'method':<{mw}} {'P-MPJPE mm':>11} {'MPJPE mm':>9} {'PCK@150':>8} {'AUC':>6} "
              f"{'PA-PCK@150':>11} {'PA-AUC':>7} {'lift':>9}"]
    for m in methods:
        r = result[m]
        lift = "flip-avg" if r.get("flip_average") else "one pass"
        lines.append(f"{m:<{mw}} {r['p_mpjpe_mm']:11.1f} {r['mpjpe_mm']:9.1f} {r['pck150']:8.3f} {r['auc']:6.3f} "
                     f"{r['pa_pck150']:11.3f} {r['pa_auc']:7.3f} {lift:>9}")
    return "\n".join(lines)


def as_json(result: dict, model_name: str, data_name: str, drop_joints: int, seed: int) -> dict:
    """The JSON layout of `realtime3d eval --json`."""
    return {
        "data": data_name,
        "frames": result["frames"],
        "drop_joints": drop_joints,
        "seed": seed,
        "model": {"name": model_name, **result["model"]},
        "baselines": {k: result[k] for k in ("constant_depth", "supervised") if k in result},
        "per_clip": result["per_clip"],
    }


__all__ = ["METRICS", "RANDOM_CAMERA", "load_dataset", "evaluate", "format_table", "as_json", "baselines",
           "with_random_cameras", "with_clip_cameras"]
