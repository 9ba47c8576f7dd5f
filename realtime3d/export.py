"""The files of an offline run: poses.npz, poses.json, poses.csv and poses.bvh (docs/outputs.md).

A run that keeps one person (--person largest or ID) writes them for that person
(write_outputs, RunResult); a run that keeps every person (--person all, the default)
writes poses.npz/json/csv with a person axis or id, and one poses_<id>.bvh per person
(write_people_outputs, PeopleRunResult).

Every file is written atomically (temp file + rename); poses.npz is written last, so
its presence means the export finished. The lifter's bone lengths vary from frame to
frame, and a BVH has fixed bone lengths, so the exported poses are first made to
have constant bones (constant_bone_poses): every bone keeps its direction and gets
the median length over the run. Those poses are poses.npz `joints3d` (camera
coordinates); the lifter's own output is kept as `joints3d_raw`.

The same poses in a world frame that stands on the clip's floor (ground.py: Y up,
floor at y = 0) are `joints3d_world`, and poses.bvh holds those, so that an animation
program shows the person on its ground plane. poses.json carries both, and the floor
estimate (the camera's height, pitch and roll) under "ground".
"""
from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.spatial.transform import Rotation

from .errors import UserError
from .ground import GroundFrame, estimate_ground, place_on_floor
from .io._atomic import atomic_write_text
from .io.bvh import write_bvh
from .io.poses import PoseSequence, write_poses
from .skeleton import H36M17

OUTPUT_FILES = ("poses.bvh", "poses.json", "poses.csv", "poses.npz")  # in the order written

#: poses.bvh is in metres, so Blender imports the person at true size with its defaults.
BVH_UNIT_MM = 1000.0
#: Length of the End Site stub after each leaf joint (wrists, ankles, head top), in mm:
#: Blender makes a bone of it; it is not data.
END_SITE_MM = 50.0

# The BVH rest pose (a T-pose, Y up, facing +Z, the person's left on +X): each joint's
# direction from its parent.
_LEFT, _RIGHT, _UP, _DOWN = (1.0, 0.0, 0.0), (-1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, -1.0, 0.0)
_REST_DIRECTION = {
    "right_hip": _RIGHT, "right_knee": _DOWN, "right_ankle": _DOWN,
    "left_hip": _LEFT, "left_knee": _DOWN, "left_ankle": _DOWN,
    "spine": _UP, "thorax": _UP, "head": _UP, "head_top": _UP,
    "left_shoulder": _LEFT, "left_elbow": _LEFT, "left_wrist": _LEFT,
    "right_shoulder": _RIGHT, "right_elbow": _RIGHT, "right_wrist": _RIGHT,
}
# Joints with several children get a rotation of their own from a body frame:
# x from the right to the left child, y towards the child that continues the trunk.
_BODY_FRAME = {"pelvis": ("right_hip", "left_hip", "spine"),
               "thorax": ("right_shoulder", "left_shoulder", "head")}


@dataclass
class RunResult:
    """What an offline run produced, frame by frame."""

    joints3d: np.ndarray      # [N, 17, 3] mm camera coordinates, NaN rows where no person
    joints2d: np.ndarray      # [N, 17, 2] px, NaN rows where no person
    visibility: np.ndarray    # [N, 17] 0..1 (0 where no person)
    timestamps: np.ndarray    # [N] seconds
    image_size: tuple[int, int]  # (width, height) px
    focal: float              # px
    fps: float
    source: str               # the input video
    confidence: np.ndarray | None = None   # [N] the skeleton net's confidence, NaN where no person; None: MediaPipe

    def __post_init__(self) -> None:
        self.joints3d = np.asarray(self.joints3d, dtype=np.float32)
        self.joints2d = np.asarray(self.joints2d, dtype=np.float32)
        self.visibility = np.asarray(self.visibility, dtype=np.float32)
        self.timestamps = np.asarray(self.timestamps, dtype=np.float64)
        n, j = len(self.joints3d), H36M17.num_joints
        for name, shape in (("joints3d", (n, j, 3)), ("joints2d", (n, j, 2)),
                            ("visibility", (n, j)), ("timestamps", (n,))):
            if getattr(self, name).shape != shape:
                raise ValueError(f"RunResult.{name} must be {list(shape)}, got {list(getattr(self, name).shape)}")
        if self.confidence is not None:
            self.confidence = np.asarray(self.confidence, dtype=np.float32)
            if self.confidence.shape != (n,):
                raise ValueError(f"RunResult.confidence must be [{n}], got {list(self.confidence.shape)}")
        if len(self.image_size) != 2 or min(self.image_size) <= 0:
            raise ValueError(f"RunResult.image_size must be (width, height), got {self.image_size}")
        if not (self.focal > 0 and self.fps > 0):
            raise ValueError(f"RunResult.focal and fps must be positive, got {self.focal}, {self.fps}")
        self.image_size = (int(self.image_size[0]), int(self.image_size[1]))

    @property
    def valid(self) -> np.ndarray:
        """[N] bool: frames with a complete 3D pose."""
        return np.isfinite(self.joints3d).all(axis=(1, 2))


