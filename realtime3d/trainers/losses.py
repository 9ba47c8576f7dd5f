"""Losses that more than one method uses, and the [params] of Drover's hidden-joint training."""
from __future__ import annotations

from dataclasses import dataclass

import torch

from .config import param


@dataclass
class HiddenJoints:
    """[params] keys shared by the methods that train with hidden joints (hidden_joint_loss) and on
    mirrored mocap poses; a method's Config inherits them (they come first in its table)."""

    max_drop: int = param(3, "at most this many joints are hidden in a training pose")
    drop_prob: float = param(0.3, "probability that a training pose has hidden joints")
    fill_weight: float = param(1.0, "weight of the 2D loss on the predicted position of hidden joints")
    mirror: bool = param(True)


def hidden_joint_loss(lifted: torch.Tensor, pose2d: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Squared 2D error of the hidden joints' re-projection, relative to the 2D scale (~0.1).

    lifted [B, J, 3], pose2d [B, J, 2] (the full 2D, before hiding), mask [B, J]."""
    hidden = ~mask
    if not hidden.any():
        return lifted.new_zeros(())
    proj = lifted[..., :2] / lifted[..., 2:3]
    return ((proj - pose2d) ** 2).sum(-1)[hidden].mean() / 0.01
