"""The image path of Sosa & Hogg, "Self-supervised 3D Human Pose Estimation from a Single Image"
(2023), secs. 3.1-3.4: Phi (image -> skeleton image) and Omega (skeleton image -> 2D), trained with
no paired labels in front of the frozen rotation-cycle lifter Lambda (params.lifter). Experimental;
what was added to the paper's losses, why, and the runs: docs/methods.md.

The data (the only places the mocap's 3D is read, each to make an input, never a target):
- images: the CMU train clips of one half (render_share of the clips, chosen by a seeded hash of the
  clip name) drawn as synthetic people by realtime3d.data.synth, as pairs of frames of one clip seen
  by one camera (x_a, x_b) [B, 3, 128, 128]. Validation logs the renders' labels (val_pck,
  val_p_mpjpe); nothing selects on them;
- the unpaired 2D prior u: the other half of the train clips under the fixed-camera protocol
  (sampling.fixed_camera_pool). Its skeleton images are kappa(u) (eq. 2), placed by the crop rule of
  realtime3d.crops.

One step (B pairs; s = Phi(x_b) [B, K, 64, 64], y = Omega(s) [B, J, 2]; every skeleton image is
rendered per bone by realtime3d.kernels.render_skeleton):

    L_D     = BCE(D(kappa(u)), 1) + BCE(D(s), 0)              eq. 3, D's step
    L_adv   = BCE(D(s), 1)                                      eq. 3, Phi's side (non-saturating)
    L_Omega = |Omega(kappa(u)) - u|^2 + lambda |kappa(y) - s|^2 eq. 9, lambda = kappa_weight
    L_base, L_NF, L_bl on y through Lambda                      eqs. 4-6, 8, 10 (cycle.py)
    L_rec   = |G(s, x_a) - x_b|_1                               Jakab et al.'s conditional decoder
    L_eq    = |Phi(T x_b) - T s|^2                              equivariance, T a random similarity warp
              (equivariance_on = "image"; "keypoints": |Omega(Phi(T x_b)) - T y|^2)

L = L_adv + L_Omega + L_base + L_NF + L_bl + L_rec + L_eq (eq. 12 with L_rec and L_eq added), each
term times its param weight. The first recon_only_steps train Phi on L_rec and L_eq alone (Omega on
its prior term), then the others ramp in over prior_warmup steps. The flow prior of L_NF is fitted
at the first step on the prior's 2D.

Selection: val_recon, the decoder's L1 error on fixed validation pairs (renders of the val subjects'
clips), in % of the pixel range: from images alone. With params.footage (a user's unlabelled videos
and photos, footage.py), footage_share of every batch are its person crops, with the same losses (a
photo skips the reconstruction), and the criterion becomes val_recon_footage.
"""
from __future__ import annotations

import logging
import math
import zlib
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from realtime3d.crops import CROP_MARGIN, jitter_boxes, square_box, to_crop
from realtime3d.kernels import render_skeleton
from realtime3d.metrics import p_mpjpe, pck_torso
from realtime3d.models.image import GAMMA, SKELETON_SIZE, SkeletonDiscriminator, SkeletonNet, crop_to_skeleton_px
from realtime3d.normalization import normalize_2d
from realtime3d.skeleton import H36M17
from realtime3d.errors import UserError
from .base import Method, descend
from .config import param
from .distributed import unwrap
from .cycle import bone_prior_loss, cycle_losses, cycle_rotations, elevation_angle
from .flow_prior import FlowPrior2D
from .sampling import Pool2DSampler, fixed_camera_pool

#: The bones of every skeleton image, [K, 2] (parent, child).
BONES = torch.tensor(H36M17.bones, dtype=torch.long)
#: Fixed validation pairs (renders of the val subjects) and their seed.
VAL_PAIRS = 192
VAL_RENDER_SEED = 4321
#: Poses of the prior pool that fit the flow prior.
FLOW_POSES = 100_000

log = logging.getLogger(__name__)


