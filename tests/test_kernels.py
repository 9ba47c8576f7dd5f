"""realtime3d.kernels: every backend against the PyTorch reference, forward and backward.

Triton runs in its interpreter on the CPU (TRITON_INTERPRET=1, set before triton is
imported), so the Triton cases use tiny images: a few seconds each.
"""
import os

os.environ.setdefault("TRITON_INTERPRET", "1")

import pytest  # noqa: E402
import torch  # noqa: E402

from realtime3d import camera, kernels  # noqa: E402
from realtime3d.kernels import reference  # noqa: E402
from realtime3d.kernels.tiling import CUTOFF, cull_radius  # noqa: E402
from realtime3d.skeleton import H36M17  # noqa: E402

BACKENDS = ("cpu", "triton")
BONES17 = torch.tensor(H36M17.bones)
# any tree of 20 bones over 21 joints (a hand: five chains of four from the wrist)
BONES21 = torch.tensor([(0 if i % 4 == 0 else i, i + 1) for i in range(20)])
TOL = dict(atol=2e-5, rtol=1e-4)          # float32 rounding: the paths differ in operation order
GRAD_TOL = dict(atol=2e-4, rtol=1e-3)


def poses2d(b: int, j: int, size: tuple[int, int], seed: int = 0) -> torch.Tensor:
    """Random joints [b, j, 2] over the image (and a little outside it), bone 4 -> 5 of zero length."""
    g = torch.Generator().manual_seed(seed)
    h, w = size
    joints = torch.rand(b, j, 2, generator=g) * torch.tensor([w + 6.0, h + 6.0]) - 3.0
    joints[:, 5] = joints[:, 4]
    return joints


def poses3d(b: int, j: int, seed: int = 0) -> torch.Tensor:
    """Random bodies [b, j, 3] around (0, 0, 10), about one unit tall."""
    g = torch.Generator().manual_seed(seed)
    return 0.4 * torch.randn(b, j, 3, generator=g) + torch.tensor([0.0, 0.0, 10.0])


def rotations(b: int, v: int, seed: int = 0) -> torch.Tensor:
    """Random proper rotations [b, v, 3, 3]."""
    g = torch.Generator().manual_seed(seed)
    q, r = torch.linalg.qr(torch.randn(b * v, 3, 3, generator=g))
    q = q * torch.sign(torch.diagonal(r, dim1=-2, dim2=-1)).unsqueeze(-2)
    q[torch.det(q) < 0] *= -1
    return q.view(b, v, 3, 3)


def grads(outputs, inputs, cotangents):
    return torch.autograd.grad(outputs, inputs, cotangents)


def assert_same(backend_out, reference_out, tol=TOL):
    for got, want in zip(backend_out, reference_out):
        assert torch.isfinite(got).all()
        torch.testing.assert_close(got, want, **tol)


def assert_same_grads(backend_grads, reference_grads):
    """Gradients are float32 sums over many pixels: the tolerance scales with the largest entry."""
    for got, want in zip(backend_grads, reference_grads):
        assert torch.isfinite(got).all()
        scale = want.abs().max().item()
        torch.testing.assert_close(got, want, atol=GRAD_TOL["atol"] + 2e-5 * scale, rtol=GRAD_TOL["rtol"])


CASES = [  # (B, bones, (H, W)): B=1, J=17 and J=21, H != W, sizes not multiples of the tiles
    (1, BONES17, (21, 27)),
    (2, BONES21, (18, 13)),
]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("b,bones,size", CASES)
@pytest.mark.parametrize("mode", ["max", "per_bone"])
def test_render_skeleton_matches_reference(backend, b, bones, size, mode):
    joints = poses2d(b, int(bones.max()) + 1, size).requires_grad_()
    want = reference.render_skeleton(joints, bones, size, gamma=0.7, mode=mode)
    got = kernels.render_skeleton(joints, bones, size, gamma=0.7, mode=mode, backend=backend)
    assert got.shape == want.shape == ((b, *size) if mode == "max" else (b, len(bones), *size))
    assert_same([got], [want])
    cot = torch.randn_like(want)
    assert_same_grads(grads(got, joints, cot), grads(want, joints, cot))


@pytest.mark.parametrize("backend", BACKENDS)
def test_render_heatmaps_matches_reference(backend):
    size = (19, 22)
    joints = poses2d(2, 17, size).requires_grad_()
    depths = torch.rand(2, 17).add(9.5).requires_grad_()
    want = reference.render_heatmaps(joints, depths, size, sigma=1.5)
    got = kernels.render_heatmaps(joints, depths, size, sigma=1.5, backend=backend)
    assert got[0].shape == got[1].shape == (2, 17, *size)
    assert_same(got, want)
    cots = [torch.randn_like(t) for t in want]
    assert_same_grads(grads(got, [joints, depths], cots), grads(want, [joints, depths], cots))


