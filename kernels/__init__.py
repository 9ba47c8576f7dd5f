"""Fused rotation, projection and skeleton-image kernels (importable as realtime3d.kernels).

Empty until the kernels issue lands; camera.py holds the PyTorch rotation and projection.
"""
