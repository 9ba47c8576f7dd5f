"""The files of a run: poses.npz, poses.json, poses.csv and one poses_<id>.bvh per person (docs/outputs.md).

    write_run("out/clip", PoseRun.from_frames(people, timestamps, image_size, focal, fps, "clip.mp4"))

One schema: every file has a person axis or a person id, whichever people --person kept
(all of them, the main one, or one id); PoseRun holds a run's people as arrays with that
axis. Every file is written atomically (temp file + rename); poses.npz is written last,
so its presence means the export finished. A BVH has fixed bone lengths, so each
person's exported poses are first made to have constant bones (io/bvh_retarget.py,
constant_bone_poses): every bone keeps its direction and gets the median length over
the run. Those poses are poses.npz `joints3d` (camera coordinates); the lifter's own
output is kept as `joints3d_raw`.

The same poses in a world frame that stands on the clip's floor (ground.py: Y up,
floor at y = 0, one floor fitted to everyone's feet) are `joints3d_world`, and the BVH
files hold those, so that an animation program shows the people on its ground plane.
poses.json carries both, and the floor estimate (the camera's height, pitch and roll)
under "ground".
"""
from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from .errors import UserError
from .ground import GroundFrame, estimate_ground, place_on_floor
from .io._atomic import atomic_write_text
from .io.bvh_retarget import bvh_from_poses, constant_bone_poses
from .io.poses import PoseSequence, write_poses
from .person import Person
from .skeleton import H36M17

#: The files of every run, in the order written (after the poses_<id>.bvh files, bvh_name).
OUTPUT_FILES = ("poses.json", "poses.csv", "poses.npz")


@dataclass
class PoseRun:
    """A run's people, one track per person id over the run's frames: the one run type.

    Shapes: N frames, P people (ids increasing); NaN (0 for visibility) where a person is
    not in the frame."""

    ids: np.ndarray           # [P] int: the tracker's person ids, increasing
    joints3d: np.ndarray      # [N, P, 17, 3] mm camera coordinates
    joints2d: np.ndarray      # [N, P, 17, 2] px of the source
    visibility: np.ndarray    # [N, P, 17] 0..1
    timestamps: np.ndarray    # [N] seconds
    image_size: tuple[int, int]   # (width, height) px
    focal: float              # px
    fps: float                # frames per second
    source: str               # the input video, camera or photo
    confidence: np.ndarray | None = None   # [N, P] the skeleton net's; None: a detector without one

    def __post_init__(self) -> None:
        self.ids = np.asarray(self.ids, dtype=np.int64).reshape(-1)
        self.timestamps = np.asarray(self.timestamps, dtype=np.float64)
        n, p, j = len(self.timestamps), len(self.ids), H36M17.num_joints
        if p and (np.diff(self.ids) <= 0).any():
            raise ValueError(f"PoseRun.ids must increase, got {self.ids.tolist()}")
        shapes = {"joints3d": (n, p, j, 3), "joints2d": (n, p, j, 2), "visibility": (n, p, j)}
        if self.confidence is not None:
            shapes["confidence"] = (n, p)
        for name, shape in shapes.items():
            value = np.asarray(getattr(self, name), dtype=np.float32)
            if value.shape != shape:
                raise ValueError(f"PoseRun.{name} must be {list(shape)}, got {list(value.shape)}")
            setattr(self, name, value)
        if len(self.image_size) != 2 or min(self.image_size) <= 0:
            raise ValueError(f"PoseRun.image_size must be (width, height), got {self.image_size}")
        if not (self.focal > 0 and self.fps > 0):
            raise ValueError(f"PoseRun.focal and fps must be positive, got {self.focal}, {self.fps}")
        self.image_size = (int(self.image_size[0]), int(self.image_size[1]))

    @classmethod
    def from_frames(cls, frames: Sequence[Sequence[Person]], timestamps: np.ndarray, image_size: tuple[int, int],
                    focal: float, fps: float, source: str) -> "PoseRun":
        """Each frame's people (tracking.Person, lifted), with the frames' times [N] s -> their tracks.

        confidence is kept when a detection has one (the skeleton net's)."""
        ids = np.array(sorted({p.id for people in frames for p in people}), np.int64)        # [P]
        n, j = len(timestamps), H36M17.num_joints
        j3, j2 = np.full((n, len(ids), j, 3), np.nan, np.float32), np.full((n, len(ids), j, 2), np.nan, np.float32)
        vis, conf = np.zeros((n, len(ids), j), np.float32), np.full((n, len(ids)), np.nan, np.float32)
        column = {int(pid): k for k, pid in enumerate(ids)}
        with_confidence = False
        for i, people in enumerate(frames[:n]):
            for p in people:
                k = column[p.id]
                j3[i, k], j2[i, k], vis[i, k], conf[i, k] = p.joints3d, p.joints2d, p.visibility, p.confidence
                with_confidence |= p.detection.confidence is not None
        return cls(ids, j3, j2, vis, timestamps, image_size, focal, fps, source, conf if with_confidence else None)

    @property
    def valid(self) -> np.ndarray:
        """[N, P] bool: the person has a complete 3D pose in the frame."""
        return np.isfinite(self.joints3d).all(axis=(2, 3))


