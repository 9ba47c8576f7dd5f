"""Viewing: the open3d window, the 2D overlay, the 3D render for overlay videos.

- style.py     colours by side (left blue, right orange), one place
- world.py     camera coordinates -> the viewers' y-up world; the person on the ground grid
- overlay.py   OpenCV drawing on frames: draw_skeleton_2d, draw_status
- render3d.py  PoseRenderer (software 3D render, no GL) and side_by_side, for overlay.mp4
- frame.py     draw_result: a pipeline FrameResult drawn (2D overlay, skeleton-net panel, 3D view)
- viewer.py    PoseViewer, the live open3d window
- window2d.py  OverlayWindow, the OpenCV window
- display.py   DisplayError and the display check made before any window opens

Nothing is imported here, so that headless runs never load open3d or a GUI toolkit.
"""
