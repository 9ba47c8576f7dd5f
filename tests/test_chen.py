"""Chen et al.'s geometry-aware representation: the view-pair sampler's relative rotation, the skeleton
maps, the view-synthesis networks and losses, the two trainers (chen-views, chen) on tiny configs, and
the shipped lifter's convention.

The pair-sampler tests read the 3D of the poses they make views of: fixtures of these tests only (the
sampler returns 2D views and R_ij, never 3D)."""
from __future__ import annotations

import csv
import math
import shutil

import numpy as np
import pytest
import torch

from conftest import CMU, lifted_p_mpjpe
from realtime3d.data.mocap import load_split
from realtime3d.data.views import fixed_camera_rotations, project_views
from realtime3d.kernels import render_skeleton
from realtime3d.lifting import Lifter
from realtime3d.metrics import p_mpjpe
from realtime3d.models import ConstantDepthNetwork, build_network
from realtime3d.models.chen import (BONES, MAP_SCALE, MAP_SIZE, ChenLifter, CoordinateRegressor, MapEncoder,
                                    ViewSynthesis, rotate_latent, skeleton_maps)
from realtime3d.normalization import DEPTH
from realtime3d.trainers import sampling
from realtime3d.trainers.base import train
from realtime3d.trainers.chen import consistency_loss
from realtime3d.trainers.chen_regression import labelled_frames, load_encoder
from realtime3d.trainers.checkpoint import save_model
from realtime3d.trainers.config import load_experiment
from realtime3d.trainers.sampling import ViewPairSampler, labelled_views, mirror_poses, validation_pool

TINY_VIEWS = "chen-views_cmu-h36m17_w4-m8_8steps"
TINY_REGRESSION = "chen_cmu-h36m17_h32-l1pct_40steps"


def _about_root(body: torch.Tensor) -> torch.Tensor:
    return body - body[:, :1]


def test_view_pairs_relative_rotation_takes_view_i_to_view_j(cmu_root, monkeypatch):
    """Random cameras: the two 2D views are project_views of the pose through the two cameras drawn,
    and R_ij turns view i's 3D (about the root) into view j's; a mirrored pair is both views
    mirrored, with M R_ij M."""
    pose = load_split("val")["joints3d"][100:101]                                   # one pose [1, J, 3] mm
    drawn = []
    real = sampling.random_rotations
    monkeypatch.setattr(sampling, "random_rotations", lambda *a, **k: drawn.append(real(*a, **k)) or drawn[-1])
    view_i, view_j, rel = ViewPairSampler(pose, 3, mirror=True).sample(64)
    rot_i, rot_j = drawn                                                           # the cameras of i, then j
    joints = torch.from_numpy(pose).expand(64, -1, -1)
    seen_i, body_i = project_views(joints, rot_i)
    seen_j, body_j = project_views(joints, rot_j)
    flip = ~torch.isclose(view_i, seen_i, atol=1e-6).all(-1).all(-1)
    assert 10 < int(flip.sum()) < 54                                              # both kinds were drawn
    turned = _about_root(body_i) @ rel.transpose(-1, -2)                             # R_ij X_i
    assert torch.allclose(turned[~flip], _about_root(body_j)[~flip], atol=1e-4)
    assert torch.allclose(view_j[~flip], seen_j[~flip], atol=1e-6)
    assert torch.allclose(view_i[flip], mirror_poses(seen_i[flip]), atol=1e-6)
    assert torch.allclose(view_j[flip], mirror_poses(seen_j[flip]), atol=1e-6)
    mirrored_i, mirrored_j = mirror_poses(_about_root(body_i)[flip]), mirror_poses(_about_root(body_j)[flip])
    assert torch.allclose(mirrored_i @ rel[flip].transpose(-1, -2), mirrored_j, atol=1e-4)
    assert torch.allclose(rel @ rel.transpose(-1, -2), torch.eye(3).expand(64, 3, 3), atol=1e-5)
    assert torch.allclose(torch.linalg.det(rel), torch.ones(64), atol=1e-5)
    # R_ij^T is not R_ij: the direction is tested, not only the turn
    assert not torch.allclose(_about_root(body_i) @ rel, _about_root(body_j), atol=1e-2)


