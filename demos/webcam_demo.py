"""Live 3D skeletons from a webcam, in a few lines of the realtime3d API.

    python demos/webcam_demo.py [CAMERA]       # an index (default 0), or a video file played as a camera

q or Esc in the 2D window quits. `realtime3d webcam` is the full command.
"""
import sys

from realtime3d.capture import LiveSource
from realtime3d.detect.blazepose import MultiPoseDetector
from realtime3d.filters import OneEuroFilter
from realtime3d.lifting import LIVE_MODEL, load_model
from realtime3d.native_logs import quiet_native_logs
from realtime3d.pipeline import PosePipeline
from realtime3d.runtime import set_up_pipeline_process
from realtime3d.viz.frame import draw_result
from realtime3d.viz.display import side_by_side_positions
from realtime3d.viz.viewer import PoseViewer
from realtime3d.viz.window2d import OverlayWindow

quiet_native_logs()      # MediaPipe's and TFLite's routine log lines stay off the terminal
set_up_pipeline_process()   # one torch thread, as the command runs it
camera = sys.argv[1] if len(sys.argv) > 1 else 0
model = load_model(LIVE_MODEL)                                # the webcam's default (it reads MediaPipe's 3D too)
pipeline = PosePipeline(model, MultiPoseDetector(max_people=4, world_landmarks=model.reads_world3d),
                        filter=OneEuroFilter())
where_2d, where_3d = side_by_side_positions()                 # the two windows side by side

with LiveSource(camera) as source, OverlayWindow("2D", position=where_2d) as window, \
        PoseViewer(title="3D", position=where_3d) as viewer:
    while source.running:
        frame = source.read()                                 # the newest frame, or None
        if frame is None:
            continue
        result = pipeline.process(frame.image, frame.t)       # 2D -> ids -> 3D -> One Euro, per person
        status = [source.status, f"{len(result.people)} people"]
        picture = draw_result(frame.image, result, renderer=None, status=status)   # each person with their id
        if not window.show(picture) or not viewer.update_people(result.lifted):
            break
        where = [f"{p.id}: z={p.joints3d[0, 2]:5.0f} mm" for p in result.people]   # pelvis depths, camera coordinates
        print("\r" + "; ".join(where).ljust(60), end="")
print()
