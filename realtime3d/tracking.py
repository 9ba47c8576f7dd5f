"""Stable identities for many people across frames.

A multi-person detector (detect/blazepose/) gives, per frame, a list of
`Detection`s in no particular order and without ids. `PersonTracker.update`
gives each one an id: 1, 2, 3, ... in order of first appearance (people who
first appear in the same frame: left to right by their box), never reused in the
tracker's life, not even after `reset()`.

What is matched with what
    Every remembered *track* (one person seen before) against every detection of
    the frame. A track is *live* when it was matched in the previous frame (the
    previous `update` call) and *lost* when it has gone unmatched for at most
    `max_gap_s` seconds; one unmatched for longer is forgotten. Live tracks are
    matched first, against all detections; lost tracks then take what is left
    (the matching cascade of DeepSORT, Wojke et al. 2017, in its simplest form:
    two tiers), so a person seen a moment ago is never displaced by one who
    vanished earlier. Detections left over start new ids.

The prediction
    Each track is moved to the frame's time t by a constant-velocity model: its
    last pose and box are translated by v * gap, where gap = t - (time it was last
    matched) and v is the velocity of its torso (the mean of its visible hips and
    shoulders; the box centre without them), the least-squares slope over the last
    `velocity_window_s` of matches (zero until those span MIN_VELOCITY_SPAN_S), at most
    MAX_SPEED box heights a second. The torso, not the box: a box is the extent of the
    landmarks and jumps when an arm swings out (on the street video, box centres gave
    velocities of 200 px/s for people standing still). For a live track the gap is one
    frame and the move is small; for a lost track it carries the person along the
    way they were heading, so someone who leaves the frame (or is hidden) and
    comes back within `max_gap_s`, near where they were going, keeps their id.

The similarity (cost = 1 - similarity)
    similarity = iou_weight * BIoU + (1 - iou_weight) * OKS, both in 0..1:
    * BIoU: the intersection over union of the predicted track box and the
      detection box, each first widened on every side by b times its own width
      and height (the buffered IoU of C-BIoU, Yang et al., WACV 2023). A
      detection without a box gets the extent of its finite joints with
      visibility >= 0.5 (all finite joints if none is visible).
    * OKS: COCO's object keypoint similarity of the predicted track pose and the
      detection, mean over the joints visible (visibility >= 0.5) in both of
      exp(-d^2 / (2 A (k^2 + b^2))), with d the joint's distance, A the track box's
      area and k twice the joint's COCO sigma (OKS_K below). When the two share no
      visible joint the pose says nothing and the similarity is the BIoU alone.
    * The gate grows with the gap: b = `buffer_per_s` * gap. The buffer widens
      the boxes and the b^2 term widens every joint's tolerance by the same
      fraction of the person's size, so the longer a track has been lost, the
      farther from its prediction it may be found (b is under 2 percent of its
      size for a live track at 30 fps, `buffer_per_s` after a second).
    Pairs with similarity below `min_similarity` cannot match; each tier is then
    solved by scipy.optimize.linear_sum_assignment on the cost matrix (gated
    pairs at a prohibitive cost, then dropped).

Determinism
    Tracks are kept in id order and each frame's detections are put in a
    canonical order (by box, then joints) before matching, so the same frames
    give the same ids whatever the order of the detections in each list.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linear_sum_assignment

from realtime3d.detect.detection import Detection
from realtime3d.person import Person
from realtime3d.skeleton import H36M17

#: A joint counts as seen at visibility >= 0.5: MediaPipe's own threshold for drawing a
#: landmark (mediapipe/python/solutions/drawing_utils.py, _VISIBILITY_THRESHOLD).
VISIBLE = 0.5


def _coco_k() -> np.ndarray:
    """k = 2 * sigma per H36M17 joint, sigma from COCO's keypoint evaluation (cocoeval.py:
    nose .026, ears .035, shoulders .079, elbows .072, wrists .062, hips .107, knees .087,
    ankles .089). Joints COCO lacks take their sources': pelvis the hips', thorax the
    shoulders', spine the mean of the two, head (midpoint of the ears) the ears', and
    head_top, extrapolated from head and thorax (detect/mediapipe.py), the shoulders'."""
    sigma = {"pelvis": .107, "hip": .107, "knee": .087, "ankle": .089, "spine": .093,
             "thorax": .079, "head_top": .079, "head": .035, "shoulder": .079,
             "elbow": .072, "wrist": .062}
    names = [n.removeprefix("left_").removeprefix("right_") for n in H36M17.joint_names]
    return 2.0 * np.array([sigma[n] for n in names])


