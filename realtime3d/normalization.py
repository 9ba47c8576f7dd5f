"""The lifter's 2D normalization, the one place that defines it.

Drover et al. (sec. 3.1) centre 2D poses on the root and scale them so that the
mean head-root distance is 1/d. We scale each pose on its own, so that a pose
from any camera, distance or detector lands on the same scale: the root-mean-square
distance of the visible joints from the centre is RMS_RADIUS, a constant chosen so
that over CMU-train random views the mean head-top to root distance is 1/d.
The centre is the root joint when visible, otherwise the mean of the visible joints.
"""
from __future__ import annotations

import torch

from .skeleton import H36M17, Skeleton

#: Drover's camera distance d: the 3D skeleton (head-root about 1 unit) sits at depth d.
DEPTH = 10.0
#: The sampler's unit: mocap poses are divided by it before a camera sees them
#: (data/views.py). The mean head-top to pelvis distance of CMU train, in mm (`python -m
#: realtime3d.data.stats`); only the sampler reads it, so it sets how big the training
#: bodies are at depth DEPTH, never the size of an answer (anthropometry.BONE_SUM_MM does).
BODY_UNIT_MM = 602.0
#: Per-pose RMS radius of the normalized 2D pose: over the sampler's views, a mean head-root
#: distance of 1/DEPTH (a ratio of 2D distances, measured by realtime3d.data.stats).
RMS_RADIUS = 0.0699


def normalize_2d(points: torch.Tensor, mask: torch.Tensor | None = None,
                 skeleton: Skeleton = H36M17) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Centre and scale 2D poses, each on its own (see the module docstring).

    Args:
        points: [B, J, 2] normalized camera coordinates (x / z, y / z).
        mask: [B, J] bool, True where a joint is visible; all visible by default.
        skeleton: the joint set (its root is the centre when visible).

    Returns:
        (normalized [B, J, 2], missing joints set to 0; centre [B, 2] normalized camera
        coordinates; scale [B], 1 / normalized camera units), with
        normalized = (points - centre) * scale.
    """
    if points.ndim != 3 or points.shape[-1] != 2:
        raise ValueError(f"points must be [B, J, 2], got {tuple(points.shape)}")
    if mask is None:
        mask = torch.ones(points.shape[:2], dtype=torch.bool, device=points.device)
    w = mask.to(points.dtype).unsqueeze(-1)                               # [B, J, 1]
    safe = torch.where(mask.unsqueeze(-1), points, torch.zeros_like(points))
    count = w.sum(dim=1).clamp(min=1.0)                                   # [B, 1]
    mean = (safe * w).sum(dim=1) / count                                  # [B, 2]
    root_ok = mask[:, skeleton.root].unsqueeze(-1)                        # [B, 1]
    centre = torch.where(root_ok, safe[:, skeleton.root], mean)           # [B, 2]
    centred = (safe - centre.unsqueeze(1)) * w                            # [B, J, 2]
    rms = ((centred ** 2).sum(dim=(1, 2)) / count.squeeze(-1)).sqrt()     # [B]
    scale = RMS_RADIUS / rms.clamp(min=1e-6)                              # [B]
    return centred * scale[:, None, None], centre, scale
