"""What every lifter trainer shares: the 2D sampler, validation, logging, the best checkpoint."""
from __future__ import annotations

import csv
import math
import json
import os
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch

from realtime3d.data.mocap import load_split
from realtime3d.data.views import ELEVATION_DEG, drop_joints, project_views, random_rotations
from realtime3d.io._atomic import atomic_path
from realtime3d.metrics import p_mpjpe
from realtime3d.normalization import BODY_UNIT_MM
from realtime3d.skeleton import H36M17, Skeleton


class PoseSampler:
    """Random 2D views of mocap poses. Training reads only the 2D it returns,
    except trainers that say they are supervised (they also take the 3D)."""

    def __init__(self, joints3d_mm: np.ndarray, seed: int, elevation_deg=ELEVATION_DEG, mirror: bool = False):
        self.joints = torch.from_numpy(joints3d_mm).float()                  # [N, J, 3]
        if mirror:  # add every pose's mirror image: another person who could have been filmed
            self.joints = torch.cat([self.joints, mirror_poses(self.joints)])
        self.gen = torch.Generator().manual_seed(seed)
        self.elevation_deg = elevation_deg

    def sample(self, n: int, max_drop: int = 0, drop_prob: float = 0.0, cameras: int = 1):
        """-> (2D [n, J, 2], mask [n, J], 3D body units at depth d [n, J, 3]).

        cameras=2 composes two random camera rotations: the views that a random
        projection layer makes of a pose that was itself seen by a random camera.
        """
        idx = torch.randint(0, len(self.joints), (n,), generator=self.gen)
        rot = random_rotations(n, self.gen, elevation_deg=self.elevation_deg)
        for _ in range(cameras - 1):
            rot = random_rotations(n, self.gen, elevation_deg=self.elevation_deg) @ rot
        pose2d, body = project_views(self.joints[idx], rot)
        mask = drop_joints(n, pose2d.shape[1], max_drop, drop_prob, self.gen)
        return pose2d, mask, body


def mirror_poses(joints3d: torch.Tensor, skeleton: Skeleton = H36M17) -> torch.Tensor:
    """Mirror images of 3D poses [N, J, 3]: x negated and left and right swapped, so the
    result is again a person (negating x alone would put the left leg on the right)."""
    perm = torch.from_numpy(skeleton.flip_permutation)
    return joints3d[:, perm] * joints3d.new_tensor([-1.0, 1.0, 1.0])