@dataclass
class SkeletonNetConfig:
    """The [params] of skeleton-net; defaults are the shipped recipe."""

    phi_width: int = param(24, "channels of Phi's first level (image -> skeleton image U-Net)")
    phi_output: str = param("image", "Phi's output, 'image' (a free skeleton image, the paper's) or "
                                     "'keypoints' (joint heatmaps rendered by kappa)")
    omega_width: int = param(32, "channels of Omega's first level (skeleton image -> 2D)")
    d_width: int = param(32, "channels of the skeleton-image discriminator's first level")
    decoder_width: int = param(24, "channels of the conditional decoder's first level")
    init: str = param("", "the weights to start from: a trained skeleton net (a shipped name or a .pt), its "
                          "decoder too (empty: random)")
    footage: str = param("", "a folder or file of your own unlabelled videos and photos to adapt to "
                             "(realtime3d/trainers/footage.py)")
    box_file: str = param("", "person boxes of the footage, CSV file,frame,cx,cy,side (empty: MediaPipe's "
                              "2D, framed)")
    footage_share: float = param(0.5, "share of each batch drawn from the footage (the rest: synthetic "
                                      "renders)")
    lr_g: float = param(2e-4, "Adam learning rate of Phi, Omega and the decoder (peak of the cosine decay)")
    lr_d: float = param(2e-4)
    betas: tuple = param((0.5, 0.999))
    lifter: str = param("cycle", "Lambda, the frozen rotation-cycle lifter (a shipped name or a lifter .pt)")
    adv_weight: float = param(1.0, "weight of Phi's adversarial loss against the skeleton-image "
                                   "discriminator (eq. 3)")
    omega_weight: float = param(1.0, "weight of Omega's loss on the prior's skeleton images (eq. 9, first "
                                     "term)")
    kappa_weight: float = param(0.1, "lambda of eq. 9, the weight of |kappa(y) - s|^2")
    cycle_weight: float = param(1.0, "weight of L_base (eqs. 4-6) of Omega's 2D through Lambda (0 = off)")
    flow_weight: float = param(1.0)
    bone_weight: float = param(0.02)
    recon_weight: float = param(1.0, "weight of the decoder's image reconstruction (0 = the paper's loss, no "
                                     "decoder)")
    d_minibatch_std: bool = param(False, "the discriminator also sees the spread of its features over the "
                                         "batch (against one skeleton drawn for every crop)")
    equivariance_weight: float = param(0.0, "weight of |Phi(T x) - T Phi(x)|^2 under random similarity warps "
                                            "T (0 = off)")
    equivariance_on: str = param("image", "what the equivariance term compares: 'image' (Phi's skeleton "
                                          "images) or 'keypoints' (Omega's 2D, which a blank or constant "
                                          "image cannot satisfy)")
    recon_only_steps: int = param(0, "first steps in which Phi and the decoder learn from the reconstruction "
                                     "alone")
    prior_warmup: int = param(0, "steps over which Phi's other terms (adversarial, kappa, through Lambda) "
                                 "then ramp up from 0")
    flow_steps: int = param(1000)
    pca_dim: int = param(26)
    render_share: float = param(0.5, "share of the CMU train clips drawn as images (the others make the 2D "
                                     "prior)")
    backgrounds: str = param("", "a folder of your photos for the renders' backgrounds (empty: procedural "
                                 "only)")
    kernel_backend: str = param("auto", "realtime3d.kernels backend of the skeleton images: auto, cpu, "
                                        "reference, triton")
    mirror: bool = param(True)


def split_clips(clips: np.ndarray, share: float, seed: int) -> np.ndarray:
    """A bool [N]: which frames' clips are rendered as images (a seeded hash of the clip name,
    about `share` of the clips); the others are the unpaired 2D prior."""
    names = np.unique(clips)
    rendered = {n for n in names if (zlib.crc32(f"{seed}:{n}".encode()) % 10_000) < share * 10_000}
    return np.isin(clips, list(rendered))


def place_in_crop(pose2d: torch.Tensor, uniform: torch.Tensor, size: int = SKELETON_SIZE) -> torch.Tensor:
    """Poses [B, J, 2] in any 2D frame -> their pixels [B, J, 2] in a size x size crop framed by the
    crop rule (realtime3d.crops), jittered by uniform [B, 3] numbers as training crops are."""
    boxes = jitter_boxes(square_box(pose2d), uniform=uniform)
    return to_crop(pose2d, boxes, size)


def prior_ramp(step: int, recon_only: int, warmup: int) -> float:
    """The factor of Phi's prior terms (adversarial, kappa consistency, the terms through Lambda) at
    a step: 0 for the first recon_only steps, then linear to 1 over warmup steps."""
    if step < recon_only:
        return 0.0
    return min(1.0, (step - recon_only + 1) / warmup) if warmup > 0 else 1.0


