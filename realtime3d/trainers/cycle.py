"""The rotation-cycle lifter Lambda of Sosa & Hogg, "Self-supervised 3D Human Pose Estimation from a
Single Image" (2023), sec. 3, after Wandt et al., "ElePose: Unsupervised 3D Human Pose Estimation by
Predicting Camera Elevation and Learning Normalizing Flows on 2D Poses" (2022): 2D -> 3D from 2D
poses alone, as a method on the spine (base.py). Design notes and measurements: docs/methods.md.

One step, on a batch of normalized 2D poses y [B, J, 2] (the sampler's 2D only; its 3D is never read):

    v, alpha = Lambda(y)                  lift (eq. 1: z = relu(10 + o) + 1 > 1) and an elevation per pose,
                                          alpha = (pi/2) tanh(a) in (-90, 90) degrees
    R = R_e(e)^T R_a(theta) R_e(alpha)    theta ~ U[-pi, pi], e ~ N(mu_e, sigma_e) of the batch's alphas
    y_hat = P(R v)                        rotate about the root, project (kernels.rotate_project), normalize
    v_hat' = Lambda(y_hat)                lift the new view again
    y' = P(R^T v_hat')                    rotate back, project, normalize

Losses, each times its param weight (the paper sums them with weight 1, eq. 12):
L_2d = |y' - y|^2 (eq. 5), L_3d = |v_hat' - R v|^2 (eq. 4), L_def (eq. 6, pairs j, k of the batch),
L_NF = -log p(y_hat) under the frozen 2D flow prior (eqs. 7-8, flow_prior.py), L_bl, the bone-length
prior (eq. 10: anthropometry.RELATIVE_BONE_LENGTHS and RELATIVE_BONE_SIGMA), plus Drover's
hidden-joint loss (losses.hidden_joint_loss).

3D poses are compared in canonical form (`canonical`: root-centred, divided by the RMS joint distance
from the root), 2D poses after normalize_2d divided by RMS_RADIUS. Rotations turn about
T = (0, 0, DEPTH), where the root is put. With cycle_elevation_grad = false the cycle losses see R
with its gradient stopped, so only L_NF teaches the elevation; elevation = "fixed" uses Drover's
random projection layer (azimuth U[-pi, pi], elevation U[0, fixed_elevation_max] degrees) instead.
Nothing here selects on 3D: the spine selects on its 2D-only criterion.
"""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import torch
from torch import nn

from realtime3d.anthropometry import RELATIVE_BONE_LENGTHS, RELATIVE_BONE_SIGMA
from realtime3d.camera import rotate_about_depth, rotation_from_angles
from realtime3d.data.views import at_depth, random_projection
from realtime3d.models import LiftingNetwork
from realtime3d.normalization import DEPTH, RMS_RADIUS, normalize_2d
from realtime3d.skeleton import H36M17
from realtime3d.errors import UserError
from .base import Method, descend
from .config import param
from .distributed import unwrap
from .flow_prior import FlowPrior2D
from .losses import HiddenJoints, hidden_joint_loss

ELEVATIONS = ("learned", "fixed")
#: Pool size of the flow prior's fit (ctx.train_2d(max_poses=...)).
FLOW_POSES = 200_000
_PARENTS = torch.tensor([p for p, _ in H36M17.bones])
_CHILDREN = torch.tensor([c for _, c in H36M17.bones])

log = logging.getLogger(__name__)


@dataclass
class CycleConfig(HiddenJoints):
    """The [params] of cycle; defaults are the shipped recipe (the paper's weights are all 1, eq. 12;
    docs/methods.md says why they differ)."""

    width: int = param(512)
    blocks: int = param(4)
    lr: float = param(2e-4)
    betas: tuple = param((0.9, 0.999))
    elevation: str = param("learned", "'learned' (each pose's predicted elevation, new views from its batch "
                                      "normal) or 'fixed' (Drover's random projection layer)")
    elevation_init_deg: float = param(10.0, "the learned elevation at the start (degrees; its sign picks the "
                                            "depth orientation, see realtime3d/trainers/cycle.py)")
    fixed_elevation_max: float = param(20.0)
    cycle_elevation_grad: bool = param(False, "the cycle losses also train the elevation (false: only the "
                                              "flow prior does)")
    cycle2d_weight: float = param(1.0)
    cycle3d_weight: float = param(1.0)
    deform_weight: float = param(1.0)
    flow_weight: float = param(1.0)
    bone_weight: float = param(0.02)
    pca_dim: int = param(26)
    flow_steps: int = param(2000)
    ema: float = param(0.0)

    def __post_init__(self) -> None:
        check_elevation(self)


