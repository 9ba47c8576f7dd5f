"""The Drover method, the supervised baseline and distillation on the spine: they train, write
checkpoints that the Lifter loads, and the random projection layer's views match the real 2D pool."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from realtime3d.camera import rotate_project
from realtime3d.data.mocap import load_split
from realtime3d.data.views import random_rotations
from realtime3d.lifting import Lifter
from realtime3d.models import LiftingNetwork
from realtime3d.normalization import DEPTH, normalize_2d
from realtime3d.skeleton import H36M17
from realtime3d.trainers.base import train
from realtime3d.trainers.baselines import scale_invariant_loss
from realtime3d.trainers.common import config_parser
from realtime3d.trainers.config import load_experiment
from realtime3d.trainers.drover import DroverConfig, bone_symmetry_loss
from realtime3d.trainers.sampling import PoseSampler

TINY = ["train.max_steps=20", "train.val_every_steps=10"]


def test_drover_trains_and_ships_a_loadable_checkpoint(cmu_root, tmp_path):
    summary = train(load_experiment("drover_cmu-h36m17_w32-g1d1_60steps", TINY), tmp_path / "d")
    assert np.isfinite(summary["best_val_p_mpjpe"]) and summary["steps"] == 20
    lifter = Lifter.from_pretrained(tmp_path / "d" / "best.pt")
    assert lifter.card["method"] == "drover" and lifter.card["architecture"]["width"] == 32
    log = (tmp_path / "d" / "log.csv").read_text().splitlines()
    assert log[0] == "step,time_s,loss_d,loss_g,fill,lr_g,lr_d" and len(log) == 4   # steps 1, 10, 20
    assert (tmp_path / "d" / "eval.csv").read_text().startswith("step,time_s,val_p_mpjpe\n10,")


def test_supervised_trains(cmu_root, tmp_path):
    summary = train(load_experiment("supervised_cmu-h36m17_w32-b0_20steps", TINY), tmp_path / "s")
    assert np.isfinite(summary["best_val_p_mpjpe"])
    assert Lifter.from_pretrained(tmp_path / "s" / "best.pt").card["method"] == "supervised"


def test_distill_moves_the_student_towards_its_teacher(cmu_root, tmp_path):
    """A few steps of distilling the shipped drover: the student's answers get closer to the
    teacher's, and its card says it runs in one pass."""
    exp = load_experiment("distill", ["train.max_steps=100", "train.val_every_steps=100", "train.test_every_s=0",
                                      "train.batch=256", "params.width=64", "params.blocks=1", "params.lr=3e-3"])
    frames = load_split("val")["joints3d"][::50]
    pose2d, mask, _ = PoseSampler(frames, 5).sample(len(frames), max_drop=2, drop_prob=0.5)
    teacher = Lifter.from_pretrained("drover")
    target = teacher.lift_normalized(pose2d, mask)                                  # [N, J, 3]

    def gap(network) -> float:
        with torch.no_grad():
            return ((network.eval()(pose2d, mask) - target) ** 2).sum(-1).mean().item()

    before = gap(LiftingNetwork(width=64, blocks=1))    # a new student: the zero-offset baseline
    train(exp, tmp_path / "x")
    student = Lifter.from_pretrained(tmp_path / "x" / "best.pt")
    assert student.flip_average is False and student.card["teacher"] == "drover"
    assert gap(student.network) < 0.4 * before


def _tilt(pose2d: torch.Tensor) -> torch.Tensor:
    """Signed angle of the pelvis -> thorax direction from the image vertical."""
    v = pose2d[:, H36M17.index["thorax"]] - pose2d[:, H36M17.index["pelvis"]]
    return torch.atan2(v[:, 0], -v[:, 1])


def test_composed_real_pool_matches_perfect_fakes(cmu_root):
    """A perfect generator's random projections are views through two composed cameras;
    the real pool drawn that way matches them, the single-camera pool does not."""
    frames = load_split("val")["joints3d"]
    n = 20000
    _, _, body = PoseSampler(frames, 1).sample(n)                       # perfectly lifted inputs
    gen = torch.Generator().manual_seed(2)
    fake, _, _ = normalize_2d(rotate_project(body, random_rotations(n, gen), depth=DEPTH))
    composed, _, _ = PoseSampler(frames, 3).sample(n, cameras=2)
    single, _, _ = PoseSampler(frames, 4).sample(n, cameras=1)
    spread = lambda p: _tilt(p).std().item()  # noqa: E731
    assert spread(composed) == pytest.approx(spread(fake), rel=0.05)
    assert spread(single) < 0.92 * spread(fake)  # measured: 0.85


def test_losses():
    pose = torch.randn(4, 17, 3)
    assert scale_invariant_loss(pose * 3.0 + 1.0, pose).item() == pytest.approx(0.0, abs=1e-5)
    sym = torch.zeros(1, 17, 3)
    for name, x in (("left", 1.0), ("right", -1.0)):
        for k, joint in enumerate(("hip", "knee", "ankle")):
            sym[0, H36M17.index[f"{name}_{joint}"]] = torch.tensor([x, k * 1.0, 0.0])
    assert bone_symmetry_loss(sym).item() == pytest.approx(0.0, abs=1e-8)
    sym[0, H36M17.index["left_ankle"], 1] = 5.0
    assert bone_symmetry_loss(sym).item() > 1e-3


def test_script_flags():
    args = config_parser(DroverConfig, "x").parse_args(["--composed-real", "false", "--width", "64"])
    assert args.composed_real is False and args.width == 64
    with pytest.raises(SystemExit):
        config_parser(DroverConfig, "x").parse_args(["--ema", "fast"])
