"""The image path of Sosa & Hogg, "Self-supervised 3D Human Pose Estimation from a Single Image"
(2023), secs. 3.1-3.4: Phi (image -> per-bone skeleton image) and Omega (skeleton image -> 2D), with
a synthetic-labelled start and the paper's label-free losses. What was added to the paper, why,
and the runs: docs/methods.md.

The data:
- images: labelled crops of rendered people (realtime3d.render.crop_shards: realistic bodies of the
  CMU train subjects, appearances and scene kinds of the "train" holdout), params.crops. Each is
  cut again at every draw by the crop rule of realtime3d.crops around its label, so that the net
  sees people framed as the detector frames them, and its colours are jittered (crop_warps,
  colour_jitter). Background crops (no person) are cut at a random box. Without labels, a crop
  keeps its render's window (the mesh's box), warped at random. With params.paste_p, a share of
  the person crops get a bystander behind the person, cut from another render by its mask
  (paste_people: reads the masks, so labelled runs only); with params.degrade_p, a share of the
  crops are blurred and given noise (degrade).
- the renders' own 2D (their labels): synthetic, exact and free, no human's. Read by the
  labelled terms only, weighted by params.label_weight (0: none is read, the paper's recipe);
- the unpaired 2D prior u: CMU train clips under the fixed-camera protocol
  (sampling.fixed_camera_pool; the mocap's 3D is read there only, to make 2D views), placed by
  the crop rule; its skeleton images are kappa(u) (eq. 2);
- with params.footage, a user's own unlabelled videos and photos (footage.py): footage_share of
  every batch, under the label-free terms only.

One step (B crops x; s = Phi(x) [B, K, 64, 64], y = Omega(s) [B, J, 2]; every skeleton image,
target or predicted, is rendered per bone by realtime3d.kernels.render_skeleton):

    L_label = BCE(s, kappa(t)) + w |y - t|^2                  synthetic-labelled: t the render's 2D
                                                               (kappa(t) blank for a background crop),
                                                               w = label_2d_weight
    L_Omega = |Omega(kappa(u)) - u|^2 + lambda |kappa(y) - s|^2  eq. 9, lambda = kappa_weight
    L_D     = BCE(D(kappa(u)), 1) + BCE(D(s), 0)              eq. 3, D's step
    L_adv   = BCE(D(s), 1)                                      eq. 3, Phi's side (non-saturating)
    L_base, L_NF, L_bl on y through Lambda                      eqs. 4-6, 8, 10 (cycle.py)
    L_eq    = |Omega(Phi(T x)) - T y|^2                         equivariance, T a random similarity warp

L = label_weight L_label + L_Omega + adv_weight L_adv + cycle terms + equivariance_weight L_eq;
the label-free terms (adversarial, kappa consistency, through Lambda, equivariance) are taken
over the unlabelled crops (the footage when there is some, else every crop) and ramp in over
prior_warmup steps. Phi and Omega run as one module call (TrainingPass) so that DDP reduces
their gradients; D is a second.

Selection (Method.criterion, by the config): with labels, val_render_2d, the 2D error on the
val subjects' held-out renders (reads their labels: synthetic-labelled); without, val_disagreement
(1 - the detector's confidence on those renders' images: no label); with footage,
val_disagreement_footage on fixed footage crops.
"""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from realtime3d.crops import CROP_MARGIN, SHIFT_JITTER, jitter_boxes, square_box, to_crop
from realtime3d.errors import UserError
from realtime3d.kernels import render_skeleton
from realtime3d.metrics import PCK_TORSO, pck_torso
from realtime3d.models.image import (CROP_SIZE, GAMMA, SKELETON_SIZE, SkeletonDiscriminator, SkeletonNet,
                                     crop_to_skeleton_px)
from realtime3d.normalization import normalize_2d
from realtime3d.skeleton import H36M17
from .base import Method, descend
from .config import param
from .cycle import bone_prior_loss, cycle_losses, cycle_rotations, elevation_angle
from .flow_prior import FlowPrior2D
from .sampling import Pool2DSampler, fixed_camera_pool

#: The bones of every skeleton image, [K, 2] (parent, child).
BONES = torch.tensor(H36M17.bones, dtype=torch.long)
#: Validation crops scored (the first of params.val_crops).
VAL_CROPS = 400
#: Poses of the prior pool that fit the flow prior.
FLOW_POSES = 100_000
#: A training crop is turned by up to this many degrees about its centre.
CROP_TURN_DEG = 10.0
#: A background crop's box: its side within this share of the render's side.
BACKGROUND_SIDE = (0.5, 1.0)

log = logging.getLogger(__name__)


