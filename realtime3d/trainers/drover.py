"""Drover et al.: a lifting GAN trained from 2D poses alone, as a method on the spine (base.py).

G lifts a 2D pose to 3D (depth offsets, back projection); the random projection
layer turns the 3D by a random camera and projects it; D tells these projections
from real 2D poses. Nothing here reads 3D: the sampler's 3D output is unused.

What the paper's recipe needed to converge on a CPU budget (measured in
benchmarks/bench_drover_stability.py, table in the README):
- flat_init: G starts as the trivial baseline (zero depth offsets). A randomly
  initialised output layer starts five times too deep, and D wins before G recovers.
- composed_real: the random projection layer turns a pose that a random camera
  already saw, so its views are two composed cameras (elevations add, and roll
  appears). Real 2D poses drawn through one camera differ from every fake, even
  from a perfect G, and a discriminator learns that shortcut (73% accuracy on
  perfectly lifted poses); drawn through two composed cameras, it cannot (50%).
- D sees real and fake poses in one batch, so batch norm cannot separate them by
  their batch statistics; G is judged by D's running statistics.
- ema: the generator's weights are averaged over steps; validation and the shipped
  model use the average, which smooths the GAN's oscillation.
- cycle_weight: the random view is lifted again and must give the same 3D pose
  (scale-free), the rotation cycle of Sosa & Hogg's L_3d; it adds accuracy.
Optional and off by default: label smoothing, an R1 penalty, several views per
pose, a bone-symmetry prior.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from realtime3d.camera import rotate_about_depth
from realtime3d.data.views import random_projection, random_rotations
from realtime3d.models import Discriminator2D, LiftingNetwork
from realtime3d.normalization import DEPTH, normalize_2d
from realtime3d.skeleton import H36M17
from .base import Method, descend
from .common import script_main
from .distributed import unwrap
from .losses import hidden_joint_loss


@dataclass
class DroverConfig:
    """Defaults are the shipped recipe (README); the paper's is width = 1024, d_width = 0,
    flat_init = false, composed_real = false, ema = 0, cycle_weight = 0 (and train.batch = 32768,
    train.lr_decay = false)."""

    width: int = 512
    g_blocks: int = 4
    d_blocks: int = 3
    d_width: int = 256        # discriminator width; 0 = the same as width
    lr_g: float = 2e-4
    lr_d: float = 2e-4
    betas: tuple = (0.5, 0.999)
    views: int = 1            # random projections per generated pose
    label_smooth: float = 0.0  # real target = 1 - label_smooth
    r1_gamma: float = 0.0
    max_drop: int = 3
    drop_prob: float = 0.3
    fill_weight: float = 1.0
    mirror: bool = True                # train on the mocap poses and their mirror images
    composed_real: bool = True         # real 2D from two composed cameras (see module doc)
    train_elevation_max: float = 20.0  # elevation range (deg) of the 2D training views
    fake_elevation_max: float = 20.0   # elevation range (deg) of the random projection layer
    bone_sym_weight: float = 0.0       # optional left/right bone-length symmetry prior
    flat_init: bool = True             # start G at the trivial baseline (zero offsets)
    ema: float = 0.99                  # decay of the generator's weight average (0 = off)
    cycle_weight: float = 1.0          # 3D rotation-cycle consistency (0 = off, as in the paper)


def fake_views(generator: torch.nn.Module, pose2d, mask, views: int, rotations: torch.Tensor):
    """Drover's back projection and random projection layers. pose2d [B, J, 2], mask [B, J],
    rotations [B*V, 3, 3] (the random cameras, pose b seen by rows b, B + b, ...).

    Returns (lifted 3D [B, J, 3], normalized random views [B*V, J, 2], the rotated 3D [B*V, J, 3])."""
    lifted = generator(pose2d, mask)                                     # [B, J, 3]
    rep = lifted.repeat(views, 1, 1)                                     # [B*V, J, 3]
    rotated = rotate_about_depth(rep, rotations, DEPTH)                 # for the rotation cycle
    fake, _, _ = normalize_2d(random_projection(rep, rotations, DEPTH))
    return lifted, fake, rotated


def rotation_cycle_loss(relifted: torch.Tensor, rotated: torch.Tensor) -> torch.Tensor:
    """The random view, lifted again, must give the rotated pose: squared error of the two
    root-centred poses [B, J, 3], each scaled to unit norm (the lift has no absolute scale)."""
    a, b = relifted - relifted[:, :1], rotated - rotated[:, :1]
    a = a / a.pow(2).sum((1, 2), keepdim=True).sqrt().clamp(min=1e-6)
    b = b / b.pow(2).sum((1, 2), keepdim=True).sqrt().clamp(min=1e-6)
    return (a - b).pow(2).sum((1, 2)).mean()


def bone_symmetry_loss(pose3d: torch.Tensor) -> torch.Tensor:
    """Squared relative difference of left and right bone lengths. pose3d [B, J, 3]."""
    bones = torch.tensor(H36M17.bones)
    lengths = (pose3d[:, bones[:, 1]] - pose3d[:, bones[:, 0]]).norm(dim=-1)     # [B, K]
    pairs = torch.tensor(H36M17.symmetric_bones)
    a, b = lengths[:, pairs[:, 0]], lengths[:, pairs[:, 1]]
    return (((a - b) / (a + b).clamp(min=1e-6)) ** 2).mean()


class Drover(Method):
    """G lifts, the random projection layer turns and projects, D tells real 2D from fake."""

    name = "drover"
    Config = DroverConfig
    tuned_on = ("the recipe (flat init, composed reals, EMA, rotation cycle, mirror, width) was chosen in development "
                "on short runs scored by the val subjects' 3D P-MPJPE (benchmarks/bench_drover_stability.py)")

    def __init__(self, cfg: DroverConfig, ctx):
        super().__init__(cfg, ctx)
        if cfg.composed_real and ctx.protocol != "random-projection":
            raise ValueError(f"params.composed_real draws new views of the 3D, which the {ctx.protocol} protocol "
                             "does not allow: set params.composed_real = false")
        elevation = (0.0, cfg.train_elevation_max)
        self.inputs = ctx.sampler("input", elevation_deg=elevation, mirror=cfg.mirror)   # what G lifts
        self.reals = ctx.sampler("real", elevation_deg=elevation, mirror=cfg.mirror)     # what D sees as real
        self.cameras = ctx.stream("projection")                                          # the random projection layer

    def build(self) -> dict[str, torch.nn.Module]:
        cfg = self.cfg
        g = LiftingNetwork(width=cfg.width, blocks=cfg.g_blocks)
        if not cfg.flat_init:  # the default PyTorch initialisation of the output layer (for ablations)
            g.net[-1].reset_parameters()
        models = {"g": g, "d": Discriminator2D(width=cfg.d_width or cfg.width, blocks=cfg.d_blocks)}
        if cfg.ema > 0:
            models["g_ema"] = torch.optim.swa_utils.AveragedModel(
                g, multi_avg_fn=torch.optim.swa_utils.get_ema_multi_avg_fn(cfg.ema), use_buffers=True)
        return models

    def optimizers(self, models):
        cfg = self.cfg
        return {"g": torch.optim.Adam(models["g"].parameters(), lr=cfg.lr_g, betas=cfg.betas),
                "d": torch.optim.Adam(models["d"].parameters(), lr=cfg.lr_d, betas=cfg.betas)}

    def step(self, models, opts, step):
        cfg, batch = self.cfg, self.ctx.batch
        g, d = models["g"], models["d"]
        pose2d, mask, _ = self.inputs.sample(batch, cfg.max_drop, cfg.drop_prob)
        real, _, _ = self.reals.sample(batch * cfg.views, cameras=2 if cfg.composed_real else 1)
        rotations = self.cameras.draw(lambda n, gen: random_rotations(
            n, gen, elevation_deg=(0.0, cfg.fake_elevation_max)), batch * cfg.views).to(pose2d.device)
        lifted, fake, rotated = fake_views(g, pose2d, mask, cfg.views, rotations)

        # discriminator: real and fake in one batch, so batch norm cannot tell them apart by statistics
        real.requires_grad_(cfg.r1_gamma > 0)
        logits = d(torch.cat([real, fake.detach()]))
        d_real, d_fake = logits[: len(real)], logits[len(real):]
        loss_d = F.binary_cross_entropy_with_logits(d_real, torch.full_like(d_real, 1 - cfg.label_smooth)) \
            + F.binary_cross_entropy_with_logits(d_fake, torch.zeros_like(d_fake))
        if cfg.r1_gamma > 0:
            (grad,) = torch.autograd.grad(d_real.sum(), real, create_graph=True)
            loss_d = loss_d + 0.5 * cfg.r1_gamma * grad.pow(2).sum(dim=(1, 2)).mean()
        descend(opts["d"], loss_d)

        # generator: D judges with its running statistics; D unwrapped, its gradients are not reduced
        judge = unwrap(d)
        judge.eval()
        d_fake = judge(fake)
        judge.train()
        loss_adv = F.binary_cross_entropy_with_logits(d_fake, torch.ones_like(d_fake))
        loss_fill = hidden_joint_loss(lifted, pose2d, mask)
        loss_g = loss_adv + cfg.fill_weight * loss_fill
        if cfg.bone_sym_weight > 0:
            loss_g = loss_g + cfg.bone_sym_weight * bone_symmetry_loss(lifted)
        if cfg.cycle_weight > 0:
            loss_g = loss_g + cfg.cycle_weight * rotation_cycle_loss(g(fake), rotated)
        descend(opts["g"], loss_g)
        if "g_ema" in models:
            models["g_ema"].update_parameters(unwrap(g))
        return {"loss_d": loss_d.item(), "loss_g": loss_adv.item(), "fill": loss_fill.item()}

    def eval_model(self, models):
        return models["g_ema"].module if "g_ema" in models else models["g"]


def main(argv=None) -> None:
    """`python -m realtime3d.trainers.drover --width 64 --minutes 4`: the shipped config with flags."""
    script_main("drover", argv)


if __name__ == "__main__":
    main()
