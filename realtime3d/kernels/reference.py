"""PyTorch references of the kernel ops: readable, eager, differentiable by autograd.

Same signatures as the public ops in realtime3d.kernels (without `backend`). They
compute in the input's dtype (float64 for gradcheck; half inputs are computed in
float32 and returned in their own dtype) and materialise every intermediate, e.g.
the [B, K, H, W] distance field of render_skeleton: that is what the fused paths
are measured against.

Conventions (shared by every backend):
- pixel (x, y) is column x, row y of the output image, and its centre is at the
  integer coordinates (x, y); x right, y down;
- kappa (the skeleton image of eq. 2 of Sosa & Hogg, "Self-supervised 3D Human Pose
  Estimation from a Single Image", 2023): for bone (a, b),
  r = clamp(<p - a, b - a> / |b - a|^2, 0, 1), d = |p - a - r (b - a)|,
  value exp(-gamma d^2); a zero-length bone has r = 0;
- heatmaps (Yang et al., "3D Human Pose Estimation in the Wild by Adversarial Learning",
  2018): exp(-|p - u|^2 / (2 sigma^2)), peak 1 at the joint; the depth
  map of a joint is its depth times its heatmap.
"""
from __future__ import annotations

import torch


def compute_dtype(x: torch.Tensor) -> torch.dtype:
    """float64 stays float64; every other floating dtype is computed in float32."""
    return torch.float64 if x.dtype == torch.float64 else torch.float32


def pixel_grid(size: tuple[int, int], dtype: torch.dtype, device) -> tuple[torch.Tensor, torch.Tensor]:
    """Pixel-centre coordinates (xs [1, W], ys [H, 1]) of an image size (H, W)."""
    h, w = size
    xs = torch.arange(w, dtype=dtype, device=device).view(1, w)
    ys = torch.arange(h, dtype=dtype, device=device).view(h, 1)
    return xs, ys


def rotate_project(joints3d: torch.Tensor, rotations: torch.Tensor, depth: float = 10.0,
                   min_z: float = 1.0) -> torch.Tensor:
    """P = R (X - T) + T with T = (0, 0, depth), then (P_x, P_y) / max(P_z, min_z).

    joints3d [B, J, 3], rotations [B, V, 3, 3] -> [B, V, J, 2]. The camera model of
    realtime3d.camera (rotate_about_depth + perspective_project), batched over views.
    """
    dt = compute_dtype(joints3d)
    x = joints3d.to(dt)
    t = x.new_tensor([0.0, 0.0, depth])
    p = torch.einsum("bvik,bjk->bvji", rotations.to(dt), x - t) + t    # [B, V, J, 3]
    z = p[..., 2:3].clamp(min=min_z)                                   # [B, V, J, 1]
    return (p[..., :2] / z).to(joints3d.dtype)


def segment_distance2(joints2d: torch.Tensor, bones: torch.Tensor,
                      size: tuple[int, int]) -> torch.Tensor:
    """Squared distance of every pixel to every bone: [B, J, 2] -> [B, K, H, W]."""
    a = joints2d[:, bones[:, 0]][:, :, None, None, :]                  # [B, K, 1, 1, 2]
    ab = joints2d[:, bones[:, 1]][:, :, None, None, :] - a             # [B, K, 1, 1, 2]
    xs, ys = pixel_grid(size, joints2d.dtype, joints2d.device)
    apx = xs - a[..., 0]                                               # [B, K, 1, W]
    apy = ys - a[..., 1]                                               # [B, K, H, 1]
    len2 = (ab ** 2).sum(-1)                                           # [B, K, 1, 1]
    nonzero = len2 > 0
    dot = apx * ab[..., 0] + apy * ab[..., 1]                          # [B, K, H, W]
    r = torch.where(nonzero, dot / torch.where(nonzero, len2, torch.ones_like(len2)), 0.0).clamp(0.0, 1.0)
    return (apx - r * ab[..., 0]) ** 2 + (apy - r * ab[..., 1]) ** 2   # [B, K, H, W]


def render_skeleton(joints2d: torch.Tensor, bones: torch.Tensor, size: tuple[int, int], gamma: float,
                    mode: str = "max") -> torch.Tensor:
    """Skeleton images, kappa of eq. 2 of Sosa & Hogg (2023): exp(-gamma d^2), d the distance to a bone.

    Args:
        joints2d: [B, J, 2] pixels of the output image.
        bones: [K, 2] long, joint indices of each bone's ends.
        size: (H, W) of the output image, pixels.
        gamma: sharpness, 1 / px^2.
        mode: "max" (the nearest bone) or "per_bone" (one map per bone, the per-bone skeleton
            maps of Chen et al., 2019).

    Returns:
        [B, H, W] ("max") or [B, K, H, W] ("per_bone"), values in (0, 1], joints2d's dtype.
    """
    d2 = segment_distance2(joints2d.to(compute_dtype(joints2d)), bones, size)   # [B, K, H, W]
    if mode == "per_bone":
        out = torch.exp(-gamma * d2)
    else:
        out = torch.exp(-gamma * d2.min(dim=1).values)                 # max of exp = exp of min
    return out.to(joints2d.dtype)


def render_heatmaps(joints2d: torch.Tensor, depths: torch.Tensor, size: tuple[int, int],
                    sigma: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Gaussian heatmaps and depth maps (the third discriminator input of Yang et al., 2018).

    Args:
        joints2d: [B, J, 2] pixels of the output image.
        depths: [B, J] each joint's depth (any unit; the depth maps carry it).
        size: (H, W) of the output image, pixels.
        sigma: the Gaussian's standard deviation, pixels.

    Returns:
        (heatmaps [B, J, H, W] in (0, 1], peak 1 at the joint, in joints2d's dtype;
        depth_maps [B, J, H, W] = depth * heatmap, in depths' dtype).
    """
    dt = compute_dtype(joints2d)
    u = joints2d.to(dt)
    xs, ys = pixel_grid(size, dt, u.device)
    d2 = (xs - u[..., 0, None, None]) ** 2 + (ys - u[..., 1, None, None]) ** 2   # [B, J, H, W]
    heat = torch.exp(-d2 / (2.0 * sigma ** 2))
    depth_maps = depths.to(dt)[..., None, None] * heat
    return heat.to(joints2d.dtype), depth_maps.to(depths.dtype)


def render_views(joints3d: torch.Tensor, rotations: torch.Tensor, bones: torch.Tensor, size: tuple[int, int],
                 gamma: float, depth: float = 10.0, scale: float = 1.0,
                 center: tuple[float, float] = (0.0, 0.0), min_z: float = 1.0) -> torch.Tensor:
    """rotate_project, then pixels = projection * scale + center, then render_skeleton "max".

    joints3d [B, J, 3], rotations [B, V, 3, 3], bones [K, 2] -> [B, V, H, W].
    """
    b, v = rotations.shape[:2]
    proj = rotate_project(joints3d.to(compute_dtype(joints3d)), rotations, depth, min_z)   # [B, V, J, 2]
    pixels = proj * scale + proj.new_tensor(center)
    out = render_skeleton(pixels.reshape(b * v, -1, 2), bones, size, gamma, "max")        # [B*V, H, W]
    return out.reshape(b, v, *size).to(joints3d.dtype)
