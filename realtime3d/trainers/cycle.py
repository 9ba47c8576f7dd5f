"""Sosa & Hogg's rotation-cycle lifting (the network Lambda of seeds/004, sec. 3, after Wandt et al.'s
ElePose), 2D -> 3D only, as a method on the spine (base.py). No images, no Phi/Omega, no discriminator.

One step, on a batch of normalized 2D poses y (the sampler's 2D only; its 3D `body` is never read):

    v, alpha = Lambda(y)                  lift (eq. 1: z = relu(10 + o) + 1 > 1) and an elevation per pose
    R = R_e(e)^T R_a(theta) R_e(alpha)    theta ~ U[-pi, pi], e ~ N(mu_e, sigma_e) of the batch's alphas
    y_hat = P(R v)                        rotate about the root, project (kernels.rotate_project), normalize
    v_hat' = Lambda(y_hat)                lift the new view again
    y' = P(R^T v_hat')                    rotate back, project, normalize

and the losses (each a param's weight times its term; the paper sums them with weight 1, eq. 12):
L_2d = |y' - y|^2 (eq. 5), L_3d = |v_hat' - R v|^2 (eq. 4), L_def (eq. 6, pairs j, k of the batch),
L_NF = -log p(y_hat) under the frozen 2D flow prior (eqs. 7-8, flow_prior.py), L_bl, the bone-length
prior (eq. 10), plus Drover's hidden-joint loss (losses.hidden_joint_loss).

The elevation. Lambda's one extra output a (LiftingNetwork(extra_outputs=1)) becomes the angle
alpha = (pi/2) tanh(a): bounded to (-90, 90) degrees, the range in which an elevation means a camera
above or below the person (not one turned over), smooth, with slope pi/2 at 0. R_e(phi) levels a
camera of elevation phi (R_e(phi) = R_x(phi)^T in camera.py's rotation_from_angles, whose views of an
upright person are R_x(elev) R_y(azim)). As in ElePose's code (R = R_x(-mu + sigma eps) R_y R_x(alpha)),
the right-hand R_e uses each pose's own alpha: it levels the lifted pose, so R_a turns it about its
own vertical axis, and the left-hand R_e^T raises the camera again by an elevation e sampled from
N(mu_e, sigma_e) (a new view from a plausible height). With e = alpha it is the paper's
R = R_e^T R_a R_e, a turn about the pose's elevated vertical axis.

The first elevation is elevation_init_deg = 10 (the flat init zeroes the head, so the head's bias
alone sets it): a camera a little above the person, the middle of the sampler's 0-20 degree range.
This breaks a symmetry. A lifter whose depths are inverted (z -> -z about the root), levelled from
elevation -beta, gives under orthographic projection exactly the new views that the right lifter
gives from +beta, so neither the flow prior nor the cycle can tell them apart; started at 0 a run
falls into either (measured at width 128, batch 256, 400 steps, seed 0: from 0 the elevation went to
-9.5 deg with inverted depths, val P-MPJPE 121.7 mm against 93.1 for constant depth; from 10 deg it
stayed near +10 deg, 63.7 mm, and so did seeds 1-3, 62.8-66.0 mm). The start is the belief that
cameras look down a little on people, the belief behind Drover's 0-20 degree range.

Which losses teach the elevation: only L_NF, by default. alpha reaches the losses only through R;
mu_e and sigma_e are the batch mean and standard deviation of alpha (sigma_e = sqrt(var + 1e-6), so
its gradient exists at the flat init, where every alpha is 0), and e = mu_e + sigma_e eps is
reparameterized, so gradients flow to alpha through both factors of R. The flow prior is the loss that
can tell a right elevation from a wrong one: turning about a wrongly tilted axis rolls and tilts the
new view, which real 2D poses do not show. The cycle losses are about 0 for a perfect lifter under
any R, so they carry no information about the elevation; what their R-gradient rewards is rotations
the current lifter cycles well. cycle_elevation_grad = false (the default) passes the cycle losses
R with its gradient stopped (the same matrix); true lets every loss teach it, as ElePose's code does.
elevation = "fixed" replaces all this by Drover's random projection layer (azimuth U[-pi, pi],
elevation U[0, fixed_elevation_max] degrees, no levelling; the extra output is not built).

Scale. normalize_2d rescales y_hat to a fixed RMS radius, so the re-lift v_hat' has the size (and
depth) that this normalization gives it, not the size of R v: the two differ by the normalization's
scale, and absolute scale is not defined for a monocular lift anyway. Every comparison is therefore
made between canonical poses: root-centred and divided by their RMS joint distance from the root
(`canonical`, as drover.rotation_cycle_loss does); 2D poses are compared after normalize_2d, divided
by RMS_RADIUS (unit RMS radius too). For the way back, v_hat' is placed where R v is: its canonical
shape scaled to the RMS size of R v (the size stopped from gradient) with its root at (0, 0, DEPTH),
the centre of every rotation here, and turned by R^T about that centre.

Rotations: v is moved so that its root is at T = (0, 0, DEPTH) (rotate_project turns about T, so
this turns the pose about its root, as ElePose does). Projections go through kernels.rotate_project
(data.views.random_projection, the projection behind every training view);
the rotated 3D that L_3d and L_def compare are camera.rotate_about_depth, the same P = R (X - T) + T
without the projection (rotate_project returns only 2D), as drover.py does for its cycle.

The bone prior's statistics are published anthropometry, not the mocap: b_bar_n is
anthropometry.RELATIVE_BONE_LENGTHS (Drillis & Contini's segment fractions of stature, each bone
over the mean bone) and sigma_b is anthropometry.RELATIVE_BONE_SIGMA (0.1, a stated choice).

The weights. The paper's sum with weight 1 (eq. 12) does not train here: with bone_weight = 1 the
lifter ends worse than constant depth. The anthropometric means are not this skeleton's joint
centres (the hip bone is half a surface breadth, 0.60 of the mean bone, where the mocap's hip joints
give about 0.40), so a strong bone prior bends the depths to fit them; at 0.02 it helps a little with
the flow prior and much without it. The other terms keep weight 1 (flow_weight 0.5 or 2 and the
cycle terms at 2 moved nothing beyond the noise of earlier 2-minute runs); lr 2e-4 as ElePose
(4e-4 was worse; 1e-3 collapsed: the elevation ran to -90 degrees, where R turns the image in its
plane and the cycle is trivial); no EMA (0.99 lags far behind on this budget).

Measured: 2-minute runs of the shipped config (260 steps of 1024 poses on one thread, the flow fit's
27 s included), val P-MPJPE (printed for diagnosis only) at the checkpoint the 2D criterion chose,
mean of seeds 0 and 1; constant depth 92.6 mm. Shipped 58.4; flow_weight = 0: 67.7; bone_weight = 0:
59.9; both 0 (L_base alone, seed 0): 86.1; elevation = "fixed": 60.4; bone_weight = 1 (seed 0): the
flat start kept (92.5; 103.1 at the end); ema = 0.99: 77.4; cycle_elevation_grad = true: 57.0;
elevation_init_deg = 0: 56.6 (no flip at width 512). The learned elevation settles at a mean of
9.6 deg with a spread of 2 deg (the training views: 0-20 deg, uniform).

The flow's fit length (flow_steps), from longer runs (one thread, seed 0, each with 6.5-7.3
minutes of lifter training after the fit; val P-MPJPE single pass / flip-averaged at the
chosen checkpoint): 400 steps
(held-out NLL 24.2 nats, 30 s): 48.7 / 46.1 mm; 2000 steps (18.4 nats, 152 s): 44.9 / 43.5;
5000 steps (15.8 nats, 371 s): 46.3 / 44.3. A sharper density is not always a better teacher,
and its fit comes out of the training budget; 2000 is shipped. The cycle ablation table
(benchmarks/bench_ablations.py) keeps a 400-step row, and benchmarks/bench_flow_prior.py
records the held-out NLL against the fit length.

Nothing here selects on 3D: the spine selects models on its 2D-only criterion.
"""
from __future__ import annotations

