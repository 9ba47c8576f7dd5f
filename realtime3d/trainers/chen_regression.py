"""Stage 2 of Chen et al., "Weakly-Supervised Discovery of Geometry-Aware Representation for 3D Human
Pose Estimation" (2019), sec. 3.4 and Figure 5: a shallow regressor (Regression#1: two fully
connected layers, 1024 then J x 3) from the frozen encoder's G to 3D, trained on the 3D labels of a
few train poses. The verdict: docs/methods.md.

- the encoder: a trained chen-views encoder (params.encoder: a run's best.pt, or a shipped name
  under realtime3d/weights/encoders/), frozen and copied into the lifter (models/chen.ChenLifter);
  params.input = "coords" trains models/chen.CoordinateRegressor instead (Baseline#1, by the same
  trainer, labels, views, steps and selection);
- the labels: label_fraction of the CMU train frames, a seeded subset (label_seed; labelled_frames),
  at least 2 poses, seen through sampling.labelled_views under the run's protocol: `views` fixed
  seeded cameras each (random-projection) or their clip's 4 fixed cameras (fixed-camera), mirrored
  with params.mirror. The views are fixed for the run, so the encoder's features are computed once
  (in build) and every step is the regressor alone; its inputs are standardized by the mean and
  spread of its training features;
- the loss: baselines.scale_invariant_loss on the lifter's output, as the supervised baseline's;
- selection: a `holdout` share of the labelled poses (at least 1, never trained on) and their views;
  the criterion val_labelled_p_mpjpe is their P-MPJPE. It reads no 3D beyond the labelled poses; the
  card's reads_3d gives the count.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from realtime3d.lifting import WEIGHTS_DIR
from realtime3d.metrics import p_mpjpe
from realtime3d.models.chen import ChenLifter, CoordinateRegressor, MapEncoder
from realtime3d.normalization import BODY_UNIT_MM
from realtime3d.errors import UserError
from .base import Method, descend
from .config import param
from .baselines import scale_invariant_loss
from .sampling import OWN_2D, labelled_views, mirror_poses

#: Where shipped encoders live (benchmarks/bench_training.py puts trainers.config.SHIPPED_ENCODERS there).
ENCODERS_DIR = WEIGHTS_DIR / "encoders"
INPUTS = ("latent", "coords")


@dataclass
class ChenRegressionConfig:
    """The [params] of chen; defaults are the shipped recipe."""

    encoder: str = param("chen-views", "the frozen chen-views encoder, a shipped name "
                                       "(realtime3d/weights/encoders/) or a run's best.pt")
    input: str = param("latent", "the regressor's input, 'latent' (G of the encoder: the chen lifter) or "
                                 "'coords' (the 2D: the paper's Baseline#1)")
    label_fraction: float = param(0.05, "share of the CMU train poses whose 3D labels are read (a seeded "
                                        "subset)")
    label_seed: int = param(0, "the seed of the labelled subset")
    views: int = param(4, "fixed random cameras per labelled pose (random-projection; fixed-camera: the "
                          "clip's 4)")
    holdout: float = param(0.1, "share of the labelled poses held out to select the checkpoint (never "
                                "trained on)")
    hidden: int = param(1024, "units of Regression#1's hidden layer")
    lr: float = param(1e-3)
    mirror: bool = param(True)
    kernel_backend: str = param("auto")

    def __post_init__(self) -> None:
        if self.input not in INPUTS:
            raise UserError(f"input must be one of {', '.join(INPUTS)}, got {self.input!r}")
        if not 0.0 < self.label_fraction <= 1.0:
            raise UserError(f"label_fraction must lie in (0, 1], got {self.label_fraction}")
        if not 0.0 < self.holdout < 1.0:
            raise UserError(f"holdout must lie in (0, 1), got {self.holdout}")


def labelled_frames(num_frames: int, fraction: float, seed: int) -> np.ndarray:
    """The labelled train frames: a seeded random subset of round(fraction x num_frames) (at least 2)
    of range(num_frames), in a seeded random order (the held-out ones are its tail)."""
    count = min(num_frames, max(2, round(fraction * num_frames)))
    return np.random.default_rng(seed).permutation(num_frames)[:count]


def load_encoder(spec: str | Path) -> tuple[MapEncoder, dict]:
    """A trained chen-views encoder: a shipped name (ENCODERS_DIR/NAME.pt) or a .pt file (a run's
    best.pt) -> (the MapEncoder, float32, its model card)."""
    from realtime3d.io.weights import read_weights
    path = Path(spec)
    if path.suffix != ".pt":
        shipped = sorted(p.stem for p in ENCODERS_DIR.glob("*.pt"))
        if str(spec) not in shipped:
            raise UserError(f"unknown encoder {str(spec)!r}; shipped: {', '.join(shipped) or 'none yet'} "
                            "(or give a chen-views run's best.pt)")
        path = ENCODERS_DIR / f"{spec}.pt"
    if not path.is_file():
        raise UserError(f"encoder file not found: {path}")
    card, state = read_weights(path, "chen encoder")
    arch = dict(card["architecture"])
    if arch.pop("kind", None) != "chen-encoder":
        raise UserError(f"{path}: not a chen-views encoder (its kind is {card['architecture'].get('kind')!r})")
    encoder = MapEncoder(**arch)
    encoder.load_state_dict(state)
    return encoder.eval(), card


def build_regressor(cfg: ChenRegressionConfig) -> tuple[torch.nn.Module, dict]:
    """The untrained lifter of params.input: ChenLifter with the loaded encoder frozen inside, or
    CoordinateRegressor. -> (network, what the card says of its encoder)."""
    if cfg.input == "coords":
        return CoordinateRegressor(hidden=cfg.hidden), {}
    encoder, card = load_encoder(cfg.encoder)
    net = ChenLifter(encoder.architecture, hidden=cfg.hidden)
    net.encoder.load_state_dict(encoder.state_dict())
    net.kernel_backend = cfg.kernel_backend
    keep = ("experiment", "step", "protocol", "selection", "selected_at_seconds", "budget_minutes")
    return net, {k: card[k] for k in keep if k in card}


@torch.no_grad()
def compute_features(net, pose2d: torch.Tensor) -> torch.Tensor:
    """The regressor's inputs [N, F] of normalized 2D [N, J, 2] (every joint known)."""
    return net.features(pose2d)


