"""Tests for realtime3d.data.synth: the synthetic-people renderer.

The camera and crop conventions are written out again here (not imported from the module
under test): a proper rotation about the pivot, a pinhole into the 1280x720 frame, and a
square crop whose pixel i has its centre at frame coordinate x0 + (i + 0.5) * side / size.
Real CMU poses where they matter; those tests skip without ../shared/data/cmu.
"""
from __future__ import annotations

import dataclasses
import math
import subprocess
import sys
import warnings
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from realtime3d.data import synth
from realtime3d.data.sample import standing_pose_mm
from realtime3d.errors import UserError
from realtime3d.skeleton import H36M17


torch.set_num_threads(1)

J = H36M17.index
SIZE = 64


def standing(n: int = 1) -> torch.Tensor:
    """The sample pose (facing -z, the person's left on +x) with the feet near y = 0, [n, 17, 3]."""
    pose = torch.from_numpy(standing_pose_mm())
    pose[:, 1] -= 900.0
    return pose[None].repeat(n, 1, 1)


def plain(appearance: synth.Appearance) -> synth.Appearance:
    """The same people without occluders, blur or noise."""
    n = len(appearance)
    return dataclasses.replace(appearance, occluder_present=torch.zeros(n, 2, dtype=torch.bool),
                               blur=torch.zeros(n), noise=torch.zeros(n))


def facing(n: int, azimuth_deg: float) -> synth.Camera:
    """Cameras at 4 m, level, the pivot on the optical axis, no crop jitter."""
    return synth.Camera(azimuth=torch.full((n,), math.radians(azimuth_deg)), elevation=torch.zeros(n),
                        distance=torch.full((n,), 4000.0), focal=torch.full((n,), 1000.0),
                        center=torch.zeros(n, 2), margin=torch.full((n,), 1.25), shift=torch.zeros(n, 2))


CMU = Path(__file__).resolve().parents[2] / "shared" / "data" / "cmu"


@pytest.fixture(scope="module")
def cmu_val():
    if not CMU.is_dir():
        pytest.skip(f"CMU mocap data not found at {CMU} (see shared/data/README.md)")
    from realtime3d.data.mocap import load_split
    return load_split("val", root=CMU)


def cmu_poses(data, n: int, seed: int = 0) -> torch.Tensor:
    idx = np.random.default_rng(seed).choice(len(data["joints3d"]), n, replace=False)
    return torch.from_numpy(data["joints3d"][idx])


def test_shapes_types_and_ranges():
    g = torch.Generator().manual_seed(0)
    out = synth.render_random(standing(5), g, size=SIZE)
    assert out["image"].shape == (5, 3, SIZE, SIZE) and out["image"].dtype == torch.float32
    assert 0.0 <= float(out["image"].min()) and float(out["image"].max()) <= 1.0
    assert out["joints2d"].shape == (5, 17, 2) and out["joints2d"].dtype == torch.float32
    assert out["visible"].shape == (5, 17) and out["visible"].dtype == torch.bool
    assert out["box"].shape == (5, 4) and out["mask"].shape == (5, SIZE, SIZE) and out["mask"].dtype == torch.bool
    side = out["box"][:, 2] - out["box"][:, 0]
    torch.testing.assert_close(side, out["box"][:, 3] - out["box"][:, 1])
    # the default crop holds the whole body: every joint is inside it
    assert ((out["joints2d"] > -0.5) & (out["joints2d"] < SIZE - 0.5)).all()
    # and the body fills a good part of it, not all of it
    cover = out["mask"].float().mean((1, 2))
    assert (cover > 0.04).all() and (cover < 0.6).all(), cover