@dataclass
class SkeletonNetConfig:
    """The [params] of skeleton-net; defaults are the shipped recipe's labelled start."""

    phi_width: int = param(16, "channels of Phi's first level (image -> skeleton image U-Net)")
    phi_levels: int = param(4, "levels of Phi's U-Net, 3 or 4 (4: its lowest units see the whole crop)")
    phi_output: str = param("image", "Phi's output, 'image' (a free skeleton image, the paper's) or "
                                     "'keypoints' (joint heatmaps rendered by kappa)")
    omega_width: int = param(32, "channels of Omega's first level (skeleton image -> 2D)")
    d_width: int = param(32, "channels of the skeleton-image discriminator's first level")
    init: str = param("", "the weights to start from: a trained skeleton net (a shipped name or a .pt); "
                          "empty: random")
    crops: str = param("", "the folder of labelled render crops to train on (python -m "
                           "realtime3d.render.crop_shards --split train --holdout train)")
    val_crops: str = param("", "the folder of validation render crops (--split val --holdout held-out)")
    label_weight: float = param(1.0, "weight of the synthetic-labelled terms, Phi's skeleton image and Omega's "
                                     "2D against the renders' own 2D (0: the paper's label-free recipe)")
    label_2d_weight: float = param(100.0, "weight of Omega's 2D against the render's, within the labelled terms "
                                         "(Phi's skeleton image has weight 1)")
    paste_p: float = param(0.0, "share of the labelled person crops given a bystander behind their person, "
                                "pasted from another render by its mask (a crowd; reads the renders' masks)")
    degrade_p: float = param(0.0, "share of the training crops blurred (motion or defocus) and given noise, "
                                  "as video frames are")
    flip_average: bool = param(False, "the card's flip_average: the detector also reads each crop's mirror image "
                                      "and averages the two answers (twice the cost; selection stays single-pass)")
    footage: str = param("", "a folder or file of your own unlabelled videos and photos to adapt to "
                             "(realtime3d/trainers/footage.py)")
    box_file: str = param("", "person boxes of the footage, CSV file,frame,cx,cy,side (empty: MediaPipe's "
                              "2D, framed)")
    footage_share: float = param(0.5, "share of each batch drawn from the footage (the rest: labelled renders)")
    lr_g: float = param(1e-3, "Adam learning rate of Phi and Omega (peak of the cosine decay)")
    lr_d: float = param(2e-4)
    betas: tuple = param((0.9, 0.999))
    lifter: str = param("cycle", "Lambda, the frozen rotation-cycle lifter of the cycle terms (a shipped "
                                 "name or a lifter .pt)")
    adv_weight: float = param(0.0, "weight of Phi's adversarial loss against the skeleton-image "
                                   "discriminator (eq. 3; 0 = off)")
    omega_weight: float = param(1.0, "weight of Omega's loss on the prior's skeleton images (eq. 9, first "
                                     "term)")
    kappa_weight: float = param(0.0, "lambda of eq. 9, the weight of |kappa(y) - s|^2 on unlabelled crops")
    cycle_weight: float = param(0.0, "weight of L_base (eqs. 4-6) of Omega's 2D through Lambda (0 = off)")
    flow_weight: float = param(0.0)
    bone_weight: float = param(0.0)
    equivariance_weight: float = param(0.0, "weight of |Omega(Phi(T x)) - T Omega(Phi(x))|^2 under random "
                                            "similarity warps T, on unlabelled crops (0 = off)")
    prior_warmup: int = param(0, "steps over which the label-free terms ramp up from 0")
    flow_steps: int = param(1000)
    pca_dim: int = param(26)
    kernel_backend: str = param("auto", "realtime3d.kernels backend of the skeleton images: auto, cpu, "
                                        "reference, triton")
    mirror: bool = param(True)


def place_in_crop(pose2d: torch.Tensor, uniform: torch.Tensor, size: int = SKELETON_SIZE) -> torch.Tensor:
    """Poses [B, J, 2] in any 2D frame -> their pixels [B, J, 2] in a size x size crop framed by the
    crop rule (realtime3d.crops), jittered by uniform [B, 3] numbers as training crops are."""
    boxes = jitter_boxes(square_box(pose2d), uniform=uniform)
    return to_crop(pose2d, boxes, size)


def prior_ramp(step: int, warmup: int) -> float:
    """The factor of the label-free terms at a step: linear from 0 to 1 over warmup steps."""
    return min(1.0, (step + 1) / warmup) if warmup > 0 else 1.0


#: The warps of the equivariance term: rotation within +-WARP_DEG degrees, scale within 1 +- WARP_SCALE,
#: shift within +-WARP_SHIFT of the half-side.
WARP_DEG, WARP_SCALE, WARP_SHIFT = 25.0, 0.15, 0.15