def behind_the_camera() -> tuple[torch.Tensor, torch.Tensor]:
    """Poses and rotations where some rotated joints fall below min_z or behind the camera."""
    joints = poses3d(2, 17)
    joints[0, :4, 2] = torch.tensor([22.0, 19.5, 10.5, -3.0])   # turned by half a circle: z = -2, 0.5, ...
    turn = torch.diag(torch.tensor([-1.0, 1.0, -1.0]))            # half a turn about the vertical
    rots = rotations(2, 3)
    rots[0, 0] = turn
    return joints, rots


@pytest.mark.parametrize("backend", BACKENDS)
def test_rotate_project_matches_reference_and_camera(backend):
    joints, rots = behind_the_camera()
    joints.requires_grad_()
    rots.requires_grad_()
    want = reference.rotate_project(joints, rots, depth=10.0, min_z=1.0)
    got = kernels.rotate_project(joints, rots, depth=10.0, min_z=1.0, backend=backend)
    assert got.shape == (2, 3, 17, 2)
    assert_same([got], [want])
    for v in range(3):   # the camera model's convention, one view at a time
        torch.testing.assert_close(got[:, v], camera.rotate_project(joints, rots[:, v], 10.0, 1.0), **TOL)
    rotated_z = camera.rotate_about_depth(joints, rots[:, 0], 10.0)[0, :4, 2]
    assert (rotated_z < 1.0).sum() >= 2          # the clamp is exercised
    cot = torch.randn_like(want)
    g_got, g_want = grads(got, [joints, rots], cot), grads(want, [joints, rots], cot)
    assert_same_grads(g_got, g_want)


@pytest.mark.parametrize("backend", BACKENDS)
def test_render_views_matches_reference(backend):
    size = (20, 26)
    joints, rots = behind_the_camera()
    joints.requires_grad_()
    rots.requires_grad_()
    args = dict(size=size, gamma=0.8, depth=10.0, scale=30.0, center=(13.0, 10.0))
    want = reference.render_views(joints, rots, BONES17, **args)
    got = kernels.render_views(joints, rots, BONES17, **args, backend=backend)
    assert got.shape == (2, 3, *size)
    assert_same([got], [want])
    assert want.amax() > 0.9                      # the skeletons are in the picture
    cot = torch.randn_like(want)
    assert_same_grads(grads(got, [joints, rots], cot), grads(want, [joints, rots], cot))


def test_references_gradcheck_in_float64():
    bones = torch.tensor([[0, 1], [1, 2], [1, 3], [3, 3]])        # the last bone has zero length
    joints2d = torch.tensor([[[1.2, 1.1], [3.3, 2.4], [5.6, 1.7], [2.1, 4.6]]], dtype=torch.float64,
                            requires_grad=True)
    for mode in ("max", "per_bone"):
        assert torch.autograd.gradcheck(lambda j: reference.render_skeleton(j, bones, (6, 7), 0.6, mode),
                                        (joints2d,))
    depths = torch.tensor([[2.0, 3.0, 4.0, 5.0]], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda j, d: reference.render_heatmaps(j, d, (6, 7), 1.3), (joints2d, depths))
    joints3d, rots = behind_the_camera()
    joints3d = joints3d[:, :4].double().requires_grad_()
    rots = rots.double().requires_grad_()
    assert torch.autograd.gradcheck(lambda j, r: reference.rotate_project(j, r, 10.0, 1.0), (joints3d, rots))
    assert torch.autograd.gradcheck(
        lambda j, r: reference.render_views(j, r, bones, (6, 7), 0.6, 10.0, 2.0, (3.0, 3.0)), (joints3d, rots))


def test_zero_length_bones_and_degenerate_poses_stay_finite():
    size = (12, 10)
    joints = torch.full((1, 17, 2), 5.0, requires_grad=True)        # every bone has zero length
    for backend in ("reference", "cpu", "triton"):
        out = kernels.render_skeleton(joints, BONES17, size, 1.0, backend=backend)
        (grad,) = torch.autograd.grad(out, joints, torch.randn_like(out))
        assert torch.isfinite(out).all() and torch.isfinite(grad).all()
        assert out[0, 5, 5] == 1.0
        # all joints coincide: the image is the Gaussian of one point
        torch.testing.assert_close(out, reference.render_heatmaps(joints, joints[..., 0], size, 0.5 ** 0.5)[0][:, 0],
                                   **TOL)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