def check_elevation(cfg) -> None:
    """A one-line error unless cfg's elevation is one of ELEVATIONS and its elevation_init_deg lies
    strictly between -90 and 90 (the cycle configs, over poses or over tracks)."""
    if cfg.elevation not in ELEVATIONS:
        raise UserError(f"elevation must be one of {', '.join(ELEVATIONS)}, got {cfg.elevation!r}")
    if not abs(cfg.elevation_init_deg) < 90.0:
        raise UserError(f"elevation_init_deg must lie strictly between -90 and 90, got {cfg.elevation_init_deg}")


class ElevationLifter(nn.Module):
    """Lambda: LiftingNetwork with one extra output, read as an elevation angle.
    forward(pose2d [B, J, 2], mask [B, J] | None) -> (3D [B, J, 3], alpha [B] radians, or None
    without the extra output). A module of its own so that DDP sees both outputs of one forward."""

    def __init__(self, width: int, blocks: int, elevation: bool = True, elevation_init_deg: float = 10.0):
        super().__init__()
        self.lifter = LiftingNetwork(width=width, blocks=blocks, extra_outputs=1 if elevation else 0)
        if elevation:         # the flat init's head is zero: its bias alone sets the first elevation
            with torch.no_grad():
                self.lifter.net[-1].bias[-1] = math.atanh(elevation_init_deg / 90.0)

    def forward(self, pose2d: torch.Tensor, mask: torch.Tensor | None = None):
        lifted, extras = self.lifter.lift(pose2d, mask)               # [B, J, 3], [B, E]
        return lifted, (elevation_angle(extras) if extras.shape[1] else None)


def elevation_angle(extras: torch.Tensor) -> torch.Tensor:
    """The raw extra output [B, 1] -> elevation alpha [B] = (pi/2) tanh(a), radians."""
    return 0.5 * math.pi * torch.tanh(extras[:, 0].float())


def level(alpha: torch.Tensor) -> torch.Tensor:
    """R_e(alpha) [B, 3, 3]: the rotation that levels a camera of elevation alpha [B]."""
    return rotation_from_angles(torch.zeros_like(alpha), alpha).transpose(-1, -2)


def cycle_rotations(alpha: torch.Tensor, azimuth: torch.Tensor, eps: torch.Tensor):
    """R = R_e(e)^T R_a(azimuth) R_e(alpha) [B, 3, 3], with e = mu_e + sigma_e eps [B] sampled from
    the batch's normal N(mu_e, sigma_e) of alpha [B] (reparameterized). Returns (R, e)."""
    mu = alpha.mean()
    sigma = (alpha.var(unbiased=False) + 1e-6).sqrt()
    e = mu + sigma * eps                                              # [B]
    return rotation_from_angles(azimuth, e) @ level(alpha), e


def canonical(pose: torch.Tensor) -> torch.Tensor:
    """Root-centred pose [B, J, D] divided by its RMS joint distance from the root (scale-free)."""
    rel = pose - pose[:, H36M17.root:H36M17.root + 1]
    rms = rel.pow(2).sum(-1).mean(-1).sqrt().clamp(min=1e-6)         # [B]
    return rel / rms[:, None, None]


def view(pose: torch.Tensor, rotations: torch.Tensor) -> torch.Tensor:
    """Normalized 2D [B, J, 2] of a pose [B, J, 3] turned by rotations [B, 3, 3] about (0, 0, DEPTH)."""
    return normalize_2d(random_projection(pose, rotations, DEPTH))[0]


