"""The rotation cycle over tracks: a temporal lifter (models/temporal.py) trained from 2D alone.

Sosa & Hogg's cycle (cycle.py), with a track of T frames in place of one pose: the sampler
(sampling.SequenceSampler) gives T consecutive frames of a train clip seen by one random camera;
the network lifts the whole track; one rotation R turns every frame of it (the same new camera for
the whole track, so the new view is again a track that a still camera could have filmed), the
network lifts the new track again, and R^T turns it back:

    v = Lambda(y_1..T)        y_hat_t = P(R v_t)        v_hat' = Lambda(y_hat_1..T)        y'_t = P(R^T v_hat'_t)

Losses, as cycle.py's on every frame: L_2d, L_3d, L_def (eqs. 5, 4, 6), the frozen 2D flow prior
on every new view, the bone-length prior (eq. 10), the hidden-joint loss; and one of its own,
L_time: a person's bones keep their lengths over the track (the variance over time of each bone's
length relative to its track mean). The new cameras are cycle.py's: each track's learned elevation
(the mean over its frames of the network's extra output) levels it, and the new view's elevation
is drawn from the batch's normal; or Drover's random projection layer (elevation = "fixed"). A
batch is train.batch tracks.

Validation (own_validation): the same cycle on fixed tracks of the val subjects, each through a
fixed seeded camera and turned by a fixed seeded rotation: the 2D criterion val_cycle_2d of
evaluation.py on tracks. Nothing here reads 3D beyond the sampler's views.
"""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import torch
from torch import nn

from realtime3d.camera import rotation_from_angles
from realtime3d.data.views import random_rotations
from realtime3d.models.temporal import FramesOf, TemporalLiftingNetwork
from realtime3d.skeleton import H36M17
from realtime3d.errors import UserError
from .base import Method, descend
from .config import param
from .cycle import FLOW_POSES, bone_prior_loss, check_elevation, cycle_losses, cycle_rotations, elevation_angle
from .evaluation import cycle_2d_error
from .flow_prior import FlowPrior2D
from .losses import HiddenJoints, hidden_joint_loss
from .sampling import VAL_SEED, SequenceSampler

_PARENTS = torch.tensor([p for p, _ in H36M17.bones])
_CHILDREN = torch.tensor([c for _, c in H36M17.bones])
#: Validation tracks (evenly spaced over the val subjects' clips).
VAL_TRACKS = 400

log = logging.getLogger(__name__)


@dataclass
class TemporalCycleConfig(HiddenJoints):
    """The [params] of cycle-temporal; the cycle's weights are cycle.py's shipped ones."""

    width: int = param(512)
    dilations: tuple = param((1, 3, 9), "dilations of the temporal blocks (kernel 3): the receptive field is "
                                        "1 + 2 x their sum frames")
    frames: int = param(27, "frames of a training track (at the mocap's 30 fps)")
    causal: bool = param(False, "each frame's answer reads only it and earlier frames (a live copy)")
    lr: float = param(2e-4)
    betas: tuple = param((0.9, 0.999))
    elevation: str = param("learned", "'learned' (each track's predicted elevation, its frames' mean; new views "
                                      "from the batch normal, as cycle's) or 'fixed' (Drover's random projection)")
    elevation_init_deg: float = param(10.0, "the learned elevation at the start (degrees), as cycle's")
    fixed_elevation_max: float = param(20.0)
    cycle2d_weight: float = param(1.0)
    cycle3d_weight: float = param(1.0)
    deform_weight: float = param(1.0)
    flow_weight: float = param(1.0)
    bone_weight: float = param(0.02)
    time_weight: float = param(10.0, "weight of L_time: each bone's length constant over the track")
    pca_dim: int = param(26)
    flow_steps: int = param(2000)

    def __post_init__(self) -> None:
        check_elevation(self)
        if self.frames < 2:
            raise UserError(f"frames must be at least 2, got {self.frames}")


def bone_time_loss(tracks: torch.Tensor) -> torch.Tensor:
    """L_time: the variance over time of each bone's length relative to its track mean, summed over
    bones, meaned over tracks. tracks [S, T, J, 3]."""
    lengths = (tracks[:, :, _CHILDREN] - tracks[:, :, _PARENTS]).norm(dim=-1)     # [S, T, K]
    rel = lengths / lengths.mean(1, keepdim=True).clamp(min=1e-6)
    return rel.var(1, unbiased=False).sum(-1).mean()


class TrackLifter(nn.Module):
    """Lambda over tracks: forward(2D [S, T, J, 2], mask) -> (3D [S, T, J, 3], elevation [S] radians or
    None): both outputs of one forward, so that DDP sees them (as cycle.ElevationLifter)."""

    def __init__(self, network: TemporalLiftingNetwork):
        super().__init__()
        self.network = network

    def forward(self, pose2d: torch.Tensor, mask: torch.Tensor | None = None):
        lifted, extras = self.network.lift(pose2d, mask)
        return lifted, (elevation_angle(extras.mean(1)) if extras.shape[-1] else None)


