"""The Drover method, the supervised baseline and distillation on the spine: they train, write
checkpoints that the Lifter loads, and the random projection layer's views match the real 2D pool.

The learning tests compare the validation P-MPJPE with Drover's constant-depth baseline on the
same validation frames (ConstantDepthNetwork), so that a trainer whose lifter stays flat fails."""
from __future__ import annotations

import dataclasses
import tomllib
from types import SimpleNamespace

import pytest
import torch

from realtime3d.camera import rotate_project
from realtime3d.data.mocap import load_split
from realtime3d.data.views import random_rotations
from realtime3d.errors import UserError
from realtime3d.lifting import Lifter
from realtime3d.metrics import p_mpjpe
from realtime3d.models import ConstantDepthNetwork, LiftingNetwork
from realtime3d.normalization import BODY_UNIT_MM, DEPTH, normalize_2d
from realtime3d.skeleton import H36M17
from realtime3d.trainers.base import Trainer, train
from realtime3d.trainers.baselines import scale_invariant_loss
from realtime3d.trainers.config import (METHODS, TrainConfig, _build, help_of, load_experiment, method_class,
                                       packaged_configs, resolve_config, upgrade_params)
from realtime3d.trainers.drover import bone_symmetry_loss
from realtime3d.trainers.evaluation import Validator
from realtime3d.trainers.sampling import PoseSampler, validation_pool

TINY = ["train.max_steps=20", "train.val_every_steps=10"]
#: A Drover generator big and long enough to learn depth in seconds: width 128, 1000 steps of
#: 256 poses (about 8 s on one thread).
LEARNS = ["train.max_steps=1000", "train.val_every_steps=50", "train.batch=256", "params.width=128",
          "params.d_width=64"]


def constant_depth_val(val_frames: int) -> float:
    """The constant-depth baseline's P-MPJPE on the trainer's validation frames (Validator)."""
    v = Validator(validation_pool("random-projection"), max_frames=val_frames)
    with torch.no_grad():
        flat = ConstantDepthNetwork()(v.pose2d)
    return float(p_mpjpe(flat.numpy(), v.body.numpy() * BODY_UNIT_MM).mean())


def checkpoint_val(path, val_frames: int) -> float:
    """A checkpoint's P-MPJPE on the same frames, loaded as users load it (Lifter, flip average)."""
    v = Validator(validation_pool("random-projection"), max_frames=val_frames)
    lifted = Lifter.from_pretrained(path).lift_normalized(v.pose2d, torch.ones(v.pose2d.shape[:2], dtype=torch.bool))
    return float(p_mpjpe(lifted.numpy(), v.body.numpy() * BODY_UNIT_MM).mean())


def test_drover_trains_and_ships_a_loadable_checkpoint(cmu_root, tmp_path):
    """The plumbing (logs, checkpoint, card). 20 steps are too few to learn depth: from the flat
    init the generator is still the constant-depth baseline (measured 93.24 against 93.29 mm),
    so this only checks it starts there and does not diverge; test_drover_learns_depth_from_2d
    checks the learning."""
    exp = load_experiment("drover_cmu-h36m17_w32-g1d1_60steps", TINY)
    summary = train(exp, tmp_path / "d")
    assert summary["steps"] == 20 and summary["criterion"] == "val_cycle_2d"
    assert checkpoint_val(tmp_path / "d" / "best.pt", exp.train.val_frames) <= constant_depth_val(exp.train.val_frames) + 0.5
    lifter = Lifter.from_pretrained(tmp_path / "d" / "best.pt")
    assert lifter.card["method"] == "drover" and lifter.card["architecture"]["width"] == 32
    log = (tmp_path / "d" / "log.csv").read_text().splitlines()
    assert log[0] == "step,time_s,loss_d,loss_g,fill,lr_g,lr_d" and len(log) == 4   # steps 1, 10, 20
    assert (tmp_path / "d" / "eval.csv").read_text().startswith("step,time_s,val_cycle_2d,val_p_mpjpe\n10,")


@pytest.mark.slow
def test_drover_learns_depth_from_2d(cmu_root, tmp_path):
    """1000 steps from 2D alone take the generator well below the flat baseline it starts as:
    the checkpoint that the 2D criterion selects, loaded as users load it (flip average), is at
    most 0.8x constant depth on the validation 3D. (Measured when the selection read the val
    3D: 0.602x flip-averaged for seed 0.)"""
    exp = load_experiment("drover_cmu-h36m17_w32-g1d1_60steps", LEARNS)
    train(exp, tmp_path / "d")
    flat = constant_depth_val(exp.train.val_frames)
    chosen = checkpoint_val(tmp_path / "d" / "best.pt", exp.train.val_frames)
    assert chosen < 0.8 * flat, (chosen, flat)


