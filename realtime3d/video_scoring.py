"""A run of the app on a video, scored against the video's exact truth (io/video_truth.py).

    run, ground = read_run("out/clip/poses.npz")          # the app's people and floor estimate
    row = score_clip(read_truth("clip/truth.npz"), run, ground)
    table = aggregate([row, ...])                         # over clips, by person-frames

The rules, in order:

- Frames: each of the run's frames is the video frame round(time_s x fps) (offline.py's
  timestamps); a truth frame without a run frame has no prediction.
- Counted truth people: a truth person counts in a frame when at least MIN_VISIBLE_FRACTION of
  their silhouette is visible and at least MIN_VISIBLE_JOINTS of their 17 joints are
  (visible_fraction and visible of the truth). The others are still matched (a prediction of a
  half-hidden person is theirs, not an extra one) but neither counted nor scored.
- Matching, per frame: the run's people with a 3D pose against every truth person with a
  visible joint, by the Hungarian method on the cost = mean 2D distance (px) between the
  prediction's joints2d and the truth's over the truth's visible joints, divided by the truth's
  2D torso height (the hips' midpoint to the shoulders' midpoint in the image); a pair matches
  when its cost is at most MATCH_TORSO.
- found = matched counted person-frames / counted person-frames. extra_person_frames: the run's
  person-frames matched to nobody. id_switches (MOT-style): over each counted truth person's
  matched frames in order, the times the run's person id changes (frames without a match are
  skipped, so a gap alone is no switch).
- 3D, on the matched counted person-frames, per JOINT_SETS (the 13 joints every convention
  shares, and all 17): P-MPJPE (Procrustes with scale, per frame), MPJPE root-relative
  (pelvis-centred, no scale fix: the metric size counts), PCK@150 mm and AUC root-relative
  (metrics.all_metrics, which defines each).
- 2D error of the detector: joint distance / the truth's torso height, pooled over the visible
  joints of the matched counted person-frames, on the 12 limb joints and on all 17.
- Jitter: the acceleration error ||(x[t+1] - 2 x[t] + x[t-1]) - (the same of the truth)||, root-
  relative, mm / frame^2 at the clip's fps, mean over the joint set, over every three consecutive
  frames in which a counted truth person is matched to one and the same run person.
- Floor: the run's one floor estimate (poses.npz "ground", ground.GroundFrame) against each
  frame's true floor: the camera height error (estimate - truth, mm) and the angle between the
  estimated and the true up direction (degrees), means over the frames with a known floor.

aggregate() weighs each clip by what its figure averages: person-frames (counted for found,
matched for the 3D metrics), visible joints for the 2D error, frame triples for the jitter;
the floor errors are means over clips (absolute height error), and id switches are summed over
the clips with more than one counted person.
"""
from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path

import numpy as np
from scipy.optimize import linear_sum_assignment

from .errors import UserError
from .export import PoseRun
from .io.video_truth import VideoTruth
from .metrics import ROOT, all_metrics
from .skeleton import H36M17

#: A truth person counts in a frame with at least this share of their silhouette visible ...
MIN_VISIBLE_FRACTION = 0.5
#: ... and at least this many of their 17 joints visible.
MIN_VISIBLE_JOINTS = 8
#: A prediction matches a truth person when its mean 2D joint distance is at most this many of the
#: truth's 2D torso heights.
MATCH_TORSO = 0.5
#: The 12 limb joints: hips, knees, ankles, shoulders, elbows, wrists.
LIMBS12 = tuple(sorted(H36M17.index[f"{side}_{joint}"] for side in ("left", "right")
                       for joint in ("hip", "knee", "ankle", "shoulder", "elbow", "wrist")))
#: The joints every convention shares (the pelvis first: the root of the root-relative metrics), and all 17.
JOINT_SETS = {"joints13": (ROOT,) + LIMBS12, "joints17": tuple(range(H36M17.num_joints))}
#: The 2D error's joint sets.
JOINT_SETS_2D = {"limbs12": LIMBS12, "all17": tuple(range(H36M17.num_joints))}
#: The 3D metrics of each joint set (metrics.all_metrics' keys), and the jitter's.
METRICS_3D = ("p_mpjpe_mm", "mpjpe_mm", "pck150", "auc")
ACCEL = "accel_error_mm"
_HIPS = [H36M17.index["left_hip"], H36M17.index["right_hip"]]
_SHOULDERS = [H36M17.index["left_shoulder"], H36M17.index["right_shoulder"]]
_BIG = 1e6


