"""realtime3d.kernels: every backend against the PyTorch reference, forward and backward.

Triton runs in its interpreter on the CPU (TRITON_INTERPRET=1, set before triton is
imported, unless it is set already), so the Triton cases use tiny images: a few seconds
each. With TRITON_INTERPRET=0 on a CUDA machine the same cases run the compiled kernels
on CUDA tensors (benchmarks/gpu_check.sh); the reference always runs on the CPU.
"""
import os

os.environ.setdefault("TRITON_INTERPRET", "1")

import pytest  # noqa: E402
import torch  # noqa: E402

from realtime3d import camera, kernels  # noqa: E402
from realtime3d.kernels import reference  # noqa: E402
from realtime3d.kernels.tiling import CUTOFF, TRITON_TILE, cull_radius  # noqa: E402
from realtime3d.skeleton import H36M17  # noqa: E402

try:
    import triton  # noqa: E402
    import triton.language as tl  # noqa: E402

    from realtime3d.kernels import triton_render  # noqa: E402
    from realtime3d.kernels.triton_render import pixel_offset, slot_offset  # noqa: E402
except ImportError:                       # triton is Linux-only: its cases skip
    triton = None

INTERPRET = os.environ.get("TRITON_INTERPRET") == "1"
CUDA = torch.cuda.is_available()
#: Where the Triton cases run: compiled on CUDA when the interpreter is off, else interpreted on the CPU.
TRITON_DEVICE = "cuda" if CUDA and not INTERPRET else "cpu"
needs_triton = pytest.mark.skipif(triton is None or not (INTERPRET or CUDA),
                                  reason="Triton needs the triton package and CUDA, or TRITON_INTERPRET=1")


def needs_cuda(test):
    """A test of the gpu tier: it runs on a CUDA device only."""
    skip = pytest.mark.skipif(not CUDA, reason="no CUDA device here (benchmarks/gpu_check.sh runs these on a GPU)")
    return pytest.mark.gpu(skip(test))


BACKENDS = ("cpu", pytest.param("triton", marks=needs_triton))
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


def device_of(backend: str) -> str:
    return TRITON_DEVICE if backend == "triton" else "cpu"


def leaf(t: torch.Tensor, backend: str) -> torch.Tensor:
    """A copy of t on the backend's device that collects its own gradient."""
    return t.detach().to(device_of(backend)).requires_grad_()


def grads(outputs, inputs, cotangents):
    if isinstance(outputs, torch.Tensor):
        outputs, cotangents = [outputs], [cotangents]
    cotangents = [c.to(o.device) for o, c in zip(outputs, cotangents)]
    return torch.autograd.grad(outputs, inputs, cotangents)


def assert_same(backend_out, reference_out, tol=TOL):
    for got, want in zip(backend_out, reference_out):
        got = got.cpu()
        assert torch.isfinite(got).all()
        torch.testing.assert_close(got, want, **tol)


def assert_same_grads(backend_grads, reference_grads):
    """Gradients are float32 sums over many pixels: the tolerance scales with the largest entry."""
    for got, want in zip(backend_grads, reference_grads):
        got = got.cpu()
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
    mine = leaf(joints, backend)
    want = reference.render_skeleton(joints, bones, size, gamma=0.7, mode=mode)
    got = kernels.render_skeleton(mine, bones.to(mine.device), size, gamma=0.7, mode=mode, backend=backend)
    assert got.shape == want.shape == ((b, *size) if mode == "max" else (b, len(bones), *size))
    assert_same([got], [want])
    cot = torch.randn_like(want)
    assert_same_grads(grads(got, mine, cot), grads(want, joints, cot))