#: [17] OKS falloff per joint, in units of the track's scale sqrt(box area).
OKS_K = _coco_k()

#: Default gap before a lost track is forgotten: one second, i.e. ByteTrack's track_buffer
#: of 30 frames (Zhang et al., ECCV 2022) at 30 fps.
MAX_GAP_S = 1.0
#: Default gate: SORT's IoU threshold of 0.3 (Bewley et al., ICIP 2016), applied to the
#: combined similarity, which equals the IoU when the pose agrees as well as the boxes.
MIN_SIMILARITY = 0.3
#: Default weight of the box term; the pose term gets the rest. Equal shares: the box
#: places the person, the pose tells apart people whose boxes overlap.
IOU_WEIGHT = 0.5
#: Default growth of the buffer, in person sizes per side per second of gap. A walker
#: covers about three body widths a second (1.4 m/s, about 0.5 m wide), so half a width
#: a second allows a speed error of about a sixth, or a turn of about 10 degrees.
BUFFER_PER_S = 0.5
#: Default span of the velocity estimate: 0.5 s (15 frames at 30 fps) of torso positions,
#: fitted by least squares, averages out landmark jitter (over one frame some 100 px/s of
#: velocity noise) and a walker's sway within a step, while staying short against changes of
#: speed or direction.
VELOCITY_WINDOW_S = 0.5
#: No velocity (zero) until a track's matches span this long: two frames say nothing of it.
MIN_VELOCITY_SPAN_S = 0.1
#: A velocity is capped at this many box heights a second: a runner covers about 2 body
#: heights a second (3.5 m/s); more is landmark noise.
MAX_SPEED = 2.0
#: The torso joints whose visible mean is a person's position for the velocity.
_TORSO = [H36M17.index[n] for n in ("left_hip", "right_hip", "left_shoulder", "right_shoulder")]

_GATED = 1e6   # cost of a pair below the gate: only chosen when nothing else is left


@dataclass
class _Track:
    id: int
    joints: np.ndarray      # [17, 2] float64 px: the last matched pose
    visible: np.ndarray     # [17] bool: its joints with visibility >= VISIBLE
    box: np.ndarray         # [4] float64 (x0, y0, x1, y1) px; NaN when the pose had no finite joint
    t: float                # time of the last match, s
    frames: int = 1
    velocity: np.ndarray = field(default_factory=lambda: np.zeros(2))    # [2] px/s of the torso
    history: list[tuple[float, np.ndarray]] = field(default_factory=list)  # (t, torso [2]) of recent matches


@dataclass
class _Frame:
    """A frame's detections, checked and in canonical order."""

    joints: np.ndarray      # [D, 17, 2] float64 px
    visible: np.ndarray     # [D, 17] bool
    boxes: np.ndarray       # [D, 4] float64 (x0, y0, x1, y1), NaN: none
    order: np.ndarray       # [D] input index of each canonical row