def similarity(angle: torch.Tensor, scale: torch.Tensor, shift: torch.Tensor) -> torch.Tensor:
    """Warps [B, 2, 3] (F.affine_grid's theta, image coordinates of -1..1): angle [B] rad, scale [B],
    shift [B, 2]."""
    cos, sin = scale * torch.cos(angle), scale * torch.sin(angle)
    return torch.stack([torch.stack([cos, -sin, shift[:, 0]], -1), torch.stack([sin, cos, shift[:, 1]], -1)], 1)


def random_warps(uniform: torch.Tensor) -> torch.Tensor:
    """uniform [B, 4] numbers in 0..1 -> the equivariance term's similarity warps [B, 2, 3]."""
    u = 2 * uniform - 1
    return similarity(u[:, 0] * math.radians(WARP_DEG), 1 + WARP_SCALE * u[:, 1], WARP_SHIFT * u[:, 2:4])


def warp(images: torch.Tensor, theta: torch.Tensor, padding: str = "zeros") -> torch.Tensor:
    """images [B, C, H, W] resampled by theta [B, 2, 3]: out(p) = images(theta p); outside the
    image, F.grid_sample's padding ("zeros", or "reflection": the scene goes on, mirrored)."""
    grid = F.affine_grid(theta.to(images), list(images.shape), align_corners=False)
    return F.grid_sample(images, grid, mode="bilinear", padding_mode=padding, align_corners=False)


def warp_points(points: torch.Tensor, theta: torch.Tensor, size: int = SKELETON_SIZE) -> torch.Tensor:
    """Where points [B, J, 2] (pixels of a size x size image) land in warp(image, theta) [B, 2, 3]:
    warp samples out(p) = image(theta p) in coordinates of -1..1, so a point q goes to theta^-1 q."""
    q = (points + 0.5) / (size / 2) - 1                                                  # [B, J, 2]
    a, t = theta[:, :, :2].to(points), theta[:, :, 2].to(points)                         # [B, 2, 2], [B, 2]
    p = torch.linalg.solve(a, (q - t[:, None]).transpose(1, 2)).transpose(1, 2)          # [B, J, 2]
    return (p + 1) * (size / 2) - 0.5


#: A training crop's side over the crop rule's box (square_box): a range, wide enough to hold the
#: detector's boxes (CROP_MARGIN about the 2D) and a person detector's looser ones.
CROP_SCALE = (0.9, 1.45)


def crop_warps(joints2d: torch.Tensor, person: torch.Tensor, uniform: torch.Tensor,
               size: int = CROP_SIZE) -> torch.Tensor:
    """The warps [B, 2, 3] that cut a training crop out of each render crop: for a person
    (person [B] bool), the crop rule's square box about its 2D joints [B, J, 2] (crop px) times
    CROP_SCALE, moved by up to SHIFT_JITTER of its side and turned by up to CROP_TURN_DEG; for a
    background crop, a random square of BACKGROUND_SIDE of the render. uniform: [B, 6] in 0..1."""
    safe = torch.where(person[:, None, None], joints2d, torch.zeros_like(joints2d))
    boxes = square_box(safe)                                                              # [B, 3] px
    side = boxes[:, 2] * (CROP_SCALE[0] + (CROP_SCALE[1] - CROP_SCALE[0]) * uniform[:, 1])
    centre = boxes[:, :2] + SHIFT_JITTER * (2 * uniform[:, 2:4] - 1) * side[:, None]
    side_bg = size * (BACKGROUND_SIDE[0] + (BACKGROUND_SIDE[1] - BACKGROUND_SIDE[0]) * uniform[:, 1])
    centre_bg = size / 2 + (size - side_bg)[:, None] * (uniform[:, 4:6] - 0.5)
    side = torch.where(person, side, side_bg)
    centre = torch.where(person[:, None], centre, centre_bg)
    angle = (2 * uniform[:, 0] - 1) * math.radians(CROP_TURN_DEG)
    return similarity(angle, side / size, (centre + 0.5) / (size / 2) - 1)


def colour_jitter(images: torch.Tensor, uniform: torch.Tensor) -> torch.Tensor:
    """images [B, 3, H, W] in 0..1 with their brightness (x 0.7..1.3), contrast (x 0.7..1.3) and
    saturation (x 0.5..1.5) changed by uniform [B, 3] numbers in 0..1."""
    b, c, s = (0.7 + 0.6 * uniform[:, 0]), (0.7 + 0.6 * uniform[:, 1]), (0.5 + uniform[:, 2])
    x = images * b[:, None, None, None]
    mean = x.mean((1, 2, 3), keepdim=True)
    x = (x - mean) * c[:, None, None, None] + mean
    grey = x.mean(1, keepdim=True)
    return ((x - grey) * s[:, None, None, None] + grey).clamp(0, 1)


