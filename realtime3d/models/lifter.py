"""Drover et al.'s networks: a residual MLP generator of depth offsets, and a 2D discriminator.

Both take normalized 2D poses (normalization.py). The generator also takes the
visibility mask and predicts the 2D position of every hidden joint, so that it can
lift a partial pose (Drover's model cannot). Depth: z = max(0, d + o) + 1 (eq. 2);
back projection: X = z [x, y, 1].
"""
from __future__ import annotations

import copy

import torch
from torch import nn
from torch.nn.utils.fusion import fuse_linear_bn_eval

from ..camera import back_project
from ..normalization import DEPTH


class ResidualBlock(nn.Module):
    """Two (Linear, BatchNorm, ReLU) layers with a skip connection (Drover fig. 3)."""

    def __init__(self, width: int):
        super().__init__()
        self.body = nn.Sequential(
            nn.Linear(width, width), nn.BatchNorm1d(width), nn.ReLU(inplace=True),
            nn.Linear(width, width), nn.BatchNorm1d(width), nn.ReLU(inplace=True),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


def fold_batch_norm(module: nn.Module) -> nn.Module:
    """An inference copy of a network: every (Linear, BatchNorm1d) pair folded into one Linear
    with the BatchNorm's running statistics. Same outputs in eval mode, fewer operations."""
    module = copy.deepcopy(module).eval()
    for seq in [m for m in module.modules() if isinstance(m, nn.Sequential)]:
        layers = list(seq)
        folded = []
        for layer in layers:
            if isinstance(layer, nn.BatchNorm1d) and folded and isinstance(folded[-1], nn.Linear):
                folded[-1] = fuse_linear_bn_eval(folded[-1], layer)
            else:
                folded.append(layer)
        if len(folded) != len(layers):
            for name in list(seq._modules):
                del seq._modules[name]
            for i, layer in enumerate(folded):
                seq.add_module(str(i), layer)
    return module


def _mlp(in_features: int, out_features: int, width: int, blocks: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Linear(in_features, width),
        *[ResidualBlock(width) for _ in range(blocks)],
        nn.Linear(width, out_features),
    )


class LiftingNetwork(nn.Module):
    """Generator G: (2D pose [B, J, 2], mask [B, J]) -> 3D pose [B, J, 3] in normalized units."""

    def __init__(self, num_joints: int = 17, width: int = 1024, blocks: int = 4, depth: float = DEPTH):
        super().__init__()
        self.num_joints, self.depth = num_joints, depth
        self.architecture = {"num_joints": num_joints, "width": width, "blocks": blocks, "depth": depth}
        # per joint: x, y, visible  ->  per joint: depth offset o, and x, y for hidden joints
        self.net = _mlp(num_joints * 3, num_joints * 3, width, blocks)
        # Start as Drover's trivial baseline (zero offsets, a flat skeleton at depth d + 1),
        # not as a random deep one: a randomly initialised head gives depth offsets
        # about five times the spread of real bodies, which the GAN then has to undo.
        nn.init.zeros_(self.net[-1].weight)
        nn.init.zeros_(self.net[-1].bias)

    def forward(self, pose2d: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        b, j, _ = pose2d.shape
        if j != self.num_joints:
            raise ValueError(f"expected {self.num_joints} joints, got {j}")
        if mask is None:
            mask = torch.ones(b, j, dtype=torch.bool, device=pose2d.device)
        m = mask.unsqueeze(-1)
        x = torch.where(m, pose2d, torch.zeros_like(pose2d))
        feats = torch.cat([x * self.depth, m.to(x.dtype)], dim=-1)   # 2D rescaled to about unit size
        out = self.net(feats.reshape(b, -1)).reshape(b, j, 3)
        offsets = out[..., 0]                                        # [B, J]
        filled = torch.where(m, x, out[..., 1:] / self.depth)        # [B, J, 2]
        z = torch.relu(self.depth + offsets) + 1.0              # eq. 2
        return back_project(filled, z)                           # [B, J, 3]


class Discriminator2D(nn.Module):
    """D: normalized 2D pose [B, J, 2] -> real/fake logit [B] (the 2-way softmax as one logit)."""

    def __init__(self, num_joints: int = 17, width: int = 1024, blocks: int = 3, depth: float = DEPTH):
        super().__init__()
        self.depth = depth
        self.net = _mlp(num_joints * 2, 1, width, blocks)

    def forward(self, pose2d: torch.Tensor) -> torch.Tensor:
        return self.net(pose2d.reshape(pose2d.shape[0], -1) * self.depth).squeeze(-1)


class ConstantDepthNetwork(nn.Module):
    """Drover's trivial baseline: every joint at depth d + 1 (G with zero offsets), a flat skeleton.

    Hidden joints are put at the 2D centre."""

    def __init__(self, num_joints: int = 17, depth: float = DEPTH):
        super().__init__()
        self.num_joints, self.depth = num_joints, depth

    def forward(self, pose2d: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        if mask is not None:
            pose2d = torch.where(mask.unsqueeze(-1), pose2d, torch.zeros_like(pose2d))
        return back_project(pose2d, torch.full(pose2d.shape[:2], self.depth + 1.0, dtype=pose2d.dtype))
