"""The skeleton-net trainer (realtime3d/trainers/skeleton_net.py): its crops are cut as the detector
cuts them, its losses reach Phi through the kernels, the label-free recipe reads no label, and tiny
runs select and ship a detector."""
from __future__ import annotations

import logging

import numpy as np
import pytest
import torch

from realtime3d.crops import square_box
from realtime3d.detect import load_skeleton_net
from realtime3d.detect.skeleton_net import train_minutes
from realtime3d.errors import UserError
from realtime3d.kernels import render_skeleton
from realtime3d.models.image import CROP_SIZE, GAMMA, SKELETON_SIZE, SkeletonNet
from realtime3d.trainers.config import load_experiment
from realtime3d.trainers.base import train
from realtime3d.metrics import pck_torso
from realtime3d.trainers.skeleton_net import (BONES, CROP_SCALE, colour_jitter, crop_warps, degrade, kappa_loss,
                                              omega_loss, paste_people, place_in_crop, prior_ramp, random_warps, warp,
                                              warp_points)

TINY = "skeleton-net_renders_w8_6steps"


@pytest.fixture(scope="module")
def crops(tmp_path_factory):
    """Labelled render crops of the val subjects (a few seconds of rendering), as the configs read them."""
    from conftest import CMU
    if not CMU.is_dir():
        pytest.skip(f"CMU mocap data not found at {CMU} (see shared/data/README.md)")
    from realtime3d.render.crop_shards import generate
    out = tmp_path_factory.mktemp("crops")
    generate("val", "held-out", out, minutes=5.0, seed=3, size=CROP_SIZE, cmu_root=CMU, max_crops=24,
             background_p=0.25)
    return out


def test_crop_warps_cut_the_crop_rule_box_about_the_label():
    gen = torch.Generator().manual_seed(1)
    joints = 40 + 48 * torch.rand(6, 17, 2, generator=gen)                     # [6, 17, 2] render crop px
    person = torch.tensor([True] * 5 + [False])
    uniform = torch.rand(6, 6, generator=gen)
    uniform[:, 0] = 0.5                                                       # no turn: the box is the box
    theta = crop_warps(joints, person, uniform)
    cut = warp_points(joints, theta, CROP_SIZE)                               # the new crop's px
    side = square_box(cut[:5])[:, 2]                                          # the joints' box x the margin
    assert ((side >= CROP_SIZE / CROP_SCALE[1] - 1) & (side <= CROP_SIZE / CROP_SCALE[0] + 1)).all()
    assert (cut[:5].mean(1) - CROP_SIZE / 2).abs().max() < 0.2 * CROP_SIZE    # about the middle
    images = torch.rand(6, 3, CROP_SIZE, CROP_SIZE, generator=gen)
    jittered = colour_jitter(warp(images, theta, "reflection"), torch.rand(6, 3, generator=gen))
    assert jittered.shape == images.shape and 0 <= jittered.min() and jittered.max() <= 1


def test_a_pasted_bystander_stays_behind_the_person_and_off_when_not_drawn():
    gen = torch.Generator().manual_seed(2)
    images = torch.zeros(4, 3, CROP_SIZE, CROP_SIZE)
    own = torch.zeros(4, CROP_SIZE, CROP_SIZE, dtype=torch.bool)
    own[:, :, 54:74] = True                                                   # the person: a band in the middle
    donors = torch.ones(4, 3, CROP_SIZE, CROP_SIZE)
    donor_masks = torch.ones(4, CROP_SIZE, CROP_SIZE, dtype=torch.bool)       # a donor that fills its crop
    uniform = torch.rand(4, 4, generator=gen)
    out = paste_people(images, own, donors, donor_masks, uniform, torch.tensor([1.0, 1.0, 1.0, 0.0]))
    assert (out[:, :, own[0]] == 0).all()                                    # never over the person's pixels
    assert (out[:3] > 0.5).any(-1).any(-1).all() and (out[3] == 0).all()      # pasted where drawn, only there
    area = (out[:3, 0] > 0.5).float().mean((1, 2))                           # shrunk: less than the whole crop
    assert (area < 0.9).all() and (area > 0.02).all()


def test_degrading_blurs_and_adds_noise_only_where_drawn():
    gen = torch.Generator().manual_seed(3)
    images = torch.zeros(3, 3, 33, 33)
    images[:, :, 16, 16] = 1.0                                                # one bright pixel
    uniform = torch.rand(3, 5, generator=gen)
    uniform[:, 4] = 0.0                                                       # no noise: the blur alone
    out = degrade(images, uniform, torch.randn(3, 3, 33, 33, generator=gen), torch.tensor([1.0, 1.0, 0.0]))
    assert torch.allclose(out[:2].sum((2, 3)), torch.ones(2, 3), atol=1e-4)  # a blur keeps the light
    assert (out[:2, :, 16, 16] < 1).all() and torch.equal(out[2], images[2])
    uniform[:, 4] = 1.0
    noisy = degrade(torch.full_like(images, 0.5), uniform, torch.randn(3, 3, 33, 33, generator=gen), 1.0)
    assert 0.02 < (noisy - 0.5).std() < 0.04 and 0 <= noisy.min() and noisy.max() <= 1


