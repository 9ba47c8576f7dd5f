"""SVMAC of Deng et al., "SVMAC: Unsupervised 3D Human Pose Estimation from a Single Image with
Single-view-multi-angle Consistency" (2021), sec. 3: a lifting GAN trained from 2D poses alone,
as a method on the spine (base.py). Design choices and measurements: docs/methods.md.

One step, for n angles (params.views):
- GEN lifts the 2D pose [B, J, 2] and estimates a weak-perspective camera: X_pred [B, J, 3],
  K [B, 2, 3] (eq. 3; realtime3d/models/svmac.py).
- Angles: theta_0 = 0 and theta_1..theta_{n-1} uniform in [-angle_max_deg, angle_max_deg] degrees,
  independently per pose and view ("angles" stream). X_pred is turned about the camera's y axis
  through (0, 0, c), the root (eqs. 7-8; camera.rotate_about_depth).
- The turned poses are projected by the input's camera, x_proj = K X_rot (eq. 9), normalized as
  the network's inputs are (normalization.normalize_2d), and lifted again by the same generator
  (eq. 10): X~_rot, K^theta_i. These x_proj are the fakes of the WGAN-GP critic, which takes
  n_critic steps per generator step, all on the step's own (detached) fakes against fresh reals.
- n = 1 (the paper's "without the SVMAC loss") still turns each pose once (L_adv and L_3D need a
  turned view) but has no mixing loss and no camera equality.

Losses (eq. 24): L_adv + l1 L_angle + l2 (L_weakcam + L_cameq) + l3 L_sym + l4 L_3D + l5 L_svmac,
and Drover's hidden-joint loss (losses.hidden_joint_loss). 3D is compared root-centred with the mean
joint distance to the root scaled to 1 (normalize_3d, the paper's sec. 3 normalization); 2D in the
units of the network's input (normalized 2D). The face vector of L_angle (eq. 22) is the sum of the
two knee-bend vectors (this skeleton has no nose), against w = left - right shoulder and
u = thorax - pelvis: sin beta = (v x w) . u / (|v| |w| |u|) > 0 for a person (facing_sine).
Nothing here reads 3D: the samplers' 3D output is unused.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from realtime3d.camera import rotate_about_depth, rotation_from_angles
from realtime3d.models.svmac import Critic2D, SVMACNetwork
from realtime3d.normalization import DEPTH, normalize_2d
from realtime3d.skeleton import H36M17
from realtime3d.errors import UserError
from .base import Method, descend
from .config import param
from .distributed import unwrap
from .losses import HiddenJoints, hidden_joint_loss

ROOT = H36M17.root
_J = H36M17.index
_BONES = torch.tensor(H36M17.bones)                      # [K, 2] (parent, child)
_SYMMETRIC = torch.tensor(H36M17.symmetric_bones)        # [q, 2] indices into _BONES


@dataclass
class SVMACConfig(HiddenJoints):
    """The [params] of svmac; defaults are the shipped recipe: the paper's settings (sec. 3.5: loss
    weights l1..l5 = 1, 1, 0.01, 0.1, 10; Adam betas (0.7, 0.9); n = 2 angles; gradient penalty 10)
    with the learning rates raised from the paper's 5.5e-5 for a CPU budget of a few thousand steps
    (docs/methods.md). views = n, the number of angles (theta_0 = 0 included): n - 1 turned views
    per pose, one for n = 1."""

    width: int = param(512)
    shared_blocks: int = param(1, "residual blocks of the generator's shared trunk")
    head_blocks: int = param(2, "residual blocks of the generator's pose path and of its camera path")
    d_width: int = param(256, "width of the WGAN-GP critic")
    d_blocks: int = param(2)
    views: int = param(2, "n, the turn angles per pose (theta_0 = 0 included)")
    angle_max_deg: float = param(180.0, "the turn angles about the vertical are uniform in [-this, this] "
                                        "(degrees)")
    adversarial: bool = param(True, "train with the WGAN-GP critic (false: without it, Table 4's w/o Disc)")
    n_critic: int = param(5, "critic steps per generator step")
    gp_weight: float = param(10.0, "weight of the WGAN-GP gradient penalty (lambda_gp)")
    lr_g: float = param(2e-4)
    lr_d: float = param(1e-3)
    betas: tuple = param((0.7, 0.9))
    angle_weight: float = param(1.0, "weight of the facing (depth-inversion) angle loss (lambda_1)")
    camera_weight: float = param(1.0, "weight of the weak-camera and camera-equality losses (lambda_2)")
    bone_sym_weight: float = param(0.01, "weight of the left/right bone-length symmetry loss (lambda_3)")
    relift_weight: float = param(0.1, "weight of the 3D consistency of the re-lifted turned views, L_3D "
                                      "(lambda_4)")
    svmac_weight: float = param(10.0, "weight of the multi-angle mixed-reprojection consistency, L_svmac "
                                      "(lambda_5)")
    composed_real: bool = param(False)
    ema: float = param(0.0)


# ---------------------------------------------------------------------------------- geometry
def y_rotations(angles: torch.Tensor) -> torch.Tensor:
    """R^theta of eq. 7, [..., 3, 3], for angles [...] (radians): a turn about the camera's y
    axis (eq. 8 writes row vectors times R; camera.rotate_about_depth turns columns by R^T,
    which is this matrix)."""
    return rotation_from_angles(angles, torch.zeros_like(angles))


def weak_project(cameras: torch.Tensor, pose3d: torch.Tensor) -> torch.Tensor:
    """x = K X (eq. 9) of the root-centred pose: cameras [B, 2, 3], pose3d [B, J, 3] -> [B, J, 2]."""
    return (pose3d - pose3d[:, ROOT:ROOT + 1]) @ cameras.transpose(-1, -2)


def normalize_3d(pose3d: torch.Tensor) -> torch.Tensor:
    """Root-centred, scaled so that the mean distance of the other joints to the root is 1
    (the paper's 3D normalization, sec. 3). [..., J, 3] -> [..., J, 3]."""
    centred = pose3d - pose3d[..., ROOT:ROOT + 1, :]
    j = pose3d.shape[-2]
    mean = centred.norm(dim=-1).sum(-1, keepdim=True) / (j - 1)                 # [..., 1]
    return centred / mean.clamp(min=1e-6).unsqueeze(-1)


def perspective_2d(pose3d: torch.Tensor) -> torch.Tensor:
    """The 2D that a lifted pose X = Z [x, y, 1] came from: [B, J, 3] -> [B, J, 2]."""
    return pose3d[..., :2] / pose3d[..., 2:3]


# ---------------------------------------------------------------------------------- losses
def relift_loss(relifted: torch.Tensor, rotated: torch.Tensor) -> torch.Tensor:
    """L_3D (eq. 11): the turned pose, projected and lifted again, must be the turned pose:
    (1/N) |X~_rot - X_rot|^2, both normalized (normalize_3d), averaged over views and poses.
    [V*B, J, 3] each."""
    diff = normalize_3d(relifted) - normalize_3d(rotated)
    return diff.pow(2).sum(-1).mean()


def camera_equality_loss(cameras: torch.Tensor) -> torch.Tensor:
    """L_cameq (eq. 12): the n cameras of one pose's views [n, B, 2, 3] are one camera:
    2 / (n (n - 1)) sum_{i<j} |K_i - K_j|_1 / 6, averaged over poses (0 for n = 1)."""
    n = cameras.shape[0]
    if n < 2:
        return cameras.new_zeros(())
    i, j = torch.triu_indices(n, n, offset=1)
    return (cameras[i] - cameras[j]).abs().sum((-1, -2)).mean(0).mean() / 6.0


def weak_camera_loss(cameras: torch.Tensor) -> torch.Tensor:
    """L_weakcam (eq. 19): each camera [..., 2, 3] is a scaled orthographic one, K K^T = s^2 I
    (eq. 17): |2 K K^T / trace(K K^T) - I|_F, summed over the leading dimension (the n angles)
    and averaged over the rest (poses)."""
    kkt = cameras @ cameras.transpose(-1, -2)                                    # [n, B, 2, 2]
    trace = kkt.diagonal(dim1=-2, dim2=-1).sum(-1)[..., None, None].clamp(min=1e-9)
    eye = torch.eye(2, dtype=kkt.dtype, device=kkt.device)
    return (2.0 * kkt / trace - eye).flatten(-2).norm(dim=-1).mean(-1).sum()


def symmetry_loss(pose3d: torch.Tensor) -> torch.Tensor:
    """L_sym (eq. 21): (1/q) sum |B_i - B'_i|^2 over the q left/right bone pairs, bone lengths of
    the normalized pose (normalize_3d). pose3d [B, J, 3]."""
    pose = normalize_3d(pose3d)
    bones = _BONES.to(pose.device)
    lengths = (pose[:, bones[:, 1]] - pose[:, bones[:, 0]]).norm(dim=-1)        # [B, K]
    pairs = _SYMMETRIC.to(pose.device)
    return (lengths[:, pairs[:, 0]] - lengths[:, pairs[:, 1]]).pow(2).mean()


def facing_sine(pose3d: torch.Tensor) -> torch.Tensor:
    """sin beta of eq. 22 with our joints (module docstring): v = the knees' forward bend,
    w = left - right shoulder, u = thorax - pelvis; (v x w) . u / (|v| |w| |u|), [B]: positive
    for a person, negative for its depth-inverted copy."""
    knees = sum(pose3d[:, _J[f"{s}_knee"]] - 0.5 * (pose3d[:, _J[f"{s}_hip"]] + pose3d[:, _J[f"{s}_ankle"]])
                for s in ("left", "right"))                                      # [B, 3]
    w = pose3d[:, _J["left_shoulder"]] - pose3d[:, _J["right_shoulder"]]
    u = pose3d[:, _J["thorax"]] - pose3d[:, ROOT]
    triple = (torch.cross(knees, w, dim=-1) * u).sum(-1)
    return triple / (knees.norm(dim=-1) * w.norm(dim=-1) * u.norm(dim=-1)).clamp(min=1e-9)


def angle_loss(pose3d: torch.Tensor) -> torch.Tensor:
    """L_angle (eq. 23): max(0, -sin beta), averaged over poses [B, J, 3]."""
    return torch.relu(-facing_sine(pose3d)).mean()


def svmac_loss(anchors: torch.Tensor, poses: torch.Tensor, cameras: torch.Tensor) -> torch.Tensor:
    """L_svmac (eq. 15) over the n angles' mixed reprojections P_a^theta_i = K^theta_a X~^theta_i
    (eq. 13, X~^theta_0 = X_pred, eq. 14).

    anchors [n, B, J, 2]: the 2D that each angle's pose was lifted from (the input 2D for
    angle 0, the normalized x_proj for the others); poses [n, B, J, 3] (X_pred, X~_rot^theta_i);
    cameras [n, B, 2, 3] (K, K^theta_i). The m_i = n + 1 2D poses of angle i (its anchor and
    its n reprojections) must agree: sum_{a<b} |P_a - P_b|^2 / (N m_i), which is
    sum_a |P_a - mean|^2 / N; averaged over the angles (1/n) and the poses. The anchors fix
    the cameras' scale (without them, every camera shrinking to 0 would lower the loss)."""
    centred = poses - poses[..., ROOT:ROOT + 1, :]                              # [n, B, J, 3]
    mixed = torch.einsum("abkc,ibjc->iabjk", cameras, centred)                  # [n_i, n_a, B, J, 2]
    group = torch.cat([anchors.unsqueeze(1), mixed], dim=1)                     # [n, m = n + 1, B, J, 2]
    spread = (group - group.mean(1, keepdim=True)).pow(2).sum((1, -1))          # [n, B, J]
    return spread.mean(-1).mean()


def gradient_penalty(critic: torch.nn.Module, real: torch.Tensor, fake: torch.Tensor,
                     alpha: torch.Tensor, unit: float = DEPTH) -> torch.Tensor:
    """WGAN-GP's penalty (eq. 16): (|grad D(x^)| - 1)^2 at x^ = alpha real + (1 - alpha) fake,
    alpha [B, 1, 1] uniform; real, fake [B, J, 2] normalized 2D. The gradient is taken with
    respect to the 2D at unit size, x^ * unit (the critic's own input scaling, Critic2D.depth):
    the unit gradient norm of WGAN-GP assumes data of about unit scale, and normalized 2D is
    1/c of it."""
    mixed = (alpha * real + (1.0 - alpha) * fake).requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(mixed).sum(), mixed, create_graph=True)
    return (grad.flatten(1).norm(dim=1) / unit - 1.0).pow(2).mean()


