"""Triton rotate_project: P = R (X - T) + T, T = (0, 0, depth); (P_x, P_y) / max(P_z, min_z).

Forward: one program per (pose, view) over all J joints. Backward: one program per pose,
looping over its views, so the joint gradient sums over views in registers (no atomics,
deterministic) and each view's rotation gradient is a reduction over joints.
Loads upcast to float32; outputs float32 (the public op casts back to the input dtype).
"""
from __future__ import annotations

import torch
import triton
import triton.language as tl


@triton.jit
def load_rotation(rot_ptr, bv):
    """The 9 entries of rotation [bv] (row-major), as float32 scalars."""
    base = rot_ptr + bv * 9
    return (tl.load(base + 0).to(tl.float32), tl.load(base + 1).to(tl.float32), tl.load(base + 2).to(tl.float32),
            tl.load(base + 3).to(tl.float32), tl.load(base + 4).to(tl.float32), tl.load(base + 5).to(tl.float32),
            tl.load(base + 6).to(tl.float32), tl.load(base + 7).to(tl.float32), tl.load(base + 8).to(tl.float32))


@triton.jit
def rotate(qx, qy, qz, r00, r01, r02, r10, r11, r12, r20, r21, r22, depth):
    """P = R q + T for q = X - T."""
    return (r00 * qx + r01 * qy + r02 * qz, r10 * qx + r11 * qy + r12 * qz,
            r20 * qx + r21 * qy + r22 * qz + depth)


@triton.jit
def projection_grad(gu, gv, px, py, pz, min_z):
    """d loss / dP from d loss / d(P_x / z, P_y / z), z = max(P_z, min_z) (no gradient when clamped)."""
    z = tl.maximum(pz, min_z)
    gpz = tl.where(pz >= min_z, -(gu * px + gv * py) / (z * z), 0.0)
    return gu / z, gv / z, gpz


@triton.jit
def _rotate_project_fwd(x_ptr, rot_ptr, out_ptr, J, V, depth, min_z, BLOCK_J: tl.constexpr):
    bv = tl.program_id(0)
    b = bv // V
    j = tl.arange(0, BLOCK_J)
    m = j < J
    qx = tl.load(x_ptr + (b * J + j) * 3 + 0, mask=m, other=0.0).to(tl.float32)
    qy = tl.load(x_ptr + (b * J + j) * 3 + 1, mask=m, other=0.0).to(tl.float32)
    qz = tl.load(x_ptr + (b * J + j) * 3 + 2, mask=m, other=0.0).to(tl.float32) - depth
    r00, r01, r02, r10, r11, r12, r20, r21, r22 = load_rotation(rot_ptr, bv)
    px, py, pz = rotate(qx, qy, qz, r00, r01, r02, r10, r11, r12, r20, r21, r22, depth)
    z = tl.maximum(pz, min_z)
    tl.store(out_ptr + (bv * J + j) * 2 + 0, px / z, mask=m)
    tl.store(out_ptr + (bv * J + j) * 2 + 1, py / z, mask=m)


@triton.jit
def _rotate_project_bwd(x_ptr, rot_ptr, grad_ptr, grad_x_ptr, grad_rot_ptr, J, V, depth, min_z,
                        BLOCK_J: tl.constexpr):
    b = tl.program_id(0)
    j = tl.arange(0, BLOCK_J)
    m = j < J
    qx = tl.load(x_ptr + (b * J + j) * 3 + 0, mask=m, other=0.0).to(tl.float32)
    qy = tl.load(x_ptr + (b * J + j) * 3 + 1, mask=m, other=0.0).to(tl.float32)
    qz = tl.load(x_ptr + (b * J + j) * 3 + 2, mask=m, other=0.0).to(tl.float32) - depth
    gx = tl.zeros([BLOCK_J], tl.float32)
    gy = tl.zeros([BLOCK_J], tl.float32)
    gz = tl.zeros([BLOCK_J], tl.float32)
    for v in range(0, V):
        bv = b * V + v
        r00, r01, r02, r10, r11, r12, r20, r21, r22 = load_rotation(rot_ptr, bv)
        px, py, pz = rotate(qx, qy, qz, r00, r01, r02, r10, r11, r12, r20, r21, r22, depth)
        gu = tl.load(grad_ptr + (bv * J + j) * 2 + 0, mask=m, other=0.0).to(tl.float32)
        gv = tl.load(grad_ptr + (bv * J + j) * 2 + 1, mask=m, other=0.0).to(tl.float32)
        gpx, gpy, gpz = projection_grad(gu, gv, px, py, pz, min_z)
        base = grad_rot_ptr + bv * 9
        tl.store(base + 0, tl.sum(gpx * qx))
        tl.store(base + 1, tl.sum(gpx * qy))
        tl.store(base + 2, tl.sum(gpx * qz))
        tl.store(base + 3, tl.sum(gpy * qx))
        tl.store(base + 4, tl.sum(gpy * qy))
        tl.store(base + 5, tl.sum(gpy * qz))
        tl.store(base + 6, tl.sum(gpz * qx))
        tl.store(base + 7, tl.sum(gpz * qy))
        tl.store(base + 8, tl.sum(gpz * qz))
        gx += r00 * gpx + r10 * gpy + r20 * gpz
        gy += r01 * gpx + r11 * gpy + r21 * gpz
        gz += r02 * gpx + r12 * gpy + r22 * gpz
    tl.store(grad_x_ptr + (b * J + j) * 3 + 0, gx, mask=m)
    tl.store(grad_x_ptr + (b * J + j) * 3 + 1, gy, mask=m)
    tl.store(grad_x_ptr + (b * J + j) * 3 + 2, gz, mask=m)


class RotateProject(torch.autograd.Function):
    """joints3d [B, J, 3], rotations [B, V, 3, 3] -> [B, V, J, 2] float32."""

    @staticmethod
    def forward(ctx, joints3d, rotations, depth, min_z):
        joints3d, rotations = joints3d.contiguous(), rotations.contiguous()
        b, j = joints3d.shape[:2]
        v = rotations.shape[1]
        out = torch.empty(b, v, j, 2, dtype=torch.float32, device=joints3d.device)
        block = triton.next_power_of_2(j)
        _rotate_project_fwd[(b * v,)](joints3d, rotations, out, j, v, float(depth), float(min_z), BLOCK_J=block)
        ctx.save_for_backward(joints3d, rotations)
        ctx.depth, ctx.min_z = float(depth), float(min_z)
        return out

    @staticmethod
    def backward(ctx, grad_out):
        joints3d, rotations = ctx.saved_tensors
        b, j = joints3d.shape[:2]
        v = rotations.shape[1]
        grad_x = torch.empty(b, j, 3, dtype=torch.float32, device=joints3d.device)
        grad_rot = torch.empty(b, v, 3, 3, dtype=torch.float32, device=joints3d.device)
        _rotate_project_bwd[(b,)](joints3d, rotations, grad_out.contiguous(), grad_x, grad_rot, j, v,
                                  ctx.depth, ctx.min_z, BLOCK_J=triton.next_power_of_2(j))
        return grad_x.to(joints3d.dtype), grad_rot.to(rotations.dtype), None, None


def rotate_project(joints3d, rotations, depth=10.0, min_z=1.0):
    return RotateProject.apply(joints3d, rotations, depth, min_z).to(joints3d.dtype)
