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


class FoldedMLP(nn.Module):
    """The inference form of an _mlp (Linear, ResidualBlock..., Linear) in eval mode: each
    BatchNorm folded into the Linear before it, the weights stored transposed [in, out]
    for addmm, and the layers run in one loop without module calls. Same outputs; for
    one pose on a CPU the network takes about half the time (per-call overhead, not
    arithmetic, dominates there)."""

    def __init__(self, mlp: nn.Sequential):
        super().__init__()
        first, *blocks, last = mlp
        layers = [first]
        for block in blocks:
            linear1, bn1, _, linear2, bn2, _ = block.body
            layers += [fuse_linear_bn_eval(linear1, bn1), fuse_linear_bn_eval(linear2, bn2)]
        layers.append(last)
        for i, layer in enumerate(layers):
            self.register_buffer(f"w{i}", layer.weight.detach().t().contiguous())   # [in, out]
            self.register_buffer(f"b{i}", layer.bias.detach().clone())              # [out]
        self.num_layers = len(layers)
        self._names = [(f"w{i}", f"b{i}") for i in range(self.num_layers)]

    def forward(self, x: torch.Tensor) -> torch.Tensor:     # [B, in] -> [B, out]
        w = [self._buffers[name] for name, _ in self._names]   # buffers: they follow .to(device)
        b = [self._buffers[name] for _, name in self._names]
        x = torch.addmm(b[0], x, w[0])
        for k in range(1, self.num_layers - 1, 2):           # a residual block: two layers, then the skip
            h = torch.addmm(b[k], x, w[k]).relu_()
            x = torch.addmm(b[k + 1], h, w[k + 1]).relu_().add_(x)
        return torch.addmm(b[-1], x, w[-1])


def _is_mlp(module: nn.Module) -> bool:
    return (isinstance(module, nn.Sequential) and len(module) >= 2 and isinstance(module[0], nn.Linear)
            and isinstance(module[-1], nn.Linear) and all(isinstance(m, ResidualBlock) for m in module[1:-1]))


def inference_copy(module: nn.Module) -> nn.Module:
    """An eval-mode copy of a network with every _mlp replaced by its FoldedMLP: the same
    function of the inputs, faster. The original is left as it was (it may go on training)."""
    module = copy.deepcopy(module).eval()
    for parent in list(module.modules()):
        for name, child in list(parent.named_children()):
            if _is_mlp(child):
                setattr(parent, name, FoldedMLP(child))
    return module


def _mlp(in_features: int, out_features: int, width: int, blocks: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Linear(in_features, width),
        *[ResidualBlock(width) for _ in range(blocks)],
        nn.Linear(width, out_features),
    )


class LiftingNetwork(nn.Module):
    """Generator G: (2D pose [B, J, 2], mask [B, J]) -> 3D pose [B, J, 3] in normalized units."""

    def __init__(self, num_joints: int = 17, width: int = 1024, blocks: int = 4, depth: float = DEPTH,
                 extra_outputs: int = 0):
        super().__init__()
        self.num_joints, self.depth, self.extra_outputs = num_joints, depth, extra_outputs
        self.architecture = {"num_joints": num_joints, "width": width, "blocks": blocks, "depth": depth}
        if extra_outputs:       # e.g. the rotation cycle's elevation angle (realtime3d/trainers/cycle.py)
            self.architecture["extra_outputs"] = extra_outputs
        # per joint: x, y, visible  ->  per joint: depth offset o, and x, y for hidden joints (+ extras)
        self.net = _mlp(num_joints * 3, num_joints * 3 + extra_outputs, width, blocks)
        # Start as Drover's trivial baseline (zero offsets, a flat skeleton at depth d + 1),
        # not as a random deep one: a randomly initialised head gives depth offsets
        # about five times the spread of real bodies, which the GAN then has to undo.
        nn.init.zeros_(self.net[-1].weight)
        nn.init.zeros_(self.net[-1].bias)

    def forward(self, pose2d: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        return self.lift(pose2d, mask)[0]

    def lift(self, pose2d: torch.Tensor, mask: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """(3D [B, J, 3], the extra outputs [B, extra_outputs]) of 2D [B, J, 2] and mask [B, J]."""
        b, j, _ = pose2d.shape
        if j != self.num_joints:
            raise ValueError(f"expected {self.num_joints} joints, got {j}")
        if mask is None:
            mask = torch.ones(b, j, dtype=torch.bool, device=pose2d.device)
        m = mask.unsqueeze(-1)
        x = torch.where(m, pose2d, torch.zeros_like(pose2d))
        feats = torch.cat([x * self.depth, m.to(x.dtype)], dim=-1)   # 2D rescaled to about unit size
        raw = self.net(feats.reshape(b, -1))                             # [B, J*3 + E]
        out, extras = raw[:, : j * 3].reshape(b, j, 3), raw[:, j * 3:]
        offsets = out[..., 0]                                        # [B, J]
        filled = torch.where(m, x, out[..., 1:] / self.depth)        # [B, J, 2]
        device = offsets.device.type
        if torch.is_autocast_enabled(device):
            # the depth head in float32: in bf16, z = relu(d + o) + 1 steps by 1/16 at z ~ 11 (38 mm)
            with torch.autocast(device, enabled=False):
                return self._depth_head(filled.float(), offsets.float()), extras.float()
        return self._depth_head(filled, offsets), extras

    def _depth_head(self, filled: torch.Tensor, offsets: torch.Tensor) -> torch.Tensor:
        """2D [B, J, 2] and depth offsets [B, J] -> 3D [B, J, 3]."""
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