@pytest.mark.parametrize("backend", ["reference", "cpu"])
def test_half_inputs_are_computed_in_float32(dtype, backend):
    size = (16, 20)
    joints = poses2d(2, 17, size).round()                          # exact in half precision
    out = kernels.render_skeleton(joints.to(dtype).requires_grad_(), BONES17, size, 1.0, backend=backend)
    assert out.dtype == dtype
    torch.testing.assert_close(out.float(), reference.render_skeleton(joints, BONES17, size, 1.0),
                               atol=1e-2, rtol=1e-2)
    heat, depth_maps = kernels.render_heatmaps(joints.to(dtype), torch.ones(2, 17, dtype=dtype), size, 1.0,
                                               backend=backend)
    assert heat.dtype == depth_maps.dtype == dtype


def test_triton_takes_half_inputs():
    size = (9, 11)
    joints = poses2d(1, 17, size).round()
    out = kernels.render_skeleton(joints.half(), BONES17, size, 1.0, backend="triton")
    assert out.dtype == torch.float16
    torch.testing.assert_close(out.float(), reference.render_skeleton(joints, BONES17, size, 1.0),
                               atol=1e-2, rtol=1e-2)


def test_culling_flushes_only_negligible_values():
    size = (40, 48)
    joints = poses2d(3, 17, size, seed=3)
    gamma = 2.0
    want = reference.render_skeleton(joints, BONES17, size, gamma)
    got = kernels.render_skeleton(joints, BONES17, size, gamma, backend="cpu")
    flushed = (got == 0) & (want > 0)
    assert flushed.any()                                       # the cull radius is in effect ...
    assert want[flushed].max() <= torch.exp(torch.tensor(-CUTOFF)) * 1.01   # ... and drops only tiny values
    d2 = reference.segment_distance2(joints, BONES17, size).amin(1)
    assert (got[d2 <= cull_radius(gamma) ** 2] > 0).all()


def test_cpu_backward_is_deterministic():
    size = (32, 32)
    joints = poses2d(4, 17, size).requires_grad_()
    cot = torch.randn(4, *size)
    first = grads(kernels.render_skeleton(joints, BONES17, size, 1.0, backend="cpu"), joints, cot)[0]
    second = grads(kernels.render_skeleton(joints, BONES17, size, 1.0, backend="cpu"), joints, cot)[0]
    assert torch.equal(first, second)


def test_auto_picks_the_cpu_path_on_cpu_tensors():
    size = (10, 12)
    joints = poses2d(1, 17, size)
    torch.testing.assert_close(kernels.render_skeleton(joints, BONES17, size, 1.0),
                               kernels.render_skeleton(joints, BONES17, size, 1.0, backend="cpu"), atol=0, rtol=0)


def test_bad_input_raises_clear_errors(monkeypatch):
    joints = poses2d(1, 17, (8, 8))
    with pytest.raises(ValueError, match="unknown kernel backend"):
        kernels.render_skeleton(joints, BONES17, (8, 8), 1.0, backend="gpu")
    with pytest.raises(ValueError, match="unknown mode"):
        kernels.render_skeleton(joints, BONES17, (8, 8), 1.0, mode="sum")
    with pytest.raises(ValueError, match=r"joints2d must have shape \[\*, \*, 2\]"):
        kernels.render_skeleton(joints[0], BONES17, (8, 8), 1.0)
    with pytest.raises(ValueError, match="bones index joints outside"):
        kernels.render_skeleton(joints[:, :10], BONES17, (8, 8), 1.0)
    with pytest.raises(ValueError, match="bones must be torch.long"):
        kernels.render_skeleton(joints, BONES17.int(), (8, 8), 1.0)
    with pytest.raises(ValueError, match="gamma must be positive"):
        kernels.render_skeleton(joints, BONES17, (8, 8), 0.0)
    with pytest.raises(ValueError, match="size must be"):
        kernels.render_skeleton(joints, BONES17, (8, 0), 1.0)
    with pytest.raises(ValueError, match=r"rotations must have shape \[1, \*, 3, 3\]"):
        kernels.rotate_project(poses3d(1, 17), rotations(2, 1))
    with pytest.raises(ValueError, match=r"depths must have shape \[1, 17\]"):
        kernels.render_heatmaps(joints, torch.ones(1, 16), (8, 8), 1.0)
    monkeypatch.delenv("TRITON_INTERPRET")
    with pytest.raises(ValueError, match="the triton backend needs CUDA"):
        kernels.rotate_project(poses3d(1, 17), rotations(1, 1), backend="triton")