#: The warps of the equivariance term: rotation within +-WARP_DEG degrees, scale within 1 +- WARP_SCALE,
#: shift within +-WARP_SHIFT of the half-side.
WARP_DEG, WARP_SCALE, WARP_SHIFT = 25.0, 0.15, 0.15


def random_warps(uniform: torch.Tensor) -> torch.Tensor:
    """uniform [B, 4] numbers in 0..1 -> similarity warps [B, 2, 3] (F.affine_grid's theta, in image
    coordinates of -1..1, which are the same for a crop and its skeleton image)."""
    u = 2 * uniform - 1
    angle, scale = u[:, 0] * math.radians(WARP_DEG), 1 + WARP_SCALE * u[:, 1]
    cos, sin = scale * torch.cos(angle), scale * torch.sin(angle)
    return torch.stack([torch.stack([cos, -sin, WARP_SHIFT * u[:, 2]], -1),
                        torch.stack([sin, cos, WARP_SHIFT * u[:, 3]], -1)], 1)


def warp(images: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
    """images [B, C, H, W] resampled by theta [B, 2, 3] (zeros outside): out(p) = images(theta p)."""
    grid = F.affine_grid(theta.to(images), list(images.shape), align_corners=False)
    return F.grid_sample(images, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def warp_points(points: torch.Tensor, theta: torch.Tensor, size: int = SKELETON_SIZE) -> torch.Tensor:
    """Where points [B, J, 2] (pixels of a size x size image) land in warp(image, theta) [B, 2, 3]:
    warp samples out(p) = image(theta p) in coordinates of -1..1, so a point q goes to theta^-1 q."""
    q = (points + 0.5) / (size / 2) - 1                                                  # [B, J, 2]
    a, t = theta[:, :, :2].to(points), theta[:, :, 2].to(points)                         # [B, 2, 2], [B, 2]
    p = torch.linalg.solve(a, (q - t[:, None]).transpose(1, 2)).transpose(1, 2)          # [B, J, 2]
    return (p + 1) * (size / 2) - 0.5


def bce(logits: torch.Tensor, real: bool) -> torch.Tensor:
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, 1.0 if real else 0.0))


def omega_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """|Omega(kappa(u)) - u|^2 of eq. 9: joints [B, J, 2] in skeleton-image pixels, compared in image
    coordinates of -1..1 (S / 2 pixels a unit), summed over joints, meaned over the batch."""
    return ((pred - target) / (SKELETON_SIZE / 2)).pow(2).sum((1, 2)).mean()


def kappa_loss(rendered: torch.Tensor, skeleton: torch.Tensor) -> torch.Tensor:
    """|kappa(y) - s|^2 of eq. 9: skeleton images [B, K, S, S], summed over pixels (the paper's
    one-channel image norm), meaned over the K bone channels and the batch."""
    return (rendered - skeleton).pow(2).sum((2, 3)).mean()


def recon_loss(redrawn: torch.Tensor, target: torch.Tensor, paired: torch.Tensor | None = None) -> torch.Tensor:
    """The decoder's L1 error: redrawn [B, 3, S, S] against the target crop [B, 3, 2S, 2S] averaged
    down to S x S; summed over the colour channels, meaned over pixels and over the samples that
    have a second frame (paired [B] bool; default all)."""
    small = F.interpolate(target, size=redrawn.shape[-2:], mode="area")
    per_sample = (redrawn - small).abs().sum(1).mean((1, 2))                             # [B]
    if paired is None:
        return per_sample.mean()
    return (per_sample * paired).sum() / paired.sum().clamp(min=1)