class Validator:
    """P-MPJPE of a generator on fixed, seeded views of the validation subjects."""

    def __init__(self, seed: int = 1234, max_frames: int = 4000):
        joints = load_split("val")["joints3d"]
        step = max(1, len(joints) // max_frames)
        joints = torch.from_numpy(joints[::step]).float()
        gen = torch.Generator().manual_seed(seed)
        self.pose2d, self.body = project_views(joints, random_rotations(len(joints), gen))

    @torch.no_grad()
    def __call__(self, model: torch.nn.Module) -> float:
        was_training = model.training
        model.eval()
        pred = model(self.pose2d).numpy()
        model.train(was_training)
        return float(p_mpjpe(pred, self.body.numpy() * BODY_UNIT_MM).mean())  # pred's scale is irrelevant


class RunLog:
    """Scalars to CSV, plus the config, in a run folder."""

    def __init__(self, run_dir: str | os.PathLike, config):
        self.dir = Path(run_dir)
        self.dir.mkdir(parents=True, exist_ok=True)
        (self.dir / "config.json").write_text(json.dumps(asdict(config), indent=2))
        self._fh = open(self.dir / "log.csv", "w", newline="")
        self._writer = None
        self.t0 = time.perf_counter()

    def write(self, **row) -> None:
        row = {"time_s": round(time.perf_counter() - self.t0, 2), **row}
        if self._writer is None:
            self._writer = csv.DictWriter(self._fh, fieldnames=list(row))
            self._writer.writeheader()
        self._writer.writerow(row)
        self._fh.flush()

    def elapsed(self) -> float:
        return time.perf_counter() - self.t0


def cosine_factor(progress: float) -> float:
    """Learning-rate factor of a cosine decay from 1 to 0 as progress goes from 0 to 1."""
    return 0.5 * (1.0 + math.cos(math.pi * min(1.0, max(0.0, progress))))


def hidden_joint_loss(lifted: torch.Tensor, pose2d: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Squared 2D error of the hidden joints' re-projection, relative to the 2D scale (~0.1).

    lifted [B, J, 3], pose2d [B, J, 2] (the full 2D, before hiding), mask [B, J]."""
    hidden = ~mask
    if not hidden.any():
        return lifted.new_zeros(())
    proj = lifted[..., :2] / lifted[..., 2:3]
    return ((proj - pose2d) ** 2).sum(-1)[hidden].mean() / 0.01


class ModelSelection:
    """Validates every `every_s` seconds, logs the scalars, keeps the best model as best.pt,
    and shows a progress bar over the time budget."""

    def __init__(self, log: RunLog, validate: Validator, method: str, every_s: float, budget_s: float,
                 patience: int = 0):
        from tqdm import tqdm

        self.log, self.validate, self.method, self.every_s = log, validate, method, every_s
        self.budget_s, self.patience = budget_s, patience
        self.best, self.next_time, self.since_best = float("inf"), 0.0, 0
        self.bar = tqdm(total=round(budget_s), unit="s", desc=f"training {method}", dynamic_ncols=True, mininterval=2.0,
                        bar_format="{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} s [{elapsed}<{remaining}"
                                   "{postfix}]")

    def maybe(self, step: int, model: torch.nn.Module, **scalars: float) -> None:
        now = self.log.elapsed()
        if round(now) > self.bar.n:
            self.bar.update(min(round(now), self.bar.total) - self.bar.n)
            self.bar.set_postfix(step=step, steps_per_s=f"{step / max(now, 1e-9):.1f}", best=f"{self.best:.1f}mm",
                                 refresh=False)
        if now < self.next_time:
            return
        val = self.validate(model)
        self.log.write(step=step, **{k: round(float(v), 6) for k, v in scalars.items()}, val_p_mpjpe=round(val, 2))
        self.since_best += 1
        if val < self.best:
            self.best, self.since_best = val, 0
            save_model(self.log.dir / "best.pt", model, {"method": self.method, "val_p_mpjpe_mm": val, "step": step})
        self.next_time = self.log.elapsed() + self.every_s

    def running(self) -> bool:
        """False once the time budget is spent, or after `patience` validations without a
        new best (early stopping; 0 = never)."""
        if self.log.elapsed() >= self.budget_s:
            return False
        return not (self.patience and self.since_best >= self.patience)

    def close(self) -> float:
        self.bar.close()
        return self.best


def save_model(path: str | os.PathLike, model: torch.nn.Module, card: dict) -> None:
    """Weights (fp16 where that keeps the file small) with a model card, atomically."""
    state = {k: (v.half() if v.is_floating_point() else v) for k, v in model.state_dict().items()}
    card = {"architecture": model.architecture, **card}
    with atomic_path(path, suffix=".pt") as tmp:
        torch.save({"state_dict": state, "card": card}, tmp)


def config_parser(config_cls, description: str, prog: str | None = None):
    """An argparse parser with one --flag per field of a config dataclass."""
    import argparse

    def parse_bool(text: str) -> bool:
        if text.lower() in ("1", "true", "yes", "on"):
            return True
        if text.lower() in ("0", "false", "no", "off"):
            return False
        raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")

    parser = argparse.ArgumentParser(prog=prog, description=description)
    for name, f in config_cls.__dataclass_fields__.items():
        kind = type(f.default)
        if kind is tuple:
            continue
        help_text = CONFIG_HELP.get(name, "")
        parser.add_argument("--" + name.replace("_", "-"), type=parse_bool if kind is bool else kind,
                            default=f.default, help=f"{help_text} (default: {f.default})".strip())
    return parser


#: One line of help per config field, shared by every trainer's --help and docs/training.md.
CONFIG_HELP = {
    "width": "width of the residual blocks",
    "g_blocks": "residual blocks in the generator",
    "d_blocks": "residual blocks in the discriminator",
    "d_width": "discriminator width (0 = the same as --width)",
    "blocks": "residual blocks in the lifting network",
    "batch": "poses per step",
    "lr": "Adam learning rate (cosine decay over the time budget)",
    "lr_g": "generator Adam learning rate",
    "lr_d": "discriminator Adam learning rate",
    "lr_decay": "decay both learning rates to 0 over the time budget (cosine)",
    "views": "random projections of each generated pose per step",
    "label_smooth": "discriminator target for real poses is 1 - this",
    "r1_gamma": "weight of the R1 gradient penalty on real poses (0 = off)",
    "max_drop": "at most this many joints are hidden in a training pose",
    "drop_prob": "probability that a training pose has hidden joints",
    "fill_weight": "weight of the 2D loss on the predicted position of hidden joints",
    "mirror": "also train on the mirror image of every mocap pose (left and right swapped)",
    "composed_real": "draw the discriminator's real 2D poses through two composed random cameras",
    "train_elevation_max": "camera elevation range of the 2D training poses, 0 to this (degrees)",
    "fake_elevation_max": "elevation range of the random projection layer, 0 to this (degrees)",
    "bone_sym_weight": "weight of the left/right bone-length symmetry prior (0 = off)",
    "flat_init": "start the generator at the trivial baseline (zero depth offsets)",
    "ema": "decay of the exponential moving average of the generator's weights (0 = off)",
    "cycle_weight": "weight of the 3D rotation-cycle consistency (0 = off)",
    "minutes": "training time budget in minutes",
    "val_every_s": "seconds between validations (model selection on the val subjects)",
    "patience": "stop after this many validations without a new best (early stopping; 0 = off)",
    "seed": "random seed",
    "threads": "CPU threads for torch",
    "run_dir": "folder for log.csv, config.json and best.pt",
}
