"""Rendered videos with exact truth: a staged clip drawn frame by frame into video.mp4 + truth.npz.

The video is H.264 (io/mp4.py), the truth a io/video_truth.py file: per frame and person
the 17 joints in 3D (camera, mm) and 2D, their visibility, the visible share and box,
the camera and the floor. Both are written atomically into the clip's folder; truth.npz
last, so its presence means the clip is complete.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

import cv2
import numpy as np

from ..io._atomic import atomic_path
from ..io.mp4 import Mp4Writer
from ..io.video_truth import VideoTruth, write_truth
from .labels import label_frame
from .raster import Rasterizer
from .staging import Stage

VIDEO_NAME, TRUTH_NAME = "video.mp4", "truth.npz"


def draw(rasterizer: Rasterizer, stage: Stage, t: int):
    """Frame t of a stage: (meshes.RenderedFrame, labels.FrameLabels)."""
    camera = stage.cameras[t]
    people = [a.mesh(t, k + 1) for k, a in enumerate(stage.actors)]
    scene = stage.scene
    frame = rasterizer.render(camera, scene, people)
    pixels, boxes = rasterizer.silhouettes(camera, people)
    joints = np.stack([a.posed.joints[t] for a in stage.actors])
    return frame, label_frame(camera, frame, joints, pixels, boxes)


def render_clip(stage: Stage, folder: str | os.PathLike, fps: float, name: str = "",
                progress: Callable[[int], None] | None = None, rasterizer: Rasterizer | None = None) -> Path:
    """Draw a stage into folder/video.mp4 and folder/truth.npz.

    Args:
        stage: the staged clip.
        folder: made if missing.
        fps: the video's frame rate (the motions' rate).
        name: the clip's name in the truth file.
        progress: called with 1 after each frame.
        rasterizer: reused if given.

    Returns:
        The folder.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rasterizer = rasterizer or Rasterizer()
    n, p = stage.num_frames, len(stage.actors)
    w, h = stage.cameras[0].image_size
    arrays = {"joints3d": np.zeros((n, p, 17, 3), np.float32), "joints2d": np.zeros((n, p, 17, 2), np.float32),
              "visible": np.zeros((n, p, 17), bool), "visible_fraction": np.zeros((n, p), np.float32),
              "boxes": np.zeros((n, p, 4), np.float32)}
    with atomic_path(folder / VIDEO_NAME, suffix=".mp4") as tmp:
        with Mp4Writer(tmp, fps, (w, h)) as video:
            for t in range(n):
                frame, labels = draw(rasterizer, stage, t)
                video.write(cv2.cvtColor(frame.rgb, cv2.COLOR_RGB2BGR))
                for key in arrays:
                    arrays[key][t] = getattr(labels, key)
                if progress is not None:
                    progress(1)
    cameras = stage.cameras
    truth = VideoTruth(**arrays, focal=float(cameras[0].focal), image_size=(w, h), fps=float(fps),
                       floor=np.stack([c.floor_plane() for c in cameras]).astype(np.float32),
                       camera_rotation=np.stack([c.rotation for c in cameras]).astype(np.float32),
                       camera_position=np.stack([c.position for c in cameras]).astype(np.float32),
                       person_names=tuple(a.name for a in stage.actors), clip=name or folder.name)
    write_truth(folder / TRUTH_NAME, truth)
    return folder