class SkeletonNetMethod(Method):
    """Phi, Omega, D and the decoder, trained on unlabelled synthetic renders and an unpaired 2D prior."""

    name = "skeleton-net"
    product = "detector"
    Config = SkeletonNetConfig
    criterion = "val_recon"
    own_validation = True
    eval_fields = ("val_recon", "val_kappa", "val_pck", "val_p_mpjpe", "val_recon_footage")
    reads_3d = ("the synthetic renderer, which draws the CMU train clips of one half as images (their labels "
                "are read by no loss; validation logs the val renders' 2D and 3D, and nothing selects on them)")
    tuned_on = ("recon_weight, equivariance_weight, the warm-up and phi_output were chosen on 5- to 7-minute "
                "development runs scored by the val subjects' renders' 2D PCK (their labels); the sizes were set for "
                "the CPU budget; the other weights are the paper's and the cycle's")

    def __init__(self, cfg: SkeletonNetConfig, ctx):
        super().__init__(cfg, ctx)
        if ctx.world_size > 1:
            raise UserError("skeleton-net trains in one process (its step calls Phi, Omega and the decoder one by "
                            "one, which DDP's gradient reduction does not see): run it without torchrun")
        if ctx.protocol != "fixed-camera":
            raise UserError("skeleton-net's 2D prior is the fixed-camera protocol's: set train.protocol = \"fixed-camera\"")
        if cfg.equivariance_on not in ("image", "keypoints"):
            raise UserError(f"params.equivariance_on must be 'image' or 'keypoints', got {cfg.equivariance_on!r}")
        from realtime3d.data import synth
        from realtime3d.lifting import Lifter
        self.synth = synth
        split = ctx._split("train")
        rendered = split_clips(split["clip"], cfg.render_share, ctx.seed)
        self.render_joints = torch.from_numpy(split["joints3d"][rendered])               # [N1, J, 3] mm
        self.render_clips = split["clip"][rendered]
        prior = fixed_camera_pool(split["joints3d"][~rendered], split["clip"][~rendered], ctx.seed)
        self.prior_pool = prior
        self.prior = Pool2DSampler(prior, ctx.stream("prior"), mirror=cfg.mirror, device=ctx.device)
        self.render_stream = ctx.stream("render")
        self.cameras = ctx.stream("cycle")
        self.backgrounds = synth.load_backgrounds(cfg.backgrounds) if cfg.backgrounds else None
        self.footage = None
        if cfg.footage:
            from .footage import load_footage
            self.footage = load_footage(cfg.footage, cfg.box_file, ctx.seed)
            self.criterion = "val_recon_footage"
            if ctx.rank == 0:
                log.info("train: skeleton-net: %d person crops of your footage (%d with a second frame)",
                         len(self.footage), int(self.footage.paired.sum()))
        lifter = Lifter.from_pretrained(cfg.lifter).network
        if not getattr(lifter, "extra_outputs", 0):
            raise UserError(f"lifter {cfg.lifter!r} has no elevation output: skeleton-net needs a rotation-cycle "
                            "lifter (cycle, cycle-fixed-camera)")
        self.lifter = lifter.requires_grad_(False).eval()
        self._val = None
        self._footage_pairs = None

    # ------------------------------------------------------------------ models
    def build(self) -> dict[str, nn.Module]:
        cfg = self.cfg
        self.flow = FlowPrior2D(dim=cfg.pca_dim)
        net = SkeletonNet(cfg.phi_width, cfg.omega_width, cfg.phi_output, cfg.decoder_width)
        if cfg.init:
            self._init_from(net, cfg.init)
        return {"net": net, "d": SkeletonDiscriminator(cfg.d_width, cfg.d_minibatch_std), "flow": self.flow}

    @staticmethod
    def _init_from(net: SkeletonNet, spec: str) -> None:
        """Start from a trained skeleton net (a shipped name or a .pt with its decoder)."""
        from realtime3d.detect.skeleton_net import load_skeleton_net
        trained, _ = load_skeleton_net(spec)
        if trained.architecture != net.architecture:
            raise UserError(f"params.init {spec!r} is a {trained.architecture} net; the config builds "
                            f"{net.architecture}: set the widths and phi_output to match")
        net.load_state_dict(trained.state_dict())

    def optimizers(self, models):
        cfg = self.cfg
        return {"g": torch.optim.Adam(models["net"].parameters(), lr=cfg.lr_g, betas=cfg.betas),
                "d": torch.optim.Adam(models["d"].parameters(), lr=cfg.lr_d, betas=cfg.betas)}

    def eval_model(self, models):
        return models["net"]

    # ------------------------------------------------------------------ data
    def _kappa(self, joints_px: torch.Tensor) -> torch.Tensor:
        """kappa (eq. 2) per bone: skeleton-image pixels [B, J, 2] -> [B, K, S, S]."""
        return render_skeleton(joints_px, BONES.to(joints_px.device), (SKELETON_SIZE, SKELETON_SIZE), GAMMA,
                               mode="per_bone", backend=self.cfg.kernel_backend)

    def _pairs(self, n: int):
        """n pairs (x_a, x_b) [n, 3, 128, 128] and paired [n] bool: renders of the rendered clips
        (labels dropped), and with footage, footage_share of them the user's own crops."""
        share = self.cfg.footage_share if self.footage is not None else 0.0

        def one_shard(k: int, gen: torch.Generator):
            own = round(k * share)
            a, b = self.synth.pair_indices(self.render_clips, gen, k - own)
            ra, rb = self.synth.render_pairs(self.render_joints[a], self.render_joints[b], gen, self.backgrounds)
            xa, xb, paired = ra["image"], rb["image"], torch.ones(k - own, dtype=torch.bool)
            if own:
                fa, fb, fp = self.footage.sample(own, gen)
                xa, xb, paired = torch.cat([xa, fa]), torch.cat([xb, fb]), torch.cat([paired, fp])
            return xa, xb, paired
        xa, xb, paired = self.render_stream.draw(one_shard, n)
        device = self.ctx.device
        return xa.to(device), xb.to(device), paired.to(device)

    def _prior_px(self, n: int) -> torch.Tensor:
        """n prior poses u [n, J, 2] in skeleton-image pixels (crop rule, jittered)."""
        u, _, _ = self.prior.sample(n)
        jitter = self.render_stream.draw(lambda k, gen: torch.rand(k, 3, generator=gen), n)
        return place_in_crop(u, jitter.to(u.device))

    # ------------------------------------------------------------------ the step
    def _fit_flow(self) -> None:
        pool = self.prior_pool.subset(FLOW_POSES).pose2d
        stats = self.flow.fit(pool, self.cfg.flow_steps, seed=self.ctx.seed)
        if self.ctx.rank == 0:
            log.info("train: skeleton-net: flow prior fitted in %.1f s on %.0f prior 2D poses (held-out NLL %.1f)",
                     stats["seconds"], stats["poses"], stats["val_nll"])

    def lifted_losses(self, y_px: torch.Tensor) -> dict[str, torch.Tensor]:
        """The cycle terms of Omega's 2D y [B, J, 2] (skeleton-image pixels) through frozen Lambda."""
        pose2d = normalize_2d(y_px)[0]                                               # [B, J, 2]
        lifted, extras = self.lifter.lift(pose2d, None)                              # [B, J, 3], [B, 1]
        alpha = elevation_angle(extras).detach()
        u, eps = self.cameras.draw(lambda k, gen: (torch.rand(k, generator=gen), torch.randn(k, generator=gen)),
                                   len(pose2d))
        rotations, _ = cycle_rotations(alpha, ((2 * u - 1) * math.pi).to(y_px.device), eps.to(y_px.device))
        cyc = cycle_losses(lambda p: self.lifter.lift(p, None)[0], pose2d, lifted, rotations)
        nf = self.flow.nll(cyc["y_hat"]).mean() if self.cfg.flow_weight > 0 else lifted.new_zeros(())
        return {"base": cyc["l2d"] + cyc["l3d"] + cyc["def"], "nf": nf, "bone": bone_prior_loss(lifted)}

    def step(self, models, opts, step):
        cfg, batch = self.cfg, self.ctx.batch
        net, d = models["net"], models["d"]
        decoder = unwrap(net).decoder
        if not bool(self.flow.fitted) and cfg.flow_weight > 0:
            self._fit_flow()
        xa, xb, paired = self._pairs(batch)                                          # [B, 3, 128, 128], [B]
        u = self._prior_px(batch)                                                    # [B, J, 2]
        with torch.no_grad():
            w = self._kappa(u)                                                       # [B, K, S, S]
        phi, omega = unwrap(net).phi, unwrap(net).omega
        s = phi(xb)                                                                  # [B, K, S, S]
        # D's step (eq. 3)
        loss_d = bce(d(w), True) + bce(d(s.detach()), False)
        descend(opts["d"], loss_d)
        # Phi, Omega and the decoder
        y = omega(s)                                                                 # [B, J, 2] skeleton px
        adv = bce(d(s), True)
        l_omega = omega_loss(omega(w), u)                                           # eq. 9, first term
        l_kappa = kappa_loss(self._kappa(y), s)                                      # eq. 9, second term
        lifted = self.lifted_losses(y)
        rec = recon_loss(decoder(s, xa), xb, paired)
        if cfg.equivariance_weight > 0:
            theta = random_warps(self.render_stream.draw(lambda k, gen: torch.rand(k, 4, generator=gen), batch))
            if cfg.equivariance_on == "keypoints":      # Omega's 2D of the warped crop: the warped 2D
                equi = omega_loss(omega(phi(warp(xb, theta))), warp_points(y, theta))
            else:
                equi = kappa_loss(phi(warp(xb, theta)), warp(s, theta))
        else:
            equi = s.new_zeros(())
        ramp = prior_ramp(step, cfg.recon_only_steps, cfg.prior_warmup)
        loss = (cfg.recon_weight * rec + cfg.omega_weight * l_omega + cfg.equivariance_weight * equi
                + ramp * (cfg.adv_weight * adv + cfg.kappa_weight * l_kappa + cfg.cycle_weight * lifted["base"]
                          + cfg.flow_weight * lifted["nf"] + cfg.bone_weight * lifted["bone"]))
        descend(opts["g"], loss)
        return {"loss": loss.item(), "d": loss_d.item(), "adv": adv.item(), "omega": l_omega.item(),
                "kappa": l_kappa.item(), "base": lifted["base"].item(), "nf": lifted["nf"].item(),
                "bone": lifted["bone"].item(), "rec": rec.item(), "equi": equi.item()}

    # ------------------------------------------------------------------ validation
    def _val_data(self):
        """Fixed validation pairs of the val subjects' clips (rendered once): images for the
        criterion, labels for the logged columns only."""
        if self._val is None:
            from realtime3d.data.mocap import load_split
            split = load_split("val")
            gen = torch.Generator().manual_seed(VAL_RENDER_SEED)
            a, b = self.synth.pair_indices(split["clip"], gen, VAL_PAIRS)
            joints = torch.from_numpy(split["joints3d"])
            ra, rb = self.synth.render_pairs(joints[a], joints[b], gen, None)
            self._val = {"xa": ra["image"], "xb": rb["image"], "joints2d": rb["joints2d"], "joints3d": rb["joints3d"]}
        return self._val

    @torch.no_grad()
    def validate(self, models) -> dict[str, float]:
        val = self._val_data()
        net = models["net"]
        decoder = net.decoder
        was = net.training
        net.eval()
        device = next(net.parameters()).device
        xa, xb = val["xa"].to(device), val["xb"].to(device)
        s, y_crop = net(xb)                                                          # [V, K, S, S], [V, J, 2]
        rec = recon_loss(decoder(s, xa), xb)
        y = crop_to_skeleton_px(y_crop)
        kappa = kappa_loss(self._kappa(y), s)
        truth = val["joints2d"].to(device)                                           # [V, J, 2] crop px (logged only)
        pck = float(pck_torso(y_crop.cpu().numpy(), truth.cpu().numpy()).mean())
        lifted = self.lifter(normalize_2d(y)[0]).float().cpu().numpy()
        err = float(p_mpjpe(lifted, val["joints3d"].numpy()).mean())
        scores = {"val_recon": float(rec) / 3 * 100.0, "val_kappa": float(kappa), "val_pck": pck, "val_p_mpjpe": err}
        if self.footage is not None:
            fa, fb, paired = self._footage_val()
            scores["val_recon_footage"] = float(recon_loss(decoder(net.phi(fb), fa), fb, paired)) / 3 * 100.0
        net.train(was)
        return scores

    def _footage_val(self):
        """Fixed pairs of the footage (seeded; they are training crops too: adapting to a video is
        learning that video) for the adaptation's criterion."""
        if self._footage_pairs is None:
            self._footage_pairs = self.footage.sample(VAL_PAIRS, torch.Generator().manual_seed(VAL_RENDER_SEED))
        return self._footage_pairs

    def model_card(self) -> dict:
        return {"lifter": self.cfg.lifter, "crop_margin": CROP_MARGIN, "skeleton_size": SKELETON_SIZE,
                "gamma": GAMMA, "flip_average": False,
                "flow_prior": {"fit_steps": self.cfg.flow_steps, "held_out_nll": round(float(self.flow.held_out_nll), 3),
                               "fitted_on": "the prior's 2D (fixed-camera views of the clips not rendered)"}}