def test_prior_poses_are_framed_inside_the_skeleton_image():
    pose = torch.randn(64, 17, 2)
    px = place_in_crop(pose, torch.rand(64, 3))
    assert px.min() > -0.5 and px.max() < SKELETON_SIZE - 0.5          # the margin keeps every joint inside


def test_the_kappa_term_moves_omegas_joints_through_the_kernels_backward():
    truth = place_in_crop(torch.randn(2, 17, 2), torch.full((2, 3), 0.5))
    s = render_skeleton(truth, BONES, (SKELETON_SIZE, SKELETON_SIZE), GAMMA, mode="per_bone")
    assert kappa_loss(s, s) == 0
    y = (truth + torch.randn_like(truth)).requires_grad_()
    loss = kappa_loss(render_skeleton(y, BONES, (SKELETON_SIZE, SKELETON_SIZE), GAMMA, mode="per_bone"), s)
    loss.backward()
    assert loss > 0 and torch.isfinite(y.grad).all() and y.grad.abs().sum() > 0
    stepped = y.detach() - 0.5 * y.grad / y.grad.norm(dim=-1, keepdim=True).clamp(min=1e-6)
    assert kappa_loss(render_skeleton(stepped, BONES, (SKELETON_SIZE, SKELETON_SIZE), GAMMA, mode="per_bone"), s) < loss
    assert omega_loss(truth, truth) == 0 and omega_loss(truth + 1, truth) > 0


def test_warped_2d_lands_where_the_warp_moves_its_skeleton_image():
    gen = torch.Generator().manual_seed(0)
    points = 20 + 24 * torch.rand(4, 17, 2, generator=gen)                   # [4, 17, 2] skeleton px
    theta = random_warps(torch.rand(4, 4, generator=gen))
    image = render_skeleton(points, BONES, (SKELETON_SIZE, SKELETON_SIZE), GAMMA, mode="per_bone")
    warped = warp(image, theta)
    moved = render_skeleton(warp_points(points, theta), BONES, (SKELETON_SIZE, SKELETON_SIZE), GAMMA, mode="per_bone")
    assert (warped - moved).abs().mean() < 0.2 * (warped - image).abs().mean()   # resampling blur only
    identity = torch.tensor([[1.0, 0, 0], [0, 1.0, 0]]).expand(4, 2, 3)
    assert torch.allclose(warp_points(points, identity), points, atol=1e-4)


def test_pck_counts_joints_within_a_fifth_of_the_torso():
    truth = torch.zeros(1, 17, 2)
    truth[0, 8, 1] = -10.0                                             # thorax 10 px above the pelvis
    assert pck_torso(truth, truth).item() == 1.0
    assert pck_torso(truth + 1.4, truth).item() == 1.0                 # 1.98 px off: within 2 px
    assert pck_torso(truth + 1.5, truth).item() == 0.0                 # 2.12 px off


def test_the_label_free_terms_ramp_in():
    assert prior_ramp(0, 5) == pytest.approx(0.2) and prior_ramp(4, 5) == 1.0 and prior_ramp(9, 5) == 1.0
    assert prior_ramp(0, 0) == 1.0


@pytest.mark.slow
def test_the_tiny_config_trains_on_labels_selects_and_ships_a_detector(crops, tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="realtime3d.trainers")
    summary = train(load_experiment(TINY, [f"params.crops={crops}", f"params.val_crops={crops}", "params.paste_p=0.5",
                                           "params.degrade_p=0.5"]), tmp_path / "s")
    assert summary["steps"] == 6 and summary["criterion"] == "val_render_2d"
    net, card = load_skeleton_net(tmp_path / "s" / "best.pt")
    assert isinstance(net, SkeletonNet) and card["method"] == "skeleton-net" and card["supervision"] == "synthetic-labelled"
    assert "synthetic-labelled" in card["reads_3d"] and "labels" in card["selection"]["description"]
    with torch.no_grad():
        s, joints = net.eval()(torch.rand(2, 3, 128, 128))
    assert s.shape == (2, 16, 64, 64) and joints.shape == (2, 17, 2) and torch.isfinite(joints).all()
    header = (tmp_path / "s" / "eval.csv").read_text().splitlines()[0]
    assert header == "step,time_s,val_render_2d,val_pck,val_disagreement,val_disagreement_footage"


