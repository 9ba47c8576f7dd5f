"""Live 3D skeletons from a webcam, in a few lines of the realtime3d API.

    python demos/webcam_demo.py [CAMERA]       # an index (default 0), or a video file played as a camera

q or Esc in the 2D window quits. `realtime3d webcam` is the full command.
"""
import sys

from realtime3d.capture import LiveSource
from realtime3d.detect.mediapipe import PoseDetector
from realtime3d.filters import OneEuroFilter
from realtime3d.lifting import LIVE_MODEL, Lifter
from realtime3d.pipeline import PosePipeline, draw_result
from realtime3d.viz.display import side_by_side_positions
from realtime3d.viz.viewer import SkeletonViewer
from realtime3d.viz.window2d import OverlayWindow

camera = sys.argv[1] if len(sys.argv) > 1 else 0
pipeline = PosePipeline(Lifter.from_pretrained(LIVE_MODEL), PoseDetector(), filter=OneEuroFilter())
where_2d, where_3d = side_by_side_positions()                 # the two windows side by side

with LiveSource(camera) as source, OverlayWindow("2D", position=where_2d) as window, \
        SkeletonViewer(title="3D", position=where_3d) as viewer:
    while source.running:
        frame = source.read()                                 # the newest frame, or None
        if frame is None:
            continue
        result = pipeline.process(frame.image, frame.t)       # 2D -> 3D -> One Euro
        status = [source.status, "person" if result.person else "no person"]
        picture = draw_result(frame.image, result, renderer=None, status=status)
        if not window.show(picture) or not viewer.update(result.joints3d if result.person else None):
            break
        if result.person:
            pelvis = result.joints3d[0]                       # mm, camera coordinates
            print(f"\rpelvis at x={pelvis[0]:6.0f} y={pelvis[1]:6.0f} z={pelvis[2]:6.0f} mm", end="")
print()
