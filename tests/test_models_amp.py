"""The lifter under bf16 autocast (train.amp): its depth head runs in float32.

In bf16, z = relu(d + o) + 1 lies on a grid of 1/16 body units at z ~ 11 (38 mm); the
network may run in bf16, but the depth head must not. CPU autocast with bfloat16 stands
in for CUDA's here (same autocast machinery, no GPU needed).
"""
import torch

from realtime3d.models.lifter import LiftingNetwork

BF16_STEP_AT_11 = 8 * torch.finfo(torch.bfloat16).eps          # 2^3 * 2^-7 = 1/16 body unit


def lifter_and_poses():
    """A small lifter with non-zero depth offsets (the shipped init has none), 2D poses [256, 17, 2], a mask."""
    torch.manual_seed(0)
    net = LiftingNetwork(width=64, blocks=1).eval()
    with torch.no_grad():
        net.net[-1].weight.normal_(0, 0.05)
        net.net[-1].bias.normal_(0, 0.3)
    pose2d = 0.1 * torch.randn(256, 17, 2)
    mask = torch.rand(256, 17) > 0.2                             # some hidden joints: the 2D head too
    return net, pose2d, mask


def test_depth_head_is_float32_under_bf16_autocast():
    net, pose2d, mask = lifter_and_poses()
    with torch.no_grad():
        want = net(pose2d, mask)                                 # [256, 17, 3] float32
        with torch.autocast("cpu", dtype=torch.bfloat16):
            got = net(pose2d, mask)
    assert got.dtype == torch.float32
    z, z_want = got[..., 2], want[..., 2]
    assert 10.0 < z_want.min() and z_want.max() < 13.0             # depths about d + 1 = 11
    err = (z - z_want).abs()
    bf16_err = (z_want - z_want.bfloat16().float()).abs()        # what a bf16 head costs at best: rounding
    assert bf16_err.mean() > BF16_STEP_AT_11 / 8                  # (about a quarter step on average)
    # what is left is the bf16 matrix products' error in the offsets, far below the bf16 grid
    assert err.max() < BF16_STEP_AT_11 / 4
    assert err.mean() < bf16_err.mean() / 10
    torch.testing.assert_close(got, want, atol=1e-2, rtol=0)


def test_outside_autocast_the_head_keeps_the_input_dtype():
    net, pose2d, mask = lifter_and_poses()
    with torch.no_grad():
        out64 = net.double()(pose2d.double(), mask)
    assert out64.dtype == torch.float64
