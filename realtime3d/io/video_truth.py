"""The truth file of a video (`truth.npz` beside it): every person's exact 3D and 2D, frame by frame.

A clip with exact truth can be scored as a user's run of the app is (video_scoring.py,
benchmarks/bench_video3d.py): the renderer of synthetic people writes one beside each clip it
renders, and a lab with its own video and motion capture can write one too, from any tool, as
an .npz archive of these named arrays (N frames of the video, in order; P people):

- joints3d          float32 [N, P, 17, 3]  mm, camera coordinates (OpenCV: x right, y down, z forward);
                    the 17 joints of realtime3d.skeleton.H36M17, built by the joint rules of
                    ../shared/data/README.md (pelvis = midpoint of the hips, thorax = midpoint of the
                    shoulders, ...); left and right are the person's own. All 17 joints NaN where
                    person p is not in the scene in frame n (before entering, after leaving).
- joints2d          float32 [N, P, 17, 2]  px, the projection of joints3d (may lie outside the image;
                    NaN allowed only for a joint that is not visible, e.g. behind the camera); pixel
                    centres at integer coordinates, principal point at the image centre.
- visible           bool    [N, P, 17]     the joint is inside the image and not occluded.
- visible_fraction  float32 [N, P]         the share of the person's silhouette that is visible:
                    0 (absent, or hidden altogether) .. 1 (whole). Without silhouettes, the share of
                    visible joints is a fair stand-in.
- boxes             float32 [N, P, 4]      x0, y0, x1, y1 px of the visible silhouette; NaN when none.
- focal             float                  px (one focal length; square pixels).
- image_size        int [2]                (width, height) px of the video.
- fps               float                  frames per second of the video.
- floor             float32 [N, 4]         (nx, ny, nz, d): the floor in camera coordinates, n the unit
                    normal pointing up, n . X + d = 0 for floor points X (mm), so d is the camera's
                    height above the floor; a NaN row: unknown in that frame.
- camera_rotation   float32 [N, 3, 3]      optional: world -> camera rotation (rows: the camera's x, y,
                    z axes in the world), world Y up; a proper rotation (det +1, never a mirror).
- camera_position   float32 [N, 3]         optional (with camera_rotation): m, the optical centre in
                    the world.
- person_names      str [P]                optional: a name per person.
- clip              str                    optional: the clip's name.

    truth = read_truth("clip/truth.npz")        # checked; a UserError (one line) on a bad file
    write_truth("clip/truth.npz", truth)        # atomically

VideoTruth checks the arrays' shapes and their agreement (absent people have no visible joints,
joints2d is the projection of joints3d up to a few percent of the image, joints3d is in mm);
a ValueError says what is wrong.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, replace

import numpy as np

from ..errors import UserError
from ..skeleton import H36M17
from ._atomic import atomic_path
from .npz import read_npz

J = H36M17.num_joints
#: The arrays every truth file holds; the others (camera_rotation, camera_position, person_names, clip)
#: are optional.
REQUIRED = ("joints3d", "joints2d", "visible", "visible_fraction", "boxes", "focal", "image_size", "fps", "floor")
#: The arrays with a frame axis.
PER_FRAME = ("joints3d", "joints2d", "visible", "visible_fraction", "boxes", "floor", "camera_rotation",
             "camera_position")
#: joints2d must be the projection of joints3d: the median distance over the visible joints may be at
#: most this share of the image's longer side (a file whose axes or focal are wrong is far beyond it).
PROJECTION_TOLERANCE = 0.05
#: The median trunk (hips' midpoint to shoulders' midpoint) must lie in this range (mm): a file in
#: metres or centimetres is outside it.
TRUNK_RANGE_MM = (150.0, 1500.0)
_HIPS = [H36M17.index["left_hip"], H36M17.index["right_hip"]]
_SHOULDERS = [H36M17.index["left_shoulder"], H36M17.index["right_shoulder"]]


@dataclass
class VideoTruth:
    """A video's exact truth (the module docstring is the file format). Shapes: N frames, P people."""

    joints3d: np.ndarray           # [N, P, 17, 3] float32 mm camera coordinates; NaN: not in the scene
    joints2d: np.ndarray           # [N, P, 17, 2] float32 px
    visible: np.ndarray            # [N, P, 17] bool
    visible_fraction: np.ndarray   # [N, P] float32 0..1
    boxes: np.ndarray              # [N, P, 4] float32 px x0, y0, x1, y1; NaN: none
    focal: float                   # px
    image_size: tuple[int, int]    # (width, height) px
    fps: float
    floor: np.ndarray              # [N, 4] float32 (n, d): n . X + d = 0, n unit up, mm
    camera_rotation: np.ndarray | None = None   # [N, 3, 3] world -> camera
    camera_position: np.ndarray | None = None   # [N, 3] m, world
    person_names: tuple[str, ...] | None = None  # [P]
    clip: str | None = None

    def __post_init__(self) -> None:
        self.joints3d = np.asarray(self.joints3d, dtype=np.float32)
        if self.joints3d.ndim != 4 or self.joints3d.shape[2:] != (J, 3) or 0 in self.joints3d.shape[:2]:
            raise ValueError(f"joints3d must be [N, P, {J}, 3] with N, P >= 1, got {list(self.joints3d.shape)}")
        n, p = self.joints3d.shape[:2]
        shapes = {"joints2d": ((n, p, J, 2), np.float32), "visible": ((n, p, J), bool),
                  "visible_fraction": ((n, p), np.float32), "boxes": ((n, p, 4), np.float32),
                  "floor": ((n, 4), np.float32)}
        if (self.camera_rotation is None) != (self.camera_position is None):
            raise ValueError("camera_rotation and camera_position come together")
        if self.camera_rotation is not None:
            shapes |= {"camera_rotation": ((n, 3, 3), np.float32), "camera_position": ((n, 3), np.float32)}
        for name, (shape, dtype) in shapes.items():
            value = np.asarray(getattr(self, name))
            if value.shape != shape:
                raise ValueError(f"{name} must be {list(shape)}, got {list(value.shape)}")
            if dtype is bool and value.dtype != bool:
                raise ValueError(f"{name} must be bool, got {value.dtype}")
            setattr(self, name, value.astype(dtype))
        size = np.asarray(self.image_size).reshape(-1)
        if size.shape != (2,) or not np.all(size > 0) or not np.all(size == np.round(size)):
            raise ValueError(f"image_size must be two positive integers (width, height), got {size.tolist()}")
        self.image_size = (int(size[0]), int(size[1]))
        for name in ("focal", "fps"):
            value = float(np.asarray(getattr(self, name)).reshape(()))
            if not (np.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a positive number, got {value}")
            setattr(self, name, value)
        if self.person_names is not None:
            self.person_names = tuple(str(s) for s in np.asarray(self.person_names).reshape(-1))
            if len(self.person_names) != p:
                raise ValueError(f"person_names must have {p} names, got {len(self.person_names)}")
        if self.clip is not None:
            self.clip = str(np.asarray(self.clip).reshape(()))
        self._check_agreement()

    def _check_agreement(self) -> None:
        """The arrays agree with one another (see the module docstring); a ValueError otherwise."""
        finite = np.isfinite(self.joints3d).all(-1)                               # [N, P, 17]
        present = finite.all(-1)                                                  # [N, P]
        if (finite.any(-1) & ~present).any():
            raise ValueError("joints3d must hold all 17 joints, or NaN for all of them (person not in the scene)")
        if not present.any():
            raise ValueError("joints3d is NaN everywhere: nobody is in the scene")
        if (self.visible & ~present[..., None]).any():
            raise ValueError("visible is True for a joint of a person not in the scene")
        if (self.visible & ~np.isfinite(self.joints2d).all(-1)).any():
            raise ValueError("joints2d must be finite at every visible joint")
        fraction = self.visible_fraction
        if not (np.isfinite(fraction).all() and (fraction >= 0).all() and (fraction <= 1).all()):
            raise ValueError("visible_fraction must lie in 0..1")
        if (fraction[~present] != 0).any():
            raise ValueError("visible_fraction must be 0 where a person is not in the scene")
        box = self.boxes
        boxed = np.isfinite(box).all(-1)
        if (np.isfinite(box).any(-1) & ~boxed).any() or (box[boxed][:, 2:] < box[boxed][:, :2]).any():
            raise ValueError("boxes must be x0, y0, x1, y1 with x1 >= x0 and y1 >= y0, or all NaN")
        floor = self.floor[np.isfinite(self.floor).all(-1)]
        if (np.abs(np.linalg.norm(floor[:, :3], axis=-1) - 1) > 1e-3).any():
            raise ValueError("floor's normal (its first 3 values) must be a unit vector")
        if self.camera_rotation is not None:
            rot = self.camera_rotation.astype(np.float64)
            if (np.abs(rot @ rot.transpose(0, 2, 1) - np.eye(3)) > 1e-3).any() or (np.linalg.det(rot) < 0).any():
                raise ValueError("camera_rotation must hold proper rotations (orthonormal, det +1; never a mirror)")
        people = self.joints3d[present].astype(np.float64)                       # [M, 17, 3]
        if np.median(people[:, H36M17.root, 2]) <= 0:
            raise ValueError("joints3d puts the people behind the camera: z must point forward (OpenCV axes)")
        trunk = np.linalg.norm(people[:, _SHOULDERS].mean(1) - people[:, _HIPS].mean(1), axis=-1)
        if not TRUNK_RANGE_MM[0] <= np.median(trunk) <= TRUNK_RANGE_MM[1]:
            raise ValueError(f"joints3d's median trunk (hips to shoulders) is {np.median(trunk):.4g}, not "
                             f"{TRUNK_RANGE_MM[0]:g}..{TRUNK_RANGE_MM[1]:g}: joints3d must be millimetres")
        off = self.projection_error_px()
        limit = PROJECTION_TOLERANCE * max(self.image_size)
        if off > limit:
            raise ValueError(f"joints2d is not the projection of joints3d with focal {self.focal:g} px (the "
                             f"visible joints are {off:.0f} px off, median): check the axes (x right, y down, "
                             "z forward), the units and the focal")

    @property
    def num_frames(self) -> int:
        return int(self.joints3d.shape[0])

    @property
    def num_people(self) -> int:
        return int(self.joints3d.shape[1])

    @property
    def present(self) -> np.ndarray:
        """[N, P] bool: the person is in the scene (has 3D joints)."""
        return np.isfinite(self.joints3d).all(axis=(2, 3))

    def project(self) -> np.ndarray:
        """[N, P, 17, 2] px: joints3d through the pinhole of focal about the image centre ((w - 1) / 2,
        (h - 1) / 2); NaN for joints at or behind the camera's plane."""
        xyz = self.joints3d.astype(np.float64)
        centre = (np.array(self.image_size, dtype=np.float64) - 1) / 2
        with np.errstate(invalid="ignore", divide="ignore"):
            px = self.focal * xyz[..., :2] / xyz[..., 2:3] + centre
        return np.where(xyz[..., 2:3] > 0, px, np.nan)

    def projection_error_px(self) -> float:
        """The median distance (px) between joints2d and project() over the visible joints in front of
        the camera (0 without any)."""
        dist = np.linalg.norm(self.project() - self.joints2d, axis=-1)[self.visible]
        dist = dist[np.isfinite(dist)]
        return float(np.median(dist)) if len(dist) else 0.0

    def first_frames(self, n: int) -> "VideoTruth":
        """The truth of the video's first n frames (all of them when it has fewer)."""
        return replace(self, **{name: getattr(self, name)[:n] for name in PER_FRAME
                                if getattr(self, name) is not None})


def write_truth(path: str | os.PathLike, truth: VideoTruth) -> None:
    """Write truth to path (.npz, the module's format) atomically; the optional arrays only when set."""
    arrays = {"joints3d": truth.joints3d, "joints2d": truth.joints2d, "visible": truth.visible,
              "visible_fraction": truth.visible_fraction, "boxes": truth.boxes, "focal": np.float64(truth.focal),
              "image_size": np.array(truth.image_size, np.int64), "fps": np.float64(truth.fps), "floor": truth.floor}
    if truth.camera_rotation is not None:
        arrays |= {"camera_rotation": truth.camera_rotation, "camera_position": truth.camera_position}
    if truth.person_names is not None:
        arrays["person_names"] = np.array(truth.person_names, dtype=str)
    if truth.clip is not None:
        arrays["clip"] = np.str_(truth.clip)
    with atomic_path(path, suffix=".npz") as tmp:
        np.savez_compressed(tmp, **arrays)


def read_truth(path: str | os.PathLike) -> VideoTruth:
    """The truth file at path, checked (VideoTruth).

    Raises:
        UserError: the file is missing, unreadable, lacks an array, or its arrays are malformed or
            disagree (one line, naming the file).
    """
    path = os.fspath(path)
    data = read_npz(path, what="truth file")
    missing = [k for k in REQUIRED if k not in data]
    if missing:
        raise UserError(f"{path}: not a truth file: missing {', '.join(missing)} (see realtime3d/io/video_truth.py)")
    optional = {k: data[k] for k in ("camera_rotation", "camera_position", "person_names", "clip") if k in data}
    try:
        return VideoTruth(**{k: data[k] for k in REQUIRED}, **optional)
    except (ValueError, TypeError) as exc:
        raise UserError(f"{path}: {str(exc).splitlines()[0]}") from None