class ChenRegression(Method):
    """Regression#1 on the frozen encoder's G (or on the 2D), from the labelled poses' views."""

    name = "chen"
    Config = ChenRegressionConfig
    criterion = "val_labelled_p_mpjpe"
    own_validation = True
    eval_fields = ("val_labelled_p_mpjpe",)

    def __init__(self, cfg: ChenRegressionConfig, ctx):
        super().__init__(cfg, ctx)
        if ctx.protocol == OWN_2D:
            raise UserError("chen's regressor needs 3D labels: train it on the CMU mocap (train.data = 'cmu')")
        if ctx.world_size > 1:
            raise UserError("chen's regressor trains in one process (its step feeds precomputed features to the "
                            "regressor, past DDP's forward): run it without torchrun")
        split = ctx._split("train")
        frames = labelled_frames(len(split["joints3d"]), cfg.label_fraction, cfg.label_seed)
        held = max(1, math.floor(cfg.holdout * len(frames)))
        self.labelled, self.held_out = frames[:-held], frames[-held:]
        train = labelled_views(split["joints3d"], split["clip"], self.labelled, ctx.protocol, cfg.views, ctx.seed)
        val = labelled_views(split["joints3d"], split["clip"], self.held_out, ctx.protocol, cfg.views, ctx.seed)
        self.pose2d, self.body = train.pose2d, train.body                              # [N, J, 2], [N, J, 3]
        if cfg.mirror:
            self.pose2d = torch.cat([self.pose2d, mirror_poses(self.pose2d)])
            self.body = torch.cat([self.body, mirror_poses(self.body)])
        self.val_2d, self.val_body = val.pose2d, val.body
        self.batches = ctx.stream("labels")
        self.encoder_card: dict = {}
        self.reads_3d = (f"the 3D labels of {len(frames)} labelled train poses (label_fraction {cfg.label_fraction:g}, "
                         f"label_seed {cfg.label_seed}; {len(self.labelled)} trained on, {held} held out for "
                         "selection), through their views under the run's protocol")

    def build(self):
        net, self.encoder_card = build_regressor(self.cfg)
        self.features = compute_features(net, self.pose2d)                             # [N, F]
        self.val_features = compute_features(net, self.val_2d)
        net.set_feature_stats(self.features)
        return {"net": net}

    def optimizers(self, models):
        return {"net": torch.optim.Adam(models["net"].regressor.parameters(), lr=self.cfg.lr)}

    def step(self, models, opts, step):
        device = self.ctx.device
        idx = self.batches.draw(lambda k, gen: torch.randint(0, len(self.features), (k,), generator=gen),
                                self.ctx.batch)
        pred = models["net"].from_features(self.features[idx].to(device), self.pose2d[idx].to(device))   # [B, J, 3]
        loss = scale_invariant_loss(pred, self.body[idx].to(device))
        descend(opts["net"], loss)
        return {"loss": loss.item()}

    def eval_model(self, models):
        return models["net"]

    @torch.no_grad()
    def validate(self, models) -> dict[str, float]:
        net = models["net"]
        device = next(net.regressor.parameters()).device
        pred = net.from_features(self.val_features.to(device), self.val_2d.to(device)).float().cpu().numpy()
        return {"val_labelled_p_mpjpe": float(p_mpjpe(pred, self.val_body.numpy() * BODY_UNIT_MM).mean())}

    def model_card(self) -> dict:
        cfg = self.cfg
        return {"input": cfg.input, "label_fraction": cfg.label_fraction, "label_seed": cfg.label_seed,
                "labelled_poses": len(self.labelled) + len(self.held_out), "trained_poses": len(self.labelled),
                "held_out_poses": len(self.held_out), "labelled_views": len(self.pose2d),
                **({"encoder": {"name": cfg.encoder, **self.encoder_card}} if cfg.input == "latent" else {})}

