"""Drover et al.: a lifting GAN trained from 2D poses alone.

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

from realtime3d.camera import perspective_project, rotate_about_depth
from realtime3d.data.mocap import load_split
from realtime3d.data.views import random_rotations
from realtime3d.models import Discriminator2D, LiftingNetwork
from realtime3d.normalization import DEPTH, normalize_2d
from realtime3d.skeleton import H36M17
from .common import (ModelSelection, PoseSampler, RunLog, Validator, config_parser, cosine_factor,
                     hidden_joint_loss)


@dataclass
class DroverConfig:
    """Defaults are the shipped recipe (README); the paper's is --width 1024 --d-width 0
    --batch 32768 --lr-decay false --flat-init false --composed-real false --ema 0 --cycle-weight 0."""

    width: int = 512
    g_blocks: int = 4
    d_blocks: int = 3
    d_width: int = 256        # discriminator width; 0 = the same as width
    batch: int = 1024
    lr_g: float = 2e-4
    lr_d: float = 2e-4
    lr_decay: bool = True     # cosine decay of both learning rates to 0 over the time budget
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
    minutes: float = 28.0
    val_every_s: float = 20.0
    patience: int = 0          # early stopping after this many validations without a new best
    seed: int = 0
    threads: int = 2
    run_dir: str = "runs/drover"


def fake_views(generator: LiftingNetwork, pose2d, mask, views: int, gen: torch.Generator,
               elevation_max: float = 20.0):
    """Drover's back projection and random projection layers.

    Returns (lifted 3D [B, J, 3], normalized random views [B*V, J, 2], the rotated 3D [B*V, J, 3])."""
    lifted = generator(pose2d, mask)                                     # [B, J, 3]
    b, j, _ = lifted.shape
    rep = lifted.repeat(views, 1, 1)                                     # [B*V, J, 3]
    rot = random_rotations(b * views, gen, elevation_deg=(0.0, elevation_max))
    rotated = rotate_about_depth(rep, rot, DEPTH)
    fake, _, _ = normalize_2d(perspective_project(rotated))
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


def train(cfg: DroverConfig) -> float:
    torch.manual_seed(cfg.seed)
    torch.set_num_threads(cfg.threads)
    train_frames = load_split("train")["joints3d"]
    elevation = (0.0, cfg.train_elevation_max)
    real_sampler = PoseSampler(train_frames, cfg.seed + 1, elevation, cfg.mirror)
    input_sampler = PoseSampler(train_frames, cfg.seed + 2, elevation, cfg.mirror)
    proj_gen = torch.Generator().manual_seed(cfg.seed + 3)
    validate = Validator()
    g = LiftingNetwork(width=cfg.width, blocks=cfg.g_blocks)
    if not cfg.flat_init:  # the default PyTorch initialisation of the output layer (for ablations)
        g.net[-1].reset_parameters()
    d = Discriminator2D(width=cfg.d_width or cfg.width, blocks=cfg.d_blocks)
    g_avg = torch.optim.swa_utils.AveragedModel(
        g, multi_avg_fn=torch.optim.swa_utils.get_ema_multi_avg_fn(cfg.ema), use_buffers=True) if cfg.ema > 0 else None
    opt_g = torch.optim.Adam(g.parameters(), lr=cfg.lr_g, betas=cfg.betas)
    opt_d = torch.optim.Adam(d.parameters(), lr=cfg.lr_d, betas=cfg.betas)
    log = RunLog(cfg.run_dir, cfg)
    selection = ModelSelection(log, validate, "drover", cfg.val_every_s, cfg.minutes * 60, cfg.patience)
    step = 0
    while selection.running():
        if cfg.lr_decay:
            factor = cosine_factor(log.elapsed() / (cfg.minutes * 60))
            for opt, lr in ((opt_g, cfg.lr_g), (opt_d, cfg.lr_d)):
                for group in opt.param_groups:
                    group["lr"] = lr * factor
        pose2d, mask, _ = input_sampler.sample(cfg.batch, cfg.max_drop, cfg.drop_prob)
        real, _, _ = real_sampler.sample(cfg.batch * cfg.views, cameras=2 if cfg.composed_real else 1)
        lifted, fake, rotated = fake_views(g, pose2d, mask, cfg.views, proj_gen, cfg.fake_elevation_max)

        # discriminator: real and fake in one batch, so batch norm cannot tell them apart by statistics
        real.requires_grad_(cfg.r1_gamma > 0)
        logits = d(torch.cat([real, fake.detach()]))
        d_real, d_fake = logits[: len(real)], logits[len(real):]
        loss_d = F.binary_cross_entropy_with_logits(d_real, torch.full_like(d_real, 1 - cfg.label_smooth)) \
            + F.binary_cross_entropy_with_logits(d_fake, torch.zeros_like(d_fake))
        if cfg.r1_gamma > 0:
            (grad,) = torch.autograd.grad(d_real.sum(), real, create_graph=True)
            loss_d = loss_d + 0.5 * cfg.r1_gamma * grad.pow(2).sum(dim=(1, 2)).mean()
        opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        opt_d.step()

        # generator: D judges with its running statistics
        d.eval()
        d_fake = d(fake)
        d.train()
        loss_adv = F.binary_cross_entropy_with_logits(d_fake, torch.ones_like(d_fake))
        loss_fill = hidden_joint_loss(lifted, pose2d, mask)
        loss_g = loss_adv + cfg.fill_weight * loss_fill
        if cfg.bone_sym_weight > 0:
            loss_g = loss_g + cfg.bone_sym_weight * bone_symmetry_loss(lifted)
        if cfg.cycle_weight > 0:
            loss_g = loss_g + cfg.cycle_weight * rotation_cycle_loss(g(fake), rotated)
        opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        opt_g.step()
        if g_avg is not None:
            g_avg.update_parameters(g)
        step += 1

        selection.maybe(step, g_avg.module if g_avg is not None else g, loss_d=loss_d.item(),
                        loss_g=loss_adv.item(), fill=loss_fill.item())
    return selection.close()


def main(argv=None) -> None:
    parser = config_parser(DroverConfig, "Train the Drover et al. lifting GAN from 2D poses alone.",
                           prog="realtime3d train drover")
    cfg = DroverConfig(**vars(parser.parse_args(argv)))
    print(f"best val P-MPJPE {train(cfg):.1f} mm")


if __name__ == "__main__":
    main()