def test_view_pairs_of_fixed_cameras_are_two_of_the_clips_cameras(cmu_root):
    split = load_split("val")
    frames = slice(0, 400, 40)
    joints, clips = split["joints3d"][frames], split["clip"][frames]
    sampler = ViewPairSampler(joints, 5, "fixed-camera", clips, seed=7)
    view_i, view_j, rel = sampler.sample(200)
    cams = fixed_camera_rotations(clips.astype(str), 7)                             # [N, 4, 3, 3]
    views = torch.stack([project_views(torch.from_numpy(joints), cams[:, c])[0] for c in range(4)], 1)   # [N, 4, J, 2]
    flat = views.flatten(2).flatten(0, 1)                                           # every fixed view [N * 4, 2J]

    def which(v):                                                                   # -> (frame, camera)
        d = (v.flatten(1)[:, None] - flat[None]).norm(dim=-1)                        # exact (cdist is not)
        assert d.min(1).values.max() < 1e-5, "a view outside the protocol's"
        k = d.argmin(1)
        return k // 4, k % 4
    fi, ci = which(view_i)
    fj, cj = which(view_j)
    assert torch.equal(fi, fj) and not (ci == cj).any()
    assert torch.allclose(rel, cams[fi, cj] @ cams[fi, ci].transpose(-1, -2), atol=1e-5)
    with pytest.raises(ValueError, match="clip name"):
        ViewPairSampler(joints, 0, "fixed-camera")
    with pytest.raises(ValueError, match="own 2D"):
        ViewPairSampler(joints, 0, "own-2d")


def test_skeleton_maps_are_the_kernels_per_bone_maps_and_fit_the_map(cmu_root):
    pose2d = validation_pool("random-projection").subset(400).pose2d                   # [N, J, 2]
    px = pose2d * MAP_SCALE + (MAP_SIZE - 1) / 2
    assert px.min() >= 6 and px.max() <= MAP_SIZE - 1 - 6                           # a margin on every side
    maps = skeleton_maps(pose2d[:32], backend="cpu")
    assert maps.shape == (32, len(BONES), MAP_SIZE, MAP_SIZE)
    ref = render_skeleton(px[:32], BONES, (MAP_SIZE, MAP_SIZE), 0.2, mode="per_bone", backend="reference")
    assert torch.allclose(maps, ref, atol=1e-5)
    assert torch.allclose(skeleton_maps(pose2d[:32], backend="reference"), ref, atol=1e-6)
    assert (maps.amax((2, 3)) > 0.9).all()                                           # every bone is drawn
    assert maps[:, :, :2].max() < 1e-3 and maps[:, :, :, -2:].max() < 1e-3          # nothing at the border
    with pytest.raises(ValueError, match="pose2d must be"):
        skeleton_maps(pose2d[:2, :5])


def test_view_synthesis_shapes_and_the_rotation_steers_the_decoded_view():
    torch.manual_seed(0)
    net = ViewSynthesis(width=4, points=8)
    maps = torch.rand(3, len(BONES), MAP_SIZE, MAP_SIZE)
    eye = torch.eye(3).expand(3, 3, 3)
    a = torch.full((3,), 0.9)
    turn = torch.stack([torch.stack([a.cos(), a * 0, a.sin()], -1), torch.stack([a * 0, a * 0 + 1, a * 0], -1),
                        torch.stack([-a.sin(), a * 0, a.cos()], -1)], 1)            # about the vertical
    latent, same = net(maps, eye)
    latent2, turned = net(maps, turn)
    assert latent.shape == (3, 8, 3) and same.shape == maps.shape
    assert 0 < same.min() and same.max() < 1 and torch.equal(latent, latent2)
    assert (turned - same).abs().max() > 1e-4                                      # R_ij reaches the decoder
    assert torch.allclose(net.decoder(rotate_latent(latent, turn)), turned)
    with pytest.raises(ValueError, match="maps must be"):
        net.encoder(maps[:, :3])
    with pytest.raises(ValueError, match="rotations must be"):
        net(maps, eye[:2])
    # L_rc: zero when G_j = R_ij G_i (at any scale of either), not otherwise
    g = torch.randn(3, 8, 3)
    assert consistency_loss(g, 2.5 * rotate_latent(g, turn), turn) < 1e-10
    assert consistency_loss(g, rotate_latent(g, turn), eye) > 0.1


