"""The networks of Deng et al., "SVMAC: Unsupervised 3D Human Pose Estimation from a Single Image with
Single-view-multi-angle Consistency" (2021), secs. 3.1 and 3.3: a generator that lifts a 2D pose and
estimates a weak-perspective camera, and a WGAN critic of 2D poses.

The generator (fig. 2): a fully connected layer and shared residual blocks extract features of the
2D input; a pose path (residual blocks, a fully connected layer) gives the joint depths D,
Z = D + c (c = DEPTH = 10), and the back projection X = Z [x, y, 1] (eqs. 1-3); a camera path
(residual blocks, a fully connected layer) gives 6 numbers, the camera K [B, 2, 3]. As
LiftingNetwork does, it takes the visibility mask (inputs x, y, visible per joint) and predicts the
2D of the hidden joints, so it lifts partial poses. Its blocks are lifter.ResidualBlock (batch norm
kept; ReLU for the paper's leaky ReLU, no dropout), so the pose path folds for inference as
Drover's does. The critic keeps the leaky ReLU and has no batch norm (WGAN-GP's gradient penalty is
per sample). Why: docs/methods.md.
"""
from __future__ import annotations

import torch
from torch import nn

from ..camera import back_project
from ..normalization import DEPTH
from .lifter import ResidualBlock, _mlp


