"""The skeleton-net trainer (realtime3d/trainers/skeleton_net.py): its data keep images and prior apart, its
losses reach Phi through the kernels, and a tiny run selects and ships a detector."""
from __future__ import annotations

import logging

import numpy as np
import pytest
import torch

from realtime3d.detect import load_skeleton_net
from realtime3d.kernels import render_skeleton
from realtime3d.models.image import GAMMA, SKELETON_SIZE, SkeletonNet
from realtime3d.trainers.config import load_experiment
from realtime3d.trainers.base import train
from realtime3d.metrics import pck_torso
from realtime3d.models.image import SkeletonDiscriminator
from realtime3d.trainers.skeleton_net import (BONES, kappa_loss, omega_loss, place_in_crop, prior_ramp,
                                              random_warps, split_clips, warp, warp_points)

TINY = "skeleton-net_cmu-synth-fixedcam_w8_6steps"


def test_rendered_and_prior_clips_are_disjoint_and_seeded():
    clips = np.repeat([f"{s:02d}_{t:02d}" for s in range(1, 20) for t in range(1, 6)], 7)
    rendered = split_clips(clips, 0.5, seed=0)
    assert set(clips[rendered]).isdisjoint(clips[~rendered])
    assert 0.3 < rendered.mean() < 0.7
    assert (split_clips(clips, 0.5, seed=0) == rendered).all() and (split_clips(clips, 0.5, seed=1) != rendered).any()


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


def test_minibatch_std_tells_one_skeleton_for_every_crop_from_varied_ones():
    d = SkeletonDiscriminator(8, minibatch_std=True)
    varied = render_skeleton(place_in_crop(torch.randn(8, 17, 2), torch.rand(8, 3)), BONES,
                             (SKELETON_SIZE, SKELETON_SIZE), GAMMA, mode="per_bone")
    same = varied[:1].expand(8, -1, -1, -1)
    with torch.no_grad():
        spread = lambda x: d.net(x).mean((2, 3)).std(0, unbiased=False).mean()
        assert spread(same) < 1e-6 < spread(varied)
        assert d(same).shape == (8,) and d(same)[0] != d(varied)[0]        # the same image, another batch


def test_pck_counts_joints_within_a_fifth_of_the_torso():
    truth = torch.zeros(1, 17, 2)
    truth[0, 8, 1] = -10.0                                             # thorax 10 px above the pelvis
    assert pck_torso(truth, truth).item() == 1.0
    assert pck_torso(truth + 1.4, truth).item() == 1.0                 # 1.98 px off: within 2 px
    assert pck_torso(truth + 1.5, truth).item() == 0.0                 # 2.12 px off


def test_the_prior_terms_wait_for_the_reconstruction_and_then_ramp():
    assert prior_ramp(0, 10, 5) == 0.0 and prior_ramp(9, 10, 5) == 0.0
    assert prior_ramp(10, 10, 5) == pytest.approx(0.2) and prior_ramp(20, 10, 5) == 1.0
    assert prior_ramp(0, 0, 0) == 1.0


@pytest.mark.slow
def test_the_tiny_config_trains_selects_on_images_and_ships_a_detector(cmu_root, tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="realtime3d.trainers")
    summary = train(load_experiment(TINY), tmp_path / "s")
    assert summary["steps"] == 6 and summary["criterion"] == "val_recon"
    assert "flow prior fitted" in caplog.text
    net, card = load_skeleton_net(tmp_path / "s" / "best.pt")
    assert isinstance(net, SkeletonNet) and card["method"] == "skeleton-net" and card["lifter"] == "cycle"
    assert card["protocol"] == "fixed-camera" and "renderer" in card["reads_3d"]
    assert card["selection"]["criterion"] == "val_recon" and "no label" in card["selection"]["description"]
    with torch.no_grad():
        s, joints = net.eval()(torch.rand(2, 3, 128, 128))
    assert s.shape == (2, 16, 64, 64) and joints.shape == (2, 17, 2) and torch.isfinite(joints).all()
    header = (tmp_path / "s" / "eval.csv").read_text().splitlines()[0]
    assert header == "step,time_s,val_recon,val_kappa,val_pck,val_p_mpjpe,val_recon_footage"


@pytest.mark.slow
def test_a_trained_net_adapts_to_unlabelled_footage(cmu_root, tmp_path, caplog):
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
    train(load_experiment(TINY), tmp_path / "base")
    summary = train(load_experiment(TINY, [f"params.footage={clip}", f"params.init={tmp_path / 'base' / 'best.pt'}",
                                           "train.max_steps=3"]), tmp_path / "adapted")
    assert summary["criterion"] == "val_recon_footage" and np.isfinite(summary["best_score"])
    assert "person crops of your footage" in caplog.text
    net, card = load_skeleton_net(tmp_path / "adapted" / "best.pt")
    assert card["selection"]["criterion"] == "val_recon_footage"