#: A pasted bystander's size over its own render's (paste_people), and where its centre lands (image
#: coordinates of -1..1, a box about the crop's centre).
PASTE_SCALE, PASTE_REACH = (0.35, 0.9), 0.75


def paste_people(images: torch.Tensor, own: torch.Tensor, donors: torch.Tensor, donor_masks: torch.Tensor,
                 uniform: torch.Tensor, p: float | torch.Tensor) -> torch.Tensor:
    """Bystanders pasted behind each crop's person, as in a crowd: images [B, 3, S, S] in 0..1,
    own [B, S, S] bool the person's visible pixels, donors [B, 3, S, S] other render crops of people
    and donor_masks [B, S, S] bool their visible pixels. Each crop gets its donor with probability p
    (a number, or [B] per crop), shrunk by PASTE_SCALE and centred within PASTE_REACH, only where
    its own person is not seen (its 2D label stays true). uniform: [B, 4] in 0..1."""
    scale = PASTE_SCALE[0] + (PASTE_SCALE[1] - PASTE_SCALE[0]) * uniform[:, 1]              # [B]
    centre = PASTE_REACH * (2 * uniform[:, 2:4] - 1)                                       # [B, 2]
    theta = similarity(torch.zeros_like(scale), 1 / scale, -centre / scale[:, None])       # out(p) = donor(p / s - c / s)
    moved = warp(torch.cat([donors, donor_masks[:, None].to(donors)], 1), theta)            # [B, 4, S, S]
    alpha = moved[:, 3:] * (~own[:, None]).to(images) * (uniform[:, 0] < p).to(images)[:, None, None, None]
    return images * (1 - alpha) + moved[:, :3] * alpha


#: The blur of degrade: each axis's sigma in px (the long axis up to BLUR_SIGMA[1], a motion or a
#: defocus blur), over a BLUR_TAPS x BLUR_TAPS kernel; and the sensor noise's largest sigma.
BLUR_SIGMA, BLUR_TAPS, NOISE_SIGMA = (0.3, 2.5), 9, 0.03


def degrade(images: torch.Tensor, uniform: torch.Tensor, noise: torch.Tensor,
            p: float | torch.Tensor) -> torch.Tensor:
    """images [B, 3, H, W] in 0..1, each with probability p (a number, or [B]) blurred by an
    anisotropic Gaussian of random axes and angle (a camera's motion or defocus) and given
    Gaussian noise, as video frames are. uniform: [B, 5] in 0..1; noise: [B, 3, H, W] standard
    normal."""
    long = BLUR_SIGMA[0] + (BLUR_SIGMA[1] - BLUR_SIGMA[0]) * uniform[:, 1]                   # [B] px
    short = BLUR_SIGMA[0] + (long - BLUR_SIGMA[0]) * uniform[:, 2]
    angle = math.pi * uniform[:, 3]
    r = torch.arange(BLUR_TAPS, dtype=images.dtype, device=images.device) - BLUR_TAPS // 2
    yy, xx = torch.meshgrid(r, r, indexing="ij")                                            # [T, T]
    c, s = torch.cos(angle)[:, None, None], torch.sin(angle)[:, None, None]
    a, b = xx * c + yy * s, -xx * s + yy * c                                                # [B, T, T]
    kernel = torch.exp(-0.5 * ((a / long[:, None, None]) ** 2 + (b / short[:, None, None]) ** 2))
    kernel = kernel / kernel.sum((1, 2), keepdim=True)
    n, ch, h, w = images.shape
    blurred = F.conv2d(F.pad(images.reshape(1, n * ch, h, w), [BLUR_TAPS // 2] * 4, mode="replicate"),
                       kernel.repeat_interleave(ch, 0)[:, None], groups=n * ch).reshape(n, ch, h, w)
    on = (uniform[:, 0] < p).to(images)[:, None, None, None]
    noisy = blurred + NOISE_SIGMA * uniform[:, 4, None, None, None] * noise.to(images)
    return (images + on * (noisy - images)).clamp(0, 1)


def bce(logits: torch.Tensor, real: bool) -> torch.Tensor:
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, 1.0 if real else 0.0))


def omega_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """|Omega(kappa(u)) - u|^2 of eq. 9: joints [B, J, 2] in skeleton-image pixels, compared in image
    coordinates of -1..1 (S / 2 pixels a unit), summed over joints, meaned over the batch (0 for
    an empty batch)."""
    if len(pred) == 0:
        return pred.sum() * 0.0
    return ((pred - target) / (SKELETON_SIZE / 2)).pow(2).sum((1, 2)).mean()


