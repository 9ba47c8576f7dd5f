"""Losses that more than one method uses."""
from __future__ import annotations

import torch


def hidden_joint_loss(lifted: torch.Tensor, pose2d: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Squared 2D error of the hidden joints' re-projection, relative to the 2D scale (~0.1).

    lifted [B, J, 3], pose2d [B, J, 2] (the full 2D, before hiding), mask [B, J]."""
    hidden = ~mask
    if not hidden.any():
        return lifted.new_zeros(())
    proj = lifted[..., :2] / lifted[..., 2:3]
    return ((proj - pose2d) ** 2).sum(-1)[hidden].mean() / 0.01
