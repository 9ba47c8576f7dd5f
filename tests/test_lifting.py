"""realtime3d.Lifter: the shipped model, the pixel path, missing joints, shapes."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import hand_made_pose_mm, project

import realtime3d
from realtime3d.lifting import Lifter, available_models
from realtime3d.metrics import p_mpjpe
from realtime3d.normalization import BONE_SUM_MM
from realtime3d.skeleton import H36M17

SIZE, FOCAL = (1280, 720), 1000.0


@pytest.fixture(scope="module")
def lifter() -> Lifter:
    return realtime3d.Lifter.from_pretrained()


def person(depth_mm=4000.0, shift=(0.0, 0.0)):
    j3 = hand_made_pose_mm() + np.array([shift[0], shift[1], depth_mm], np.float32)
    return j3, project(j3, FOCAL, SIZE)


def test_shipped_models_and_weight_files():
    assert {"drover", "supervised"} <= set(available_models())
    from realtime3d.lifting import WEIGHTS_DIR
    for f in WEIGHTS_DIR.glob("*.pt"):
        assert f.stat().st_size < 20 * 2**20, f


def test_lift_shapes_and_metric_output(lifter):
    j3, px = person()
    out = lifter.lift(px[None], SIZE, focal=FOCAL)
    assert out.shape == (1, 17, 3) and np.isfinite(out).all()
    single = lifter.lift(px, SIZE, focal=FOCAL)
    np.testing.assert_allclose(single, out[0], rtol=1e-5, atol=1e-3)
    bones = sum(np.linalg.norm(out[0, c] - out[0, p]) for p, c in H36M17.bones)
    assert bones == pytest.approx(BONE_SUM_MM, rel=1e-3)
    # placed where it projects back onto the 2D (the skeleton is the mean size, the
    # hand-made one is smaller, so compare image positions relative to the root)
    reproj = project(out[0], FOCAL, SIZE)
    assert np.abs(reproj[0] - px[0]).max() < 5.0
    assert np.median(np.linalg.norm((reproj - reproj[0]) - (px - px[0]), axis=-1)) < 25.0
    assert 2000 < out[0, 0, 2] < 8000


def test_lift_is_accurate_on_a_hand_made_person(lifter):
    j3, px = person()
    out = lifter.lift(px, SIZE, focal=FOCAL)
    assert p_mpjpe(out[None], j3[None])[0] < 80.0


def test_not_mirrored(lifter):
    """The person's left stays the person's left: facing the camera, left is at +x."""
    _, px = person()
    out = lifter.lift(px, SIZE, focal=FOCAL)
    i = H36M17.index
    assert out[i["left_shoulder"], 0] > out[i["right_shoulder"], 0]
    assert out[i["left_hip"], 0] > out[i["right_hip"], 0]


def test_missing_joints_nan_and_visibility(lifter):
    j3, px = person()
    full = lifter.lift(px, SIZE, focal=FOCAL)
    holed = px.copy()
    holed[H36M17.index["left_wrist"]] = np.nan
    vis = np.ones(17, np.float32)
    vis[H36M17.index["right_ankle"]] = 0.1
    out = lifter.lift(holed, SIZE, focal=FOCAL, visibility=vis)
    assert np.isfinite(out).all()
    assert p_mpjpe(out[None], j3[None])[0] < p_mpjpe(full[None], j3[None])[0] + 40.0


def test_too_few_joints_gives_nan_rows(lifter):
    _, px = person()
    batch = np.stack([px, np.full_like(px, np.nan)])
    out = lifter.lift(batch, SIZE, focal=FOCAL)
    assert np.isfinite(out[0]).all() and np.isnan(out[1]).all()


def test_default_focal_and_off_centre_person(lifter):
    _, px = person(shift=(800.0, -200.0))
    out = lifter.lift(px, SIZE)
    assert np.isfinite(out).all()


@pytest.mark.parametrize("bad, message", [
    (np.zeros((2, 16, 2)), "keypoints must be"),
    (np.zeros((2, 17, 3)), "keypoints must be"),
])
def test_bad_shapes(lifter, bad, message):
    with pytest.raises(ValueError, match=message):
        lifter.lift(bad, SIZE)


def test_bad_visibility_and_image_size(lifter):
    _, px = person()
    with pytest.raises(ValueError, match="visibility must be"):
        lifter.lift(px[None], SIZE, visibility=np.ones((1, 16)))
    with pytest.raises(ValueError, match="image_size"):
        lifter.lift(px[None], (0, 720))


def test_unknown_model():
    with pytest.raises(ValueError, match="unknown model"):
        Lifter.from_pretrained("nope")


def test_flip_average_is_mirror_equivariant(lifter):
    """Lifting the mirrored image gives the mirrored skeleton (exactly, by construction)."""
    _, px = person()
    mirrored = px.copy()
    mirrored[:, 0] = SIZE[0] - px[:, 0]
    mirrored = mirrored[H36M17.flip_permutation]
    a = lifter.lift(px, SIZE, focal=FOCAL)
    b = lifter.lift(mirrored, SIZE, focal=FOCAL)[H36M17.flip_permutation]
    b[:, 0] *= -1
    np.testing.assert_allclose(a, b, atol=0.5)


def test_inference_copy_gives_the_same_answer():
    from realtime3d.models import LiftingNetwork
    from realtime3d.models.lifter import FoldedMLP, inference_copy
    torch.manual_seed(0)
    net = LiftingNetwork(width=64, blocks=2)
    torch.nn.init.normal_(net.net[-1].weight, std=0.1)
    net.train()
    for _ in range(5):  # non-trivial running statistics
        net(torch.randn(32, 17, 2), torch.rand(32, 17) > 0.2)
    net.eval()
    folded = inference_copy(net)
    assert isinstance(folded.net, FoldedMLP)
    assert not any(isinstance(m, torch.nn.BatchNorm1d) for m in folded.modules())
    x, mask = torch.randn(8, 17, 2), torch.rand(8, 17) > 0.2
    with torch.no_grad():
        torch.testing.assert_close(folded(x, mask), net(x, mask), rtol=1e-4, atol=1e-4)