class TemporalCycle(Method):
    """Lambda lifts a track, R turns it, Lambda lifts it again, R^T turns it back."""

    name = "cycle-temporal"
    Config = TemporalCycleConfig
    own_validation = True
    eval_fields = ("val_cycle_2d",)
    tuned_on = "nothing: cycle.py's shipped weights; time_weight and the track length set once, not tuned"

    def __init__(self, cfg: TemporalCycleConfig, ctx):
        super().__init__(cfg, ctx)
        self.tracks = ctx.tracks("input", cfg.frames, mirror=cfg.mirror)
        self.cameras = ctx.stream("cycle")
        self._val = None

    def build(self) -> dict[str, nn.Module]:
        cfg = self.cfg
        self.prior = FlowPrior2D(dim=cfg.pca_dim)
        g = TemporalLiftingNetwork(width=cfg.width, dilations=tuple(cfg.dilations), causal=cfg.causal,
                                   extra_outputs=1 if cfg.elevation == "learned" else 0)
        if cfg.elevation == "learned":      # the zero head's bias alone sets the first elevation, as cycle's
            with torch.no_grad():
                g.head.bias[-1] = math.atanh(cfg.elevation_init_deg / 90.0)
        return {"g": TrackLifter(g), "prior": self.prior}

    def optimizers(self, models):
        return {"g": torch.optim.Adam(models["g"].parameters(), lr=self.cfg.lr, betas=self.cfg.betas)}

    def _rotations(self, alpha: torch.Tensor | None, tracks: int, device) -> torch.Tensor:
        """One rotation per track [S, 3, 3]: cycle's R = R_e(e)^T R_a R_e(alpha) with the track's
        elevation alpha [S] (its frames' mean), or Drover's random projection layer (alpha None)."""
        u, eps, w = self.cameras.draw(lambda k, gen: (torch.rand(k, generator=gen), torch.randn(k, generator=gen),
                                                      torch.rand(k, generator=gen)), tracks)
        azimuth = ((2 * u - 1) * math.pi).to(device)
        if alpha is None:
            return rotation_from_angles(azimuth, (w * math.radians(self.cfg.fixed_elevation_max)).to(device))
        return cycle_rotations(alpha, azimuth, eps.to(device))[0]

    def step(self, models, opts, step):
        cfg, tracks = self.cfg, self.ctx.batch
        g, prior = models["g"], models["prior"]
        if not bool(prior.fitted) and cfg.flow_weight > 0:
            stats = prior.fit(self.ctx.train_2d(max_poses=FLOW_POSES), cfg.flow_steps, seed=self.ctx.seed)
            if self.ctx.rank == 0:
                log.info("train: cycle-temporal: flow prior fitted in %.1f s (held-out NLL %.1f)",
                         stats["seconds"], stats["val_nll"])
        pose2d, mask = self.tracks.sample(tracks, cfg.max_drop, cfg.drop_prob)     # [S, T, J, 2], [S, T, J]
        s, t, j, _ = pose2d.shape
        lifted, alpha = g(pose2d, mask)                                           # [S, T, J, 3], [S] or None
        rotations = self._rotations(alpha, s, pose2d.device)                     # [S, 3, 3]
        learned = alpha is not None
        view = rotations.repeat_interleave(t, dim=0)                              # [S * T, 3, 3]
        flat2d, flat3d = pose2d.reshape(s * t, j, 2), lifted.reshape(s * t, j, 3)
        # as cycle's: the cycle losses see R without its gradient, so only the flow prior teaches the elevation
        cyc = cycle_losses(lambda p: g(p.reshape(s, t, j, 2))[0].reshape(s * t, j, 3), flat2d, flat3d,
                           view.detach() if learned else view, view_rotations=view if learned else None)
        loss_nf = prior.nll(cyc["y_hat"]).mean() if cfg.flow_weight > 0 else lifted.new_zeros(())
        loss_bone = bone_prior_loss(flat3d)
        loss_time = bone_time_loss(lifted)
        loss_fill = hidden_joint_loss(flat3d, flat2d, mask.reshape(s * t, j))
        loss = (cfg.cycle2d_weight * cyc["l2d"] + cfg.cycle3d_weight * cyc["l3d"] + cfg.deform_weight * cyc["def"]
                + cfg.flow_weight * loss_nf + cfg.bone_weight * loss_bone + cfg.time_weight * loss_time
                + cfg.fill_weight * loss_fill)
        descend(opts["g"], loss)
        return {"loss": loss.item(), "l2d": cyc["l2d"].item(), "l3d": cyc["l3d"].item(), "def": cyc["def"].item(),
                "nf": loss_nf.item(), "bone": loss_bone.item(), "time": loss_time.item(), "fill": loss_fill.item(),
                "elev_mean_deg": math.degrees(alpha.mean().item()) if learned else 0.0}

    def _val_tracks(self):
        """The fixed validation tracks [V * T, J, 2] and their rotations [V * T, 3, 3] (built once)."""
        if self._val is None:
            from realtime3d.data.mocap import load_split
            split = load_split("val")
            sampler = SequenceSampler(split["joints3d"], split["clip"], VAL_SEED, self.cfg.frames)
            keep = torch.linspace(0, len(sampler.starts) - 1, VAL_TRACKS).long()
            sampler.starts = sampler.starts[keep]                   # evenly spaced tracks, seeded cameras
            pose2d, _ = sampler.sample(VAL_TRACKS)
            gen = torch.Generator().manual_seed(VAL_SEED + 1)
            rotations = random_rotations(VAL_TRACKS, gen).repeat_interleave(self.cfg.frames, dim=0)
            self._val = pose2d.reshape(-1, *pose2d.shape[2:]), rotations
        return self._val

    @torch.no_grad()
    def validate(self, models):
        g = models["g"].network
        was_training = g.training
        g.eval()
        pose2d, rotations = self._val_tracks()
        device = next(g.parameters()).device
        score = cycle_2d_error(FramesOf(g, self.cfg.frames), pose2d.to(device), rotations.to(device)).mean()
        g.train(was_training)
        return {"val_cycle_2d": float(score)}

    def model_card(self) -> dict:
        return {"temporal": {"receptive_field_frames": 1 + 2 * sum(self.cfg.dilations), "train_fps": 30.0,
                             "causal": self.cfg.causal,
                             "ends": "a track's first and last frames see its end frames repeated"}}

    def eval_model(self, models):
        return models["g"].network
