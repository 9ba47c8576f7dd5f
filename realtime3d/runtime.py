"""Process set-up for running the pose pipeline: what a process that runs it sets once, at its start.

The `realtime3d` command (cli.main, for webcam, video and image), the worker processes of
collection.run_videos and the benchmarks that build a PosePipeline themselves call
set_up_pipeline_process(); importing the package changes nothing.
"""
from __future__ import annotations


def set_up_pipeline_process() -> None:
    """One torch thread, and OpenCV's own log lines off.

    A pipeline lifts a few poses per call, for which a single thread is fastest (no
    hand-off between threads). OpenCV's warnings (a missing /dev/videoN, FFmpeg's
    complaints) would precede the command's one-line errors, which say what went wrong."""
    import cv2
    import torch
    torch.set_num_threads(1)
    cv2.setLogLevel(0)  # LOG_LEVEL_SILENT