def kappa_loss(rendered: torch.Tensor, skeleton: torch.Tensor) -> torch.Tensor:
    """|kappa(y) - s|^2 of eq. 9: skeleton images [B, K, S, S], summed over pixels (the paper's
    one-channel image norm), meaned over the K bone channels and the batch (0 for an empty batch)."""
    if len(rendered) == 0:
        return rendered.sum() * 0.0
    return (rendered - skeleton).pow(2).sum((2, 3)).mean()


def image_loss(skeleton: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Phi's skeleton images [B, K, S, S] in (0, 1) against target ones: binary cross-entropy per
    pixel (its gradient does not fade where a sigmoid saturates, as a squared error's does, so thin
    bones are drawn sharp rather than as a faint blur), summed over pixels, meaned over the bones
    and the batch."""
    s, t = skeleton.float().clamp(1e-6, 1 - 1e-6), target.float()     # written out: safe under autocast
    return -(t * s.log() + (1 - t) * (1 - s).log()).sum((2, 3)).mean()


class TrainingPass(nn.Module):
    """Phi and Omega of one step in one call (so that DDP sees every use of their weights):
    crops [B, 3, 128, 128] and prior skeleton images [P, K, S, S] -> (Phi's skeleton images
    [B, K, S, S], Omega's 2D of them [B, J, 2] and of the prior's [P, J, 2], skeleton px)."""

    def __init__(self, net: SkeletonNet):
        super().__init__()
        self.net = net

    def forward(self, images: torch.Tensor, prior: torch.Tensor):
        s = self.net.phi(images)
        y = self.net.omega(torch.cat([s, prior.to(s.dtype)]))
        return s, y[:len(s)], y[len(s):]


class SkeletonNetMethod(Method):
    """Phi, Omega and D on labelled render crops (or not), an unpaired 2D prior and a user's footage."""

    name = "skeleton-net"
    product = "detector"
    Config = SkeletonNetConfig
    own_validation = True
    eval_fields = ("val_render_2d", "val_pck", "val_disagreement", "val_disagreement_footage")
    tuned_on = ("the image loss (squared error or cross-entropy), the 2D weight (1, 20 or 100), the learning rate "
                "(1e-3 or 3e-3), Phi's output form and bf16 autocast on 3- to 12-minute development runs scored by "
                "val_render_2d (the val subjects' held-out renders, their labels); the widths and crop sizes were set "
                "for the CPU budget; the crop jitter was not tuned; the label-free weights are the paper's and the cycle's; "
                "paste_p and degrade_p (0.5 each) were not tuned: an 8-minute run from stage 1 with them and one without "
                "scored alike on val_render_2d")

    def __init__(self, cfg: SkeletonNetConfig, ctx):
        super().__init__(cfg, ctx)
        from realtime3d.render.crop_shards import read_shards
        if ctx.protocol != "fixed-camera":
            raise UserError("skeleton-net's 2D prior is the fixed-camera protocol's: set train.protocol = \"fixed-camera\"")
        for key in ("crops", "val_crops"):
            if not getattr(cfg, key):
                raise UserError(f"skeleton-net needs params.{key}: a folder of render crops (python -m "
                                "realtime3d.render.crop_shards)")
        if cfg.label_weight < 0 or not 0 <= cfg.footage_share < 1:
            raise UserError("params.label_weight must be >= 0 and params.footage_share in [0, 1)")
        if not (0 <= cfg.paste_p <= 1 and 0 <= cfg.degrade_p <= 1):
            raise UserError("params.paste_p and params.degrade_p are shares, in [0, 1]")
        if cfg.paste_p > 0 and cfg.label_weight == 0:
            raise UserError("params.paste_p reads the renders' masks, a label: it needs params.label_weight > 0")
        try:
            keys = ("images", "person") + (("joints2d",) if cfg.label_weight > 0 else ()) \
                + (("masks",) if cfg.paste_p > 0 else ())
            data = read_shards(cfg.crops, keys)
        except FileNotFoundError as exc:
            raise UserError(str(exc)) from None
        self.images = torch.from_numpy(data["images"])                                 # [N, S, S, 3] uint8
        self.person = torch.from_numpy(data["person"])                                 # [N] bool
        # the renders' own 2D: read only with label_weight > 0 (the paper's recipe reads no label; its
        # crops are cut about the person by the render's window, the mesh's box)
        self.joints2d = torch.from_numpy(data["joints2d"]) if cfg.label_weight > 0 else None
        self.masks = torch.from_numpy(data["masks"]) if cfg.paste_p > 0 else None        # [N, S, S] bool
        self.people = torch.nonzero(self.person).flatten()                             # the donors of paste_people
        self.labelled = cfg.label_weight > 0
        self.reads_3d = ("the synthetic renderer, which poses the rendered people by the CMU train subjects' mocap; "
                         + ("the renders' own 2D labels are training targets (synthetic-labelled), and selection "
                            "reads the val renders' 2D labels" if self.labelled else
                            "no label of the renders is read by a loss or by selection"))
        self.criterion = "val_render_2d" if self.labelled else "val_disagreement"
        split = ctx._split("train")
        self.prior_pool = fixed_camera_pool(split["joints3d"], split["clip"], ctx.seed)
        self.prior = Pool2DSampler(self.prior_pool, ctx.stream("prior"), mirror=cfg.mirror, device=ctx.device)
        self.crop_stream = ctx.stream("crops")
        self.cameras = ctx.stream("cycle")
        self.footage = None
        if cfg.footage:
            from .footage import load_footage
            self.footage = load_footage(cfg.footage, cfg.box_file)
            self.criterion = "val_disagreement_footage"
            if ctx.rank == 0:
                log.info("train: skeleton-net: %d person crops of your footage", len(self.footage))
        self.lifter = None
        if cfg.cycle_weight > 0:
            from realtime3d.lifting import Lifter
            lifter = Lifter.from_pretrained(cfg.lifter).network
            if not getattr(lifter, "extra_outputs", 0):
                raise UserError(f"lifter {cfg.lifter!r} has no elevation output: skeleton-net's cycle terms need a "
                                "rotation-cycle lifter (cycle, cycle-fixed-camera)")
            self.lifter = lifter.requires_grad_(False).eval().to(ctx.device)
        self.val_crops = cfg.val_crops
        self.init_card: dict = {}                                                       # params.init's card
        self._val = None
        self._footage_val = None

    # ------------------------------------------------------------------ models
    def build(self) -> dict[str, nn.Module]:
        cfg = self.cfg
        self.flow = FlowPrior2D(dim=cfg.pca_dim)
        net = SkeletonNet(cfg.phi_width, cfg.omega_width, cfg.phi_output, cfg.phi_levels)
        if cfg.init:
            self.init_card = self._init_from(net, cfg.init)
        return {"net": TrainingPass(net), "d": SkeletonDiscriminator(cfg.d_width), "flow": self.flow}

    @staticmethod
    def _init_from(net: SkeletonNet, spec: str) -> dict:
        """Start from a trained skeleton net (a shipped name or a .pt); its card."""
        from realtime3d.detect.skeleton_net import load_skeleton_net
        trained, card = load_skeleton_net(spec)
        if trained.architecture != net.architecture:
            raise UserError(f"params.init {spec!r} is a {trained.architecture} net; the config builds "
                            f"{net.architecture}: set the widths, levels and phi_output to match")
        net.load_state_dict(trained.state_dict())
        return card

    def optimizers(self, models):
        cfg = self.cfg
        opts = {"net": torch.optim.Adam(models["net"].parameters(), lr=cfg.lr_g, betas=cfg.betas)}
        if cfg.adv_weight > 0:
            opts["d"] = torch.optim.Adam(models["d"].parameters(), lr=cfg.lr_d, betas=(0.5, 0.999))
        return opts

    def eval_model(self, models):
        return models["net"].net

    # ------------------------------------------------------------------ data
    def _kappa(self, joints_px: torch.Tensor) -> torch.Tensor:
        """kappa (eq. 2) per bone: skeleton-image pixels [B, J, 2] -> [B, K, S, S]."""
        return render_skeleton(joints_px, BONES.to(joints_px.device), (SKELETON_SIZE, SKELETON_SIZE), GAMMA,
                               mode="per_bone", backend=self.cfg.kernel_backend)

    def _renders(self, n: int):
        """n training crops [n, 3, 128, 128] in 0..1, cut and jittered, with their person [n] bool and,
        with labels, their 2D [n, J, 2] in the new crop's pixels (else None)."""
        idx, uniform = self.crop_stream.draw(
            lambda k, gen: (torch.randint(0, len(self.images), (k,), generator=gen), torch.rand(k, 9, generator=gen)), n)
        images = self.images[idx].permute(0, 3, 1, 2).float().div_(255.0)             # [n, 3, S, S]
        person = self.person[idx]
        cfg = self.cfg
        if cfg.paste_p > 0 or cfg.degrade_p > 0:
            def extra(k, gen):
                return (torch.randint(0, len(self.people), (k,), generator=gen), torch.rand(k, 9, generator=gen),
                        torch.randn(k, 3, CROP_SIZE, CROP_SIZE, generator=gen))
            donor, u_aug, noise = self.crop_stream.draw(extra, n)
        if cfg.paste_p > 0 and len(self.people):
            donor = self.people[donor]
            images = paste_people(images, self.masks[idx], self.images[donor].permute(0, 3, 1, 2).float() / 255.0,
                                  self.masks[donor], u_aug[:, :4], cfg.paste_p * person.float())
        if self.joints2d is not None:
            joints = self.joints2d[idx]
            theta = crop_warps(joints, person, uniform[:, :6])
            joints = warp_points(torch.nan_to_num(joints), theta, CROP_SIZE)
        else:       # no label is read: the render's own window, turned and jittered like the others
            theta = random_warps(0.5 + 0.5 * (uniform[:, :4] - 0.5))
            joints = None
        images = colour_jitter(warp(images, theta, "reflection"), uniform[:, 6:9])
        if cfg.degrade_p > 0:
            images = degrade(images, u_aug[:, 4:9], noise, cfg.degrade_p)
        device = self.ctx.device
        return images.to(device), person.to(device), None if joints is None else joints.to(device)

    def _footage_crops(self, n: int) -> torch.Tensor:
        """n crops of the user's footage [n, 3, 128, 128] in 0..1, colour-jittered."""
        def one(k, gen):
            return self.footage.crops[torch.randint(0, len(self.footage), (k,), generator=gen)], torch.rand(k, 3, generator=gen)
        crops, uniform = self.crop_stream.draw(one, n)
        return colour_jitter(crops.permute(0, 3, 1, 2).float() / 255.0, uniform).to(self.ctx.device)

    def _prior_px(self, n: int) -> torch.Tensor:
        """n prior poses u [n, J, 2] in skeleton-image pixels (crop rule, jittered)."""
        u, _, _ = self.prior.sample(n)
        jitter = self.crop_stream.draw(lambda k, gen: torch.rand(k, 3, generator=gen), n)
        return place_in_crop(u, jitter.to(u.device))

    # ------------------------------------------------------------------ the step
    def _fit_flow(self) -> None:
        pool = self.prior_pool.subset(FLOW_POSES).pose2d
        with torch.autocast(self.ctx.device.type, enabled=False):     # the flow's fit in float32
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
                                   len(pose2d) * self.ctx.world_size)                # a global count: this process's part
        rotations, _ = cycle_rotations(alpha, ((2 * u - 1) * math.pi).to(y_px.device), eps.to(y_px.device))
        cyc = cycle_losses(lambda p: self.lifter.lift(p, None)[0], pose2d, lifted, rotations)
        nf = self.flow.nll(cyc["y_hat"]).mean() if self.cfg.flow_weight > 0 else lifted.new_zeros(())
        return {"base": cyc["l2d"] + cyc["l3d"] + cyc["def"], "nf": nf, "bone": bone_prior_loss(lifted)}

    def _batch(self):
        """The step's crops [B, 3, S, S], which of them are unlabelled [B] bool, and the labelled
        ones' person [B] bool and 2D [B, J, 2] (crop px; None without labels)."""
        batch = self.ctx.batch
        own = round(batch * self.cfg.footage_share) if self.footage is not None else 0
        x, person, joints = self._renders(batch - own)
        unlabelled = torch.full((len(x),), not self.labelled, dtype=torch.bool, device=x.device)
        if own:
            x = torch.cat([x, self._footage_crops(own)])
            unlabelled = torch.cat([torch.zeros_like(unlabelled), torch.ones(own, dtype=torch.bool, device=x.device)])
        return x, unlabelled, person, joints

    def step(self, models, opts, step):
        cfg = self.cfg
        x, unlabelled, person, joints = self._batch()                                # [B, 3, 128, 128]
        n_render = len(person)
        u = self._prior_px(self.ctx.batch)                                           # [P, J, 2] skeleton px
        with torch.no_grad():
            w = self._kappa(u)                                                       # [P, K, S, S]
        equi = cfg.equivariance_weight > 0 and bool(unlabelled.any())
        if equi:        # the warped unlabelled crops go through the same call
            theta = random_warps(self.crop_stream.draw(lambda k, gen: torch.rand(k, 4, generator=gen),
                                                       self.ctx.batch).to(x.device))[unlabelled]
            x_all = torch.cat([x, warp(x[unlabelled], theta)])
        else:
            x_all = x
        if cfg.flow_weight > 0 and cfg.cycle_weight > 0 and not bool(self.flow.fitted):
            self._fit_flow()
        s_all, y_all, y_prior = models["net"](x_all, w)
        s, y = s_all[:len(x)], y_all[:len(x)]
        zero = s.new_zeros(())
        logs = {}
        # synthetic-labelled terms (the renders' own 2D)
        if self.labelled:
            sel = slice(0, n_render)
            target_px = crop_to_skeleton_px(joints)                                  # [n, J, 2]
            with torch.no_grad():
                target = self._kappa(target_px) * person[:, None, None, None]        # blank for backgrounds
            l_image = image_loss(s[sel], target)
            l_2d = omega_loss(y[sel][person], target_px[person])
            label = l_image + cfg.label_2d_weight * l_2d
            logs.update(image=l_image.item(), label_2d=l_2d.item())
        else:
            label = zero
        l_omega = omega_loss(y_prior, u)                                             # eq. 9, first term
        # label-free terms on the unlabelled crops
        ramp = prior_ramp(step, cfg.prior_warmup)
        free = zero
        if bool(unlabelled.any()):
            su, yu = s[unlabelled], y[unlabelled]
            if cfg.adv_weight > 0:
                loss_d = bce(models["d"](w), True) + bce(models["d"](su.detach()), False)
                descend(opts["d"], loss_d)
                adv = bce(models["d"](su), True)
                logs["d"] = loss_d.item()
                free = free + cfg.adv_weight * adv
            if cfg.kappa_weight > 0:
                free = free + cfg.kappa_weight * kappa_loss(self._kappa(yu), su)
            if cfg.cycle_weight > 0:
                lifted = self.lifted_losses(yu)
                free = free + cfg.cycle_weight * lifted["base"] + cfg.flow_weight * lifted["nf"] \
                    + cfg.bone_weight * lifted["bone"]
            if equi:
                y_warped = y_all[len(x):]
                l_eq = omega_loss(y_warped, warp_points(yu.detach(), theta))
                free = free + cfg.equivariance_weight * l_eq
                logs["equi"] = l_eq.item()
        loss = cfg.label_weight * label + cfg.omega_weight * l_omega + ramp * free
        descend(opts["net"], loss)
        return {"loss": loss.item(), "omega": l_omega.item(), "free": float(free.detach()), **logs}

    # ------------------------------------------------------------------ validation
    def _val_data(self):
        """The first VAL_CROPS crops of params.val_crops (the val subjects' held-out renders): images
        for every score, labels for val_render_2d and val_pck."""
        if self._val is None:
            from realtime3d.render.crop_shards import read_shards
            try:
                data = read_shards(self.val_crops, ("images", "joints2d", "person"), limit=VAL_CROPS)
            except FileNotFoundError as exc:
                raise UserError(str(exc)) from None
            self._val = {"images": torch.from_numpy(data["images"]).permute(0, 3, 1, 2).float() / 255.0,
                         "joints2d": torch.from_numpy(data["joints2d"]), "person": torch.from_numpy(data["person"])}
        return self._val

    @torch.no_grad()
    def validate(self, models) -> dict[str, float]:
        from realtime3d.detect.skeleton_net import read_crops
        val = self._val_data()
        net = models["net"].net
        was = net.training
        net.eval()
        device = next(net.parameters()).device

        def disagreement(images: torch.Tensor) -> float:
            return float(1.0 - read_crops(net, images.to(device))["confidence"].mean()) * 100.0

        person = val["person"]
        images = val["images"][person]
        _, pred = net(images.to(device))
        pred, truth = pred.cpu(), val["joints2d"][person]
        torso = (truth[:, H36M17.index["thorax"]] - truth[:, 0]).norm(dim=-1)                   # [V] px
        scores = {"val_render_2d": float(((pred - truth).norm(dim=-1) / torso[:, None]).mean()) * 100.0,
                  "val_pck": float(pck_torso(pred.numpy(), truth.numpy(), PCK_TORSO).mean()),
                  "val_disagreement": disagreement(images)}
        if self.footage is not None:
            if self._footage_val is None:
                gen = torch.Generator().manual_seed(self.ctx.seed)
                pick = torch.randperm(len(self.footage), generator=gen)[:VAL_CROPS]
                self._footage_val = self.footage.crops[pick].permute(0, 3, 1, 2).float() / 255.0
            scores["val_disagreement_footage"] = disagreement(self._footage_val)
        net.train(was)
        return scores

    def model_card(self) -> dict:
        card = {"lifter": self.cfg.lifter, "crop_margin": CROP_MARGIN, "skeleton_size": SKELETON_SIZE,
                "gamma": GAMMA, "flip_average": self.cfg.flip_average,
                "supervision": "synthetic-labelled" if self.labelled else "label-free"}
        if self.cfg.init:
            from realtime3d.detect.skeleton_net import train_minutes
            card["started_from"] = {"weights": self.cfg.init, "supervision": self.init_card.get("supervision"),
                                    "train_minutes": train_minutes(self.init_card)}
        if self.cfg.cycle_weight > 0 and self.cfg.flow_weight > 0:
            card["flow_prior"] = {"fit_steps": self.cfg.flow_steps, "held_out_nll": round(float(self.flow.held_out_nll), 3),
                                  "fitted_on": "the prior's 2D (fixed-camera views of the CMU train clips)"}
        return card