@pytest.mark.slow
def test_the_paper_recipe_reads_no_label(crops, tmp_path, caplog, monkeypatch):
    caplog.set_level(logging.INFO, logger="realtime3d.trainers")
    from realtime3d.render import crop_shards
    read = crop_shards.read_shards
    asked = []
    monkeypatch.setattr(crop_shards, "read_shards", lambda folder, keys=crop_shards.TRAIN_KEYS, limit=0:
                        asked.append((str(folder), keys)) or read(folder, keys, limit))
    overrides = [f"params.crops={crops}", f"params.val_crops={tmp_path / 'none'}", "params.label_weight=0",
                 "params.adv_weight=1", "params.kappa_weight=0.1", "params.cycle_weight=1", "params.flow_weight=1",
                 "params.bone_weight=0.02", "params.equivariance_weight=1"]
    (tmp_path / "none").mkdir()
    with pytest.raises(UserError, match="paste_p reads the renders' masks"):    # masks are labels too
        train(load_experiment(TINY, overrides + ["params.paste_p=0.5"]), tmp_path / "p")
    with pytest.raises(Exception, match="no crop shards"):          # validation reads its own folder only
        train(load_experiment(TINY, overrides + ["train.max_steps=1", "train.val_every_steps=1"]), tmp_path / "x")
    assert asked[0] == (str(crops), ("images", "person"))             # the training crops: no 2D label
    summary = train(load_experiment(TINY, overrides[:1] + [f"params.val_crops={crops}"] + overrides[2:]),
                    tmp_path / "s")
    assert summary["criterion"] == "val_disagreement" and np.isfinite(summary["best_score"])
    assert "flow prior fitted" in caplog.text
    _, card = load_skeleton_net(tmp_path / "s" / "best.pt")
    assert card["supervision"] == "label-free" and "no label" in card["reads_3d"]
    assert "no label" in card["selection"]["description"]


@pytest.mark.slow
def test_a_trained_net_adapts_to_unlabelled_footage(crops, tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="realtime3d.trainers")
    from conftest import SHARED
    video = SHARED / "data" / "media" / "street_dance.avi"
    if not video.is_file():
        pytest.skip(f"the street video is not at {video} (see shared/data/README.md)")
    import cv2
    capture, clip = cv2.VideoCapture(str(video)), tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"MJPG"), 25, (640, 360))
    for _ in range(24):
        ok, frame = capture.read()
        writer.write(cv2.resize(frame, (640, 360)))
    writer.release()
    data = [f"params.crops={crops}", f"params.val_crops={crops}"]
    train(load_experiment(TINY, data), tmp_path / "base")
    summary = train(load_experiment(TINY, data + [f"params.footage={clip}", f"params.init={tmp_path / 'base' / 'best.pt'}",
                                                  "params.adv_weight=0.1", "params.equivariance_weight=1",
                                                  "train.max_steps=3"]), tmp_path / "adapted")
    assert summary["criterion"] == "val_disagreement_footage" and np.isfinite(summary["best_score"])
    assert "person crops of your footage" in caplog.text
    net, card = load_skeleton_net(tmp_path / "adapted" / "best.pt")
    assert card["selection"]["criterion"] == "val_disagreement_footage"
    _, base = load_skeleton_net(tmp_path / "base" / "best.pt")
    assert card["started_from"]["weights"] == str(tmp_path / "base" / "best.pt")
    assert train_minutes(card) == card["budget_minutes"] + train_minutes(base)       # the start's minutes count


@pytest.mark.slow
def test_ddp_two_processes_stay_in_sync_with_the_discriminator_and_the_label_free_terms(crops, tmp_path):
    import subprocess
    import sys
    from test_spine import ENV, WORKER, _worker_logs
    worker = tmp_path / "worker.py"
    worker.write_text(WORKER)
    spec = " ".join([TINY, f"params.crops={crops}", f"params.val_crops={crops}", "params.label_weight=0",
                     "params.adv_weight=1", "params.kappa_weight=0.1", "params.cycle_weight=1", "params.flow_weight=1",
                     "params.equivariance_weight=1", "train.max_steps=3"])
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
           "--log-dir", str(tmp_path / "logs"), "--redirects", "3", str(worker), str(tmp_path / "ddp"), spec]
    result = subprocess.run(cmd, env=ENV, capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, _worker_logs(tmp_path / "logs") + result.stderr[-1500:]
    rank0, rank1 = (torch.load(tmp_path / "ddp" / f"{TINY}.rank{r}.pt") for r in (0, 1))
    assert any(k.startswith("d.") for k in rank0) and rank0.keys() == rank1.keys()
    assert all(torch.equal(rank0[k], rank1[k]) for k in rank0)              # Phi, Omega and D alike