def test_a_drover_generator_that_does_not_learn_fails_the_bar(cmu_root, tmp_path):
    """The negative control of the test above: with lr_g = 0 the generator stays at its flat
    init, the constant-depth baseline, and misses the 0.8x bar (ratio 1.0)."""
    exp = load_experiment("drover_cmu-h36m17_w32-g1d1_60steps",
                          LEARNS + ["train.max_steps=50", "params.lr_g=0.0"])
    train(exp, tmp_path / "d")
    chosen = checkpoint_val(tmp_path / "d" / "best.pt", exp.train.val_frames)
    assert chosen >= 0.8 * constant_depth_val(exp.train.val_frames)


@pytest.mark.slow
def test_supervised_trains(cmu_root, tmp_path):
    """1000 steps of width 32 (about 1 s) with 3D labels: best val at most 0.8x constant depth
    (measured: 62.9 against 93.3 mm, 0.674x; 300 steps reach 0.73-0.75x over seeds 0-2)."""
    exp = load_experiment("supervised_cmu-h36m17_w32-b0_20steps",
                          ["train.max_steps=1000", "train.val_every_steps=100", "params.lr=3e-3"])
    summary = train(exp, tmp_path / "s")
    flat = constant_depth_val(exp.train.val_frames)
    assert summary["criterion"] == "val_p_mpjpe"           # the supervised baseline selects on 3D
    assert summary["best_score"] < 0.8 * flat, (summary["best_score"], flat)
    assert Lifter.from_pretrained(tmp_path / "s" / "best.pt").card["method"] == "supervised"
    assert checkpoint_val(tmp_path / "s" / "best.pt", exp.train.val_frames) < 0.8 * flat


@pytest.mark.slow
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
    assert gap(student.network) < 0.6 * before     # measured with the shipped drover: 0.43x
    # and what it learnt is depth: its val P-MPJPE is well below the flat baseline's
    # (measured when the selection read the val 3D: 66.4 against 93.0 mm, 0.714x)
    assert checkpoint_val(tmp_path / "x" / "best.pt", exp.train.val_frames) < 0.85 * constant_depth_val(exp.train.val_frames)


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


def test_set_overrides_are_typed_by_their_field():
    exp = load_experiment("drover_cmu-h36m17_w32-g1d1_60steps", ["params.composed_real=false", "params.width=64"])
    assert exp.params.composed_real is False and exp.params.width == 64
    with pytest.raises(UserError, match="ema must be a float, got 'fast'"):
        load_experiment("drover_cmu-h36m17_w32-g1d1_60steps", ["params.ema=fast"])


def test_every_config_key_has_its_help_beside_it():
    for cls in [TrainConfig, *(method_class(m).Config for m in METHODS)]:
        for f in dataclasses.fields(cls):
            assert help_of(f), f"{cls.__name__}.{f.name} has no help"


def test_shipped_configs_hold_only_what_differs_from_the_defaults():
    for name in packaged_configs():
        raw = tomllib.loads(resolve_config(name).read_text())
        cls = {"train": TrainConfig, "params": method_class(raw["method"]).Config}
        for section, table in raw.items():
            if section == "method":
                continue
            for key, value in table.items():
                together = {k: table[k] for k in ("data", "val_data") if key in ("data", "val_data") and k in table}
                built = _build(cls[section], {key: value, **together}, name)   # train.data goes with val_data
                assert built != cls[section](), f"{name}: {section}.{key} = default"


def test_renamed_keys_still_load_from_files_and_flags(tmp_path):
    """A config file, a --set and a checkpoint's experiment written with a key's old name (yang's adv,
    svmac's sym_weight, skeleton-net's lr, drover's r1_gamma) load under its new name."""
    old = tmp_path / "old_yang.toml"
    old.write_text('method = "yang"\n[train]\nmax_steps = 1\n[params]\nadv = false\n')
    assert load_experiment(str(old)).params.adversarial is False
    assert load_experiment("yang", ["params.adv=false"]).params.adversarial is False
    assert load_experiment("svmac", ["params.sym_weight=0.5"]).params.bone_sym_weight == 0.5
    assert load_experiment("skeleton-net", ["params.lr=1e-5"]).params.lr_g == 1e-5
    assert load_experiment("drover", ["params.r1_gamma=0.5"]).params.r1_weight == 0.5
    assert upgrade_params("yang", {"adv": True, "sources": "pose"}) == {"adversarial": True, "sources": "pose"}


def test_a_checkpoint_with_a_renamed_key_resumes_and_a_changed_value_is_refused():
    """--resume compares the checkpoint's [params] with the config's under the keys' new names."""
    exp = load_experiment("yang", ["params.adversarial=false"])
    saved = dict(exp.as_dict()["method_config"])
    saved["adv"] = saved.pop("adversarial")                           # as written before the rename
    state = {"path": "ckpt-last.pt", "experiment": {"name": exp.name, "method": "yang", "method_config": saved}}
    Trainer._check_compatible(SimpleNamespace(exp=exp), state)
    state["experiment"]["method_config"] = {**saved, "adv": True}
    with pytest.raises(UserError, match="written by another method or \\[params\\]"):
        Trainer._check_compatible(SimpleNamespace(exp=exp), state)