def test_appearance_ranges():
    a = synth.sample_appearance(torch.Generator().manual_seed(1), None, 200)
    assert len(a) == 200 and a.radii.shape == (200, synth.NUM_PARTS, 2)
    assert ((a.limb_scale >= 0.9) & (a.limb_scale <= 1.1)).all()
    assert ((a.blur >= 0) & (a.blur <= 1.2)).all() and ((a.noise >= 0) & (a.noise <= 0.04)).all()
    assert (a.background_photo == -1).all() and (a.background_kind > 0).all()   # no photos given
    counts = a.occluder_present.sum(1)
    assert set(counts.tolist()) == {0, 1, 2}
    thigh = [p.name for p in synth.PARTS].index("thigh_left")
    assert (a.radii[:, thigh, 0] > 55).all() and (a.radii[:, thigh, 0] < 110).all()  # human thighs, mm
    torch.testing.assert_close(a.light.norm(dim=1), torch.ones(200))
    one = a.select(3)
    assert len(one) == 1 and torch.equal(one.radii[0], a.radii[3])
    c = synth.sample_camera(torch.Generator().manual_seed(1), 200)
    assert (c.elevation >= 0).all() and (c.elevation <= math.radians(20)).all()
    assert (c.distance >= 3000).all() and (c.distance <= 6000).all()
    hfov = 2 * torch.rad2deg(torch.atan(synth.FRAME_SIZE[0] / 2 / c.focal))
    assert (hfov >= 50 - 1e-3).all() and (hfov <= 70 + 1e-3).all()


def test_deterministic_for_a_seed_and_different_for_another():
    pose = standing(3)
    a = synth.render_random(pose, torch.Generator().manual_seed(7), size=SIZE)
    b = synth.render_random(pose, torch.Generator().manual_seed(7), size=SIZE)
    c = synth.render_random(pose, torch.Generator().manual_seed(8), size=SIZE)
    for key in ("image", "joints2d", "box", "mask"):
        assert torch.equal(a[key], b[key]), key
    assert (a["image"] - c["image"]).abs().mean() > 0.05
    # a sample looks the same alone as in its batch
    g = torch.Generator().manual_seed(7)
    app, cam = synth.sample_appearance(g, None, 3), synth.sample_camera(g, 3)
    alone = synth.render(pose[1:2], app.select(1), cam.select(1), SIZE)
    torch.testing.assert_close(alone["image"][0], a["image"][1], atol=1e-5, rtol=0)


def test_labels_are_the_crop_projection_of_the_limb_scaled_pose():
    """joints2d, written out again: R (X - pelvis) + d (cx, cy, 1), pinhole, then the crop."""
    n = 4
    g = torch.Generator().manual_seed(3)
    app, cam = synth.sample_appearance(g, None, n), synth.sample_camera(g, n)
    app = dataclasses.replace(app, limb_scale=torch.ones(n))
    pose = standing(n)
    out = synth.render(pose, app, cam, SIZE)
    ca, sa = torch.cos(cam.azimuth), torch.sin(cam.azimuth)
    ce, se = torch.cos(cam.elevation), torch.sin(cam.elevation)
    o, z = torch.ones(n), torch.zeros(n)
    r_az = torch.stack([ca, z, sa, z, o, z, -sa, z, ca], 1).view(n, 3, 3)
    r_el = torch.stack([o, z, z, z, ce, -se, z, se, ce], 1).view(n, 3, 3)
    t = torch.cat([cam.center, torch.ones(n, 1)], 1) * cam.distance[:, None]
    p = torch.einsum("nij,nkj->nki", r_el @ r_az, pose - pose[:, :1]) + t[:, None]
    frame = p[..., :2] / p[..., 2:] * cam.focal[:, None, None] + torch.tensor([640.0, 360.0])
    box = out["box"]
    side = box[:, 2] - box[:, 0]
    crop = (frame - box[:, None, :2]) * (SIZE / side)[:, None, None] - 0.5
    torch.testing.assert_close(out["joints2d"], crop, atol=1e-3, rtol=1e-4)
    torch.testing.assert_close(out["joints3d"], p, atol=1e-2, rtol=1e-5)