import math
import sys
from dataclasses import dataclass

import torch
from torch import nn

from realtime3d.anthropometry import RELATIVE_BONE_LENGTHS, RELATIVE_BONE_SIGMA
from realtime3d.camera import rotate_about_depth, rotation_from_angles
from realtime3d.data.views import at_depth, random_projection
from realtime3d.models import LiftingNetwork
from realtime3d.normalization import DEPTH, RMS_RADIUS, normalize_2d
from realtime3d.skeleton import H36M17
from .base import Method, descend
from .common import script_main
from .distributed import unwrap
from .flow_prior import FlowPrior2D
from .losses import hidden_joint_loss

ELEVATIONS = ("learned", "fixed")
#: Pool size of the flow prior's fit (ctx.train_2d(max_poses=...)).
FLOW_POSES = 200_000
_PARENTS = torch.tensor([p for p, _ in H36M17.bones])
_CHILDREN = torch.tensor([c for _, c in H36M17.bones])


@dataclass
class CycleConfig:
    """Defaults are the shipped recipe (realtime3d/trainers/configs/cycle_cmu-h36m17_w512_28min.toml); the
    paper's weights are all 1 (eq. 12). The ablations: flow_weight = 0, bone_weight = 0 (the two
    together: L_base alone), elevation = "fixed"."""

    width: int = 512
    blocks: int = 4
    lr: float = 2e-4
    betas: tuple = (0.9, 0.999)
    elevation: str = "learned"            # "learned" (ElePose) or "fixed" (Drover's range)
    elevation_init_deg: float = 10.0      # the first learned elevation (breaks the depth-flip symmetry)
    fixed_elevation_max: float = 20.0     # elevation range of "fixed", 0 to this (degrees)
    cycle_elevation_grad: bool = False    # the cycle losses also teach the elevation (see module doc)
    cycle2d_weight: float = 1.0           # L_2d, eq. 5
    cycle3d_weight: float = 1.0           # L_3d, eq. 4
    deform_weight: float = 1.0            # L_def, eq. 6
    flow_weight: float = 1.0              # L_NF, eq. 8
    bone_weight: float = 0.02             # L_bl, eq. 10
    pca_dim: int = 26
    flow_steps: int = 2000
    max_drop: int = 3
    drop_prob: float = 0.3
    fill_weight: float = 1.0
    mirror: bool = True
    ema: float = 0.0

    def __post_init__(self) -> None:
        if self.elevation not in ELEVATIONS:
            raise ValueError(f"elevation must be one of {', '.join(ELEVATIONS)}, got {self.elevation!r}")
        if not abs(self.elevation_init_deg) < 90.0:
            raise ValueError(f"elevation_init_deg must lie strictly between -90 and 90, got {self.elevation_init_deg}")


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
            print(f"realtime3d train: cycle: flow prior fitted in {stats['seconds']:.1f} s on "
                  f"{stats['poses']:.0f} 2D poses ({self.cfg.flow_steps} steps; PCA {self.cfg.pca_dim} axes, "
                  f"{100 * stats['explained']:.3f}% of the variance; held-out NLL {stats['val_nll']:.1f})",
                  file=sys.stderr)

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


def main(argv=None) -> None:
    """`python -m realtime3d.trainers.cycle --width 64 --minutes 4`: the shipped config with flags."""
    script_main("cycle", argv)


if __name__ == "__main__":
    main()