# ---------------------------------------------------------------------------------- the method
class SVMAC(Method):
    """GEN lifts and estimates a camera, its turned reprojections are lifted again and judged
    by a WGAN-GP critic; the consistency losses tie the n angles together."""

    name = "svmac"
    Config = SVMACConfig
    tuned_on = ("the learning rates and n_critic were chosen in development on 2-minute runs scored by the val "
                "subjects' 3D P-MPJPE (realtime3d/trainers/svmac.py); the loss weights and betas are the paper's")

    def __init__(self, cfg: SVMACConfig, ctx):
        super().__init__(cfg, ctx)
        if cfg.views < 1 or cfg.n_critic < 1:
            raise UserError(f"params.views and params.n_critic must be at least 1, got {cfg.views}, {cfg.n_critic}")
        if cfg.composed_real and ctx.protocol != "random-projection":
            raise UserError(f"params.composed_real re-projects the 3D: the {ctx.protocol} protocol has fixed views "
                            "(set params.composed_real = false)")
        self.inputs = ctx.sampler("input", mirror=cfg.mirror)          # what GEN lifts
        self.angles = ctx.stream("angles")                             # theta_1 .. theta_{n-1}
        if cfg.adversarial:
            self.reals = ctx.sampler("real", mirror=cfg.mirror)        # the critic's real 2D
            self.mix = ctx.stream("gradient-penalty")                  # alpha of x^
        self.turns = max(cfg.views - 1, 1)                             # turned views per pose

    def build(self) -> dict[str, torch.nn.Module]:
        cfg = self.cfg
        g = SVMACNetwork(width=cfg.width, shared_blocks=cfg.shared_blocks, head_blocks=cfg.head_blocks)
        models: dict[str, torch.nn.Module] = {"g": g}
        if cfg.adversarial:
            models["d"] = Critic2D(width=cfg.d_width, blocks=cfg.d_blocks)
        if cfg.ema > 0:
            models["g_ema"] = torch.optim.swa_utils.AveragedModel(
                g, multi_avg_fn=torch.optim.swa_utils.get_ema_multi_avg_fn(cfg.ema), use_buffers=True)
        return models

    def optimizers(self, models):
        cfg = self.cfg
        opts = {"g": torch.optim.Adam(models["g"].parameters(), lr=cfg.lr_g, betas=cfg.betas)}
        if cfg.adversarial:
            opts["d"] = torch.optim.Adam(models["d"].parameters(), lr=cfg.lr_d, betas=cfg.betas)
        return opts

    def _turn(self, lifted: torch.Tensor, camera: torch.Tensor):
        """Eqs. 7-9: the lifted poses [B, J, 3] turned by random angles, self.turns views each
        (pose b in rows b, B + b, ...), projected by their camera [B, 2, 3] and normalized.
        Returns (x_proj normalized [V*B, J, 2], X_rot [V*B, J, 3])."""
        limit = torch.pi * self.cfg.angle_max_deg / 180.0
        theta = self.angles.draw(lambda k, gen: (2.0 * torch.rand(k, generator=gen) - 1.0) * limit,
                                 self.turns * self.ctx.batch).to(lifted.device)          # [V*B]
        rotated = rotate_about_depth(lifted.repeat(self.turns, 1, 1), y_rotations(theta), DEPTH)   # eq. 8
        reprojected = weak_project(camera.repeat(self.turns, 1, 1), rotated)             # eq. 9
        return normalize_2d(reprojected)[0], rotated

    def _critic_step(self, d, opt, fake: torch.Tensor) -> tuple[float, float]:
        """One WGAN-GP critic step (eq. 16) on fakes [V*B, J, 2] (detached) and as many reals."""
        count = self.turns * self.ctx.batch                                             # global
        real, _, _ = self.reals.sample(count, cameras=2 if self.cfg.composed_real else 1)
        alpha = self.mix.draw(lambda k, gen: torch.rand(k, 1, 1, generator=gen), count).to(fake.device)
        scores = d(torch.cat([real, fake]))
        wasserstein = scores[len(real):].mean() - scores[: len(real)].mean()
        penalty = gradient_penalty(unwrap(d), real, fake, alpha)    # one DDP forward per backward
        descend(opt, wasserstein + self.cfg.gp_weight * penalty)
        return -wasserstein.item(), penalty.item()

    def step(self, models, opts, step):
        cfg, batch = self.cfg, self.ctx.batch
        g = models["g"]
        w_dist = penalty = 0.0
        pose2d, mask, _ = self.inputs.sample(batch, cfg.max_drop, cfg.drop_prob)
        lifted, camera = g(pose2d, mask, with_camera=True)     # X_pred [B, J, 3], K [B, 2, 3]
        fake, rotated = self._turn(lifted, camera)             # x_proj [V*B, J, 2], X_rot [V*B, J, 3]
        relifted, cameras = g(fake, None, with_camera=True)    # X~_rot [V*B, J, 3], K^theta [V*B, 2, 3] (eq. 10)

        loss_adv = lifted.new_zeros(())
        if cfg.adversarial:
            for _ in range(cfg.n_critic):                      # critic steps on this step's fakes, fresh reals
                w_dist, penalty = self._critic_step(models["d"], opts["d"], fake.detach())
            critic = unwrap(models["d"])                       # its gradients are not reduced
            critic.requires_grad_(False)
            loss_adv = -critic(fake).mean()
            critic.requires_grad_(True)

        n = cfg.views
        all_cameras = torch.cat([camera, cameras]).unflatten(0, (-1, len(camera)))      # [1 + V, B, 2, 3]
        loss_cam = weak_camera_loss(all_cameras)
        loss_mix = lifted.new_zeros(())
        if n >= 2:                                             # the SVMAC losses (eqs. 12, 15)
            loss_cam = loss_cam + camera_equality_loss(all_cameras)
            anchors = torch.cat([perspective_2d(lifted).detach(), fake]).unflatten(0, (n, -1))    # [n, B, J, 2]
            poses = torch.cat([lifted, relifted]).unflatten(0, (n, -1))                          # [n, B, J, 3]
            loss_mix = svmac_loss(anchors, poses, all_cameras)
        generated = torch.cat([lifted, relifted])
        loss_relift = relift_loss(relifted, rotated)
        loss_sym = symmetry_loss(generated)
        loss_angle = angle_loss(generated)
        loss_fill = hidden_joint_loss(lifted, pose2d, mask)
        loss_g = (loss_adv + cfg.angle_weight * loss_angle + cfg.camera_weight * loss_cam
                  + cfg.bone_sym_weight * loss_sym + cfg.relift_weight * loss_relift + cfg.svmac_weight * loss_mix
                  + cfg.fill_weight * loss_fill)
        descend(opts["g"], loss_g)
        if "g_ema" in models:
            models["g_ema"].update_parameters(unwrap(g))
        return {"w_dist": w_dist, "gp": penalty, "adv": loss_adv.item(), "relift": loss_relift.item(),
                "svmac": loss_mix.item(), "cam": loss_cam.item(), "sym": loss_sym.item(),
                "angle": loss_angle.item(), "fill": loss_fill.item()}

    def eval_model(self, models):
        return models["g_ema"].module if "g_ema" in models else models["g"]