def test_limb_scale_moves_joints_along_the_chain():
    pose = standing(2)
    scaled = synth.scale_limbs(pose, torch.tensor([1.0, 1.1]))
    torch.testing.assert_close(scaled[0], pose[0])
    bone = lambda x, a, b: (x[:, J[b]] - x[:, J[a]]).norm(dim=-1)  # noqa: E731
    shank = bone(pose, "left_knee", "left_ankle")[1]
    torch.testing.assert_close(bone(scaled, "left_knee", "left_ankle")[1], 1.1 * shank)
    torch.testing.assert_close(bone(scaled, "pelvis", "left_hip"), bone(pose, "pelvis", "left_hip"))  # not a limb
    torch.testing.assert_close(bone(scaled, "thorax", "head"), bone(pose, "thorax", "head"))
    # the ankle moved with the knee: the shank keeps its direction
    d0 = pose[1, J["left_ankle"]] - pose[1, J["left_knee"]]
    d1 = scaled[1, J["left_ankle"]] - scaled[1, J["left_knee"]]
    torch.testing.assert_close(d1, 1.1 * d0)


@pytest.mark.data
def test_the_body_is_drawn_where_the_labels_are(cmu_val):
    """Every joint lies on a part's axis, so its pixel is covered by the body; and the
    pixels the body covers differ from the background drawn alone."""
    n = 12
    g = torch.Generator().manual_seed(4)
    poses = cmu_poses(cmu_val, n)
    app, cam = plain(synth.sample_appearance(g, None, n)), synth.sample_camera(g, n)
    out = synth.render(poses, app, cam, SIZE)
    ij = out["joints2d"].round().long()
    inside = ((ij >= 0) & (ij < SIZE)).all(-1)
    assert inside.all()
    b = torch.arange(n)[:, None].expand(n, 17)
    assert out["mask"][b, ij[..., 1], ij[..., 0]].all()
    # the same render with the person carried 20 m to the camera's right is the background alone
    right = synth.camera_rotation(cam)[:, 0]                                      # camera x in the world
    away = synth.render(poses, app, cam, SIZE, box=out["box"], pivot=poses[:, 0] - 20000 * right)
    assert not away["mask"].any()
    changed = (out["image"] - away["image"]).abs().amax(1) > 1e-4                  # [n, H, W]
    assert not (changed & ~dilate(out["mask"], 1)).any()                          # only the body changed
    assert changed[out["mask"]].float().mean() > 0.95


def dilate(mask: torch.Tensor, radius: int) -> torch.Tensor:
    k = 2 * radius + 1
    return torch.nn.functional.max_pool2d(mask[:, None].float(), k, 1, radius)[:, 0] > 0


def test_left_is_the_persons_own_left_and_the_face_looks_forward():
    """Facing the camera, the left hip is on the image's right and the face (skin, not
    hair) is seen; turned round, the left hip is on the image's left and the hair is seen."""
    n = 2
    app = plain(synth.sample_appearance(torch.Generator().manual_seed(5), None, n))
    app = dataclasses.replace(app, skin=torch.tensor([[1.0, 0, 0]] * n), hair=torch.tensor([[0, 0, 1.0]] * n),
                              hair_top=torch.full((n,), 2.0), hair_back=torch.full((n,), -0.3),
                              ambient=torch.ones(n), diffuse=torch.zeros(n), tint=torch.ones(n, 3))
    for azimuth, left_on_right, face_seen in ((0.0, True, True), (180.0, False, False)):
        out = synth.render(standing(n), app, facing(n, azimuth), 96)
        x = out["joints2d"][..., 0]
        assert ((x[:, J["left_hip"]] > x[:, J["right_hip"]]) == left_on_right).all()
        assert ((x[:, J["left_shoulder"]] > x[:, J["right_shoulder"]]) == left_on_right).all()
        mid = (0.5 * (out["joints2d"][:, J["head"]] + out["joints2d"][:, J["head_top"]])).round().long()
        rgb = out["image"][torch.arange(n), :, mid[:, 1], mid[:, 0]]                 # [n, 3]
        assert ((rgb[:, 0] > rgb[:, 2]) == face_seen).all(), rgb


