"""Stage 1 of Chen et al., "Weakly-Supervised Discovery of Geometry-Aware Representation for 3D Human
Pose Estimation" (2019), secs. 3.1-3.3: the bidirectional view synthesis that learns the latent G
from multi-view 2D with known relative rotations. Design choices and the verdict: docs/methods.md.

What it reads: pairs of 2D views of one train pose by two cameras and their relative rotation R_ij
[B, 3, 3] (sampling.ViewPairSampler: random cameras on the paper's torus under random-projection,
two of a clip's fixed cameras under fixed-camera), drawn as per-bone skeleton maps [B, K, 64, 64]
(realtime3d.models.chen.skeleton_maps). No 3D: the relative rotation is the paper's calibrated
multi-camera assumption.

One step (B pairs; S_i, S_j the maps of the two views, G = phi(S) [B, M, 3]):

    G_i, S_j' = (phi, psi)(S_i, R_ij)        S_j' = psi(R_ij G_i)
    G_j, S_i' = (mu, nu)(S_j, R_ji)          R_ji = R_ij^T, S_i' = nu(R_ji G_j)
    L = |S_j' - S_j|^2 + |S_i' - S_i|^2 + rc_weight |n(R_ij G_i) - n(G_j)|^2        eqs. 1, 3, 4

Map errors (map_loss) are squared differences summed over the K bone maps, meaned over pixels and
the batch (eq. 1 up to a constant). L_rc is meaned over the M points. n() divides each branch's
latents by their spread over the batch (the RMS distance from the batch's mean latent, one scalar).

Selection: val_synthesis, the same map error in both directions on fixed pairs of the val subjects
(VAL_PAIRS, seeded), from 2D maps alone. eval_model is the encoder phi: best.pt holds what the
regression stage (chen_regression.py) needs; the shipped encoder is realtime3d/weights/encoders/chen-views.pt.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from realtime3d.models.chen import ViewSynthesis, rotate_latent, skeleton_maps
from realtime3d.errors import UserError
from .base import Method, descend
from .config import param
from .sampling import OWN_2D, VAL_SEED, ViewPairSampler

#: Fixed validation pairs of the val subjects.
VAL_PAIRS = 256


@dataclass
class ChenViewsConfig:
    """The [params] of chen-views; defaults are the shipped recipe."""

    width: int = param(32, "channels of the encoders' and decoders' first level")
    points: int = param(32, "M, the 3D points of the latent G")
    lr: float = param(1e-3)
    betas: tuple = param((0.9, 0.999))
    rc_weight: float = param(0.05, "weight of the representation-consistency loss L_rc (eq. 3; 0 = two "
                                   "independent view syntheses)")
    elevation_max: float = param(20.0, "both cameras' elevation range under random-projection, 0 to this "
                                       "(degrees)")
    mirror: bool = param(True)
    kernel_backend: str = param("auto")


def map_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Maps [B, K, S, S] each: squared error summed over the K maps, meaned over pixels and batch."""
    return (pred - target).pow(2).sum(1).mean()


def unit_spread(latent: torch.Tensor) -> torch.Tensor:
    """G [B, M, 3] divided by its spread over the batch (eq. 3's normalization, see the module doc):
    the RMS distance of the batch's latents from their batch mean, one scalar."""
    spread = (latent - latent.mean(0, keepdim=True)).pow(2).sum(-1).mean().sqrt()
    return latent / spread.clamp(min=1e-6)


def consistency_loss(latent_i: torch.Tensor, latent_j: torch.Tensor, rotations: torch.Tensor) -> torch.Tensor:
    """L_rc (eq. 3): |n(R_ij G_i) - n(G_j)|^2 per point, meaned over points and batch. [B, M, 3] x 2, [B, 3, 3]."""
    return (unit_spread(rotate_latent(latent_i, rotations)) - unit_spread(latent_j)).pow(2).sum(-1).mean()


