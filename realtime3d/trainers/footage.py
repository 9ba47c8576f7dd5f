"""A user's own unlabelled footage for skeleton-net: person crops from a folder of videos and
photos (or one file).

Where each person is: MediaPipe's 2D joints of the frame (realtime3d.detect.PoseDetector, the one
shipped model), framed by the crop rule of realtime3d.crops; or a box file of the user's own,
CSV with a header `file,frame,cx,cy,side` (frame pixels; frame 0 for a photo; paths as given
or relative to the box file). Nothing else of the detector is kept: no joint is a training
target.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch

from realtime3d.crops import CROP_MARGIN, cut, square_box
from realtime3d.models.image import CROP_SIZE

from ..errors import UserError

VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v")
PHOTO_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp")
#: At most this many frames of one video are used (evenly spaced).
MAX_FRAMES_PER_VIDEO = 2000


@dataclass
class Footage:
    """crops: uint8 [N, CROP_SIZE, CROP_SIZE, 3] RGB, one per person found in a frame; source:
    str [N], the file of each."""

    crops: torch.Tensor
    source: np.ndarray

    def __len__(self) -> int:
        return len(self.crops)


def _files(spec: str) -> list[Path]:
    path = Path(spec)
    if not path.exists():
        raise UserError(f"footage {spec!r}: no such file or folder")
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    files = [p for p in files if p.suffix.lower() in VIDEO_SUFFIXES + PHOTO_SUFFIXES]
    if not files:
        raise UserError(f"footage {spec!r}: no videos ({', '.join(VIDEO_SUFFIXES)}) or photos "
                        f"({', '.join(PHOTO_SUFFIXES)}) there")
    return files


def read_box_file(path: str) -> dict[tuple[str, int], np.ndarray]:
    """A box file (see the module doc) -> {(resolved file, frame): box [3]}."""
    base = Path(path).parent
    boxes = {}
    with open(path, newline="") as fh:
        reader = csv.DictReader(fh)
        missing = {"file", "frame", "cx", "cy", "side"} - set(reader.fieldnames or [])
        if missing:
            raise UserError(f"{path}: a box file needs the columns file,frame,cx,cy,side (missing {', '.join(sorted(missing))})")
        for row in reader:
            f = Path(row["file"])
            f = f if f.is_absolute() or f.exists() else base / f
            boxes[(str(f.resolve()), int(row["frame"]))] = np.array([float(row["cx"]), float(row["cy"]), float(row["side"])])
    return boxes


def _frames(path: Path) -> list[np.ndarray]:
    """RGB frames of a video (at most MAX_FRAMES_PER_VIDEO, evenly spaced) or the one of a photo."""
    if path.suffix.lower() in PHOTO_SUFFIXES:
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if image is None:
            raise UserError(f"{path}: not an image OpenCV can read")
        return [cv2.cvtColor(image, cv2.COLOR_BGR2RGB)]
    from realtime3d.capture import VideoSource
    frames = [cv2.cvtColor(f.image, cv2.COLOR_BGR2RGB) for f in VideoSource(path)]
    step = max(1, -(-len(frames) // MAX_FRAMES_PER_VIDEO))
    return frames[::step]


def load_footage(spec: str, box_file: str = "") -> Footage:
    """Person crops of every video and photo under spec (see the module doc)."""
    boxes_given = read_box_file(box_file) if box_file else None
    crops, source = [], []
    for path in _files(spec):
        frames = _frames(path)
        if boxes_given is None:
            boxes = _mediapipe_boxes(frames, still=len(frames) == 1)
        else:
            boxes = [boxes_given.get((str(path.resolve()), i)) for i in range(len(frames))]
        for frame, box in zip(frames, boxes):
            if box is not None:
                crops.append(cut(frame, box, CROP_SIZE))
                source.append(str(path))
    if not crops:
        raise UserError(f"footage {spec!r}: no person found in any frame"
                        + ("" if boxes_given is None else " listed in the box file"))
    return Footage(torch.from_numpy(np.stack(crops)), np.array(source))


def _mediapipe_boxes(frames: list[np.ndarray], still: bool) -> list[np.ndarray | None]:
    """The crop box of MediaPipe's person in each frame (None where it finds none)."""
    from realtime3d.detect import PoseDetector
    out = []
    with PoseDetector(static_image_mode=still) as detector:
        for frame in frames:
            found = detector.detect_rgb(frame)
            if found is None:
                out.append(None)
                continue
            joints = torch.from_numpy(found.joints2d_px)[None]                       # [1, J, 2]
            out.append(square_box(joints, CROP_MARGIN)[0].numpy())
    return out
