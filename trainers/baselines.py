"""The two baselines every Drover result is shown against.

- constant depth: Drover's "trivial baseline", every joint at the same depth
  (depth offsets of zero, a flat skeleton). It has no weights.
- supervised: the generator's architecture trained with the 3D labels (the upper
  bound), with a scale-invariant (N-MPJPE) loss on the back-projected pose.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from realtime3d.data.mocap import load_split
from realtime3d.models import LiftingNetwork
from .common import (ModelSelection, PoseSampler, RunLog, Validator, config_parser, cosine_factor,
                     hidden_joint_loss)


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
class SupervisedConfig:
    width: int = 512           # the same architecture as the shipped Drover generator
    blocks: int = 4
    batch: int = 512
    lr: float = 1e-3
    max_drop: int = 3
    drop_prob: float = 0.3
    fill_weight: float = 1.0
    mirror: bool = True        # train on the mocap poses and their mirror images
    minutes: float = 10.0
    val_every_s: float = 20.0
    patience: int = 0          # early stopping after this many validations without a new best
    seed: int = 0
    threads: int = 2
    run_dir: str = "runs/supervised"


def train_supervised(cfg: SupervisedConfig) -> float:
    torch.manual_seed(cfg.seed)
    torch.set_num_threads(cfg.threads)
    sampler = PoseSampler(load_split("train")["joints3d"], cfg.seed + 1, mirror=cfg.mirror)
    validate = Validator()
    model = LiftingNetwork(width=cfg.width, blocks=cfg.blocks)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    log = RunLog(cfg.run_dir, cfg)
    selection = ModelSelection(log, validate, "supervised", cfg.val_every_s, cfg.minutes * 60, cfg.patience)
    step = 0
    while selection.running():
        pose2d, mask, body = sampler.sample(cfg.batch, cfg.max_drop, cfg.drop_prob)
        pred = model(pose2d, mask)
        loss = scale_invariant_loss(pred, body) + cfg.fill_weight * hidden_joint_loss(pred, pose2d, mask)
        for group in opt.param_groups:  # cosine decay over the time budget
            group["lr"] = cfg.lr * cosine_factor(log.elapsed() / (cfg.minutes * 60))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        step += 1
        selection.maybe(step, model, loss=loss.item())
    return selection.close()


def main(argv=None) -> None:
    parser = config_parser(SupervisedConfig, "Train the supervised baseline lifter (uses 3D labels).",
                           prog="realtime3d train supervised")
    cfg = SupervisedConfig(**vars(parser.parse_args(argv)))
    print(f"best val P-MPJPE {train_supervised(cfg):.1f} mm")


if __name__ == "__main__":
    main()
