"""The lifting GAN of Drover et al., "Can 3D Pose be Learned from 2D Projections Alone?" (2018),
trained from 2D poses alone, as a method on the spine (base.py).

G lifts a normalized 2D pose [B, J, 2] to 3D [B, J, 3] (depth offsets, back projection); the random
projection layer turns the 3D by a random camera and projects it; D tells these projections from
real 2D poses (non-saturating BCE). Beside the paper's adversarial loss, G pays the rotation-cycle
loss (cycle_weight: the random view, lifted again, must give the turned pose, scale-free) and
Drover's hidden-joint loss (fill_weight). With composed_real, D's real poses are drawn through two
composed random cameras, as every fake is. D sees real and fake poses in one batch, and G is judged
by D's running batch-norm statistics. Nothing here reads 3D: the sampler's 3D output is unused.
The recipe and what each switch does: docs/methods.md.
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
from realtime3d.errors import UserError
from .base import Method, descend
from .config import param
from .distributed import unwrap
from .losses import HiddenJoints, hidden_joint_loss


@dataclass
class DroverConfig(HiddenJoints):
    """The [params] of drover; defaults are the shipped recipe. The paper's is width = 1024,
    d_width = 0, flat_init = false, composed_real = false, ema = 0, cycle_weight = 0 (and
    train.batch = 32768, train.lr_decay = false)."""

    width: int = param(512)
    g_blocks: int = param(4, "residual blocks in the generator")
    d_blocks: int = param(3)
    d_width: int = param(256, "discriminator width (0 = the same as width)")
    lr_g: float = param(2e-4)
    lr_d: float = param(2e-4)
    betas: tuple = param((0.5, 0.999))
    views: int = param(1, "random projections of each generated pose per step")
    label_smooth: float = param(0.0, "discriminator target for real poses is 1 - this")
    r1_weight: float = param(0.0, "weight of the R1 gradient penalty on real poses (0 = off)")
    composed_real: bool = param(True)
    train_elevation_max: float = param(20.0, "camera elevation range of the 2D training poses, 0 to this "
                                             "(degrees)")
    fake_elevation_max: float = param(20.0, "elevation range of the random projection layer, 0 to this "
                                            "(degrees)")
    bone_sym_weight: float = param(0.0, "weight of the left/right bone-length symmetry prior (0 = off)")
    flat_init: bool = param(True, "start the generator at the trivial baseline (zero depth offsets)")
    ema: float = param(0.99)
    cycle_weight: float = param(1.0, "weight of the 3D rotation-cycle consistency of the re-lifted random "
                                     "view (0 = off, as in the paper)")


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
            raise UserError(f"params.composed_real draws new views of the 3D, which the {ctx.protocol} protocol "
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
        real.requires_grad_(cfg.r1_weight > 0)
        logits = d(torch.cat([real, fake.detach()]))
        d_real, d_fake = logits[: len(real)], logits[len(real):]
        loss_d = F.binary_cross_entropy_with_logits(d_real, torch.full_like(d_real, 1 - cfg.label_smooth)) \
            + F.binary_cross_entropy_with_logits(d_fake, torch.zeros_like(d_fake))
        if cfg.r1_weight > 0:
            (grad,) = torch.autograd.grad(d_real.sum(), real, create_graph=True)
            loss_d = loss_d + 0.5 * cfg.r1_weight * grad.pow(2).sum(dim=(1, 2)).mean()
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