def test_lifters_output_convention_and_round_trip(tmp_path):
    """Root at (0, 0, DEPTH + 1), x and y fitted to the 2D at that depth, missing joints put at
    the centre; the architecture dict rebuilds each kind, and the shipped sizes stay small."""
    torch.manual_seed(1)
    pose2d = torch.randn(5, 17, 2) * 0.05
    pose2d[:, 0] = 0.0
    mask = torch.ones(5, 17, dtype=torch.bool)
    mask[0, 13] = False
    for net in (ChenLifter(MapEncoder(width=4, points=8).architecture, hidden=16), CoordinateRegressor(hidden=16)):
        out = net(pose2d, mask)                                                     # [5, J, 3]
        assert out.shape == (5, 17, 3)
        assert torch.allclose(out[:, 0], torch.tensor([0.0, 0.0, DEPTH + 1.0]).expand(5, 3), atol=1e-5)
        rel, w, seen = out[..., :2] - out[:, :1, :2], mask[..., None], pose2d * (DEPTH + 1)
        # x, y are the least-squares fit of the 2D at depth DEPTH + 1 (residual orthogonal), on its side
        assert ((rel * (seen - rel) * w).sum((1, 2)).abs() < 1e-5 * (seen ** 2 * w).sum((1, 2))).all()
        assert ((rel * seen * w).sum((1, 2)) > 0).all()
        moved = pose2d.clone()
        moved[0, 13] = 0.3                                                          # a missing joint's 2D is ignored
        assert torch.allclose(net(moved, mask)[0], out[0], atol=1e-5)
        rebuilt = build_network(net.architecture)
        rebuilt.load_state_dict(net.state_dict())
        assert torch.allclose(rebuilt(pose2d, mask), out, atol=1e-6)
    shipped = ChenLifter(MapEncoder(width=32, points=32).architecture, hidden=1024)
    save_model(tmp_path / "w.pt", shipped, {"method": "chen"})
    assert (tmp_path / "w.pt").stat().st_size < 20e6


@pytest.mark.slow
def test_labelled_frames_and_views(cmu_root):
    split = load_split("train")
    n = len(split["joints3d"])
    frames = labelled_frames(n, 0.01, 3)
    assert len(frames) == round(0.01 * n) and len(set(frames.tolist())) == len(frames)
    assert np.array_equal(frames, labelled_frames(n, 0.01, 3))
    assert not np.array_equal(frames, labelled_frames(n, 0.01, 4))
    few = frames[:5]
    fixed = labelled_views(split["joints3d"], split["clip"], few, "fixed-camera", 4, 9)
    pool = sampling.fixed_camera_pool(split["joints3d"][few], split["clip"][few], 9)
    assert torch.equal(fixed.pose2d, pool.pose2d) and fixed.pose2d.shape == (20, 17, 2)
    rand = labelled_views(split["joints3d"], split["clip"], few, "random-projection", 3, 9)
    assert rand.pose2d.shape == (15, 17, 2) and rand.body.shape == (15, 17, 3)


@pytest.fixture(scope="module")
def tiny_encoder(tmp_path_factory):
    """The tiny chen-views run (8 steps): its folder."""
    if not CMU.is_dir():
        pytest.skip(f"CMU mocap data not found at {CMU} (see shared/data/README.md)")
    run = tmp_path_factory.mktemp("chen-views")
    summary = train(load_experiment(TINY_VIEWS), run)
    assert summary["steps"] == 8 and summary["criterion"] == "val_synthesis"
    return run


@pytest.mark.data
@pytest.mark.slow
def test_the_tiny_view_synthesis_run_learns_saves_its_encoder_and_resumes(tiny_encoder, tmp_path):
    rows = list(csv.DictReader((tiny_encoder / "eval.csv").open()))
    scores = [float(r["val_synthesis"]) for r in rows]
    assert len(scores) == 2 and scores[-1] < scores[0], scores                      # measured: 8.48 -> 8.41
    log = (tiny_encoder / "log.csv").read_text().splitlines()
    assert log[0] == "step,time_s,loss,rec_ij,rec_ji,rc,lr_g"
    encoder, card = load_encoder(tiny_encoder / "best.pt")
    assert isinstance(encoder, MapEncoder) and card["method"] == "chen-views"
    assert card["reads_3d"].startswith("only the sampler") and "relative rotations" in card["input"]
    with pytest.raises(ValueError, match="not a realtime3d lifter checkpoint"):
        Lifter.from_pretrained(tiny_encoder / "best.pt")
    copy = tmp_path / "again"
    shutil.copytree(tiny_encoder, copy)
    summary = train(load_experiment(TINY_VIEWS, ["train.max_steps=10"]), copy, resume="last")
    assert summary["steps"] == 10 and len((copy / "eval.csv").read_text().splitlines()) == 4


