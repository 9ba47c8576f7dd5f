"""Distillation: a small lifting network learns to answer as a trained lifter does.

The teacher is a shipped model (or a best.pt); the student sees the same random 2D
views (with hidden joints) and regresses the teacher's 3D answer, flip average
included, so the student needs one pass where the teacher takes two. No 3D label is
read: the chain stays as weakly supervised as the teacher (the sampler's 3D is unused).

This is how the live lifter (realtime3d/weights/drover-live.pt) is made from the
default one: a quarter of the weights, so a single pose lifts in a fraction of the
time on a CPU, where a 512-wide network is bound by reading its 10 MB of weights.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from realtime3d.lifting import Lifter
from realtime3d.models import LiftingNetwork
from .base import Method, descend
from .config import param


@dataclass
class DistillConfig:
    """The [params] of distill; defaults are the shipped recipe (the live lifter)."""

    teacher: str = param("drover", "the lifter to distil: a shipped model's name or the path of a lifter .pt")
    width: int = param(256)
    blocks: int = param(4)
    lr: float = param(1e-3)
    max_drop: int = param(3, "at most this many joints are hidden in a training pose")
    drop_prob: float = param(0.3, "probability that a training pose has hidden joints")
    mirror: bool = param(True)


class Distill(Method):
    """Student(2D, mask) -> the teacher's flip-averaged 3D [B, J, 3], mean squared error."""

    name = "distill"
    Config = DistillConfig

    def __init__(self, cfg: DistillConfig, ctx):
        super().__init__(cfg, ctx)
        self.poses = ctx.sampler("poses", mirror=cfg.mirror)
        self.teacher = Lifter.from_pretrained(cfg.teacher).to(ctx.device)

    def build(self):
        return {"student": LiftingNetwork(width=self.cfg.width, blocks=self.cfg.blocks)}

    def optimizers(self, models):
        return {"student": torch.optim.Adam(models["student"].parameters(), lr=self.cfg.lr)}

    def step(self, models, opts, step):
        cfg = self.cfg
        pose2d, mask, _ = self.poses.sample(self.ctx.batch, cfg.max_drop, cfg.drop_prob)   # 3D unused
        target = self.teacher.lift_normalized(pose2d, mask)                                # [B, J, 3]
        pred = models["student"](pose2d, mask)                                             # [B, J, 3]
        loss = ((pred.float() - target) ** 2).sum(-1).mean()
        descend(opts["student"], loss)
        return {"loss": loss.item()}

    def eval_model(self, models):
        return models["student"]

    def model_card(self) -> dict:
        return {"flip_average": False, "teacher": self.cfg.teacher}