@pytest.mark.data
def test_forward_points_where_the_person_faces(cmu_val):
    """The sample pose faces -z; on CMU, the forward of walking frames points along the walk."""
    torch.testing.assert_close(synth.forward_direction(standing()), torch.tensor([[0.0, 0.0, -1.0]]),
                               atol=1e-6, rtol=0)
    j = torch.from_numpy(cmu_val["joints3d"])
    clips = cmu_val["clip"]
    same = torch.from_numpy(clips[1:] == clips[:-1])
    velocity = (j[1:, J["pelvis"]] - j[:-1, J["pelvis"]]) * torch.tensor([1.0, 0.0, 1.0])
    moving = same & (velocity.norm(dim=1) > 20)                                   # > 0.6 m/s at 30 fps
    assert moving.sum() > 100
    cos = (synth.forward_direction(j[:-1])[moving] * velocity[moving]).sum(1) / velocity[moving].norm(dim=1)
    assert cos.mean() > 0.9, cos.mean()


@pytest.mark.data
def test_pairs_share_the_background_and_differ_where_the_body_moved(cmu_val):
    g = torch.Generator().manual_seed(6)
    ia, ib = synth.pair_indices(cmu_val["clip"], g, 6, gap_frames=(25, 30))
    ja, jb = (torch.from_numpy(cmu_val["joints3d"][i]) for i in (ia, ib))
    app = synth.sample_appearance(g, None, 6)
    app = dataclasses.replace(app, noise=torch.zeros(6))
    a, b = synth.render_pairs(ja, jb, g, appearance=app, size=SIZE)
    assert torch.equal(a["box"], b["box"])
    near = dilate(a["mask"] | b["mask"], 5)                                        # blur reaches 4 px
    assert (~near).float().mean() > 0.3
    assert torch.equal(a["image"].permute(0, 2, 3, 1)[~near], b["image"].permute(0, 2, 3, 1)[~near])
    moved = a["mask"] ^ b["mask"]
    assert moved.float().mean() > 0.005
    assert (a["image"] - b["image"]).abs().amax(1)[moved].mean() > 0.05
    # the default: a random appearance, with pixel noise that differs between the frames
    a, b = synth.render_pairs(ja, jb, torch.Generator().manual_seed(9), size=SIZE)
    far = ~dilate(a["mask"] | b["mask"], 5)
    assert (a["image"] - b["image"]).abs().permute(0, 2, 3, 1)[far].mean() < 0.04


def test_pair_indices_stay_in_the_clip():
    clips = np.array(["a"] * 50 + ["b"] * 3 + ["c"] * 1 + ["a"] * 40)   # the second "a" is another clip
    g = torch.Generator().manual_seed(0)
    ia, ib = synth.pair_indices(clips, g, 2000, gap_frames=(5, 30))
    assert ia.dtype == np.int64 and ib.dtype == np.int64 and ia.shape == ib.shape == (2000,)
    run = np.cumsum(np.r_[True, clips[1:] != clips[:-1]]) - 1
    start, end = np.array([0, 50, 53, 54]), np.array([49, 52, 53, 93])
    assert (run[ia] == run[ib]).all()
    gap = np.abs(ib - ia)
    assert gap.max() <= 30
    clamped = (ib == start[run[ia]]) | (ib == end[run[ia]])
    assert (gap[~clamped] >= 5).all()                     # shorter only where the clip ends
    assert (ia[run[ia] == 2] == ib[run[ia] == 2]).all()   # a one-frame clip pairs a frame with itself
    assert {-1, 1} <= set(np.sign(ib - ia)[run[ia] == 0].tolist())   # both orders


