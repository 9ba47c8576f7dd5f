"""Fused rotation, projection and skeleton-image kernels (importable as realtime3d.kernels).

Four ops, each with a `backend`:
- "reference": eager PyTorch (realtime3d/kernels/reference.py), autograd end to end;
- "cpu": the tiled, culled CPU path with hand-written backward passes (realtime3d/kernels/cpu.py);
- "triton": Triton kernels (realtime3d/kernels/triton_*.py); needs CUDA tensors, or TRITON_INTERPRET=1
  to run them on the CPU in Triton's interpreter (slow: for tests);
- "auto" (default): "triton" for CUDA tensors, "cpu" otherwise; on CUDA without the triton
  package, "reference" (with a warning).
Every tensor argument must be on one device (a ValueError names the one that is not).
Every backend gives the same answer up to float32 rounding; the tiled paths flush a
bone's contribution to 0 where gamma d^2 > tiling.CUTOFF (below 1.2e-7). Pixel (x, y)
has its centre at integer coordinates, x right, y down. Half and bfloat16 inputs are
computed in float32 and returned in their own dtype. realtime3d/kernels/README.md has the design.
"""
from __future__ import annotations

import functools
import importlib.util
import os
import warnings

import torch

from . import cpu, reference

BACKENDS = ("auto", "triton", "cpu", "reference")
MODES = ("max", "per_bone")

__all__ = ["BACKENDS", "rotate_project", "render_skeleton", "render_heatmaps", "render_views"]


def _triton_module(name: str):
    """The Triton implementation module (imported lazily: triton is heavy and Linux-only)."""
    if name == "project":
        from . import triton_project as module
    else:
        from . import triton_render as module
    return module


@functools.cache
def _triton_available() -> bool:
    """Whether the triton package is installed (it is Linux-only; importing it is left to first use)."""
    return importlib.util.find_spec("triton") is not None


def _device(**tensors) -> torch.device:
    """The one device of the tensor arguments (name=tensor; non-tensors are left to the shape checks).

    A CPU bones tensor with CUDA joints would hand Triton a host pointer: every backend refuses a mix."""
    named = [(name, t.device) for name, t in tensors.items() if isinstance(t, torch.Tensor)]
    first, device = named[0]
    for name, other in named[1:]:
        if other != device:
            raise ValueError(f"{name} is on {other} but {first} is on {device}: "
                             "put every tensor argument on one device")
    return device


def _resolve(backend: str, device: torch.device) -> str:
    """The backend that runs for tensors on device (see the module docstring)."""
    if backend not in BACKENDS:
        raise ValueError(f"unknown kernel backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    on_cuda = device.type == "cuda"
    if backend == "auto":
        if not on_cuda:
            return "cpu"
        if _triton_available():
            return "triton"
        warnings.warn("realtime3d.kernels: triton is not installed, so backend='auto' runs the PyTorch reference "
                      "on CUDA (slower, more memory); pip install triton", RuntimeWarning, stacklevel=3)
        return "reference"
    if backend == "triton" and not _triton_available():
        raise ValueError("backend='triton' needs the triton package, which is not installed (pip install triton; "
                         "backend='auto' falls back to the reference)")
    if backend == "triton" and not on_cuda and os.environ.get("TRITON_INTERPRET") != "1":
        raise ValueError("the triton backend needs CUDA tensors (or TRITON_INTERPRET=1 to interpret on the CPU)")
    return backend


def check_tensor(name: str, t: torch.Tensor, shape: tuple) -> None:
    """shape: ints are exact sizes, None any size; the number of dimensions must match."""
    if not isinstance(t, torch.Tensor):
        raise ValueError(f"{name} must be a tensor, got {type(t).__name__}")
    if t.ndim != len(shape) or any(s is not None and s != d for s, d in zip(shape, t.shape)):
        want = ", ".join("*" if s is None else str(s) for s in shape)
        raise ValueError(f"{name} must have shape [{want}], got {list(t.shape)}")
    if not t.is_floating_point():
        raise ValueError(f"{name} must be a floating-point tensor, got {t.dtype}")


def _check_bones(bones: torch.Tensor, num_joints: int) -> None:
    if not isinstance(bones, torch.Tensor) or bones.ndim != 2 or bones.shape[1] != 2 or bones.shape[0] == 0:
        raise ValueError(f"bones must be a non-empty [K, 2] tensor, got {getattr(bones, 'shape', type(bones))}")
    if bones.dtype != torch.long:
        raise ValueError(f"bones must be torch.long, got {bones.dtype}")
    if bones.min() < 0 or bones.max() >= num_joints:
        raise ValueError(f"bones index joints outside [0, {num_joints})")


def _check_size(size) -> tuple[int, int]:
    if len(size) != 2 or any(int(s) != s or s < 1 for s in size):
        raise ValueError(f"size must be (H, W) with positive integers, got {size!r}")
    return int(size[0]), int(size[1])


def _check_positive(**values: float) -> None:
    for name, value in values.items():
        if not value > 0:
            raise ValueError(f"{name} must be positive, got {value}")


def rotate_project(joints3d: torch.Tensor, rotations: torch.Tensor, depth: float = 10.0, min_z: float = 1.0,
                   backend: str = "auto") -> torch.Tensor:
    """Rotate about (0, 0, depth) and project: P = R (X - T) + T, (P_x, P_y) / max(P_z, min_z).

    The camera model of realtime3d.camera.rotate_project, with V views per pose; gradients
    flow to both inputs (none to P_z where it is clamped).

    Args:
        joints3d: [B, J, 3] in the lifter's units (depth is in the same units).
        rotations: [B, V, 3, 3] rotation matrices, one per view.
        depth: distance T_z of the rotation centre from the camera.
        min_z: the smallest depth divided by (> 0).
        backend: one of BACKENDS.

    Returns:
        [B, V, J, 2] normalized image coordinates (x / z, y / z).
    """
    check_tensor("joints3d", joints3d, (None, None, 3))
    check_tensor("rotations", rotations, (joints3d.shape[0], None, 3, 3))
    _check_positive(min_z=min_z)
    backend = _resolve(backend, _device(joints3d=joints3d, rotations=rotations))
    if backend == "triton":
        return _triton_module("project").rotate_project(joints3d, rotations, depth, min_z)
    # the CPU path is the reference: 30 FLOPs per joint, nothing to fuse
    return reference.rotate_project(joints3d, rotations, depth, min_z)


def render_skeleton(joints2d: torch.Tensor, bones: torch.Tensor, size: tuple[int, int], gamma: float,
                    mode: str = "max", backend: str = "auto") -> torch.Tensor:
    """Skeleton images, kappa of eq. 2 of Sosa & Hogg (2023): exp(-gamma d^2), d the distance to a bone.

    Args:
        joints2d: [B, J, 2] pixels of the output image.
        bones: [K, 2] long, joint indices of each bone's ends.
        size: (H, W) of the output image, pixels.
        gamma: sharpness, 1 / px^2 (> 0).
        mode: "max" (the nearest bone) or "per_bone" (one map per bone).
        backend: one of BACKENDS.

    Returns:
        [B, H, W] ("max") or [B, K, H, W] ("per_bone"), values in [0, 1], joints2d's dtype.
    """
    check_tensor("joints2d", joints2d, (None, None, 2))
    device = _device(joints2d=joints2d, bones=bones)
    _check_bones(bones, joints2d.shape[1])
    size = _check_size(size)
    _check_positive(gamma=gamma)
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}; choose one of {', '.join(MODES)}")
    backend = _resolve(backend, device)
    if backend == "triton":
        return _triton_module("render").render_skeleton(joints2d, bones, size, gamma, mode)
    return getattr(cpu if backend == "cpu" else reference, "render_skeleton")(joints2d, bones, size, gamma, mode)