def synthesis_losses(a, b, view_i: torch.Tensor, view_j: torch.Tensor, rotations: torch.Tensor,
                     backend: str = "auto") -> dict[str, torch.Tensor]:
    """The three terms of eq. 4 for 2D views [B, J, 2] of two cameras and R_ij [B, 3, 3]:
    {"rec_ij": |psi(R_ij phi(S_i)) - S_j|, "rec_ji": |nu(R_ji mu(S_j)) - S_i|, "rc": L_rc}."""
    with torch.no_grad():
        maps_i, maps_j = skeleton_maps(view_i, backend), skeleton_maps(view_j, backend)      # [B, K, S, S]
    latent_i, pred_j = a(maps_i, rotations)
    latent_j, pred_i = b(maps_j, rotations.transpose(-1, -2))
    return {"rec_ij": map_loss(pred_j, maps_j), "rec_ji": map_loss(pred_i, maps_i),
            "rc": consistency_loss(latent_i, latent_j, rotations)}


class ChenViews(Method):
    """(phi, psi) and (mu, nu), trained on pairs of 2D views and their relative rotation."""

    name = "chen-views"
    product = "encoder"
    Config = ChenViewsConfig
    criterion = "val_synthesis"
    own_validation = True
    eval_fields = ("val_synthesis", "val_rc")

    def __init__(self, cfg: ChenViewsConfig, ctx):
        super().__init__(cfg, ctx)
        if ctx.protocol == OWN_2D:
            raise UserError("chen-views needs multi-view 2D with known relative rotations: train it on the CMU "
                            "mocap (train.data = 'cmu')")
        split = ctx._split("train")
        self.pairs = ViewPairSampler(split["joints3d"], ctx.stream("pairs"), ctx.protocol, split["clip"], ctx.seed,
                                     elevation_deg=(0.0, cfg.elevation_max), mirror=cfg.mirror, device=ctx.device)
        self._val = None

    def build(self):
        cfg = self.cfg
        return {"a": ViewSynthesis(width=cfg.width, points=cfg.points),
                "b": ViewSynthesis(width=cfg.width, points=cfg.points)}

    def optimizers(self, models):
        params = [*models["a"].parameters(), *models["b"].parameters()]
        return {"g": torch.optim.Adam(params, lr=self.cfg.lr, betas=self.cfg.betas)}

    def step(self, models, opts, step):
        view_i, view_j, rotations = self.pairs.sample(self.ctx.batch)       # [B, J, 2] x 2, [B, 3, 3]
        terms = synthesis_losses(models["a"], models["b"], view_i, view_j, rotations, self.cfg.kernel_backend)
        loss = terms["rec_ij"] + terms["rec_ji"] + self.cfg.rc_weight * terms["rc"]
        descend(opts["g"], loss)
        return {"loss": loss.item(), **{k: v.item() for k, v in terms.items()}}

    def eval_model(self, models):
        return models["a"].encoder

    def _val_pairs(self):
        """Fixed pairs of 2D views of the val subjects (their clips' cameras under fixed-camera)."""
        if self._val is None:
            from realtime3d.data.mocap import load_split
            split = load_split("val")
            sampler = ViewPairSampler(split["joints3d"], VAL_SEED, self.ctx.protocol, split["clip"], VAL_SEED,
                                      elevation_deg=(0.0, self.cfg.elevation_max))
            self._val = sampler.sample(VAL_PAIRS)
        return self._val

    @torch.no_grad()
    def validate(self, models) -> dict[str, float]:
        a, b = models["a"], models["b"]
        device = next(a.parameters()).device
        view_i, view_j, rotations = (t.to(device) for t in self._val_pairs())
        terms = synthesis_losses(a, b, view_i, view_j, rotations, self.cfg.kernel_backend)
        return {"val_synthesis": 50.0 * float(terms["rec_ij"] + terms["rec_ji"]), "val_rc": float(terms["rc"])}

    def model_card(self) -> dict:
        from realtime3d.models.chen import MAP_GAMMA, MAP_SCALE, MAP_SIZE
        return {"maps": {"size": MAP_SIZE, "scale_px_per_unit": MAP_SCALE, "gamma": MAP_GAMMA},
                "input": "multi-view 2D with known relative rotations (pairs of views and R_ij; no 3D)"}