def _nan_to_none(a: np.ndarray, decimals: int) -> list:
    """A float array as nested lists, rounded, with NaN as None (JSON null)."""
    a = np.round(np.asarray(a, dtype=np.float64), decimals)
    return np.where(np.isfinite(a), a, None).tolist()


#: poses.json and the JSON of `realtime3d image` (docs/outputs.md): its name and version. Version 3:
#: "person_ids", and per frame "people", a list of objects with an "id". (Version 2, the one-person
#: layout of earlier releases, is no longer written.)
JSON_FORMAT, JSON_VERSION = "realtime3d poses", 3
JSON_UNITS = {
    "joints3d_mm": "camera: x right, y down, z forward; millimetres",
    "joints3d_world_mm": "world on the floor: y up (gravity along -y), floor at y = 0; millimetres",
    "joints2d_px": "pixels of the source image: x right, y down, origin at the top-left corner",
}


def person_entry(joints3d: np.ndarray, joints2d: np.ndarray, visibility: np.ndarray,
                 world: np.ndarray | None, confidence: float | None = None) -> dict | None:
    """One person's joints for JSON ([17, 3] mm, [17, 2] px, [17]); None (null) without a pose.
    confidence: the skeleton net's, kept when given and finite (MediaPipe's runs have none)."""
    if not np.isfinite(joints3d).all():
        return None
    entry = {"joints3d_mm": _nan_to_none(joints3d, 2)}
    if world is not None:
        entry["joints3d_world_mm"] = _nan_to_none(world, 2)
    entry |= {"joints2d_px": _nan_to_none(joints2d, 2), "visibility": _nan_to_none(visibility, 4)}
    if confidence is not None and np.isfinite(confidence):
        entry["confidence"] = round(float(confidence), 4)
    return entry



def json_header(source: str, image_size: tuple[int, int], focal: float) -> dict:
    """The fields that poses.json and an image's JSON share (docs/outputs.md)."""
    return {"format": JSON_FORMAT, "version": JSON_VERSION, "source": source,
            "image_size": list(image_size), "focal_px": round(float(focal), 3), "units": JSON_UNITS,
            "joint_names": list(H36M17.joint_names), "parents": list(H36M17.parents)}


def poses_json(run: PoseRun, joints3d: np.ndarray, world: np.ndarray, ground: GroundFrame) -> str:
    """poses.json: metadata, the floor, "person_ids", and per frame "people": one entry per person in
    the frame, with its "id" (an empty list where there is nobody). joints3d, world: [N, P, 17, 3] mm."""
    valid = np.isfinite(joints3d).all(axis=(2, 3))                             # [N, P]
    frames = [{"frame": i, "time_s": round(float(run.timestamps[i]), 6),
               "people": [{"id": int(pid), **person_entry(joints3d[i, k], run.joints2d[i, k],
                                                          run.visibility[i, k], world[i, k],
                                                          None if run.confidence is None
                                                          else run.confidence[i, k])}
                          for k, pid in enumerate(run.ids) if valid[i, k]]}
              for i in range(len(joints3d))]
    doc = {**json_header(run.source, run.image_size, run.focal), "fps": run.fps,
           "person_ids": run.ids.tolist(), "ground": ground.as_dict(), "frames": frames}
    return json.dumps(doc, separators=(",", ":")) + "\n"