def render_heatmaps(joints2d: torch.Tensor, depths: torch.Tensor, size: tuple[int, int], sigma: float,
                    backend: str = "auto") -> tuple[torch.Tensor, torch.Tensor]:
    """Gaussian heatmaps exp(-|p - u|^2 / (2 sigma^2)) and depth maps (depth * heatmap).

    Args:
        joints2d: [B, J, 2] pixels of the output image.
        depths: [B, J] each joint's depth (any unit; the depth maps carry it).
        size: (H, W) of the output image, pixels.
        sigma: the Gaussian's standard deviation, pixels (> 0).
        backend: one of BACKENDS.

    Returns:
        (heatmaps [B, J, H, W], peak 1 at the joint; depth_maps [B, J, H, W]).
    """
    check_tensor("joints2d", joints2d, (None, None, 2))
    check_tensor("depths", depths, tuple(joints2d.shape[:2]))
    size = _check_size(size)
    _check_positive(sigma=sigma)
    backend = _resolve(backend, _device(joints2d=joints2d, depths=depths))
    if backend == "triton":
        return _triton_module("render").render_heatmaps(joints2d, depths, size, sigma)
    return getattr(cpu if backend == "cpu" else reference, "render_heatmaps")(joints2d, depths, size, sigma)


def render_views(joints3d: torch.Tensor, rotations: torch.Tensor, bones: torch.Tensor, size: tuple[int, int],
                 gamma: float, depth: float = 10.0, scale: float = 1.0, center: tuple[float, float] = (0.0, 0.0),
                 min_z: float = 1.0, backend: str = "auto") -> torch.Tensor:
    """rotate_project, pixels = projection * scale + center, render_skeleton "max", fused.

    Gradients flow to the joints and the rotations.

    Args:
        joints3d: [B, J, 3] in the lifter's units.
        rotations: [B, V, 3, 3] rotation matrices, one per view.
        bones: [K, 2] long, joint indices of each bone's ends.
        size: (H, W) of the output images, pixels.
        gamma: sharpness of the skeleton image, 1 / px^2 (> 0).
        depth, min_z: as in rotate_project.
        scale: pixels per normalized image unit.
        center: (cx, cy) pixel position of the optical axis.
        backend: one of BACKENDS.

    Returns:
        [B, V, H, W] skeleton images, values in [0, 1].
    """
    check_tensor("joints3d", joints3d, (None, None, 3))
    check_tensor("rotations", rotations, (joints3d.shape[0], None, 3, 3))
    device = _device(joints3d=joints3d, rotations=rotations, bones=bones)
    _check_bones(bones, joints3d.shape[1])
    size = _check_size(size)
    _check_positive(gamma=gamma, min_z=min_z)
    if len(center) != 2:
        raise ValueError(f"center must be (cx, cy), got {center!r}")
    backend = _resolve(backend, device)
    if backend == "triton":
        return _triton_module("render").render_views(joints3d, rotations, bones, size, gamma, depth, scale,
                                                     center, min_z)
    impl = cpu if backend == "cpu" else reference
    return impl.render_views(joints3d, rotations, bones, size, gamma, depth, scale, center, min_z)
