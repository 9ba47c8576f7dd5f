"""Pose metrics, as the seeds define them: MPJPE, P-MPJPE, PCK@150 mm, AUC over 0-150 mm.

All take predictions and ground truth [N, J, 3] in millimetres and return per-frame
values [N] (average them for a data set), so per-clip tables come for free.
- MPJPE: mean Euclidean joint error after aligning the roots (protocol 1).
- P-MPJPE: mean joint error after a similarity (Procrustes) alignment of the
  prediction to the ground truth: rotation, translation and scale (protocol 2).
- PCK@150: fraction of joints within 150 mm after the Procrustes alignment.
- AUC: mean PCK over the thresholds 0, 5, ..., 150 mm after the same alignment,
  as MPI-INF-3DHP reports it (the "with rigid alignment" case of the seeds).
"""
from __future__ import annotations

import numpy as np

AUC_THRESHOLDS_MM = np.linspace(0.0, 150.0, 31)


def _check(pred: np.ndarray, gt: np.ndarray) -> None:
    if pred.shape != gt.shape or pred.ndim != 3 or pred.shape[-1] != 3:
        raise ValueError(f"pred and gt must both be [N, J, 3], got {pred.shape} and {gt.shape}")


def procrustes_align(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """Similarity-align each pred [N, J, 3] to gt [N, J, 3] (Umeyama); returns aligned pred."""
    _check(pred, gt)
    pred = pred.astype(np.float64)
    gt = gt.astype(np.float64)
    mu_p, mu_g = pred.mean(1, keepdims=True), gt.mean(1, keepdims=True)
    p, g = pred - mu_p, gt - mu_g
    cov = np.einsum("nji,njk->nik", g, p)                     # [N, 3, 3] = G^T P
    u, s, vt = np.linalg.svd(cov)
    d = np.sign(np.linalg.det(u @ vt))                        # no reflections
    s = s.copy()
    s[:, 2] *= d
    u = u.copy()
    u[:, :, 2] *= d[:, None]
    rot = u @ vt                                              # maps p -> g
    var_p = (p ** 2).sum(axis=(1, 2))
    scale = s.sum(1) / np.maximum(var_p, 1e-12)
    return scale[:, None, None] * np.einsum("nik,njk->nji", rot, p) + mu_g


def joint_errors(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    _check(pred, gt)
    return np.linalg.norm(pred - gt, axis=-1)


def mpjpe(pred: np.ndarray, gt: np.ndarray, root: int = 0) -> np.ndarray:
    """Root-aligned MPJPE per frame [N]."""
    _check(pred, gt)
    return joint_errors(pred - pred[:, root:root + 1], gt - gt[:, root:root + 1]).mean(-1)


def p_mpjpe(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """Procrustes-aligned MPJPE per frame [N]."""
    return joint_errors(procrustes_align(pred, gt), gt).mean(-1)


def pck(pred: np.ndarray, gt: np.ndarray, threshold_mm: float = 150.0) -> np.ndarray:
    """Fraction of joints within threshold after Procrustes alignment, per frame [N]."""
    return (joint_errors(procrustes_align(pred, gt), gt) <= threshold_mm).mean(-1)


def auc(pred: np.ndarray, gt: np.ndarray, thresholds_mm: np.ndarray = AUC_THRESHOLDS_MM) -> np.ndarray:
    """Mean PCK over thresholds 0..150 mm after Procrustes alignment, per frame [N]."""
    err = joint_errors(procrustes_align(pred, gt), gt)                  # [N, J]
    return (err[None] <= thresholds_mm[:, None, None]).mean(-1).mean(0)


def all_metrics(pred: np.ndarray, gt: np.ndarray, root: int = 0) -> dict[str, np.ndarray]:
    """Per-frame metrics {'mpjpe_mm', 'p_mpjpe_mm', 'pck150', 'auc'}, sharing one alignment."""
    aligned = procrustes_align(pred, gt)
    err = joint_errors(aligned, gt)
    return {
        "mpjpe_mm": mpjpe(pred, gt, root),
        "p_mpjpe_mm": err.mean(-1),
        "pck150": (err <= 150.0).mean(-1),
        "auc": (err[None] <= AUC_THRESHOLDS_MM[:, None, None]).mean(-1).mean(0),
    }