@pytest.mark.parametrize("backend", BACKENDS)
def test_render_heatmaps_matches_reference(backend):
    size = (19, 22)
    joints = poses2d(2, 17, size).requires_grad_()
    depths = torch.rand(2, 17).add(9.5).requires_grad_()
    mine = [leaf(joints, backend), leaf(depths, backend)]
    want = reference.render_heatmaps(joints, depths, size, sigma=1.5)
    got = kernels.render_heatmaps(*mine, size, sigma=1.5, backend=backend)
    assert got[0].shape == got[1].shape == (2, 17, *size)
    assert_same(got, want)
    cots = [torch.randn_like(t) for t in want]
    assert_same_grads(grads(got, mine, cots), grads(want, [joints, depths], cots))


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
    mine = [leaf(joints, backend), leaf(rots, backend)]
    want = reference.rotate_project(joints, rots, depth=10.0, min_z=1.0)
    got = kernels.rotate_project(*mine, depth=10.0, min_z=1.0, backend=backend)
    assert got.shape == (2, 3, 17, 2)
    assert_same([got], [want])
    for v in range(3):   # the camera model's convention, one view at a time
        torch.testing.assert_close(got[:, v].cpu(), camera.rotate_project(joints, rots[:, v], 10.0, 1.0), **TOL)
    rotated_z = camera.rotate_about_depth(joints, rots[:, 0], 10.0)[0, :4, 2]
    assert (rotated_z < 1.0).sum() >= 2          # the clamp is exercised
    cot = torch.randn_like(want)
    g_got, g_want = grads(got, mine, cot), grads(want, [joints, rots], cot)
    assert_same_grads(g_got, g_want)


@pytest.mark.parametrize("backend", BACKENDS)
def test_render_views_matches_reference(backend):
    size = (20, 26)
    joints, rots = behind_the_camera()
    joints.requires_grad_()
    rots.requires_grad_()
    mine = [leaf(joints, backend), leaf(rots, backend)]
    args = dict(size=size, gamma=0.8, depth=10.0, scale=30.0, center=(13.0, 10.0))
    want = reference.render_views(joints, rots, BONES17, **args)
    got = kernels.render_views(*mine, BONES17.to(mine[0].device), **args, backend=backend)
    assert got.shape == (2, 3, *size)
    assert_same([got], [want])
    assert want.amax() > 0.9                      # the skeletons are in the picture
    cot = torch.randn_like(want)
    assert_same_grads(grads(got, mine, cot), grads(want, [joints, rots], cot))


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


