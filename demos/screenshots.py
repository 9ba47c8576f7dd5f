"""Regenerate the README screenshots: docs/img/overlay.png and docs/img/view3d.png.

    xvfb-run -a python demos/screenshots.py                       # the committed pictures
    xvfb-run -a python demos/screenshots.py --video clip.mp4 --frame 172 --out-dir /tmp/shots

overlay.png is the overlay.mp4 layout (the 2D skeleton on the frame beside the
software 3D render), view3d.png a screenshot of the live open3d window showing the
same lifted pose. By default the frame is drawn here: the project's own sample pose
(realtime3d.data.sample), seen by a 1280x720 camera with f = 1000 px, goes through the
shipped lifter exactly as a detection would. The shared media and mocap may not be
committed, nor anything derived from them; with --video, a real frame goes through
the app's pipeline instead, every person in it with their id (for a local look, not for
the repository).
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import cv2
import numpy as np

from realtime3d import Lifter, load_model
from realtime3d.data.sample import SAMPLE_FOCAL_PX, SAMPLE_IMAGE_SIZE, sample_keypoints_px
from realtime3d.detect.blazepose import MultiPoseDetector
from realtime3d.images import process_image
from realtime3d.io._atomic import atomic_path
from realtime3d.native_logs import quiet_native_logs
from realtime3d.pipeline import PosePipeline
from realtime3d.runtime import set_up_pipeline_process
from realtime3d.viz.frame import draw_result
from realtime3d.viz.overlay import draw_skeleton_2d, draw_status
from realtime3d.viz.render3d import PoseRenderer, side_by_side
from realtime3d.viz.viewer import PoseViewer

ROOT = Path(__file__).resolve().parents[1]
#: The sample pose's camera: 1280x720, f = 1000 px, the person 3.2 m away and turned 35 degrees.
SAMPLE_SIZE, SAMPLE_FOCAL, SAMPLE_DEPTH_MM, SAMPLE_TURN_DEG = SAMPLE_IMAGE_SIZE, SAMPLE_FOCAL_PX, 3200.0, 35.0


def read_frame(video: Path, index: int) -> np.ndarray:
    if not video.is_file():
        raise FileNotFoundError(f"video not found: {video}")
    capture = cv2.VideoCapture(str(video))
    capture.set(cv2.CAP_PROP_POS_FRAMES, index)
    ok, frame = capture.read()
    capture.release()
    if not ok:
        raise ValueError(f"{video}: cannot read frame {index}")
    return frame


def sample_frame() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A drawn frame (a floor and a wall) and the sample pose in its pixels: (frame, [17, 2], visibility [17])."""
    pixels = sample_keypoints_px(SAMPLE_DEPTH_MM, SAMPLE_TURN_DEG)                         # [17, 2]
    width, height = SAMPLE_SIZE
    horizon = height // 2
    frame = np.empty((height, width, 3), np.uint8)
    frame[:horizon] = np.linspace(95, 70, horizon, dtype=np.uint8)[:, None, None]           # wall
    frame[horizon:] = np.linspace(60, 110, height - horizon, dtype=np.uint8)[:, None, None]  # floor
    return frame, pixels, np.ones(len(pixels), np.float32)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--video", type=Path, help="take a real frame of this video through MediaPipe "
                        "(default: the drawn sample frame)")
    parser.add_argument("--frame", type=int, default=0, help="frame index in --video (default 0)")
    parser.add_argument("--out-dir", type=Path, default=ROOT / "docs" / "img",
                        help="where the PNGs go (created if missing)")
    parser.add_argument("--width", type=int, default=1280, help="width of overlay.png (default 1280)")
    args = parser.parse_args(argv)
    if not os.environ.get("DISPLAY"):
        parser.error("no X display for the open3d window: run under xvfb-run -a")
    quiet_native_logs()       # MediaPipe's, TFLite's and EGL's routine lines stay off the terminal
    set_up_pipeline_process()  # one torch thread, as the command runs it
    try:
        args.out_dir.mkdir(parents=True, exist_ok=True)
        if args.video is None:
            frame, joints2d, visibility = sample_frame()
            height, width = frame.shape[:2]
            lifter = Lifter.from_pretrained()            # the default's lifter: a drawn frame has no MediaPipe 3D
            joints3d = lifter.lift(joints2d, image_size=(width, height), focal=SAMPLE_FOCAL,
                                    visibility=visibility)                   # [17, 3] mm
            draw_skeleton_2d(frame, joints2d, visibility, person_id=1)     # as the app draws person 1
            draw_status(frame, ["sample pose, f = 1000 px", f"{lifter.name} lifter -> 3D"])
            people = [(1, joints3d)]
        else:
            frame = read_frame(args.video, args.frame)
            height, width = frame.shape[:2]
            model = load_model()
            pipeline = PosePipeline(model, MultiPoseDetector(static_image_mode=True, world_landmarks=model.reads_world3d))
            result = process_image(pipeline, frame)                        # every person, ids from 1
            pipeline.detector.close()
            people = result.lifted                                 # [(id, [17, 3] mm)]
            if not people:
                raise ValueError(f"no person in frame {args.frame} of {args.video}")
            draw_result(frame, result, None, [f"{args.video.name}  frame {args.frame}, MediaPipe 2D",
                                              f"{len(people)} people, {model.name} -> 3D"])
        overlay = side_by_side(frame, PoseRenderer(size=(height, height)).render_people(people))
        overlay = cv2.resize(overlay, (args.width, round(overlay.shape[0] * args.width / overlay.shape[1])),
                             interpolation=cv2.INTER_AREA)
        with atomic_path(args.out_dir / "overlay.png") as tmp:
            if not cv2.imwrite(tmp, overlay):
                raise OSError(f"cannot write {args.out_dir / 'overlay.png'}")
        with PoseViewer(width=960, height=720) as viewer:
            viewer.update_people(people)
            viewer.screenshot(args.out_dir / "view3d.png")
    except (OSError, ValueError, RuntimeError) as exc:
        parser.exit(2, f"{parser.prog}: error: {exc}\n")
    print(f"wrote {args.out_dir / 'overlay.png'} and {args.out_dir / 'view3d.png'} "
          f"({len(people)} {'person' if len(people) == 1 else 'people'})")


if __name__ == "__main__":
    main(sys.argv[1:])
