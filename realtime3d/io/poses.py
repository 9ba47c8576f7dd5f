"""The pose-sequence file (.npz) of ../shared/data/README.md: reading, checking, writing.

- joints3d   float32 [N, J, 3]  mm, camera coordinates (x right, y down, z forward)
- joints2d   float32 [N, J, 2]  pixels, optional
- image_size int [2]           (width, height); required with joints2d
- focal      float             pixels; required with joints2d
- clip       str [N]           optional, a clip or action name per frame

Other arrays are kept in PoseSequence.extra. Two of them, written by an offline run
(realtime3d.export), are checked when present:
- visibility float [N, J]  0..1 per joint
- timestamps float [N]     seconds

A run's file (realtime3d.export, every release since the person axis came) has
`person_ids` int [P], and its per-frame arrays carry a person axis after the frame axis
(joints3d [N, P, J, 3], joints2d [N, P, J, 2], visibility [N, P, J], NaN / 0 where a person
is not in the frame). read_poses(path, person=ID) reads one person's track as a one-person
sequence; a file of one person id is read as that person's without person=ID. The
one-person layout of earlier runs (no person_ids, joints3d [N, J, 3]) is still read as it is.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from ..errors import UserError
from ..skeleton import H36M17
from ._atomic import atomic_path
from .npz import read_npz


#: The arrays that carry a person axis ([N, P, ...]) in a file of many people.
PERSON_ARRAYS = ("joints3d", "joints2d", "visibility", "confidence", "joints3d_raw", "joints3d_world")


class PoseFileError(UserError):
    """A pose-sequence file that is missing, unreadable or malformed."""


@dataclass
class PoseSequence:
    joints3d: np.ndarray | None           # [N, J, 3] mm
    joints2d: np.ndarray | None = None    # [N, J, 2] px
    image_size: tuple[int, int] | None = None
    focal: float | None = None
    clip: np.ndarray | None = None        # [N] str
    extra: dict | None = None             # other arrays, kept as they are (visibility, timestamps, ...)
    person_ids: np.ndarray | None = None  # [P] int, to write many people: joints3d [N, P, J, 3], joints2d [N, P, J, 2]

    @property
    def num_frames(self) -> int:
        arr = self.joints3d if self.joints3d is not None else self.joints2d
        return int(arr.shape[0])


def read_poses(path: str | os.PathLike, num_joints: int = H36M17.num_joints, require_3d: bool = True,
               person: int | None = None) -> PoseSequence:
    """A pose-sequence file, checked; PoseFileError (a UserError) when it is missing or malformed.

    Args:
        path: an .npz file.
        num_joints: J of the arrays.
        require_3d: a file without joints3d is refused (else joints2d alone will do).
        person: of a file with a person axis, the id whose track to read (NaN rows where that
            person is not in the frame); needed when it holds several ids.
    Returns:
        A one-person PoseSequence (joints3d [N, J, 3] mm, joints2d [N, J, 2] px, ...).
    """
    path = os.fspath(path)
    data = read_npz(path, PoseFileError)

    if "person_ids" in data:
        data = _one_person_of(path, data, person)
    elif person is not None:
        raise PoseFileError(f"{path}: holds one person's poses, no person ids; read it without person")

    def check(name: str, last: int) -> np.ndarray | None:
        if name not in data:
            return None
        a = data.pop(name)
        if a.ndim != 3 or a.shape[1] != num_joints or a.shape[2] != last:
            raise PoseFileError(f"{path}: {name} must be [N, {num_joints}, {last}], got {list(a.shape)}")
        if not np.issubdtype(a.dtype, np.number):
            raise PoseFileError(f"{path}: {name} must be numeric, got {a.dtype}")
        return a.astype(np.float32)

    j3 = check("joints3d", 3)
    j2 = check("joints2d", 2)
    if j3 is None and (require_3d or j2 is None):
        raise PoseFileError(f"{path}: missing joints3d")
    if j3 is not None and j2 is not None and len(j3) != len(j2):
        raise PoseFileError(f"{path}: joints3d has {len(j3)} frames but joints2d has {len(j2)}")
    n = len(j3) if j3 is not None else len(j2)
    if n == 0:
        raise PoseFileError(f"{path}: the file holds no frames")
    if j3 is not None and not np.isfinite(j3).any(axis=(1, 2)).any():
        raise PoseFileError(f"{path}: joints3d is NaN or infinite everywhere")
    image_size = focal = None
    if j2 is not None:
        if "image_size" not in data or "focal" not in data:
            raise PoseFileError(f"{path}: joints2d needs image_size and focal")
        size = np.asarray(data.pop("image_size")).reshape(-1)
        if size.shape != (2,) or not np.all(size > 0):
            raise PoseFileError(f"{path}: image_size must be two positive numbers (width, height)")
        f = np.asarray(data.pop("focal")).reshape(-1)
        if f.shape != (1,) or not np.isfinite(f).all() or not f[0] > 0:
            raise PoseFileError(f"{path}: focal must be one positive number")
        image_size, focal = (int(size[0]), int(size[1])), float(f[0])
        if not np.isfinite(j2).any():
            raise PoseFileError(f"{path}: joints2d is NaN or infinite everywhere")
    else:
        data.pop("image_size", None)
        data.pop("focal", None)
    clip = None
    if "clip" in data:
        clip = data.pop("clip").astype(str).reshape(-1)
        if len(clip) != n:
            raise PoseFileError(f"{path}: clip has {len(clip)} entries for {n} frames")
    for name, shape in (("visibility", (n, num_joints)), ("timestamps", (n,))):
        if name in data and data[name].shape != shape:
            raise PoseFileError(f"{path}: {name} must be {list(shape)}, got {list(data[name].shape)}")
    return PoseSequence(j3, j2, image_size, focal, clip, data or None)


def _one_person_of(path: str, data: dict[str, np.ndarray], person: int | None) -> dict[str, np.ndarray]:
    """A many-people file's arrays -> those of one person's track (the person axis taken out)."""
    ids = np.asarray(data.pop("person_ids")).reshape(-1)
    listed = ", ".join(str(int(i)) for i in ids)
    if person is None and len(ids) == 1:
        person = int(ids[0])
    if person is None:
        raise PoseFileError(f"{path}: holds {len(ids)} people "
                            f"(ids {listed}); choose one (person=ID)")
    if int(person) not in ids.tolist():
        raise PoseFileError(f"{path}: no person with id {person}; ids {listed}")
    k = ids.tolist().index(int(person))
    for name in PERSON_ARRAYS:
        if name in data:
            if data[name].ndim < 2 or data[name].shape[1] != len(ids):
                raise PoseFileError(f"{path}: {name} must have a person axis of {len(ids)}, "
                                    f"got {list(data[name].shape)}")
            data[name] = data[name][:, k]
    return data


def write_poses(path: str | os.PathLike, seq: PoseSequence) -> None:
    """Write atomically (temp file + rename)."""
    arrays: dict[str, np.ndarray] = {}
    if seq.person_ids is not None:
        arrays["person_ids"] = np.asarray(seq.person_ids, dtype=np.int64)
    if seq.joints3d is not None:
        arrays["joints3d"] = np.asarray(seq.joints3d, dtype=np.float32)
    if seq.joints2d is not None:
        arrays["joints2d"] = np.asarray(seq.joints2d, dtype=np.float32)
        arrays["image_size"] = np.asarray(seq.image_size, dtype=np.int32)
        arrays["focal"] = np.asarray(seq.focal, dtype=np.float32)
    if seq.clip is not None:
        arrays["clip"] = np.asarray(seq.clip, dtype=str)
    for key, value in (seq.extra or {}).items():
        if key in arrays:
            raise ValueError(f"extra array {key!r} would overwrite a pose-sequence field")
        arrays[key] = value
    with atomic_path(path, suffix=".npz") as tmp:
        with open(tmp, "wb") as fh:
            np.savez(fh, **arrays)