class PersonTracker:
    """Gives each frame's detections stable ids (see the module docstring).

        tracker = PersonTracker()
        for t, detections in frames:          # t in seconds, increasing
            for person in tracker.update(detections, t):
                draw(person.detection, person.id)

    max_gap_s: how long an unmatched person is remembered, s (MAX_GAP_S).
    min_similarity: the gate on the combined similarity, 0..1 (MIN_SIMILARITY).
    iou_weight: the box term's share of the similarity, 0..1 (IOU_WEIGHT).
    buffer_per_s: growth of the gate with the gap, person sizes per second (BUFFER_PER_S).
    velocity_window_s: span of the velocity estimate, s (VELOCITY_WINDOW_S).
    """

    def __init__(self, max_gap_s: float = MAX_GAP_S, min_similarity: float = MIN_SIMILARITY,
                 iou_weight: float = IOU_WEIGHT, buffer_per_s: float = BUFFER_PER_S,
                 velocity_window_s: float = VELOCITY_WINDOW_S):
        if not max_gap_s > 0:
            raise ValueError(f"max_gap_s must be > 0, got {max_gap_s}")
        if not 0 <= min_similarity <= 1:
            raise ValueError(f"min_similarity must be in 0..1, got {min_similarity}")
        if not 0 <= iou_weight <= 1:
            raise ValueError(f"iou_weight must be in 0..1, got {iou_weight}")
        if not buffer_per_s >= 0:
            raise ValueError(f"buffer_per_s must be >= 0, got {buffer_per_s}")
        if not velocity_window_s >= 0:
            raise ValueError(f"velocity_window_s must be >= 0, got {velocity_window_s}")
        self.max_gap_s, self.min_similarity = float(max_gap_s), float(min_similarity)
        self.iou_weight, self.buffer_per_s = float(iou_weight), float(buffer_per_s)
        self.velocity_window_s = float(velocity_window_s)
        self._next_id = 1
        self.reset()

    def reset(self) -> None:
        """Forget every track and the last time (a new video may start at t = 0); ids keep
        counting upward."""
        self._tracks: list[_Track] = []   # in id order
        self._t: float | None = None

    @property
    def active_ids(self) -> list[int]:
        """Ids remembered as of the last update: matched then, or lost for at most max_gap_s."""
        return [track.id for track in self._tracks]

    def update(self, detections: list[Detection], t: float) -> list[Person]:
        """This frame's detections (time t in seconds, increasing) -> the same detections with ids, in input order."""
        t = self._check_time(t)
        frame = _check_frame(detections)
        self._tracks = [track for track in self._tracks if t - track.t <= self.max_gap_s]
        live = [i for i, track in enumerate(self._tracks) if track.t == self._t]
        lost = [i for i, track in enumerate(self._tracks) if track.t != self._t]
        sim = self._similarity(frame, t)                                           # [T, D]
        free = list(range(len(frame.order)))
        pairs = []
        for tier in (live, lost):
            matched = _assign(sim, tier, free, self.min_similarity)
            pairs += matched
            taken = {d for _, d in matched}
            free = [d for d in free if d not in taken]
        ids = np.zeros(len(frame.order), dtype=int)
        frames = np.zeros(len(frame.order), dtype=int)
        for k, d in pairs:
            track = self._tracks[k]
            self._match(track, frame, d, t)
            ids[d], frames[d] = track.id, track.frames
        for d in free:                      # canonical order: left to right
            track = self._new_track(frame, d, t)
            ids[d], frames[d] = track.id, track.frames
        self._t = t
        out: list[Person | None] = [None] * len(frame.order)
        for d, i in enumerate(frame.order):
            out[i] = Person(id=int(ids[d]), detection=detections[i], frames=int(frames[d]))
        return out

    def _check_time(self, t) -> float:
        try:
            t = float(t)
        except (TypeError, ValueError):
            raise ValueError(f"t must be a time in seconds, got {t!r}") from None
        if not math.isfinite(t):
            raise ValueError(f"t must be finite, got {t}")
        if self._t is not None and t <= self._t:
            raise ValueError(f"t must increase from frame to frame: got {t} after {self._t} (reset() to restart)")
        return t

    def _similarity(self, frame: _Frame, t: float) -> np.ndarray:
        """[T, D] similarity of every track, predicted to t, with every detection."""
        if not self._tracks or not len(frame.order):
            return np.zeros((len(self._tracks), len(frame.order)))
        gap = np.array([t - track.t for track in self._tracks])                    # [T]
        shift = np.stack([track.velocity for track in self._tracks]) * gap[:, None]  # [T, 2]
        boxes = np.stack([track.box for track in self._tracks]) + np.tile(shift, 2)  # [T, 4]
        joints = np.stack([track.joints for track in self._tracks]) + shift[:, None]  # [T, 17, 2]
        visible = np.stack([track.visible for track in self._tracks])              # [T, 17]
        buffer = self.buffer_per_s * gap                                           # [T]
        iou = _buffered_iou(boxes, frame.boxes, buffer)                            # [T, D]
        oks, shared = _oks(joints, visible, _area(boxes), frame.joints, frame.visible, buffer)
        combined = self.iou_weight * iou + (1.0 - self.iou_weight) * oks
        return np.where(shared, combined, iou)

    def _match(self, track: _Track, frame: _Frame, d: int, t: float) -> None:
        track.joints, track.visible, track.box = frame.joints[d], frame.visible[d], frame.boxes[d]
        track.t, track.frames = t, track.frames + 1
        track.history.append((t, _torso(track.joints, track.visible, track.box)))
        recent = [h for h in track.history if h[0] >= t - self.velocity_window_s]
        track.history = track.history[-2:] if len(recent) < 2 else recent
        track.velocity = _velocity(track.history, track.box)

    def _new_track(self, frame: _Frame, d: int, t: float) -> _Track:
        track = _Track(id=self._next_id, joints=frame.joints[d], visible=frame.visible[d],
                       box=frame.boxes[d], t=t, history=[(t, _torso(frame.joints[d], frame.visible[d],
                                                                    frame.boxes[d]))])
        self._next_id += 1
        self._tracks.append(track)
        return track