class SVMACNetwork(nn.Module):
    """GEN (eq. 3): (2D pose [B, J, 2], mask [B, J]) -> 3D pose [B, J, 3], and with the camera
    head (lift) the weak-perspective camera K [B, 2, 3].

    Layout: `pose` is an _mlp (Linear, shared_blocks + head_blocks ResidualBlocks, Linear) whose
    first 1 + shared_blocks modules are the shared trunk; `camera` (head_blocks ResidualBlocks,
    Linear -> 6) reads the trunk's features. forward() without the camera runs `pose` whole, so
    realtime3d.models.lifter.inference_copy folds it (the camera head is left as it is and is
    not used by forward). The camera needs the unfolded network (training).

    Depth: Z = D - D_root + c, kept above 1 as LiftingNetwork keeps its z (relu(Z - 1) + 1): the
    root sits at the camera distance c, as the paper's D (depths relative to the root) puts it,
    and turning about (0, 0, c) (eq. 8) turns about the root.
    Start: zero depths (Drover's flat baseline) and K = [I | 0] / c, the weak-perspective camera
    that maps the lifted pose back onto its own input (x = X / Z with Z ~ c)."""

    def __init__(self, num_joints: int = 17, width: int = 1024, shared_blocks: int = 1, head_blocks: int = 2,
                 depth: float = DEPTH, root: int = 0):
        super().__init__()
        self.num_joints, self.depth, self.root = num_joints, depth, root
        self.shared_blocks = shared_blocks
        self.architecture = {"kind": "svmac", "num_joints": num_joints, "width": width,
                             "shared_blocks": shared_blocks, "head_blocks": head_blocks, "depth": depth, "root": root}
        # per joint: x, y, visible  ->  per joint: depth D, and x, y for hidden joints
        self.pose = _mlp(num_joints * 3, num_joints * 3, width, shared_blocks + head_blocks)
        self.camera = nn.Sequential(*[ResidualBlock(width) for _ in range(head_blocks)], nn.Linear(width, 6))
        nn.init.zeros_(self.pose[-1].weight)
        nn.init.zeros_(self.pose[-1].bias)
        nn.init.zeros_(self.camera[-1].weight)
        with torch.no_grad():
            self.camera[-1].bias.copy_(torch.tensor([1.0, 0.0, 0.0, 0.0, 1.0, 0.0]) / depth)

    def forward(self, pose2d: torch.Tensor, mask: torch.Tensor | None = None, with_camera: bool = False):
        """3D [B, J, 3]; with_camera: (3D, K [B, 2, 3]) (the training form, through DDP's forward)."""
        if with_camera:
            return self.lift(pose2d, mask)
        feats, m, x = self._inputs(pose2d, mask)
        return self._pose_head(self.pose(feats), m, x)

    def lift(self, pose2d: torch.Tensor, mask: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """(3D [B, J, 3], camera K [B, 2, 3]) of 2D [B, J, 2] and mask [B, J] (eq. 3)."""
        if not isinstance(self.pose, nn.Sequential):
            raise RuntimeError("the camera head needs the unfolded network: inference_copy keeps only the pose path")
        feats, m, x = self._inputs(pose2d, mask)
        trunk = 1 + self.shared_blocks
        h = self.pose[:trunk](feats)                                      # [B, width], the shared features
        pose3d = self._pose_head(self.pose[trunk:](h), m, x)              # [B, J, 3]
        cam = self.camera(h)                                              # [B, 6]
        if torch.is_autocast_enabled(cam.device.type):
            cam = cam.float()
        return pose3d, cam.reshape(-1, 2, 3)

    def _inputs(self, pose2d: torch.Tensor, mask: torch.Tensor | None):
        b, j, _ = pose2d.shape
        if j != self.num_joints:
            raise ValueError(f"expected {self.num_joints} joints, got {j}")
        if mask is None:
            mask = torch.ones(b, j, dtype=torch.bool, device=pose2d.device)
        m = mask.unsqueeze(-1)                                            # [B, J, 1]
        x = torch.where(m, pose2d, torch.zeros_like(pose2d))              # [B, J, 2]
        feats = torch.cat([x * self.depth, m.to(x.dtype)], dim=-1)        # 2D rescaled to about unit size
        return feats.reshape(b, -1), m, x

    def _pose_head(self, raw: torch.Tensor, m: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """The pose path's output [B, J*3] -> 3D [B, J, 3]: depths and the hidden joints' 2D."""
        out = raw.reshape(x.shape[0], self.num_joints, 3)
        device = out.device.type
        if torch.is_autocast_enabled(device):
            # in float32: in bf16, Z ~ 10 steps by 1/16 (38 mm), as LiftingNetwork says
            with torch.autocast(device, enabled=False):
                return self._back_project(out.float(), m, x.float())
        return self._back_project(out, m, x)

    def _back_project(self, out: torch.Tensor, m: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        d = out[..., 0]                                                   # [B, J] depths D
        filled = torch.where(m, x, out[..., 1:] / self.depth)             # [B, J, 2]
        z = torch.relu(d - d[:, self.root:self.root + 1] + self.depth - 1.0) + 1.0   # Z = D - D_root + c > 1
        return back_project(filled, z)                                    # X = Z [x, y, 1], [B, J, 3]


class CriticBlock(nn.Module):
    """Two (Linear, leaky ReLU) layers with a skip connection: the critic's residual block
    (no batch norm, see the module docstring)."""

    def __init__(self, width: int, slope: float = 0.2):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(width, width), nn.LeakyReLU(slope),
                                  nn.Linear(width, width), nn.LeakyReLU(slope))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class Critic2D(nn.Module):
    """The discriminator of sec. 3.3 as a WGAN critic: normalized 2D pose [B, J, 2] -> score [B].
    A fully connected layer up to `width`, `blocks` residual blocks, a fully connected layer;
    leaky ReLUs."""

    def __init__(self, num_joints: int = 17, width: int = 256, blocks: int = 2, depth: float = DEPTH,
                 slope: float = 0.2):
        super().__init__()
        self.depth = depth
        self.net = nn.Sequential(nn.Linear(num_joints * 2, width), nn.LeakyReLU(slope),
                                 *[CriticBlock(width, slope) for _ in range(blocks)], nn.Linear(width, 1))

    def forward(self, pose2d: torch.Tensor) -> torch.Tensor:
        return self.net(pose2d.reshape(pose2d.shape[0], -1) * self.depth).squeeze(-1)
