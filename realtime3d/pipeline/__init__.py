"""Frame -> 2D -> 3D -> filtered pose: the one frame loop that the live, offline and image runs call.

    pipeline = build_pipeline(VideoOptions(), live_filter=OneEuroFilter())
    result = pipeline.process(frame_bgr, t)          # FrameResult: people (tracking.Person: id, 2D, 3D)

Many people are this loop's plural, not a second loop: the detector (a
detect.detection.Detector) finds everyone, the tracker (tracking.py) gives them ids, and
the people of a frame, or of a batch of frames (complete_batch), are lifted in one call;
one person is the case N = 1.

- core.py: PosePipeline, the loop: detect, track, lift, filter.
- frame.py: FrameResult, one frame's people.
- options.py: VideoOptions and the checks of the flags that build a pipeline; build_pipeline.

The runs built on it: live.py (run_live, the webcam loop), offline.py (run_video:
overlay.mp4 and poses.*), collection.py (many videos over worker processes and shards),
images.py (photos). Nothing here draws or opens a window (viz/ does): callers pass
on_result(frame, result) -> bool (False stops).
"""
from .core import PosePipeline
from .frame import FrameResult, box_area
from .options import (PERSON_CHOICES, VideoOptions, build_pipeline, check_at_least_one, check_camera_options,
                      lifter_for, parse_person)

__all__ = ["PERSON_CHOICES", "FrameResult", "PosePipeline", "VideoOptions", "box_area", "build_pipeline",
           "check_at_least_one", "check_camera_options", "lifter_for", "parse_person"]
