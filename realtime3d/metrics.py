"""Pose metrics: MPJPE, P-MPJPE, and PCK / AUC in two forms, each labelled by its alignment.

All take predictions and ground truth [N, J, 3] in millimetres and return per-frame
values [N] (average them for a data set), so per-clip tables come for free. Every
joint counts, the root included; a joint is "correct" when its error is <= the threshold.
- MPJPE (`mpjpe_mm`): mean Euclidean joint error after subtracting the root (pelvis,
  joint 0) from both, no other alignment (Human3.6M protocol 1).
- P-MPJPE (`p_mpjpe_mm`): mean joint error after a similarity (Procrustes) alignment
  of the prediction to the ground truth: rotation, translation and scale (protocol 2).
- PCK@150 (`pck150`): fraction of joints within 150 mm, root-relative: the root is
  subtracted from both, no rotation, no scale. MPI-INF-3DHP's standard form.
- AUC (`auc`): mean root-relative PCK over the 31 thresholds 0, 5, ..., 150 mm, as
  MPI-INF-3DHP reports it.
- PA-PCK@150 (`pa_pck150`) and PA-AUC (`pa_auc`): the same after the Procrustes
  alignment of P-MPJPE instead (the "with rigid alignment" variant), so they forgive
  a wrong global rotation and scale that the root-relative ones count.
One 2D metric, for the image path's detectors: PCK in 2D (`pck_torso`), the fraction of joints
within PCK_TORSO of the reference pose's torso height (its pelvis-thorax distance) in pixels.
A lifter's output has no absolute scale of its own: lifting.to_metric scales it to the mean
adult's skeleton (anthropometry.BONE_SUM_MM, from published body proportions, not from the
mocap), so a body larger or smaller than that costs root-relative PCK/AUC and MPJPE, but not
the PA variants or P-MPJPE.
"""
from __future__ import annotations

import numpy as np

from .skeleton import H36M17

#: The root joint subtracted by the root-relative metrics: the pelvis (H36M17.root).
ROOT = 0
#: The PCK threshold of MPI-INF-3DHP.
PCK_THRESHOLD_MM = 150.0
#: The 2D PCK threshold, a fraction of the reference pose's torso height (pelvis to thorax).
PCK_TORSO = 0.2
#: The torso's top for pck_torso.
THORAX = H36M17.index["thorax"]
#: The AUC thresholds of MPI-INF-3DHP: 0, 5, ..., 150 mm.
AUC_THRESHOLDS_MM = np.linspace(0.0, 150.0, 31)
#: The keys of all_metrics, in table order.
METRIC_KEYS = ("p_mpjpe_mm", "mpjpe_mm", "pck150", "auc", "pa_pck150", "pa_auc")


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


def root_relative_errors(pred: np.ndarray, gt: np.ndarray, root: int = ROOT) -> np.ndarray:
    """Per-joint errors [N, J] after subtracting the root joint from both, nothing else."""
    _check(pred, gt)
    pred = pred.astype(np.float64)
    gt = gt.astype(np.float64)
    return joint_errors(pred - pred[:, root:root + 1], gt - gt[:, root:root + 1])


def procrustes_errors(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """Per-joint errors [N, J] after the similarity alignment of procrustes_align."""
    return joint_errors(procrustes_align(pred, gt), gt)


def _pck(err: np.ndarray, threshold_mm: float) -> np.ndarray:
    return (err <= threshold_mm).mean(-1)


def _auc(err: np.ndarray, thresholds_mm: np.ndarray) -> np.ndarray:
    return (err[None] <= np.asarray(thresholds_mm)[:, None, None]).mean(-1).mean(0)


def mpjpe(pred: np.ndarray, gt: np.ndarray, root: int = ROOT) -> np.ndarray:
    """Root-relative MPJPE per frame [N]."""
    _check(pred, gt)
    return joint_errors(pred - pred[:, root:root + 1], gt - gt[:, root:root + 1]).mean(-1)


def p_mpjpe(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """Procrustes-aligned MPJPE per frame [N]."""
    return procrustes_errors(pred, gt).mean(-1)


def pck(pred: np.ndarray, gt: np.ndarray, threshold_mm: float = PCK_THRESHOLD_MM, root: int = ROOT) -> np.ndarray:
    """Root-relative PCK per frame [N]: fraction of joints within threshold_mm, no rotation or scale."""
    return _pck(root_relative_errors(pred, gt, root), threshold_mm)


def auc(pred: np.ndarray, gt: np.ndarray, thresholds_mm: np.ndarray = AUC_THRESHOLDS_MM,
        root: int = ROOT) -> np.ndarray:
    """Root-relative AUC per frame [N]: mean root-relative PCK over thresholds 0..150 mm."""
    return _auc(root_relative_errors(pred, gt, root), thresholds_mm)


def pa_pck(pred: np.ndarray, gt: np.ndarray, threshold_mm: float = PCK_THRESHOLD_MM) -> np.ndarray:
    """Procrustes-aligned PCK per frame [N]: fraction of joints within threshold_mm after procrustes_align."""
    return _pck(procrustes_errors(pred, gt), threshold_mm)


def pa_auc(pred: np.ndarray, gt: np.ndarray, thresholds_mm: np.ndarray = AUC_THRESHOLDS_MM) -> np.ndarray:
    """Procrustes-aligned AUC per frame [N]: mean PA-PCK over thresholds 0..150 mm."""
    return _auc(procrustes_errors(pred, gt), thresholds_mm)


def all_metrics(pred: np.ndarray, gt: np.ndarray, root: int = ROOT) -> dict[str, np.ndarray]:
    """Per-frame metrics {METRIC_KEYS}: one root-relative and one Procrustes error per joint, shared."""
    rel = root_relative_errors(pred, gt, root)
    aligned = procrustes_errors(pred, gt)
    return {
        "p_mpjpe_mm": aligned.mean(-1),
        "mpjpe_mm": mpjpe(pred, gt, root),
        "pck150": _pck(rel, PCK_THRESHOLD_MM),
        "auc": _auc(rel, AUC_THRESHOLDS_MM),
        "pa_pck150": _pck(aligned, PCK_THRESHOLD_MM),
        "pa_auc": _auc(aligned, AUC_THRESHOLDS_MM),
    }


def pck_torso(pred, truth, fraction: float = PCK_TORSO) -> np.ndarray:
    """2D PCK per pose [N]: the share of joints of pred [N, J, 2] within fraction x the torso
    height (|thorax - pelvis| of truth [N, J, 2]) of truth's joint, in pixels. A joint that pred
    lacks (NaN) is a miss."""
    pred, truth = np.asarray(pred, dtype=np.float64), np.asarray(truth, dtype=np.float64)
    torso = np.linalg.norm(truth[:, THORAX] - truth[:, ROOT], axis=-1)                   # [N]
    dist = np.linalg.norm(pred - truth, axis=-1)                                        # [N, J]
    return np.where(np.isfinite(dist), dist <= fraction * torso[:, None], False).mean(-1)
