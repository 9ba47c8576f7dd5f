"""A temporal lifting network: a sequence of 2D poses -> a sequence of 3D poses (after VideoPose3D).

Dilated temporal convolutions over a person's track (Pavllo et al. 2019, "3D human pose
estimation in video with temporal convolutions and semi-supervised training"): kernel 3 with
dilations 1, 3, 9 sees 27 frames, 0.9 s at 30 fps. Unlike VideoPose3D's valid convolutions,
every layer pads its input by repeating the end frames ("same" length), so a track of any length,
one frame included, gets one answer per frame, and a frame near a track's end sees the end
frame repeated: the documented rule for the first and last frames. With causal=True the padding
is all on the past side, so a frame's answer reads no later frame (for a live loop).

The head is Drover's (models/lifter.py): per joint a depth offset, z = relu(DEPTH + o) + 1, and
the 2D of hidden joints; the input is each frame's normalized 2D (normalization.normalize_2d)
with its visibility mask.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..camera import back_project
from ..normalization import DEPTH


class TemporalBlock(nn.Module):
    """A residual block over time: (pad, Conv1d k=3 dilated, BN, ReLU, Conv1d k=1, BN, ReLU) + skip.
    [B, C, T] -> [B, C, T]."""

    def __init__(self, width: int, dilation: int, causal: bool):
        super().__init__()
        self.pad = (2 * dilation, 0) if causal else (dilation, dilation)
        self.conv = nn.Conv1d(width, width, 3, dilation=dilation)
        self.bn1 = nn.BatchNorm1d(width)
        self.mix = nn.Conv1d(width, width, 1)
        self.bn2 = nn.BatchNorm1d(width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.relu(self.bn1(self.conv(F.pad(x, self.pad, mode="replicate"))))
        return x + F.relu(self.bn2(self.mix(h)))


class TemporalLiftingNetwork(nn.Module):
    """(2D [B, T, J, 2], mask [B, T, J]) -> 3D [B, T, J, 3] in normalized units, one pose per frame.

    Args:
        num_joints: J.
        width: channels of the temporal blocks.
        dilations: one block per dilation (kernel 3): the receptive field is 1 + 2 * sum(dilations).
        depth: the normalization's root depth (normalization.DEPTH).
        causal: each frame reads only itself and earlier frames.
    """

    temporal = True

    def __init__(self, num_joints: int = 17, width: int = 512, dilations: tuple = (1, 3, 9), depth: float = DEPTH,
                 causal: bool = False, extra_outputs: int = 0):
        super().__init__()
        self.num_joints, self.depth, self.extra_outputs = num_joints, depth, extra_outputs
        self.architecture = {"kind": "temporal", "num_joints": num_joints, "width": width,
                             "dilations": list(dilations), "depth": depth, "causal": causal}
        if extra_outputs:       # e.g. the rotation cycle's elevation angle, per frame
            self.architecture["extra_outputs"] = extra_outputs
        self.receptive_field = 1 + 2 * sum(dilations)
        self.expand = nn.Sequential(nn.Conv1d(num_joints * 3, width, 1), nn.BatchNorm1d(width), nn.ReLU())
        self.blocks = nn.Sequential(*[TemporalBlock(width, int(d), causal) for d in dilations])
        self.head = nn.Conv1d(width, num_joints * 3 + extra_outputs, 1)
        # start as the trivial baseline (zero offsets: a flat skeleton at depth d + 1), as LiftingNetwork
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)

    def forward(self, pose2d: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        return self.lift(pose2d, mask)[0]

    def lift(self, pose2d: torch.Tensor, mask: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """(3D [B, T, J, 3], the extra outputs [B, T, extra_outputs]) of 2D [B, T, J, 2] and mask [B, T, J]."""
        b, t, j, _ = pose2d.shape
        if j != self.num_joints:
            raise ValueError(f"expected {self.num_joints} joints, got {j}")
        if mask is None:
            mask = torch.ones(b, t, j, dtype=torch.bool, device=pose2d.device)
        m = mask.unsqueeze(-1)
        x = torch.where(m, pose2d, torch.zeros_like(pose2d))
        feats = torch.cat([x * self.depth, m.to(x.dtype)], dim=-1)               # [B, T, J, 3]
        h = self.blocks(self.expand(feats.reshape(b, t, j * 3).transpose(1, 2)))  # [B, C, T]
        raw = self.head(h).transpose(1, 2)                                        # [B, T, J * 3 + E]
        out, extras = raw[..., :j * 3].reshape(b, t, j, 3), raw[..., j * 3:]
        z = torch.relu(self.depth + out[..., 0]) + 1.0                           # [B, T, J], eq. 2
        filled = torch.where(m, x, out[..., 1:] / self.depth)                    # [B, T, J, 2]
        return back_project(filled, z), extras                                    # [B, T, J, 3], [B, T, E]


class FramesOf(nn.Module):
    """A temporal network seen as a per-pose one: [S * T, J, 2] (S sequences of T frames, in order)
    -> [S * T, J, 3], for the criteria and the rotation cycle, which work on poses."""

    def __init__(self, network: TemporalLiftingNetwork, frames: int):
        super().__init__()
        self.network, self.frames = network, int(frames)

    def forward(self, pose2d: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        n, j, _ = pose2d.shape
        s = n // self.frames
        if s * self.frames != n:
            raise ValueError(f"{n} poses are not whole sequences of {self.frames} frames")
        seq_mask = None if mask is None else mask.reshape(s, self.frames, j)
        return self.network(pose2d.reshape(s, self.frames, j, 2), seq_mask).reshape(n, j, 3)