def read_run(path: str | os.PathLike) -> tuple[PoseRun, dict | None]:
    """An app run's poses.npz (or the folder holding it) -> (its PoseRun: joints3d, the exported
    constant-bone poses, [N, P, 17, 3] mm camera coordinates; joints2d [N, P, 17, 2] px; ...) and
    its floor estimate (GroundFrame.as_dict(); None in a file without one).

    Raises:
        UserError: the file is missing or is no run's poses.npz.
    """
    path = Path(path)
    path = path / "poses.npz" if path.is_dir() else path
    try:
        with np.load(path, allow_pickle=False) as z:
            data = {k: z[k] for k in z.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise UserError(f"{path}: not a readable poses.npz ({exc.__class__.__name__})") from None
    needed = ("person_ids", "joints3d", "joints2d", "visibility", "timestamps", "image_size", "focal", "fps")
    missing = [k for k in needed if k not in data]
    if missing:
        raise UserError(f"{path}: not the poses.npz of a run: missing {', '.join(missing)}")
    run = PoseRun(data["person_ids"], data["joints3d"], data["joints2d"], data["visibility"], data["timestamps"],
                  tuple(int(v) for v in data["image_size"]), float(data["focal"]), float(data["fps"]),
                  str(data.get("source", path)))
    ground = json.loads(str(data["ground"])) if "ground" in data else None
    return run, ground


def torso_height_px(joints2d: np.ndarray) -> np.ndarray:
    """[..., 17, 2] px -> [...] px: the distance from the hips' midpoint to the shoulders' midpoint."""
    joints2d = np.asarray(joints2d, dtype=np.float64)
    return np.linalg.norm(joints2d[..., _SHOULDERS, :].mean(-2) - joints2d[..., _HIPS, :].mean(-2), axis=-1)


def counted(truth: VideoTruth) -> np.ndarray:
    """[N, P] bool: the truth person counts in the frame (MIN_VISIBLE_FRACTION, MIN_VISIBLE_JOINTS)."""
    return truth.present & (truth.visible_fraction >= MIN_VISIBLE_FRACTION) & \
        (truth.visible.sum(-1) >= MIN_VISIBLE_JOINTS)


def aligned(run: PoseRun, num_frames: int) -> tuple[np.ndarray, np.ndarray]:
    """The run's poses on the video's frames: (joints3d [F, Q, 17, 3] mm, joints2d [F, Q, 17, 2] px)
    for F = num_frames; NaN in the frames the run lacks (frame = round(time_s x fps))."""
    index = np.rint(np.asarray(run.timestamps) * run.fps).astype(np.int64)       # [N]
    keep = (index >= 0) & (index < num_frames)
    q = len(run.ids)
    j3 = np.full((num_frames, q, H36M17.num_joints, 3), np.nan, np.float32)
    j2 = np.full((num_frames, q, H36M17.num_joints, 2), np.nan, np.float32)
    j3[index[keep]], j2[index[keep]] = run.joints3d[keep], run.joints2d[keep]
    return j3, j2


def match_people(truth2d: np.ndarray, visible: np.ndarray, pred2d: np.ndarray, candidates: np.ndarray
                 ) -> np.ndarray:
    """Each frame's truth people matched to predicted people (see the module: MATCH_TORSO).

    Args:
        truth2d: [N, P, 17, 2] px, the truth's joints.
        visible: [N, P, 17] bool, the truth's visible joints (a person with none is not matched).
        pred2d: [N, Q, 17, 2] px, the predictions' joints (NaN: missing).
        candidates: [N, Q] bool, the predictions that may match (those with a pose).
    Returns:
        [N, P] int: the matched prediction's column, -1 for none.
    """
    n, p = visible.shape[:2]
    torso = torso_height_px(truth2d)                                               # [N, P]
    match = np.full((n, p), -1, np.int64)
    for i in range(n):
        t = np.nonzero(visible[i].any(-1) & (torso[i] > 0))[0]
        q = np.nonzero(candidates[i])[0]
        if not len(t) or not len(q):
            continue
        dist = np.linalg.norm(pred2d[i, q][None].astype(np.float64) - truth2d[i, t][:, None], axis=-1)  # [T, Q, 17]
        use = visible[i, t][:, None, :] & np.isfinite(dist)                        # [T, Q, 17]
        with np.errstate(invalid="ignore", divide="ignore"):
            cost = np.where(use, dist, 0).sum(-1) / use.sum(-1) / torso[i, t][:, None]   # [T, Q]
        cost = np.where(np.isfinite(cost) & (cost <= MATCH_TORSO), cost, _BIG)
        rows, cols = linear_sum_assignment(cost)
        ok = cost[rows, cols] <= MATCH_TORSO
        match[i, t[rows[ok]]] = q[cols[ok]]
    return match


def _means(values: dict[str, np.ndarray]) -> dict[str, float | None]:
    return {k: float(np.mean(v)) if len(v) else None for k, v in values.items()}


def _floor_errors(truth: VideoTruth, ground: dict | None) -> dict | None:
    """The run's floor against the truth's (module docstring), or None without either."""
    known = np.isfinite(truth.floor).all(-1)
    if ground is None or not known.any():
        return None
    up = np.asarray(ground["rotation_world_from_camera"], dtype=np.float64)[1]     # [3] camera coordinates
    normal, height = truth.floor[known, :3].astype(np.float64), truth.floor[known, 3].astype(np.float64)
    angle = np.degrees(np.arccos(np.clip(normal @ up, -1.0, 1.0)))                 # [F]
    return {"camera_height_mm": float(ground["camera_height_mm"]), "true_camera_height_mm": float(height.mean()),
            "camera_height_error_mm": float(np.mean(ground["camera_height_mm"] - height)),
            "up_error_deg": float(angle.mean())}


def score_clip(truth: VideoTruth, run: PoseRun, ground: dict | None = None) -> dict:
    """One run of one clip against its truth (the module's rules).

    Args:
        truth: the clip's VideoTruth.
        run: the app's run of the clip (read_run): joints3d [N, Q, 17, 3] mm camera coordinates,
            joints2d [N, Q, 17, 2] px, ids [Q].
        ground: the run's floor estimate (GroundFrame.as_dict()), or None (no floor scores).
    Returns:
        {"frames", "truth_people", "multi_person", "counted", "matched", "found",
        "extra_person_frames", "id_switches", "joints13": {metric: mean}, "joints17": {...}
        (METRICS_3D over the matched counted person-frames, ACCEL over "accel_samples" triples),
        "error2d_torso": {"limbs12", "all17"} over "visible_joints": {"limbs12", "all17"},
        "floor": {...} or None}; a mean over nothing is None.
    """
    if abs(run.fps - truth.fps) > 1e-3 * truth.fps:
        raise UserError(f"the run's video has {run.fps:g} fps, its truth {truth.fps:g}: not the same video")
    if tuple(run.image_size) != tuple(truth.image_size):
        raise UserError(f"the run's video is {run.image_size}, its truth {truth.image_size}: not the same video")
    n = truth.num_frames
    pred3d, pred2d = aligned(run, n)                                              # [N, Q, 17, 3], [N, Q, 17, 2]
    has_pose = np.isfinite(pred3d).all(axis=(2, 3))                               # [N, Q]
    match = match_people(truth.joints2d, truth.visible, pred2d, has_pose)         # [N, P]
    scored = counted(truth) & (match >= 0)                                        # [N, P] scored person-frames
    frame, person = np.nonzero(scored)
    col = match[frame, person]
    gt, pr = truth.joints3d[frame, person], pred3d[frame, col]                    # [M, 17, 3]
    counts = counted(truth)                                                       # [N, P]
    row = {"frames": n, "truth_people": truth.num_people, "multi_person": bool(counts.any(0).sum() >= 2),
           "counted": int(counts.sum()), "matched": int(scored.sum())}
    row["found"] = row["matched"] / row["counted"] if row["counted"] else None
    taken = np.zeros_like(has_pose)
    for i, k in zip(*np.nonzero(match >= 0)):
        taken[i, match[i, k]] = True
    row["extra_person_frames"] = int((has_pose & ~taken).sum())
    ids = np.where(scored, run.ids[np.maximum(match, 0)] if len(run.ids) else -1, -1)   # [N, P]
    row["id_switches"] = int(sum((np.diff(ids[scored[:, k], k]) != 0).sum() for k in range(truth.num_people)))

    # the acceleration triples: a counted person matched to one run person in frames t-1, t, t+1
    same = scored[1:-1] & scored[:-2] & scored[2:] & (match[1:-1] == match[:-2]) & (match[1:-1] == match[2:])
    tf, tp = np.nonzero(same)
    tf = tf + 1
    tc = match[tf, tp]

    def accel(x: np.ndarray) -> np.ndarray:                                       # [K, 3, 17, 3] -> [K, 17, 3]
        rel = x - x[:, :, ROOT:ROOT + 1]
        return rel[:, 2] - 2 * rel[:, 1] + rel[:, 0]
    steps = np.stack([tf - 1, tf, tf + 1], axis=1)                                # [K, 3]
    accel_err = np.linalg.norm(accel(pred3d[steps, tc[:, None]].astype(np.float64))
                               - accel(truth.joints3d[steps, tp[:, None]].astype(np.float64)), axis=-1)  # [K, 17]
    row["accel_samples"] = int(len(tf))
    for name, idx in JOINT_SETS.items():
        per_frame = all_metrics(pr[:, idx], gt[:, idx]) if len(gt) else {m: np.zeros(0) for m in METRICS_3D}
        row[name] = _means({m: per_frame[m] for m in METRICS_3D} | {ACCEL: accel_err[:, idx].mean(-1)})

    torso = torso_height_px(truth.joints2d[frame, person])                        # [M]
    err2d = np.linalg.norm(pred2d[frame, col].astype(np.float64) - truth.joints2d[frame, person], axis=-1)
    err2d = err2d / torso[:, None]                                                # [M, 17]
    use = truth.visible[frame, person] & np.isfinite(err2d)                      # [M, 17]
    row["error2d_torso"] = _means({k: err2d[:, idx][use[:, idx]] for k, idx in JOINT_SETS_2D.items()})
    row["visible_joints"] = {k: int(use[:, idx].sum()) for k, idx in JOINT_SETS_2D.items()}
    row["floor"] = _floor_errors(truth, ground)
    return row


def _weighted(rows: list[dict], value, weight) -> float | None:
    """sum(value(r) * weight(r)) / sum(weight(r)) over the rows where value is known; None if none."""
    pairs = [(value(r), weight(r)) for r in rows if value(r) is not None and weight(r) > 0]
    total = sum(w for _, w in pairs)
    return sum(v * w for v, w in pairs) / total if total else None


def aggregate(rows: list[dict]) -> dict:
    """score_clip rows of one model over clips -> the same figures over all of them (the module's
    weights), with "clips", "multi_person_clips" and "floor_clips"."""
    multi = [r for r in rows if r["multi_person"]]
    floors = [r["floor"] for r in rows if r["floor"] is not None]
    out = {"clips": len(rows), "counted": sum(r["counted"] for r in rows), "matched": sum(r["matched"] for r in rows),
           "extra_person_frames": sum(r["extra_person_frames"] for r in rows),
           "multi_person_clips": len(multi),
           "id_switches": sum(r["id_switches"] for r in multi) if multi else None,
           "accel_samples": sum(r["accel_samples"] for r in rows)}
    out["found"] = out["matched"] / out["counted"] if out["counted"] else None
    for name in JOINT_SETS:
        out[name] = {m: _weighted(rows, lambda r: r[name][m], lambda r: r["matched"]) for m in METRICS_3D}
        out[name][ACCEL] = _weighted(rows, lambda r: r[name][ACCEL], lambda r: r["accel_samples"])
    out["error2d_torso"] = {k: _weighted(rows, lambda r: r["error2d_torso"][k], lambda r: r["visible_joints"][k])
                            for k in JOINT_SETS_2D}
    out["visible_joints"] = {k: sum(r["visible_joints"][k] for r in rows) for k in JOINT_SETS_2D}
    out["floor_clips"] = len(floors)
    out["floor"] = {"camera_height_abs_error_mm": float(np.mean([abs(f["camera_height_error_mm"]) for f in floors])),
                    "up_error_deg": float(np.mean([f["up_error_deg"] for f in floors]))} if floors else None
    return out
