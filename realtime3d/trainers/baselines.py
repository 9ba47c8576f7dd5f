"""The two baselines every Drover result is shown against.

- constant depth: Drover's "trivial baseline", every joint at the same depth
  (depth offsets of zero, a flat skeleton). It has no weights and is not trained
  (realtime3d/models/lifter.py ConstantDepthNetwork; ConstantDepth below is the same
  thing built from the generator's architecture, for code that wants a LiftingNetwork).
- supervised: the generator's architecture trained with the 3D labels, with a
  scale-invariant (N-MPJPE) loss on the back-projected pose, and selected on the val
  subjects' 3D; a method on the spine (base.py) with the 2D-only methods' budget.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from realtime3d.models import LiftingNetwork
from realtime3d.errors import UserError
from .base import Method, descend
from .config import param
from .losses import HiddenJoints, hidden_joint_loss
from .sampling import OWN_2D


class ConstantDepth(torch.nn.Module):
    """Drover's trivial baseline: z = d + 1 for every joint (what G gives with o = 0)."""

    def __init__(self, num_joints: int = 17):
        super().__init__()
        self.g = LiftingNetwork(num_joints=num_joints, width=8, blocks=0)
        with torch.no_grad():
            for p in self.g.parameters():
                p.zero_()

    def forward(self, pose2d, mask=None):
        return self.g(pose2d, mask)


def scale_invariant_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean squared joint error after root-centring and the least-squares scale. [B, J, 3] each."""
    p = pred - pred[:, :1]
    t = target - target[:, :1]
    scale = (p * t).sum((1, 2), keepdim=True) / (p * p).sum((1, 2), keepdim=True).clamp(min=1e-9)
    return ((scale * p - t) ** 2).sum(-1).mean()


@dataclass
class SupervisedConfig(HiddenJoints):
    """The [params] of supervised; defaults are the shipped recipe."""

    width: int = param(512)
    blocks: int = param(4)
    lr: float = param(1e-3)


class Supervised(Method):
    """The lifting network, trained on the train views (under the run's protocol) with their 3D."""

    name = "supervised"
    Config = SupervisedConfig
    criterion = "val_p_mpjpe"
    reads_3d = "its loss (the 3D of every view) and model selection (val 3D P-MPJPE)"

    def __init__(self, cfg: SupervisedConfig, ctx):
        super().__init__(cfg, ctx)
        if ctx.protocol == OWN_2D:
            raise UserError("the supervised baseline needs 3D: train it on the CMU mocap (train.data = 'cmu')")
        self.poses = ctx.sampler("poses", mirror=cfg.mirror)

    def build(self):
        return {"model": LiftingNetwork(width=self.cfg.width, blocks=self.cfg.blocks)}

    def optimizers(self, models):
        return {"model": torch.optim.Adam(models["model"].parameters(), lr=self.cfg.lr)}

    def step(self, models, opts, step):
        cfg = self.cfg
        pose2d, mask, body = self.poses.sample(self.ctx.batch, cfg.max_drop, cfg.drop_prob)
        pred = models["model"](pose2d, mask)
        loss = scale_invariant_loss(pred, body) + cfg.fill_weight * hidden_joint_loss(pred, pose2d, mask)
        descend(opts["model"], loss)
        return {"loss": loss.item()}

    def eval_model(self, models):
        return models["model"]

