"""Viewing: the open3d window, the 2D overlay, the 3D render for overlay videos."""
