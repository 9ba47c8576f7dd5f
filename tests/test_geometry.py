"""Tests for realtime3d.camera and realtime3d.metrics."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.linalg import orthogonal_procrustes
from scipy.spatial import procrustes as scipy_procrustes
from scipy.spatial.transform import Rotation

from realtime3d import camera, metrics
from realtime3d.camera import (back_project, default_focal, normalized_to_pixels, perspective_project,
                               pixels_to_normalized, rotate_about_depth, rotate_project, rotation_from_angles,
                               world_yup_to_camera)
from realtime3d.metrics import (AUC_THRESHOLDS_MM, METRIC_KEYS, PCK_THRESHOLD_MM, ROOT, all_metrics, auc, mpjpe,
                               p_mpjpe, pa_auc, pa_pck, pck, procrustes_align)
from realtime3d.skeleton import H36M17

torch.set_num_threads(1)


# ----------------------------------------------------------------------------- camera


def _angles(n=64, seed=0):
    g = torch.Generator().manual_seed(seed)
    az = (torch.rand(n, generator=g, dtype=torch.float64) * 2 - 1) * math.pi
    el = (torch.rand(n, generator=g, dtype=torch.float64) * 2 - 1) * (math.pi / 2)
    return az, el


def test_rotation_from_angles_is_proper():
    az, el = _angles()
    r = rotation_from_angles(az, el)
    assert r.shape == (64, 3, 3)
    eye = torch.eye(3, dtype=torch.float64).expand(64, 3, 3)
    torch.testing.assert_close(r @ r.transpose(-1, -2), eye, atol=1e-12, rtol=0)
    torch.testing.assert_close(torch.linalg.det(r), torch.ones(64, dtype=torch.float64), atol=1e-12, rtol=0)


def test_rotation_from_angles_batch_shapes():
    az = torch.zeros(2, 5)
    r = rotation_from_angles(az, torch.zeros(2, 5))
    assert r.shape == (2, 5, 3, 3)
    torch.testing.assert_close(r, torch.eye(3).expand(2, 5, 3, 3))


def test_rotation_from_angles_matches_documented_composition():
    # "The azimuth turns the person about the vertical (camera y) axis; the elevation then
    # tilts it about the camera x axis": R = Rx(elevation) @ Ry(azimuth).
    az, el = _angles(16, seed=3)
    r = rotation_from_angles(az, el).numpy()
    for k in range(16):
        want = (Rotation.from_euler("x", float(el[k])).as_matrix()
                @ Rotation.from_euler("y", float(az[k])).as_matrix())
        np.testing.assert_allclose(r[k], want, atol=1e-12)
    # azimuth alone keeps the vertical; elevation alone keeps the x axis
    ra = rotation_from_angles(az, torch.zeros_like(az))
    torch.testing.assert_close(ra[:, :, 1], torch.tensor([0.0, 1.0, 0.0], dtype=torch.float64).expand(16, 3))
    re = rotation_from_angles(torch.zeros_like(el), el)
    torch.testing.assert_close(re[:, :, 0], torch.tensor([1.0, 0.0, 0.0], dtype=torch.float64).expand(16, 3))


def test_elevation_tilts_up_towards_the_camera():
    # A camera raised above the person, looking down: the person's up (0, -1, 0) leans
    # towards the camera, i.e. to negative z; the head comes closer than the feet.
    up = torch.tensor([0.0, -1.0, 0.0], dtype=torch.float64)
    for e in (0.1, 0.4, 1.0):
        r = rotation_from_angles(torch.tensor(0.0, dtype=torch.float64), torch.tensor(e, dtype=torch.float64))
        v = r @ up
        assert v[2] < 0
        torch.testing.assert_close(v, torch.tensor([0.0, -math.cos(e), -math.sin(e)], dtype=torch.float64))
    r = rotation_from_angles(torch.tensor(0.0), torch.tensor(-0.5))
    assert (r @ up.float())[2] > 0  # a camera below: the up vector leans away


def test_perspective_project_and_clamp():
    pts = torch.tensor([[2.0, -4.0, 2.0], [1.0, 1.0, 0.5], [3.0, 6.0, -2.0], [5.0, 5.0, 1.0]])
    out = perspective_project(pts, min_z=1.0)
    torch.testing.assert_close(out, torch.tensor([[1.0, -2.0], [1.0, 1.0], [3.0, 6.0], [5.0, 5.0]]))
    out = perspective_project(pts, min_z=4.0)  # every z below 4 is clamped to 4
    torch.testing.assert_close(out, pts[:, :2] / 4.0)
    assert perspective_project(torch.zeros(2, 7, 3)).shape == (2, 7, 2)


def test_back_project_inverts_perspective_project():
    g = torch.Generator().manual_seed(1)
    pts = torch.randn(5, 17, 3, generator=g, dtype=torch.float64)
    pts[..., 2] = pts[..., 2].abs() * 5 + 1.5  # z > min_z = 1
    rec = back_project(perspective_project(pts, min_z=1.0), pts[..., 2])
    torch.testing.assert_close(rec, pts, atol=1e-12, rtol=0)


def test_pixel_normalized_round_trip():
    size, f = (640, 480), 500.0
    center = torch.tensor([[320.0, 240.0]])
    torch.testing.assert_close(pixels_to_normalized(center, size, f), torch.zeros(1, 2))
    torch.testing.assert_close(pixels_to_normalized(torch.tensor([[820.0, 240.0]]), size, f), torch.tensor([[1.0, 0.0]]))
    torch.testing.assert_close(normalized_to_pixels(torch.tensor([[0.0, -0.5]]), size, f), torch.tensor([[320.0, -10.0]]))
    g = torch.Generator().manual_seed(2)
    px = torch.rand(3, 17, 2, generator=g, dtype=torch.float64) * torch.tensor([640.0, 480.0], dtype=torch.float64)
    torch.testing.assert_close(normalized_to_pixels(pixels_to_normalized(px, size, f), size, f), px)
    # a 3D point projects to the same pixel whichever way round
    p3 = torch.tensor([[100.0, -50.0, 2000.0]], dtype=torch.float64)
    pix = normalized_to_pixels(perspective_project(p3), size, f)
    torch.testing.assert_close(pix, torch.tensor([[320 + 25.0, 240 - 12.5]], dtype=torch.float64))


def test_default_focal():
    assert camera.DEFAULT_HFOV_DEG == 60.0
    # f = (w / 2) / tan(30 deg) = w * sqrt(3) / 2
    assert default_focal((640, 480)) == pytest.approx(640 * math.sqrt(3) / 2, rel=1e-12)
    assert default_focal((1280, 720)) == pytest.approx(1108.5125168440815, rel=1e-12)
    assert default_focal((1000, 10), hfov_deg=90.0) == pytest.approx(500.0, rel=1e-12)
    # the image edge is at +-30 degrees
    w = 1920
    assert math.degrees(math.atan((w / 2) / default_focal((w, 1080)))) == pytest.approx(30.0)


def test_rotate_about_depth_and_project():
    g = torch.Generator().manual_seed(4)
    pts = torch.randn(3, 17, 3, generator=g, dtype=torch.float64)
    eye = torch.eye(3, dtype=torch.float64).expand(3, 3, 3)
    torch.testing.assert_close(rotate_about_depth(pts, eye, 10.0), pts)
    r = rotation_from_angles(*_angles(3, seed=5))
    centre = torch.tensor([[[0.0, 0.0, 10.0]]], dtype=torch.float64).expand(3, 1, 3)
    torch.testing.assert_close(rotate_about_depth(centre, r, 10.0), centre)  # (0, 0, depth) stays put
    out = rotate_about_depth(pts, r, 10.0)
    want = torch.einsum("bij,bkj->bki", r, pts - centre) + centre
    torch.testing.assert_close(out, want)
    torch.testing.assert_close(rotate_project(pts, r, 10.0), perspective_project(want))


@pytest.mark.parametrize("kind", ["numpy", "torch"])
def test_world_yup_to_camera_is_a_proper_rotation(kind):
    basis = np.eye(3)
    x = basis if kind == "numpy" else torch.tensor(basis)
    out = world_yup_to_camera(x)
    out = np.asarray(out)
    ex, ey, ez = out  # images of the world basis vectors
    assert np.dot(ex, np.cross(ey, ez)) == pytest.approx(1.0)  # +1: no mirror
    np.testing.assert_allclose(out @ out.T, np.eye(3), atol=1e-12)
    np.testing.assert_allclose(ey, [0, -1, 0])  # world up -> camera up (y down)
    np.testing.assert_allclose(basis, np.eye(3))  # input untouched
    # a person facing world +Z with left at +X faces the camera (-z), left on the image right
    left, up, fwd = world_yup_to_camera(np.array([[1.0, 0, 0], [0, 1.0, 0], [0, 0, 1.0]]))
    assert fwd[2] < 0 and left[0] > 0
    assert np.dot(left, np.cross(up, fwd)) > 0


def test_world_yup_to_camera_batched():
    g = np.random.default_rng(0).normal(size=(4, 17, 3))
    out = world_yup_to_camera(g)
    np.testing.assert_allclose(out, g * [1, -1, -1])
    # distances and orientation preserved: a proper rigid map
    d0 = np.linalg.norm(g[:, :, None] - g[:, None], axis=-1)
    d1 = np.linalg.norm(out[:, :, None] - out[:, None], axis=-1)
    np.testing.assert_allclose(d0, d1)


# ----------------------------------------------------------------------------- metrics


def _random_poses(n=8, j=17, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(scale=300.0, size=(n, j, 3))


def test_mpjpe_hand_computed():
    gt = np.zeros((2, 4, 3))
    gt[:, 1] = [100, 0, 0]
    gt[:, 2] = [0, 100, 0]
    gt[:, 3] = [0, 0, 100]
    pred = gt.copy()
    pred[0] += [1000, -20, 5]           # frame 0: a pure translation -> 0 after root alignment
    pred[1, 2] += [30, 40, 0]           # frame 1: joint 2 off by 5 cm ... (3-4-5 triangle, 50 mm)
    pred[1, 3] += [0, 0, 20]            # ... joint 3 off by 20 mm
    np.testing.assert_allclose(mpjpe(pred, gt), [0.0, (50 + 20) / 4], atol=1e-12)
    # with a displaced root, every other joint moves relative to it
    pred = gt.copy()
    pred[:, 0] += [0, 0, 12]
    np.testing.assert_allclose(mpjpe(pred, gt), [3 * 12 / 4] * 2, atol=1e-12)
    np.testing.assert_allclose(mpjpe(pred, gt, root=1), [12 / 4] * 2, atol=1e-12)


def test_shape_checks():
    with pytest.raises(ValueError):
        mpjpe(np.zeros((2, 17, 3)), np.zeros((2, 16, 3)))
    with pytest.raises(ValueError):
        p_mpjpe(np.zeros((17, 3)), np.zeros((17, 3)))
    with pytest.raises(ValueError):
        procrustes_align(np.zeros((1, 17, 2)), np.zeros((1, 17, 2)))


def test_p_mpjpe_zero_for_similarity_copy():
    gt = _random_poses()
    rots = Rotation.random(len(gt), random_state=1).as_matrix()
    pred = 0.37 * np.einsum("nij,nkj->nki", rots, gt) + np.array([500.0, -200.0, 4000.0])
    assert mpjpe(pred, gt).min() > 10  # really different before alignment
    np.testing.assert_allclose(p_mpjpe(pred, gt), 0.0, atol=1e-8)
    np.testing.assert_allclose(procrustes_align(pred, gt), gt, atol=1e-8)
    np.testing.assert_allclose(pa_pck(pred, gt), 1.0)
    assert (pck(pred, gt) < 1.0).all()  # root-relative: the rotation and the scale 0.37 count
    # float32 input works and the result is float64-accurate enough
    np.testing.assert_allclose(p_mpjpe(pred.astype(np.float32), gt.astype(np.float32)), 0.0, atol=1e-2)


def _scipy_similarity_align(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """Reference: best proper rotation from scipy (Kabsch, no reflection), then the optimal scale."""
    out = np.empty_like(gt)
    for n in range(len(gt)):
        mp, mg = pred[n].mean(0), gt[n].mean(0)
        p, g = pred[n] - mp, gt[n] - mg
        rot, _ = Rotation.align_vectors(g, p)  # argmin sum |g - R p|^2 over rotations
        rp = rot.apply(p)
        s = np.sum(g * rp) / np.sum(p * p)
        out[n] = s * rp + mg
    return out


def test_procrustes_matches_scipy_on_random_data():
    gt = _random_poses(n=20, seed=2)
    pred = _random_poses(n=20, seed=3)  # unrelated: about half of the best orthogonal maps are reflections
    aligned = procrustes_align(pred, gt)
    np.testing.assert_allclose(aligned, _scipy_similarity_align(pred, gt), atol=1e-6)


def test_procrustes_matches_scipy_procrustes_and_orthogonal_procrustes():
    # Noisy, rotated, scaled, shifted copies: the best orthogonal map is a rotation, so
    # scipy's reflection-allowing routines give the same answer.
    rng = np.random.default_rng(4)
    gt = _random_poses(n=10, seed=5)
    rots = Rotation.random(10, random_state=6).as_matrix()
    pred = 1.8 * np.einsum("nij,nkj->nki", rots, gt) + rng.normal(scale=40.0, size=gt.shape) + 123.0
    aligned = procrustes_align(pred, gt)
    for n in range(10):
        g = gt[n] - gt[n].mean(0)
        p = pred[n] - pred[n].mean(0)
        r, sv = orthogonal_procrustes(p, g)  # p @ r ~ g
        assert np.linalg.det(r) > 0
        s = sv / np.sum(p * p)
        np.testing.assert_allclose(aligned[n], s * p @ r + gt[n].mean(0), atol=1e-6)
        # scipy.spatial.procrustes: both standardised to unit norm; disparity = sum of squares
        _, _, disparity = scipy_procrustes(gt[n], pred[n])
        ours = np.sum((aligned[n] - gt[n]) ** 2) / np.sum(g ** 2)
        assert ours == pytest.approx(disparity, rel=1e-6)


def test_procrustes_does_not_reflect():
    gt = _random_poses(n=6, seed=7)
    mirrored = gt * np.array([-1.0, 1.0, 1.0])  # a mirror image, as a left/right bug makes
    err = p_mpjpe(mirrored, gt)
    assert (err > 20).all(), err  # a reflection would align it exactly
    aligned = procrustes_align(mirrored, gt)
    # the alignment is a proper similarity: signed volumes keep the sign of the input's
    def volumes(x):
        a, b, c, d = x[:, 0], x[:, 1], x[:, 2], x[:, 3]
        return np.einsum("ni,ni->n", b - a, np.cross(c - a, d - a))
    assert (np.sign(volumes(aligned)) == np.sign(volumes(mirrored))).all()
    # the best proper alignment is what scipy's rotation-only solver finds
    np.testing.assert_allclose(aligned, _scipy_similarity_align(mirrored, gt), atol=1e-6)
    # whereas allowing reflections would bring it to 0: the mirror really is the issue
    for n in range(len(gt)):
        _, _, disparity = scipy_procrustes(gt[n], mirrored[n])
        assert disparity == pytest.approx(0.0, abs=1e-12)


def test_metric_constants():
    assert ROOT == H36M17.root == 0                      # the pelvis
    assert PCK_THRESHOLD_MM == 150.0
    assert AUC_THRESHOLDS_MM.shape == (31,)
    np.testing.assert_allclose(AUC_THRESHOLDS_MM, np.arange(0, 151, 5))


def _rayed_pose(distances, n=1):
    """Root (joint 0) at the origin, joint k at distances[k-1] mm along +x: [n, 1 + len, 3]."""
    gt = np.zeros((n, 1 + len(distances), 3))
    gt[:, 1:, 0] = distances
    return gt


def test_root_relative_pck_and_auc_hand_computed():
    # gt: joints 100, 200, 300, 400 mm from the root; pred: the same body 1.5x as large,
    # somewhere else in the room. Root-relative errors: 0 (the root), 50, 100, 150, 200 mm.
    gt = _rayed_pose([100.0, 200.0, 300.0, 400.0])
    pred = 1.5 * gt + np.array([1000.0, -300.0, 5000.0])
    np.testing.assert_allclose(pck(pred, gt), [4 / 5])            # 150 counts (<=), 200 does not
    np.testing.assert_allclose(pck(pred, gt, threshold_mm=99.0), [2 / 5])
    # thresholds passed (of 0, 5, ..., 150): err 0 -> 31, 50 -> 21, 100 -> 11, 150 -> 1, 200 -> 0
    np.testing.assert_allclose(auc(pred, gt), [(31 + 21 + 11 + 1 + 0) / (5 * 31)])
    np.testing.assert_allclose(auc(pred, gt), np.mean([pck(pred, gt, t) for t in AUC_THRESHOLDS_MM], axis=0))
    # the Procrustes-aligned variants forgive the scale entirely
    np.testing.assert_allclose(pa_pck(pred, gt), [1.0])
    assert pa_auc(pred, gt)[0] >= 30 / 31 - 1e-12
    np.testing.assert_allclose(p_mpjpe(pred, gt), [0.0], atol=1e-9)
    m = all_metrics(pred, gt)
    np.testing.assert_allclose(m["pck150"], [4 / 5])
    np.testing.assert_allclose(m["auc"], [64 / 155])
    np.testing.assert_allclose(m["pa_pck150"], [1.0])
    np.testing.assert_allclose(m["mpjpe_mm"], [(0 + 50 + 100 + 150 + 200) / 5])


def test_scaled_ground_truth_is_perfect_only_after_procrustes():
    """A prediction that is the ground truth scaled about its root: PA-PCK 1, root-relative PCK < 1."""
    gt = _random_poses(n=6, seed=11)
    root = gt[:, :1]
    for scale in (0.6, 1.4):
        pred = root + scale * (gt - root)
        np.testing.assert_allclose(pa_pck(pred, gt), 1.0)
        assert (pa_auc(pred, gt) >= 30 / 31 - 1e-12).all()
        assert (pck(pred, gt) < 1.0).all() and (auc(pred, gt) < pa_auc(pred, gt)).all()
        # the errors are |scale - 1| times the joints' distances from the root
        err = abs(scale - 1.0) * np.linalg.norm(gt - root, axis=-1)
        np.testing.assert_allclose(pck(pred, gt), (err <= 150.0).mean(-1))
        np.testing.assert_allclose(auc(pred, gt), (err[None] <= AUC_THRESHOLDS_MM[:, None, None]).mean(-1).mean(0))


def test_root_relative_pck_counts_rotation_and_subtracts_the_root_not_the_centroid():
    # turned 90 degrees about the root: a joint d mm from the root moves d * sqrt(2)
    gt = _rayed_pose([50.0, 100.0, 120.0, 300.0])
    pred = np.stack([-gt[..., 1], gt[..., 0], gt[..., 2]], axis=-1)   # x -> y: a proper turn about z
    err = np.array([0.0, 50.0, 100.0, 120.0, 300.0]) * np.sqrt(2)   # 0, 70.7, 141.4, 169.7, 424.3
    np.testing.assert_allclose(pck(pred, gt), [(err <= 150).mean()])  # 3 / 5
    np.testing.assert_allclose(pck(pred, gt), [3 / 5])
    np.testing.assert_allclose(pa_pck(pred, gt), [1.0])       # a rotation: Procrustes undoes it
    # only the root is off by 30 mm: every other joint is off by 30 mm relative to it
    gt = _random_poses(n=3, seed=12)
    pred = gt.copy()
    pred[:, ROOT] += [0.0, 30.0, 0.0]
    np.testing.assert_allclose(pck(pred, gt, threshold_mm=29.9), 1 / 17)   # the root itself only
    np.testing.assert_allclose(pck(pred, gt, threshold_mm=30.001), 1.0)
    # with root=1 it is the displaced joint 0 alone that is off
    np.testing.assert_allclose(pck(pred, gt, threshold_mm=29.9, root=1), 16 / 17)


def test_pa_pck_and_pa_auc_hand_computed(monkeypatch):
    # Errors chosen by hand; the alignment is switched off so that they stay as they are.
    monkeypatch.setattr(metrics, "procrustes_align", lambda pred, gt: pred)
    gt = np.zeros((2, 4, 3))
    pred = np.zeros((2, 4, 3))
    pred[0, :, 0] = [0.0, 7.0, 150.0, 151.0]   # frame 0 errors: 0, 7, 150, 151 mm
    pred[1, :, 1] = [2.5, 2.5, 2.5, 200.0]     # frame 1 errors: 2.5 x 3, 200 mm
    np.testing.assert_allclose(pa_pck(pred, gt), [3 / 4, 3 / 4])
    np.testing.assert_allclose(pa_pck(pred, gt, threshold_mm=5.0), [1 / 4, 3 / 4])
    # frame 0: joint 0 (err 0) passes all 31 thresholds, joint 1 (7) passes 10..150 -> 29,
    # joint 2 (150) passes only 150 -> 1, joint 3 (151) none: (31 + 29 + 1 + 0) / (4 * 31)
    # frame 1: three joints (2.5) pass 5..150 -> 30 each, joint 3 none: 90 / 124
    np.testing.assert_allclose(pa_auc(pred, gt), [61 / 124, 90 / 124])
    # AUC is the mean PCK over the thresholds
    mean_pck = np.mean([pa_pck(pred, gt, t) for t in AUC_THRESHOLDS_MM], axis=0)
    np.testing.assert_allclose(pa_auc(pred, gt), mean_pck)
    # the root-relative ones subtract joint 0: frame 0's root is at 0, so the same errors;
    # frame 1's root is at y = 2.5, so joints 0-2 are exact and joint 3 is 197.5 mm off
    np.testing.assert_allclose(pck(pred, gt), [3 / 4, 3 / 4])
    np.testing.assert_allclose(auc(pred, gt), [61 / 124, 93 / 124])
    # all_metrics computes its own alignment; with alignment off it must agree too
    m = metrics.all_metrics(pred, gt)
    np.testing.assert_allclose(m["pa_pck150"], [3 / 4, 3 / 4])
    np.testing.assert_allclose(m["pa_auc"], [61 / 124, 90 / 124])
    np.testing.assert_allclose(m["pck150"], [3 / 4, 3 / 4])
    np.testing.assert_allclose(m["auc"], [61 / 124, 93 / 124])
    np.testing.assert_allclose(m["p_mpjpe_mm"], [(7 + 150 + 151) / 4, (7.5 + 200) / 4])


def test_pck_auc_perfect_and_hopeless():
    gt = _random_poses(n=3, seed=8)
    np.testing.assert_allclose(pck(gt.copy(), gt), 1.0)
    np.testing.assert_allclose(auc(gt.copy(), gt), 1.0)      # no alignment, no rounding: exact
    np.testing.assert_allclose(pa_pck(gt.copy(), gt), 1.0)
    # After the (floating-point) alignment even a perfect prediction has errors of ~1e-13 mm,
    # so the 0 mm threshold rarely counts: PA-AUC is 30/31 or 31/31, never less.
    a = pa_auc(gt.copy(), gt)
    assert ((a >= 30 / 31 - 1e-12) & (a <= 1.0)).all(), a
    # a constant prediction (all joints at one point): root-relative, every joint sits on the
    # root, so the errors are the joints' distances from the root; Procrustes aligns it to the
    # centroid, so there the errors are the distances from the centroid
    far = np.zeros_like(gt)
    far[:, :, 2] = 5000.0
    from_root = np.linalg.norm(gt - gt[:, :1], axis=-1)
    from_centroid = np.linalg.norm(gt - gt.mean(1, keepdims=True), axis=-1)
    np.testing.assert_allclose(pck(far, gt), (from_root <= 150).mean(-1))
    np.testing.assert_allclose(mpjpe(far, gt), from_root.mean(-1), rtol=1e-9)
    np.testing.assert_allclose(pa_pck(far, gt), (from_centroid <= 150).mean(-1))
    np.testing.assert_allclose(p_mpjpe(far, gt), from_centroid.mean(-1), rtol=1e-9)


def test_all_metrics_agree_with_single_metrics():
    gt = _random_poses(n=5, seed=9)
    pred = gt + np.random.default_rng(10).normal(scale=60.0, size=gt.shape)
    m = all_metrics(pred, gt)
    assert tuple(m) == METRIC_KEYS == ("p_mpjpe_mm", "mpjpe_mm", "pck150", "auc", "pa_pck150", "pa_auc")
    np.testing.assert_allclose(m["mpjpe_mm"], mpjpe(pred, gt))
    np.testing.assert_allclose(m["p_mpjpe_mm"], p_mpjpe(pred, gt))
    np.testing.assert_allclose(m["pck150"], pck(pred, gt))
    np.testing.assert_allclose(m["auc"], auc(pred, gt))
    np.testing.assert_allclose(m["pa_pck150"], pa_pck(pred, gt))
    np.testing.assert_allclose(m["pa_auc"], pa_auc(pred, gt))
    assert all(v.shape == (5,) for v in m.values())
    assert (m["p_mpjpe_mm"] <= m["mpjpe_mm"] + 1e-9).all()  # the similarity fit can only help