def cycle_losses(lift, pose2d: torch.Tensor, lifted: torch.Tensor, rotations: torch.Tensor,
                 view_rotations: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
    """The rotation cycle of one batch. lift(pose2d) -> 3D [B, J, 3] is Lambda (used for the re-lift),
    pose2d [B, J, 2] the normalized input y, lifted [B, J, 3] = Lambda(y), rotations [B, 3, 3] R;
    view_rotations: the R that makes y_hat for the flow prior (default R; the same matrix with its
    gradient kept, when the cycle's R has it stopped).

    Returns {"l2d", "l3d", "def"} (eqs. 5, 4, 6, each the squared norm of a unit-RMS pose
    difference summed over joints, meaned over the batch or its pairs) and "y_hat" [B, J, 2]
    (the normalized new view, of view_rotations)."""
    v = at_depth(lifted)                                              # [B, J, 3], root at T
    y_hat = view(v, rotations)                                        # [B, J, 2]
    v_hat = rotate_about_depth(v, rotations, DEPTH)                   # R v, [B, J, 3]
    v_hat2 = lift(y_hat)                                              # v_hat', [B, J, 3]
    c_hat, c_hat2 = canonical(v_hat), canonical(v_hat2)
    l3d = (c_hat2 - c_hat).pow(2).sum((1, 2)).mean()                  # eq. 4
    # back: v_hat' in R v's place and size, turned by R^T about T
    root = H36M17.root
    size = (v_hat - v_hat[:, root:root + 1]).pow(2).sum(-1).mean(-1).sqrt()      # RMS size of R v, [B]
    placed = c_hat2 * size.detach()[:, None, None] + v.new_tensor([0.0, 0.0, DEPTH])
    back = rotations.transpose(-1, -2)
    y2 = view(placed, back)                                           # y', [B, J, 2]
    l2d = ((y2 - pose2d) / RMS_RADIUS).pow(2).sum((1, 2)).mean()      # eq. 5
    v2 = rotate_about_depth(placed, back, DEPTH)                      # v', [B, J, 3]
    d, d2 = canonical(v), canonical(v2)
    pairs = len(d) // 2 * 2                                           # (j, k) = (0, 1), (2, 3), ...
    resid = (d2[:pairs] - d[:pairs]).reshape(pairs // 2, 2, *d.shape[1:])
    l_def = (resid[:, 0] - resid[:, 1]).pow(2).sum((1, 2)).mean() if pairs else lifted.new_zeros(())   # eq. 6
    if view_rotations is not None:
        y_hat = view(v, view_rotations)
    return {"l2d": l2d, "l3d": l3d, "def": l_def, "y_hat": y_hat}


def bone_prior_loss(pose3d: torch.Tensor) -> torch.Tensor:
    """L_bl (eq. 10): the Gaussian NLL (without its constant) of the relative bone lengths
    b_n = |bone n| / mean bone of the pose [B, J, 3] around anthropometry.RELATIVE_BONE_LENGTHS
    with sigma anthropometry.RELATIVE_BONE_SIGMA, summed over bones, meaned over the batch."""
    lengths = (pose3d[:, _CHILDREN] - pose3d[:, _PARENTS]).norm(dim=-1)          # [B, K]
    rel = lengths / lengths.mean(-1, keepdim=True).clamp(min=1e-6)
    mean = rel.new_tensor(RELATIVE_BONE_LENGTHS)
    return (0.5 * ((rel - mean) / RELATIVE_BONE_SIGMA) ** 2).sum(-1).mean()


class Cycle(Method):
    """Lambda lifts, R turns, Lambda lifts again, R^T turns back: the cycle, the flow prior on
    the new view and the bone prior train Lambda from 2D alone."""

    name = "cycle"
    Config = CycleConfig
    tuned_on = ("bone_weight, lr, ema and the elevation's start were chosen in development on 2-minute runs, "
                "and flow_steps on 7- to 13-minute runs, scored by the val subjects' 3D P-MPJPE (realtime3d/trainers/cycle.py); "
                "the other weights are the paper's")

    def __init__(self, cfg: CycleConfig, ctx):
        super().__init__(cfg, ctx)
        self.inputs = ctx.sampler("input", mirror=cfg.mirror)
        self.cameras = ctx.stream("cycle")

    def build(self) -> dict[str, nn.Module]:
        cfg = self.cfg
        g = ElevationLifter(cfg.width, cfg.blocks, cfg.elevation == "learned", cfg.elevation_init_deg)
        self.prior = FlowPrior2D(dim=cfg.pca_dim)
        models = {"g": g, "prior": self.prior}
        if cfg.ema > 0:
            models["g_ema"] = torch.optim.swa_utils.AveragedModel(
                g, multi_avg_fn=torch.optim.swa_utils.get_ema_multi_avg_fn(cfg.ema), use_buffers=True)
        return models

    def optimizers(self, models):
        return {"g": torch.optim.Adam(models["g"].parameters(), lr=self.cfg.lr, betas=self.cfg.betas)}

    def _fit_prior(self, prior: FlowPrior2D) -> None:
        """PCA and flow on the 2D training pool, once (the flag is checkpointed with the prior)."""
        if self.cfg.flow_weight <= 0:
            return
        pool = self.ctx.train_2d(max_poses=FLOW_POSES)                                # [N, J, 2]
        stats = prior.fit(pool, self.cfg.flow_steps, seed=self.ctx.seed)
        if self.ctx.rank == 0:
            log.info("train: cycle: flow prior fitted in %.1f s on %.0f 2D poses (%d steps; PCA %d axes, "
                     "%.3f%% of the variance; held-out NLL %.1f)", stats["seconds"], stats["poses"],
                     self.cfg.flow_steps, self.cfg.pca_dim, 100 * stats["explained"], stats["val_nll"])

    def _rotations(self, alpha: torch.Tensor | None, n: int, device) -> tuple[torch.Tensor, torch.Tensor]:
        """(R [B, 3, 3], the new views' elevations [B]) for this step (see the module doc)."""
        cfg = self.cfg
        u, eps, w = self.cameras.draw(lambda k, gen: (torch.rand(k, generator=gen), torch.randn(k, generator=gen),
                                                      torch.rand(k, generator=gen)), n)
        azimuth = ((2 * u - 1) * math.pi).to(device)
        if alpha is None:                                 # Drover's random projection layer
            e = (w * math.radians(cfg.fixed_elevation_max)).to(device)
            return rotation_from_angles(azimuth, e), e
        return cycle_rotations(alpha, azimuth, eps.to(device))

    def step(self, models, opts, step):
        cfg, batch = self.cfg, self.ctx.batch
        g, prior = models["g"], models["prior"]
        if not bool(prior.fitted) and cfg.flow_weight > 0:
            self._fit_prior(prior)
        pose2d, mask, _ = self.inputs.sample(batch, cfg.max_drop, cfg.drop_prob)   # body unused
        lifted, alpha = g(pose2d, mask)                                             # [B, J, 3], [B]
        rotations, e = self._rotations(alpha, len(pose2d), pose2d.device)          # [B, 3, 3]
        learned = alpha is not None
        cyc = cycle_losses(lambda p: g(p)[0], pose2d, lifted,
                           rotations if cfg.cycle_elevation_grad or not learned else rotations.detach(),
                           view_rotations=None if cfg.cycle_elevation_grad or not learned else rotations)
        loss_nf = prior.nll(cyc["y_hat"]).mean() if cfg.flow_weight > 0 else lifted.new_zeros(())
        loss_bone = bone_prior_loss(lifted)
        loss_fill = hidden_joint_loss(lifted, pose2d, mask)
        loss = (cfg.cycle2d_weight * cyc["l2d"] + cfg.cycle3d_weight * cyc["l3d"] + cfg.deform_weight * cyc["def"]
                + cfg.flow_weight * loss_nf + cfg.bone_weight * loss_bone + cfg.fill_weight * loss_fill)
        descend(opts["g"], loss)
        if "g_ema" in models:
            models["g_ema"].update_parameters(unwrap(g))
        angles = alpha if learned else e
        return {"loss": loss.item(), "l2d": cyc["l2d"].item(), "l3d": cyc["l3d"].item(), "def": cyc["def"].item(),
                "nf": loss_nf.item(), "bone": loss_bone.item(), "fill": loss_fill.item(),
                "elev_mean_deg": math.degrees(angles.mean().item()),
                "elev_std_deg": math.degrees(angles.std().item()) if len(angles) > 1 else 0.0}

    def model_card(self) -> dict:
        if self.cfg.flow_weight <= 0:
            return {}
        return {"flow_prior": {"fit_steps": self.cfg.flow_steps, "held_out_nll": round(float(self.prior.held_out_nll), 3),
                               "held_out": "the fit pool's last 5% (2D train views)"}}

    def eval_model(self, models):
        return (models["g_ema"].module if "g_ema" in models else models["g"]).lifter