def _check_frame(detections) -> _Frame:
    """Checks a frame's detections and puts them in canonical order."""
    if not isinstance(detections, (list, tuple)):
        raise ValueError(f"detections must be a list of Detection, got {type(detections).__name__}")
    joints, visible, boxes = [], [], []
    for i, det in enumerate(detections):
        j, v, b = _check_detection(det, i)
        joints.append(j)
        visible.append(v)
        boxes.append(b)
    if not detections:
        return _Frame(np.zeros((0, 17, 2)), np.zeros((0, 17), bool), np.zeros((0, 4)), np.zeros(0, int))
    joints, visible, boxes = np.stack(joints), np.stack(visible), np.stack(boxes)
    keys = np.nan_to_num(np.concatenate([boxes, joints.reshape(len(joints), -1)], axis=1),
                         nan=np.inf)                                               # [D, 38]
    order = np.lexsort(keys.T[::-1])     # first key (x0) most significant; stable on ties
    return _Frame(joints[order], visible[order], boxes[order], order)


def _check_detection(det, i: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One detection -> (joints [17, 2], visible [17] bool, box [4]), or a one-line ValueError."""
    if not isinstance(det, Detection):
        raise ValueError(f"detection {i} is not a Detection: {type(det).__name__}")
    joints = np.asarray(det.joints2d_px, dtype=np.float64)
    vis = np.asarray(det.visibility, dtype=np.float64)
    if joints.shape != (H36M17.num_joints, 2):
        raise ValueError(f"detection {i}: joints2d_px must be [17, 2], got {list(joints.shape)}")
    if vis.shape != (H36M17.num_joints,):
        raise ValueError(f"detection {i}: visibility must be [17], got {list(vis.shape)}")
    visible = (vis >= VISIBLE) & np.isfinite(joints).all(axis=1)
    box = det.box
    if box is None:
        return joints, visible, _extent(joints, visible)
    box = np.asarray(box, dtype=np.float64)
    if box.shape != (4,) or not np.isfinite(box).all() or box[2] < box[0] or box[3] < box[1]:
        raise ValueError(f"detection {i}: box must be finite (x0, y0, x1, y1) with x0 <= x1, y0 <= y1, "
                         f"got {box.tolist()}")
    return joints, visible, box


def _extent(joints: np.ndarray, visible: np.ndarray) -> np.ndarray:
    """[4] box of the visible joints (of all finite ones if none is visible; NaN if none is finite)."""
    use = visible if visible.any() else np.isfinite(joints).all(axis=1)
    if not use.any():
        return np.full(4, np.nan)
    pts = joints[use]
    return np.concatenate([pts.min(axis=0), pts.max(axis=0)])


def _centre(box: np.ndarray) -> np.ndarray:
    return 0.5 * (box[:2] + box[2:])


def _torso(joints: np.ndarray, visible: np.ndarray, box: np.ndarray) -> np.ndarray:
    """[2] a person's position for the velocity: the mean of the visible hips and shoulders,
    else the box centre."""
    seen = visible[_TORSO]
    return joints[_TORSO][seen].mean(axis=0) if seen.any() else _centre(box)


def _velocity(history: list[tuple[float, np.ndarray]], box: np.ndarray) -> np.ndarray:
    """[2] px/s: the least-squares slope of the positions over their times, zero when they span
    less than MIN_VELOCITY_SPAN_S or are not finite, at most MAX_SPEED box heights a second."""
    times = np.array([h[0] for h in history])
    points = np.array([h[1] for h in history])                                 # [H, 2]
    if times[-1] - times[0] < MIN_VELOCITY_SPAN_S or not np.isfinite(points).all():
        return np.zeros(2)
    dt = times - times.mean()
    velocity = (dt[:, None] * (points - points.mean(axis=0))).sum(axis=0) / (dt ** 2).sum()
    limit = MAX_SPEED * (box[3] - box[1]) if np.isfinite(box).all() else np.inf
    speed = np.linalg.norm(velocity)
    return velocity * min(1.0, limit / speed) if speed > 0 else velocity


def _area(boxes: np.ndarray) -> np.ndarray:
    """[...] area of boxes [..., 4], at least 1 px^2 (0 for a NaN box)."""
    area = np.clip(boxes[..., 2] - boxes[..., 0], 0, None) * np.clip(boxes[..., 3] - boxes[..., 1], 0, None)
    return np.where(np.isfinite(area), np.maximum(area, 1.0), 0.0)


def _buffered_iou(a: np.ndarray, b: np.ndarray, buffer: np.ndarray) -> np.ndarray:
    """IoU [A, B] of boxes a [A, 4] and b [B, 4] (NaN: no box, IoU 0), every box widened on
    each side by buffer [A] (one per row of a) times its own width and height."""
    def widen(boxes, buf):
        pad = np.tile(boxes[..., 2:] - boxes[..., :2], 2) * buf[..., None] * np.array([-1, -1, 1, 1])
        return boxes + pad
    a = widen(a, buffer)[:, None]                            # [A, 1, 4]
    b = widen(b[None], buffer[:, None])                      # [A, B, 4]
    w = np.clip(np.minimum(a[..., 2], b[..., 2]) - np.maximum(a[..., 0], b[..., 0]), 0, None)
    h = np.clip(np.minimum(a[..., 3], b[..., 3]) - np.maximum(a[..., 1], b[..., 1]), 0, None)
    inter = w * h
    union = _raw_area(a) + _raw_area(b) - inter
    with np.errstate(invalid="ignore", divide="ignore"):
        iou = inter / union
    return np.where(np.isfinite(iou), iou, 0.0)


def _raw_area(boxes: np.ndarray) -> np.ndarray:
    return (boxes[..., 2] - boxes[..., 0]) * (boxes[..., 3] - boxes[..., 1])


def _oks(track_joints: np.ndarray, track_visible: np.ndarray, track_area: np.ndarray,
         det_joints: np.ndarray, det_visible: np.ndarray, buffer: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """OKS [T, D] of track poses [T, 17, 2] (scale: track_area [T]) against detections [D, 17, 2],
    over the joints visible in both, each joint's tolerance widened by buffer [T]; and [T, D]
    whether any joint is visible in both."""
    d2 = ((track_joints[:, None] - det_joints[None]) ** 2).sum(axis=-1)           # [T, D, 17]
    var = 2.0 * track_area[:, None] * (OKS_K[None] ** 2 + buffer[:, None] ** 2)    # [T, 17]
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        per_joint = np.exp(-d2 / var[:, None])
    both = track_visible[:, None] & det_visible[None]                              # [T, D, 17]
    per_joint = np.where(both & np.isfinite(per_joint), per_joint, 0.0)
    count = both.sum(axis=-1)
    return per_joint.sum(axis=-1) / np.maximum(count, 1), count > 0


def _assign(sim: np.ndarray, rows: list[int], cols: list[int], min_similarity: float) -> list[tuple[int, int]]:
    """Best one-to-one (row, col) pairs among rows x cols of sim [T, D] with similarity >= min_similarity."""
    if not rows or not cols:
        return []
    sub = sim[np.ix_(rows, cols)]
    ok = sub >= min_similarity
    cost = np.where(ok, 1.0 - sub, _GATED)
    r, c = linear_sum_assignment(cost)
    return [(rows[i], cols[j]) for i, j in zip(r, c) if ok[i, j]]