def poses_csv(run: PoseRun, joints3d: np.ndarray) -> str:
    """poses.csv: one row per person and frame they are in, with a `person` id column (pandas:
    df.groupby("person")); frames with nobody have no row. joints3d: [N, P, 17, 3] mm."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["frame", "time_s", "person"] + [f"{n}_{a}" for n in H36M17.joint_names for a in "xyz"])
    valid = np.isfinite(joints3d).all(axis=(2, 3))                             # [N, P]
    for i, k in zip(*np.nonzero(valid)):
        writer.writerow([i, f"{run.timestamps[i]:.6f}", int(run.ids[k])]
                        + [f"{v:.2f}" for v in joints3d[i, k].reshape(-1)])
    return buf.getvalue()


def bvh_name(person_id: int) -> str:
    """The BVH file of one person of a run."""
    return f"poses_{int(person_id)}.bvh"


# ----------------------------------------------------------------------------- all files


class NothingToExport(UserError):
    """No frame of a run holds a person kept by --person: there is no file to write. The command
    reports it in one line and exits with its own status (cli.EXIT_NOTHING_TO_EXPORT)."""


def nothing_to_export(source: str, frames: int, why: str = "no person found", note: str = "") -> NothingToExport:
    """The error of a run of `frames` frames with nobody to export; why: what was not found; note:
    why not, when known."""
    where = "in its only frame" if frames == 1 else f"in any of {frames} frames"
    return NothingToExport(f"{source}: {why} {where}{f' ({note})' if note else ''}; nothing to export")


def make_folder(path: str | os.PathLike) -> list[Path]:
    """Create the output folder path and its missing parents, and check that files can be written
    into it: the one check of an output folder, made before the work.

    Returns:
        The folders this call created, outermost first ([] when path was there): what
        remove_empty_folders may take away again.
    Raises:
        UserError: the folder cannot be created, or is not writable.
    """
    path = Path(path).absolute()
    missing = [p for p in (path, *path.parents) if not p.exists()]
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"{path}: cannot create the output folder ({exc.strerror or exc})") from None
    try:
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as exc:
        raise UserError(f"{path}: output folder is not writable ({exc.strerror or exc})") from None
    return missing[::-1]


def remove_empty_folders(created: list[Path]) -> None:
    """Remove the folders of make_folder that are still empty, innermost first; a folder that holds
    anything (the user's files, another job's outputs) stays, and so do the folders above it."""
    for folder in reversed(created):
        try:
            folder.rmdir()
        except OSError:
            return


def write_run(outdir: str | os.PathLike, run: PoseRun) -> dict[str, Path]:
    """Write poses_<id>.bvh (one per person with a pose), poses.json, poses.csv and poses.npz (last,
    with a person axis) into outdir, each atomically (docs/outputs.md). Every person's bones are made
    constant (constant_bone_poses) on their own; one floor is fitted to everyone's feet (ground.py).

    Returns:
        {file name: path}, in the order written.
    Raises:
        NothingToExport: no person has a pose; nothing is written.
        UserError: outdir cannot be written; nothing is written.
    """
    outdir = Path(outdir)
    valid = run.valid                                                          # [N, P]
    if not valid.any():
        raise nothing_to_export(run.source, len(run.timestamps))
    make_folder(outdir)
    n, p = valid.shape
    seen = [k for k in range(p) if valid[:, k].any()]                          # people with a pose
    joints3d = np.full(run.joints3d.shape, np.nan)                             # [N, P, 17, 3] mm
    for k in seen:
        joints3d[:, k] = constant_bone_poses(run.joints3d[:, k])[0]
    ground = estimate_ground(joints3d.reshape(n * p, H36M17.num_joints, 3))
    world = np.stack([place_on_floor(ground.to_world(joints3d[:, k]), run.fps) for k in range(p)], axis=1)
    paths = {}
    for k in seen:
        paths[bvh_name(run.ids[k])] = outdir / bvh_name(run.ids[k])
        bvh_from_poses(world[:, k], run.fps).write(paths[bvh_name(run.ids[k])])
    paths |= {name: outdir / name for name in OUTPUT_FILES}
    atomic_write_text(paths["poses.json"], poses_json(run, joints3d, world, ground))
    atomic_write_text(paths["poses.csv"], poses_csv(run, joints3d))
    confidence = {} if run.confidence is None else {"confidence": run.confidence}
    write_poses(paths["poses.npz"], PoseSequence(
        joints3d=joints3d.astype(np.float32), joints2d=run.joints2d, image_size=run.image_size,
        focal=run.focal, person_ids=run.ids,
        extra={**confidence, "visibility": run.visibility, "timestamps": run.timestamps,
               "fps": np.float64(run.fps), "source": np.str_(run.source),
               "ground": np.str_(json.dumps(ground.as_dict())),
               "camera_height_mm": np.float64(ground.camera_height_mm),
               "camera_pitch_deg": np.float64(ground.camera_pitch_deg),
               "joints3d_raw": run.joints3d.astype(np.float32), "joints3d_world": world.astype(np.float32)}))
    return paths