@pytest.mark.data
def test_the_regression_ships_a_lifter_with_its_label_count(tiny_encoder, tmp_path):
    """input = latent: ChenLifter with the tiny run's encoder inside, loadable by from_pretrained,
    its card giving the labelled fraction and count."""
    exp = load_experiment(TINY_REGRESSION, [f"params.encoder={tiny_encoder / 'best.pt'}"])
    summary = train(exp, tmp_path / "r")
    assert summary["criterion"] == "val_labelled_p_mpjpe" and math.isfinite(summary["best_score"])
    lifter = Lifter.from_pretrained(tmp_path / "r" / "best.pt")
    card = lifter.card
    n = round(0.01 * len(load_split("train")["joints3d"]))
    assert isinstance(lifter.network, ChenLifter) and card["method"] == "chen" and card["input"] == "latent"
    assert card["label_fraction"] == 0.01 and card["labelled_poses"] == n
    assert card["trained_poses"] + card["held_out_poses"] == n and f"{n} labelled train poses" in card["reads_3d"]
    assert card["encoder"]["experiment"] == TINY_VIEWS
    out = lifter.lift(np.array([[640.0, 360.0]] * 17) + np.random.default_rng(0).normal(0, 40, (17, 2)), (1280, 720))
    assert out.shape == (17, 3) and np.isfinite(out).all()


def test_the_coordinate_regressor_beats_constant_depth_from_one_percent_of_the_labels(cmu_root, tmp_path):
    """Baseline#1 by the same trainer: 300 steps on the 3D of 1% of the train poses (about 2 s) take it
    far below constant depth on val poses (measured: 60 mm against 94; a regressor that does not learn,
    lr = 0, stays far above the bar)."""
    pool = validation_pool("random-projection").subset(300)
    flat = lifted_p_mpjpe(ConstantDepthNetwork(), pool)
    sets = ["params.input=coords", "params.hidden=1024", "train.val_every_steps=100"]
    train(load_experiment(TINY_REGRESSION, [*sets, "train.max_steps=300"]), tmp_path / "c")
    lifter = Lifter.from_pretrained(tmp_path / "c" / "best.pt")
    assert isinstance(lifter.network, CoordinateRegressor) and "encoder" not in lifter.card
    assert lifted_p_mpjpe(lifter, pool) < 0.75 * flat
    train(load_experiment(TINY_REGRESSION, [*sets, "train.max_steps=20", "params.lr=0.0"]), tmp_path / "z")
    assert lifted_p_mpjpe(Lifter.from_pretrained(tmp_path / "z" / "best.pt"), pool) > 0.75 * flat


def test_the_shipped_chen_lifter_lifts_cmu_test_better_than_constant_depth(cmu_root):
    """The shipped lifter (the 5% regressor on the shipped encoder's latent), on every 20th cmu-test
    frame in the eval cameras: a lifter that ignores depth scores 1.0 here; the shipped one about 0.8."""
    from realtime3d.evaluate import constant_depth, with_random_cameras
    from realtime3d.io.poses import PoseSequence
    lifter = Lifter.from_pretrained("chen")
    assert lifter.card["label_fraction"] == 0.05 and lifter.card["labelled_poses"] > 0
    seq = with_random_cameras(PoseSequence(load_split("test")["joints3d"][::20]), seed=0)
    mine = p_mpjpe(lifter.lift(seq.joints2d, seq.image_size, seq.focal), seq.joints3d).mean()
    flat = p_mpjpe(constant_depth().lift(seq.joints2d, seq.image_size, seq.focal), seq.joints3d).mean()
    assert mine < 0.9 * flat, (mine, flat)