def test_load_backgrounds_reads_rgb_and_skips_bad_files(tmp_path):
    red = np.zeros((40, 100, 3), np.uint8)
    red[..., 2] = 255                                                 # red in OpenCV's BGR
    (tmp_path / "sub").mkdir()
    cv2.imwrite(str(tmp_path / "sub" / "red.png"), red)
    cv2.imwrite(str(tmp_path / "big.jpg"), np.full((600, 900, 3), 128, np.uint8))
    (tmp_path / "broken.jpg").write_bytes(b"not an image")
    (tmp_path / "notes.txt").write_text("ignored")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        photos = synth.load_backgrounds(tmp_path)
    assert len(photos) == 2 and len(caught) == 1 and "broken.jpg" in str(caught[0].message)
    big, small = photos                                               # sorted by path
    assert big.shape == (256, 384, 3) and small.shape == (256, 640, 3)
    assert small.dtype == np.uint8 and (small[..., 0] > 250).all() and (small[..., 2] < 5).all()
    # a photo background: the crop shows the photo's colour where the body is not
    g = torch.Generator().manual_seed(0)
    app = plain(synth.sample_appearance(g, [small], 8))
    out = synth.render(standing(8), app, synth.sample_camera(g, 8), SIZE)
    photo = app.background_photo >= 0
    assert photo.any()
    rgb = out["image"][photo].permute(0, 2, 3, 1)[~out["mask"][photo]]
    assert (rgb[:, 0] > 0.7).float().mean() > 0.95 and (rgb[:, 2] < 0.2).float().mean() > 0.95


def test_the_data_package_does_not_import_viz():
    code = "import sys, realtime3d.data.synth; print(sorted(m for m in sys.modules if m.startswith('realtime3d.viz')))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_a_missing_background_folder_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="does not exist"):
        synth.load_backgrounds(tmp_path / "nowhere")


def test_bad_input_is_a_value_error():
    g = torch.Generator().manual_seed(0)
    app, cam = synth.sample_appearance(g, None, 2), synth.sample_camera(g, 2)
    pose = standing(2)
    with pytest.raises(ValueError, match=r"joints3d_mm must have shape \[\*, 17, 3\]"):
        synth.render(pose[:, :16], app, cam)
    with pytest.raises(ValueError, match="joints3d_mm"):
        synth.render(pose[0], app, cam)
    with pytest.raises(ValueError, match="appearance holds 2 samples"):
        synth.render(standing(3), app, cam)
    with pytest.raises(ValueError, match="camera must be a Camera"):
        synth.render(pose, app, app)
    with pytest.raises(ValueError, match="size"):
        synth.render(pose, app, cam, size=4)
    with pytest.raises(ValueError, match="square"):
        synth.render(pose, app, cam, box=torch.tensor([[0.0, 0, 10, 20]] * 2))
    with pytest.raises(ValueError, match="finite"):
        synth.render(pose * float("nan"), app, cam)
    with pytest.raises(ValueError, match="one shape"):
        synth.render_pairs(pose, standing(3), g)
    with pytest.raises(ValueError, match="clips"):
        synth.pair_indices(np.array([["a"]]), g, 3)
    with pytest.raises(ValueError, match="gap_frames"):
        synth.pair_indices(np.array(["a", "a"]), g, 3, gap_frames=(5, 2))
    with pytest.raises(ValueError, match="generator"):
        synth.sample_appearance(0)
    with pytest.raises(ValueError, match=r"backgrounds\[0\]"):
        synth.sample_appearance(g, [np.zeros((8, 8), np.uint8)])


def test_an_occluder_hides_the_joints_under_it():
    n = 2
    app = plain(synth.sample_appearance(torch.Generator().manual_seed(2), None, n))
    app = dataclasses.replace(app, occluder_present=torch.tensor([[True, False], [False, False]]),
                              occluder_ellipse=torch.zeros(n, 2, dtype=torch.bool),
                              occluder_center=torch.full((n, 2, 2), 0.5), occluder_half=torch.full((n, 2, 2), 0.6),
                              occluder_angle=torch.zeros(n, 2), occluder_pattern=torch.zeros(n, 2, dtype=torch.long),
                              tint=torch.ones(n, 3))
    out = synth.render(standing(n), app, facing(n, 30.0), SIZE)
    assert not out["visible"][0].any() and out["visible"][1].all()
    assert out["mask"][0].any()                                 # the body is still there, behind it
    top = out["image"][0, :, :SIZE // 8].reshape(3, -1)          # plain colour, lit a little from above
    assert (top.std(1) < 0.02).all()
    assert not torch.equal(out["image"][1], out["image"][0])