# ----------------------------------------------------------------------------- constant bones


def constant_bone_poses(joints3d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Poses [N, 17, 3] -> (the same poses with every bone at its median length, lengths [16]).

    Root-out: the root stays, each bone keeps its direction and gets the median of its
    length over the frames where the pose is complete. Other frames stay NaN.
    """
    joints3d = np.asarray(joints3d, dtype=np.float64)
    if joints3d.ndim != 3 or joints3d.shape[1:] != (H36M17.num_joints, 3):
        raise ValueError(f"poses must be [N, {H36M17.num_joints}, 3], got {list(joints3d.shape)}")
    valid = np.isfinite(joints3d).all(axis=(1, 2))                            # [N]
    if not valid.any():
        raise ValueError("no frame holds a complete pose")
    parents = [p for p, _ in H36M17.bones]
    children = [c for _, c in H36M17.bones]
    vectors = joints3d[valid][:, children] - joints3d[valid][:, parents]       # [V, 16, 3]
    lengths = np.median(np.linalg.norm(vectors, axis=-1), axis=0)              # [16]
    out = np.full_like(joints3d, np.nan)
    src = joints3d[valid]
    dst = np.empty_like(src)
    dst[:, H36M17.root] = src[:, H36M17.root]
    for (p, c), length in zip(H36M17.bones, lengths):  # parents precede children
        d = src[:, c] - src[:, p]
        dst[:, c] = dst[:, p] + length * d / np.linalg.norm(d, axis=-1, keepdims=True).clip(min=1e-9)
    out[valid] = dst
    return out, lengths


# ----------------------------------------------------------------------------- BVH


@dataclass
class BVHAnimation:
    """The arguments of realtime3d.io.bvh.write_bvh for a pose sequence (units: metres)."""

    names: list[str]
    parents: list[int]
    offsets: np.ndarray          # [B, 3] rest offsets from the parent
    root_positions: np.ndarray   # [F, 3]
    local_rotations: np.ndarray  # [F, B, 3, 3]
    frame_time: float
    end_sites: dict[int, np.ndarray]

    def write(self, path: str | os.PathLike) -> None:
        write_bvh(path, self.names, self.parents, self.offsets, self.root_positions,
                  self.local_rotations, self.frame_time, self.end_sites)


def world_to_bvh(points_mm: np.ndarray) -> np.ndarray:
    """World coordinates in mm (Y up, ground.py) -> BVH metres (the same axes)."""
    return np.asarray(points_mm, dtype=np.float64) / BVH_UNIT_MM


def bvh_to_world(points: np.ndarray) -> np.ndarray:
    """The inverse of world_to_bvh: BVH metres -> world coordinates in mm."""
    return np.asarray(points, dtype=np.float64) * BVH_UNIT_MM


def _bvh_joints() -> tuple[list[str], list[int], list[int | None], list[int | None]]:
    """The BVH hierarchy: the 17 joints plus a zero-offset branch joint per child of a
    joint with several children, so that every bone has a rotation of its own.

    Returns names, parents (BVH indices), the 17-joint index of each BVH joint (None
    for a branch) and the 17-joint index of the bone end each BVH joint's rotation aims.
    """
    children = {j: [c for c in range(H36M17.num_joints) if H36M17.parents[c] == j]
                for j in range(H36M17.num_joints)}
    names: list[str] = []
    parents: list[int] = []
    joint_of: list[int | None] = []
    aims: list[int | None] = []

    def add(name: str, parent: int, joint: int | None, aim: int | None) -> int:
        names.append(name)
        parents.append(parent)
        joint_of.append(joint)
        aims.append(aim)
        return len(names) - 1

    def visit(j: int, parent: int) -> None:
        kids = children[j]
        b = add(H36M17.joint_names[j], parent, j, kids[0] if len(kids) == 1 else None)
        for c in kids:
            if len(kids) == 1:
                visit(c, b)
            else:
                branch = add(f"{H36M17.joint_names[j]}_to_{H36M17.joint_names[c]}", b, None, c)
                visit(c, branch)

    visit(H36M17.root, -1)
    return names, parents, joint_of, aims


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=-1, keepdims=True).clip(min=1e-12)


def _body_frame(right: np.ndarray, left: np.ndarray, up: np.ndarray) -> np.ndarray:
    """Rotations [F, 3, 3] whose x axis points right -> left and y axis (made orthogonal) up."""
    x = _unit(left - right)
    y = _unit(up - np.sum(up * x, axis=-1, keepdims=True) * x)
    return np.stack([x, y, np.cross(x, y)], axis=-1)


def _shortest_rotation(u: np.ndarray, w: np.ndarray) -> np.ndarray:
    """The smallest rotations [F, 3, 3] turning the unit vector u [3] onto unit vectors w [F, 3]."""
    axis = np.cross(u, w)                                                      # [F, 3]
    sin, cos = np.linalg.norm(axis, axis=-1), w @ u                            # [F]
    any_perpendicular = _unit(np.cross(u, [0.0, 0.0, 1.0] if abs(u[2]) < 0.9 else [1.0, 0.0, 0.0]))
    axis = np.where(sin[:, None] > 1e-12, axis / sin.clip(min=1e-12)[:, None], any_perpendicular)
    return Rotation.from_rotvec(axis * np.arctan2(sin, cos)[:, None]).as_matrix()


def bvh_from_poses(joints_world: np.ndarray, fps: float) -> BVHAnimation:
    """Poses [N, 17, 3] mm in a Y-up world (ground.py) -> a BVH animation with rotations.

    The poses are first given constant bones (constant_bone_poses); the BVH then
    reproduces exactly those poses. Frames without a complete pose hold the last
    complete one (the first complete one before it). Y up, metres.
    """
    if not fps > 0:
        raise ValueError(f"fps must be positive, got {fps}")
    poses, lengths = constant_bone_poses(joints_world)
    valid = np.isfinite(poses).all(axis=(1, 2))
    held = np.maximum.accumulate(np.where(valid, np.arange(len(poses)), -1))   # last valid frame
    held[held < 0] = np.argmax(valid)
    pos = world_to_bvh(poses[held])                                            # [F, 17, 3] m
    bone_length = {c: lengths[k] / BVH_UNIT_MM for k, (_, c) in enumerate(H36M17.bones)}

    names, parents, joint_of, aims = _bvh_joints()
    num_frames, num_bvh = len(pos), len(names)
    offsets = np.zeros((num_bvh, 3))
    local = np.zeros((num_frames, num_bvh, 3, 3))
    world = np.zeros((num_frames, num_bvh, 3, 3))
    end_sites = {}
    idx = H36M17.index
    for b, (parent, j, aim) in enumerate(zip(parents, joint_of, aims)):
        if j is not None and parent >= 0:
            offsets[b] = np.array(_REST_DIRECTION[H36M17.joint_names[j]]) * bone_length[j]
        parent_world = world[:, parent] if parent >= 0 else np.broadcast_to(np.eye(3), (num_frames, 3, 3))
        if aim is not None:       # this joint's rotation aims its one bone
            rest = np.array(_REST_DIRECTION[H36M17.joint_names[aim]])
            start = pos[:, H36M17.parents[aim]]
            target = np.einsum("fji,fj->fi", parent_world, _unit(pos[:, aim] - start))
            local[:, b] = _shortest_rotation(rest, target)
        elif j is not None and H36M17.joint_names[j] in _BODY_FRAME:  # several children
            right, left, up = (idx[n] for n in _BODY_FRAME[H36M17.joint_names[j]])
            frame = _body_frame(pos[:, right], pos[:, left], pos[:, up] - pos[:, j])
            local[:, b] = np.swapaxes(parent_world, -1, -2) @ frame
        else:                     # a leaf: it follows its parent
            local[:, b] = np.eye(3)
            end_sites[b] = np.array(_REST_DIRECTION[H36M17.joint_names[j]]) * END_SITE_MM / BVH_UNIT_MM
        world[:, b] = parent_world @ local[:, b]
    return BVHAnimation(names, parents, offsets, pos[:, H36M17.root], local, 1.0 / fps, end_sites)


# ----------------------------------------------------------------------------- JSON and CSV


def _nan_to_none(a: np.ndarray, decimals: int) -> list:
    """A float array as nested lists, rounded, with NaN as None (JSON null)."""
    a = np.round(np.asarray(a, dtype=np.float64), decimals)
    return np.where(np.isfinite(a), a, None).tolist()


#: poses.json and the JSON of `realtime3d image` (docs/outputs.md): its name and version (2: one
#: person, "person" an object or null; 3: many people, "people" a list of objects with an "id").
JSON_FORMAT, JSON_VERSION, JSON_VERSION_PEOPLE = "realtime3d poses", 2, 3
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


def json_header(source: str, image_size: tuple[int, int], focal: float, people: bool = False) -> dict:
    """The fields that poses.json and an image's JSON share (docs/outputs.md); people: the many-people schema."""
    return {"format": JSON_FORMAT, "version": JSON_VERSION_PEOPLE if people else JSON_VERSION, "source": source,
            "image_size": list(image_size), "focal_px": round(float(focal), 3), "units": JSON_UNITS,
            "joint_names": list(H36M17.joint_names), "parents": list(H36M17.parents)}


def poses_json(result: RunResult, joints3d: np.ndarray, world: np.ndarray, ground: GroundFrame) -> str:
    """poses.json: metadata, the floor, and one entry per frame ("person": null where there is none)."""
    frames = [{"frame": i, "time_s": round(float(result.timestamps[i]), 6),
               "person": person_entry(joints3d[i], result.joints2d[i], result.visibility[i], world[i],
                                      None if result.confidence is None else result.confidence[i])}
              for i in range(len(joints3d))]
    doc = {**json_header(result.source, result.image_size, result.focal), "fps": result.fps,
           "ground": ground.as_dict(), "frames": frames}
    return json.dumps(doc, separators=(",", ":")) + "\n"


def poses_csv(result: RunResult, joints3d: np.ndarray) -> str:
    """poses.csv: one row per frame, FreeMoCap's layout (<joint>_x, _y, _z), empty where no person."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["frame", "time_s"] + [f"{n}_{a}" for n in H36M17.joint_names for a in "xyz"])
    for i, pose in enumerate(joints3d):
        values = ["" if not np.isfinite(v) else f"{v:.2f}" for v in pose.reshape(-1)]
        writer.writerow([i, f"{result.timestamps[i]:.6f}"] + values)
    return buf.getvalue()


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
    """Create the folder path and its missing parents.

    Returns:
        The folders this call created, outermost first ([] when path was there): what
        remove_empty_folders may take away again.
    Raises:
        OSError: as os.makedirs raises it.
    """
    path = Path(path).absolute()
    missing = [p for p in (path, *path.parents) if not p.exists()]
    path.mkdir(parents=True, exist_ok=True)
    return missing[::-1]


def remove_empty_folders(created: list[Path]) -> None:
    """Remove the folders of make_folder that are still empty, innermost first; a folder that holds
    anything (the user's files, another job's outputs) stays, and so do the folders above it."""
    for folder in reversed(created):
        try:
            folder.rmdir()
        except OSError:
            return


def _check_writable(outdir: Path) -> None:
    try:
        outdir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=outdir):
            pass
    except OSError as exc:
        raise UserError(f"{outdir}: output folder is not writable ({exc.strerror or exc})") from None


def write_outputs(outdir: str | os.PathLike, result: RunResult) -> dict[str, Path]:
    """Write poses.bvh, poses.json, poses.csv and poses.npz (last) into outdir, each atomically.

    Returns {file name: path}. Raises NothingToExport (a ValueError) when no frame has a person
    and PermissionError when outdir cannot be written; nothing is written then.
    """
    outdir = Path(outdir)
    if not result.valid.any():
        raise nothing_to_export(result.source, len(result.joints3d))
    _check_writable(outdir)
    joints3d, _ = constant_bone_poses(result.joints3d)
    ground = estimate_ground(joints3d)
    world = place_on_floor(ground.to_world(joints3d), result.fps)                  # [N, 17, 3] mm, Y up
    paths = {name: outdir / name for name in OUTPUT_FILES}
    bvh_from_poses(world, result.fps).write(paths["poses.bvh"])
    atomic_write_text(paths["poses.json"], poses_json(result, joints3d, world, ground))
    atomic_write_text(paths["poses.csv"], poses_csv(result, joints3d))
    write_poses(paths["poses.npz"], PoseSequence(
        joints3d=joints3d.astype(np.float32), joints2d=result.joints2d, image_size=result.image_size,
        focal=result.focal,
        extra={**_common_npz(result, ground), "joints3d_raw": result.joints3d.astype(np.float32),
               "joints3d_world": world.astype(np.float32)}))
    return paths


def _common_npz(result: "RunResult | PeopleRunResult", ground: GroundFrame) -> dict[str, np.ndarray]:
    """The arrays of poses.npz beside the poses: visibility, time, source, the floor (and the confidence)."""
    confidence = {} if result.confidence is None else {"confidence": result.confidence}
    return {**confidence, "visibility": result.visibility, "timestamps": result.timestamps,
            "fps": np.float64(result.fps), "source": np.str_(result.source),
            "ground": np.str_(json.dumps(ground.as_dict())),
            "camera_height_mm": np.float64(ground.camera_height_mm),
            "camera_pitch_deg": np.float64(ground.camera_pitch_deg)}


# ----------------------------------------------------------------------------- many people


@dataclass
class PeopleRunResult:
    """What a run that kept every person produced: one track per person id over the run's frames."""

    ids: np.ndarray           # [P] int: the tracker's person ids, increasing
    joints3d: np.ndarray      # [N, P, 17, 3] mm camera coordinates, NaN where the person is not in the frame
    joints2d: np.ndarray      # [N, P, 17, 2] px, NaN where the person is not in the frame
    visibility: np.ndarray    # [N, P, 17] 0..1 (0 where the person is not in the frame)
    timestamps: np.ndarray    # [N] seconds
    image_size: tuple[int, int]
    focal: float
    fps: float
    source: str
    confidence: np.ndarray | None = None   # [N, P] the skeleton net's, NaN where absent; None: MediaPipe

    def __post_init__(self) -> None:
        self.ids = np.asarray(self.ids, dtype=np.int64).reshape(-1)
        n, p = len(np.asarray(self.timestamps)), len(self.ids)
        if p and (np.diff(self.ids) <= 0).any():
            raise ValueError(f"PeopleRunResult.ids must increase, got {self.ids.tolist()}")
        for name, shape in (("joints3d", (n, p, H36M17.num_joints, 3)), ("joints2d", (n, p, H36M17.num_joints, 2)),
                            ("visibility", (n, p, H36M17.num_joints))):
            value = np.asarray(getattr(self, name), dtype=np.float32)
            if value.shape != shape:
                raise ValueError(f"PeopleRunResult.{name} must be {list(shape)}, got {list(value.shape)}")
            setattr(self, name, value)
        if self.confidence is not None:
            self.confidence = np.asarray(self.confidence, dtype=np.float32)
            if self.confidence.shape != (n, p):
                raise ValueError(f"PeopleRunResult.confidence must be [{n}, {p}], got {list(self.confidence.shape)}")

    @property
    def valid(self) -> np.ndarray:
        """[N, P] bool: the person has a complete 3D pose in the frame."""
        return np.isfinite(self.joints3d).all(axis=(2, 3))


def people_from_rows(frame: np.ndarray, person: np.ndarray, joints3d: np.ndarray, joints2d: np.ndarray,
                     visibility: np.ndarray, timestamps: np.ndarray, image_size: tuple[int, int], focal: float,
                     fps: float, source: str, confidence: np.ndarray | None = None,
                     ids: np.ndarray | None = None) -> PeopleRunResult:
    """One row per person and frame (frame index [M], person id [M], [M, 17, 3], [M, 17, 2], [M, 17],
    confidence [M]) over N = len(timestamps) frames -> the PeopleRunResult of their tracks; ids: the
    columns (default: every id of the rows, increasing)."""
    ids = np.unique(np.asarray(person, dtype=np.int64)) if ids is None else np.asarray(ids, np.int64)   # [P]
    n, p, j = len(timestamps), len(ids), H36M17.num_joints
    column = np.searchsorted(ids, person)
    j3, j2 = np.full((n, p, j, 3), np.nan, np.float32), np.full((n, p, j, 2), np.nan, np.float32)
    vis, conf = np.zeros((n, p, j), np.float32), np.full((n, p), np.nan, np.float32)
    j3[frame, column], j2[frame, column], vis[frame, column] = joints3d, joints2d, visibility
    if confidence is not None:
        conf[frame, column] = confidence
    return PeopleRunResult(ids, j3, j2, vis, timestamps, image_size, focal, fps, source,
                           conf if confidence is not None else None)


class PersonRows:
    """A run's people as they come, one row per person and frame: what an offline or live run
    collects before it knows everyone (result() turns them into tracks)."""

    def __init__(self) -> None:
        self.rows: list[tuple[int, int, np.ndarray, np.ndarray, np.ndarray, float]] = []

    def add(self, frame: int, person_id: int, joints3d: np.ndarray, joints2d: np.ndarray, visibility: np.ndarray,
            confidence: float = float("nan")) -> None:
        """Person person_id in frame: joints3d [17, 3] mm, joints2d [17, 2] px, visibility [17]."""
        self.rows.append((int(frame), int(person_id), joints3d, joints2d, visibility, float(confidence)))

    @property
    def num_people(self) -> int:
        return len({r[1] for r in self.rows})

    def result(self, timestamps: np.ndarray, image_size: tuple[int, int], focal: float, fps: float, source: str,
               with_confidence: bool, people: bool) -> "RunResult | PeopleRunResult":
        """The rows of the len(timestamps) first frames: every person's track (people: a PeopleRunResult),
        or the one kept person's (a RunResult; at most one row per frame)."""
        n, j = len(timestamps), H36M17.num_joints
        rows = [r for r in self.rows if r[0] < n]
        frame = np.array([r[0] for r in rows], np.int64)
        ids = np.array([r[1] for r in rows], np.int64)
        j3 = np.array([r[2] for r in rows], np.float32).reshape(-1, j, 3)
        j2 = np.array([r[3] for r in rows], np.float32).reshape(-1, j, 2)
        vis = np.array([r[4] for r in rows], np.float32).reshape(-1, j)
        conf = np.array([r[5] for r in rows], np.float32) if with_confidence else None
        common = dict(image_size=image_size, focal=focal, fps=fps, source=source)
        if people:
            return people_from_rows(frame, ids, j3, j2, vis, timestamps, confidence=conf, **common)
        if len(np.unique(frame)) != len(frame):
            raise ValueError("a one-person result has at most one person per frame")
        one = people_from_rows(frame, np.zeros_like(ids), j3, j2, vis, timestamps, confidence=conf,
                               ids=np.zeros(1, np.int64), **common)                 # one column, whoever it was
        return RunResult(one.joints3d[:, 0], one.joints2d[:, 0], one.visibility[:, 0], timestamps,
                         confidence=None if conf is None else one.confidence[:, 0], **common)


def bvh_name(person_id: int) -> str:
    """The BVH file of one person of a run that kept every person."""
    return f"poses_{int(person_id)}.bvh"


def poses_json_people(result: PeopleRunResult, joints3d: np.ndarray, world: np.ndarray, ground: GroundFrame) -> str:
    """poses.json of many people: metadata, the floor, "person_ids", and per frame "people": one entry
    per person in the frame, with its "id" (an empty list where there is nobody)."""
    valid = np.isfinite(joints3d).all(axis=(2, 3))                             # [N, P]
    frames = [{"frame": i, "time_s": round(float(result.timestamps[i]), 6),
               "people": [{"id": int(pid), **person_entry(joints3d[i, k], result.joints2d[i, k],
                                                          result.visibility[i, k], world[i, k],
                                                          None if result.confidence is None
                                                          else result.confidence[i, k])}
                          for k, pid in enumerate(result.ids) if valid[i, k]]}
              for i in range(len(joints3d))]
    doc = {**json_header(result.source, result.image_size, result.focal, people=True), "fps": result.fps,
           "person_ids": result.ids.tolist(), "ground": ground.as_dict(), "frames": frames}
    return json.dumps(doc, separators=(",", ":")) + "\n"


def poses_csv_people(result: PeopleRunResult, joints3d: np.ndarray) -> str:
    """poses.csv of many people: one row per person and frame they are in, with a `person` id column
    (pandas: df.groupby("person")); frames with nobody have no row."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["frame", "time_s", "person"] + [f"{n}_{a}" for n in H36M17.joint_names for a in "xyz"])
    valid = np.isfinite(joints3d).all(axis=(2, 3))                             # [N, P]
    for i, k in zip(*np.nonzero(valid)):
        writer.writerow([i, f"{result.timestamps[i]:.6f}", int(result.ids[k])]
                        + [f"{v:.2f}" for v in joints3d[i, k].reshape(-1)])
    return buf.getvalue()


def write_people_outputs(outdir: str | os.PathLike, result: PeopleRunResult) -> dict[str, Path]:
    """Write poses_<id>.bvh (one per person), poses.json, poses.csv and poses.npz (last, with a person
    axis) into outdir, each atomically; docs/outputs.md. Every person's bones are made constant
    (constant_bone_poses) on their own; one floor is fitted to everyone's feet (ground.py).

    Returns {file name: path}. Raises NothingToExport (a ValueError) when no person has a pose and
    PermissionError when outdir cannot be written; nothing is written then."""
    outdir = Path(outdir)
    valid = result.valid                                                       # [N, P]
    if not valid.any():
        raise nothing_to_export(result.source, len(result.timestamps))
    _check_writable(outdir)
    n, p = valid.shape
    seen = [k for k in range(p) if valid[:, k].any()]                          # people with a pose
    joints3d = np.full(result.joints3d.shape, np.nan)                          # [N, P, 17, 3]
    for k in seen:
        joints3d[:, k] = constant_bone_poses(result.joints3d[:, k])[0]
    ground = estimate_ground(joints3d.reshape(n * p, H36M17.num_joints, 3))
    world = np.stack([place_on_floor(ground.to_world(joints3d[:, k]), result.fps) for k in range(p)], axis=1)
    paths = {}
    for k in seen:
        paths[bvh_name(result.ids[k])] = outdir / bvh_name(result.ids[k])
        bvh_from_poses(world[:, k], result.fps).write(paths[bvh_name(result.ids[k])])
    paths |= {name: outdir / name for name in OUTPUT_FILES if name != "poses.bvh"}
    atomic_write_text(paths["poses.json"], poses_json_people(result, joints3d, world, ground))
    atomic_write_text(paths["poses.csv"], poses_csv_people(result, joints3d))
    write_poses(paths["poses.npz"], PoseSequence(
        joints3d=joints3d.astype(np.float32), joints2d=result.joints2d, image_size=result.image_size,
        focal=result.focal, person_ids=result.ids,
        extra={**_common_npz(result, ground), "joints3d_raw": result.joints3d.astype(np.float32),
               "joints3d_world": world.astype(np.float32)}))
    return paths


def write_run(outdir: str | os.PathLike, result: RunResult | PeopleRunResult) -> dict[str, Path]:
    """write_people_outputs of every person's tracks, or write_outputs of one person's."""
    return write_people_outputs(outdir, result) if isinstance(result, PeopleRunResult) else write_outputs(outdir, result)
