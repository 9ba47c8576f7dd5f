"""A video to 3D poses, frame by frame, with the realtime3d API; then the same as the command does it.

    python demos/video_demo.py VIDEO [OUTDIR]

`realtime3d video VIDEO -o OUTDIR` is the full command (progress bar, resume, collections).
"""
import sys

import numpy as np

from realtime3d.capture import VideoSource
from realtime3d.detect.blazepose import MultiPoseDetector
from realtime3d.filters import zero_lag_filter
from realtime3d.lifting import load_model
from realtime3d.native_logs import quiet_native_logs
from realtime3d.offline import run_video
from realtime3d.pipeline import PosePipeline
from realtime3d.runtime import set_up_pipeline_process

quiet_native_logs()      # MediaPipe's and TFLite's routine log lines stay off the terminal
set_up_pipeline_process()   # one torch thread, as the command runs it
video = sys.argv[1]
outdir = sys.argv[2] if len(sys.argv) > 2 else "demo_out"
model = load_model()                                          # the default (it reads MediaPipe's 3D too)
pipeline = PosePipeline(model, MultiPoseDetector(world_landmarks=model.reads_world3d))   # every person, with ids

# 1. By hand: every frame in order, 2D -> 3D for every person, then a zero-lag low-pass of the
#    main person's track (the frame's largest person) over the whole clip.
source = VideoSource(video)
results = [pipeline.process(frame.image, frame.t) for frame in source]
nobody = np.full((17, 3), np.nan, np.float32)
poses = np.array([nobody if r.main is None else r.main.joints3d for r in results])   # [N, 17, 3] mm, the main person
frames_of = {}                                                         # person id -> frames with them
for result in results:
    for person in result.people:
        frames_of[person.id] = frames_of.get(person.id, 0) + 1
smooth = zero_lag_filter(poses, fps=source.fps, cutoff_hz=6.0)
found = np.isfinite(poses).all(axis=(1, 2))
print(f"{len(poses)} frames, a person in {found.sum()}, {source.skipped} failed to decode")
print(f"{len(frames_of)} people tracked, {sum(n >= 100 for n in frames_of.values())} of them for 100 frames or more")
if found.any():
    depth = smooth[found][:, 0, 2] / 1000                     # the pelvis' distance from the camera, m
    print(f"the main person stays {depth.min():.1f} to {depth.max():.1f} m from the camera")

# 2. The offline run of `realtime3d video`: overlay.mp4, poses.npz/json/csv and poses_<id>.bvh.
summary = run_video(video, outdir, pipeline, cutoff_hz=6.0)
for name, path in summary.outputs.items():
    print(f"{name:12s} {path}")