@pytest.mark.parametrize("backend", ("reference", *BACKENDS))
def test_zero_length_bones_and_degenerate_poses_stay_finite(backend):
    size = (12, 10)
    joints = torch.full((1, 17, 2), 5.0, requires_grad=True)        # every bone has zero length
    mine = leaf(joints, backend)
    out = kernels.render_skeleton(mine, BONES17.to(mine.device), size, 1.0, backend=backend)
    (grad,) = torch.autograd.grad(out, mine, torch.randn_like(out))
    assert torch.isfinite(out).all() and torch.isfinite(grad).all()
    assert out[0, 5, 5] == 1.0
    # all joints coincide: the image is the Gaussian of one point
    torch.testing.assert_close(out.detach().cpu(),
                               reference.render_heatmaps(joints, joints[..., 0], size, 0.5 ** 0.5)[0][:, 0].detach(),
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


@needs_triton
def test_triton_takes_half_inputs():
    size = (9, 11)
    joints = poses2d(1, 17, size).round()
    out = kernels.render_skeleton(joints.half().to(TRITON_DEVICE), BONES17.to(TRITON_DEVICE), size, 1.0,
                                  backend="triton")
    assert out.dtype == torch.float16
    torch.testing.assert_close(out.float().cpu(), reference.render_skeleton(joints, BONES17, size, 1.0),
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


# ---------------------------------------------------------------- safe on a real GPU

def strided_bones(bones: torch.Tensor, device: str) -> list[torch.Tensor]:
    """The same [K, 2] bones as views that are not contiguous: stride (4, 1) and transposed (1, K)."""
    wide = torch.zeros(len(bones), 4, dtype=torch.long, device=device)     # made there: .to() would compact it
    wide[:, :2] = bones
    return [wide[:, :2], bones.to(device).t().contiguous().t()]


@pytest.mark.parametrize("backend", BACKENDS)
def test_non_contiguous_inputs_match_reference(backend):
    size = (13, 18)
    dev = device_of(backend)
    joints = poses2d(2, 17, size)
    wide_joints = torch.zeros(2, 17, 5)
    wide_joints[..., 1:5:2] = joints                                  # [2, 17, 2] with stride (85, 5, 2)
    joints3d, rots = behind_the_camera()
    for bones in strided_bones(BONES17, dev):
        assert not bones.is_contiguous()
        for mode in ("max", "per_bone"):
            got = kernels.render_skeleton(wide_joints.to(dev)[..., 1:5:2], bones, size, 0.9, mode, backend=backend)
            assert_same([got], [reference.render_skeleton(joints, BONES17, size, 0.9, mode)])
        args = dict(size=size, gamma=0.8, depth=10.0, scale=20.0, center=(9.0, 6.0))
        got = kernels.render_views(joints3d.to(dev), rots.to(dev).transpose(-1, -2).contiguous().transpose(-1, -2),
                                   bones, **args, backend=backend)
        assert_same([got], [reference.render_views(joints3d, rots, BONES17, **args)])


if triton is not None:
    @triton.jit
    def _offsets_probe(pix_ptr, slot_ptr, img, H, W, n_tiles, K, BH: tl.constexpr, BW: tl.constexpr):
        """The kernels' own offset helpers on the last BH x BW pixels of image img (never allocated)."""
        ys = H - BH + tl.arange(0, BH)[:, None]
        xs = W - BW + tl.arange(0, BW)[None, :]
        cell = tl.arange(0, BH)[:, None] * BW + tl.arange(0, BW)[None, :]
        tl.store(pix_ptr + cell, pixel_offset(img, ys, xs, H, W))
        tl.store(slot_ptr, slot_offset(img, n_tiles - 1, n_tiles, K, K - 1, 6))


@needs_triton
def test_pixel_offsets_are_int64_past_2_31_elements():
    # per_bone at B=1024, K=16, 512x512: [16384, 512, 512] is 2^32 elements; the last image's
    # offsets pass 2^31, where int32 arithmetic wraps (the interpreter wraps as the GPU does)
    images, h, w, bh, bw = 1024 * 16, 512, 512, 4, 8
    img = images - 1
    pix = torch.zeros(bh, bw, dtype=torch.int64, device=TRITON_DEVICE)
    slot = torch.zeros(1, dtype=torch.int64, device=TRITON_DEVICE)
    tiles, k = 2**16, 16                                          # [2^14, 2^16, 16, 6] partials: 2^35 slots
    _offsets_probe[(1,)](pix, slot, img, h, w, tiles, k, BH=bh, BW=bw)
    ys = torch.arange(h - bh, h, dtype=torch.int64)[:, None]
    xs = torch.arange(w - bw, w, dtype=torch.int64)[None, :]
    want = (img * h + ys) * w + xs
    assert want.max() == images * h * w - 1 > 2**31
    assert torch.equal(pix.cpu(), want)
    assert slot.item() == ((img * tiles + tiles - 1) * k + k - 1) * 6


#: CUDA's grid limits per axis (x, y, z).
CUDA_GRID_LIMITS = (2**31 - 1, 65535, 65535)


@pytest.mark.skipif(triton is None, reason="triton is not installed")
def test_launch_grid_fits_cuda_limits_at_any_image_size():
    assert triton_render._tiles((4100, 4100))[2] > CUDA_GRID_LIMITS[1]    # too many tiles for grid axis 1
    for images, size in [(1, (5, 7)), (3, (21, 27)), (16384, (512, 512)), (2, (4100, 4100)), (1, (16, 2**22))]:
        h, w, tiles, ntx = triton_render._tiles(size)
        bh, bw = TRITON_TILE
        assert (h, w) == size and ntx * bw >= w and tiles // ntx * bh >= h and tiles % ntx == 0
        grid = triton_render._grid(images, tiles)
        assert len(grid) <= 3 and all(0 < n <= limit for n, limit in zip(grid, CUDA_GRID_LIMITS))
        assert grid[0] == images * tiles                           # one program per (image, tile)
    with pytest.raises(ValueError, match=r"need 4294967296 Triton programs, more than CUDA's 2147483647"):
        triton_render._grid(2**16, 2**16)


def test_every_tensor_argument_must_share_a_device():
    # meta tensors stand in for a second device here (a CUDA case follows, on a GPU)
    joints = poses2d(1, 17, (8, 8))
    meta = BONES17.to("meta")
    with pytest.raises(ValueError, match="^bones is on meta but joints2d is on cpu: put every tensor argument"):
        kernels.render_skeleton(joints, meta, (8, 8), 1.0, backend="reference")
    with pytest.raises(ValueError, match="^depths is on meta but joints2d is on cpu"):
        kernels.render_heatmaps(joints, torch.ones(1, 17, device="meta"), (8, 8), 1.0)
    with pytest.raises(ValueError, match="^rotations is on meta but joints3d is on cpu"):
        kernels.rotate_project(poses3d(1, 17), rotations(1, 2).to("meta"), backend="cpu")
    with pytest.raises(ValueError, match="^bones is on meta but joints3d is on cpu"):
        kernels.render_views(poses3d(1, 17), rotations(1, 2), meta, (8, 8), 1.0, backend="triton")


@needs_cuda
def test_cpu_bones_with_cuda_joints_are_refused():
    joints = poses2d(1, 17, (8, 8)).cuda()
    for backend in kernels.BACKENDS:
        with pytest.raises(ValueError, match="^bones is on cpu but joints2d is on cuda:0"):
            kernels.render_skeleton(joints, BONES17, (8, 8), 1.0, backend=backend)


def test_dispatch_without_triton(monkeypatch):
    cuda, cpu = torch.device("cuda", 0), torch.device("cpu")
    monkeypatch.setattr(kernels, "_triton_available", lambda: True)
    assert kernels._resolve("auto", cuda) == "triton" and kernels._resolve("auto", cpu) == "cpu"
    monkeypatch.setattr(kernels, "_triton_available", lambda: False)
    with pytest.warns(RuntimeWarning, match="triton is not installed, so backend='auto' runs the PyTorch reference"):
        assert kernels._resolve("auto", cuda) == "reference"
    assert kernels._resolve("auto", cpu) == "cpu"
    with pytest.raises(ValueError, match="^backend='triton' needs the triton package, which is not installed"):
        kernels.render_skeleton(poses2d(1, 17, (8, 8)), BONES17, (8, 8), 1.0, backend="triton")


@needs_cuda
@pytest.mark.skipif(triton is None, reason="triton is not installed")
def test_auto_picks_triton_on_cuda_and_matches_reference(monkeypatch):
    loaded = []
    original = kernels._triton_module
    monkeypatch.setattr(kernels, "_triton_module", lambda name: loaded.append(name) or original(name))
    size = (20, 26)
    joints3d, rots = behind_the_camera()
    joints2d, depths = poses2d(2, 17, size), torch.rand(2, 17) + 9.5
    args = dict(size=size, gamma=0.8, depth=10.0, scale=30.0, center=(13.0, 10.0))
    cuda = [t.cuda() for t in (joints3d, rots, joints2d, depths, BONES17)]
    x3, r, x2, d, bones = cuda
    assert_same([kernels.render_skeleton(x2, bones, size, 0.7)],
                [reference.render_skeleton(joints2d, BONES17, size, 0.7)])
    assert_same([kernels.render_skeleton(x2, bones, size, 0.7, "per_bone")],
                [reference.render_skeleton(joints2d, BONES17, size, 0.7, "per_bone")])
    assert_same(kernels.render_heatmaps(x2, d, size, 1.5), reference.render_heatmaps(joints2d, depths, size, 1.5))
    assert_same([kernels.rotate_project(x3, r)], [reference.rotate_project(joints3d, rots)])
    assert_same([kernels.render_views(x3, r, bones, **args)], [reference.render_views(joints3d, rots, BONES17, **args)])
    assert loaded == ["render", "render", "render", "project", "render"]       # every op went to Triton
    monkeypatch.setattr(kernels, "_triton_available", lambda: False)             # and without triton, the reference
    with pytest.warns(RuntimeWarning, match="runs the PyTorch reference on CUDA"):
        out = kernels.render_skeleton(x2, bones, size, 0.7)
    assert_same([out], [reference.render_skeleton(joints2d, BONES17, size, 0.7)])
    assert len(loaded) == 5
