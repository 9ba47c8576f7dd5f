"""The image path's detector: person crops -> Phi (skeleton image) -> Omega (2D), with the
agreement of the two as each person's confidence (Sosa & Hogg, 2023; the networks are
realtime3d.models.image.SkeletonNet, trained by realtime3d/trainers/skeleton_net.py).

    with SkeletonNetDetector() as detector:           # the shipped weights/detectors/skeleton-net.pt
        people = detector.detect_all(frame_bgr)       # [Detection]: joints2d_px, visibility, skeleton, ...

**The people and their crops.** Phi reads a CROP_SIZE x CROP_SIZE RGB crop, one per person;
the crops of a frame go through the networks in one batch. Where people are comes from
BlazePose's person detector, the one MultiPoseDetector starts from (blazepose.proposals.
PersonDetector: score PERSON_SCORE, the whole frame and PERSON_TILES square tiles along its long
side): a detected person's crop is the square (centre and side) of the landmark model's ROI for
them (blazepose.ssd.roi_from_person: centred on the hips, 1.25 times the square around the circle
that holds the body), upright (the ROI's rotation is left out: the networks read upright crops).

As in MultiPoseDetector, the person detector runs in video mode when nobody is followed (the
first frame, after reset(), and a frame in which everyone followed was lost: it then runs on that
frame too), and on every `detect_every`-th frame while fewer than max_people are followed, to find
newcomers. A detected person is one of the followed people, not a newcomer, when their core box
(proposals.core_boxes: the square around the hips whose side is the radius of that circle)
overlaps a followed person's by IoU > NEWCOMER_IOU, or when their hip centre lies inside a
followed person's 2D box; a followed person's core box is the square around their pelvis whose
side is the distance to their farthest joint. (Not the followed person's crop: 1.25 times their
longer side and square, it is about four times as wide as a standing person, and a neighbour a
shoulder's width away would never be found.) When a followed person is lost in a frame where the
person detector ran, the detected people taken for them are read in that frame after all. In
static image mode the person detector runs on every call and nothing is carried over. When it
finds nobody and nobody is followed, the crop is the full frame (full_frame_box: the centred
square whose side is the frame's longer side, the rest padded black), so that a person the person
detector misses can still be found.

A followed person's next crop follows their own pose: the square box of their 2D joints times the
model card's crop_margin (realtime3d.crops.square_box, the rule that framed every training
crop), its side kept within [MIN_CROP_SIDE, 2 x the frame's longer side]. The same rule can mend
a crop within its frame: with refine_passes (REFINE_PASSES: none by default), every crop read is
read again that many times, each time in the crop of its own last answer, so that a crop that
drifted off the person (last frame's pose, or the person detector's box) is re-centred before
the answer is given, at the networks' cost times 1 + refine_passes. A person is lost (not
followed into the next frame) when their confidence is below lost_confidence (LOST_CONFIDENCE
unless the card or the caller says otherwise) or when more than MAX_OUTSIDE_SHARE of their joints
lie outside the frame (Omega's soft-argmax always places a joint inside its crop, so "outside the
crop" can only mean in the crop's black padding beyond the frame). Two answers whose 2D boxes
overlap by IoU > SAME_PERSON_IOU are one person (the more confident is kept); max_people keeps
the largest (2D box area), and the answers come largest first.

The crop is resampled with OpenCV (INTER_AREA down to within a factor 2 of the crop's scale,
then bilinear warpAffine), padded black (BORDER_CONSTANT 0). The mapping between crop and
frame pixels is exact both ways (realtime3d.crops.to_crop / from_crop; pixel centres at
integers): Omega's joints go back to the frame through it, and the resampled pixels sit where
it says, up to OpenCV's 1/32-pixel interpolation grid.

**The flip average.** With the model card's flip_average (or the caller's), each crop's mirror
image goes through the same batch, and the two answers, mirrored back, are averaged (phi_omega).

**The confidence.** kappa of Omega's 2D (eq. 2, realtime3d.kernels.render_skeleton, one channel
per bone, in skeleton-image pixels) is compared with Phi's own skeleton image, bone by bone: a
soft Dice 2 sum(a b) / (sum(a^2) + sum(b^2)), in 0..1 and 1 exactly when the two images are
equal. A joint's visibility is the mean agreement of the bones that touch it; the person's
confidence is the mean over bones. It says where Phi drew something that Omega's 2D does not
explain (or missed what it does): the kernels' inference use.

What the lifter gets: every joint, by default. Visibility here is an agreement, not
MediaPipe's probability that a landmark is seen, and it is not yet calibrated on trained
weights, so `visibility_threshold` (a joint below it goes to the lifter as missing) is 0 unless
the model card sets one. A crop whose confidence is below `person_confidence`
(PERSON_CONFIDENCE unless the card or the caller says otherwise) holds no person: it is not
answered, nor followed.

The path is experimental, less accurate than MediaPipe (docs/results.md): EXPERIMENTAL is the
command's warning.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..crops import CROP_MARGIN, cut, from_crop, square_box
from ..errors import UserError
from ..io.weights import read_weights
from ..kernels import render_skeleton
from ..models.image import CROP_SIZE, GAMMA, NUM_BONES, SKELETON_SIZE, SkeletonNet, crop_to_skeleton_px
from ..skeleton import H36M17
from .detection import Detection, ManyPeopleDetector, check_frame

#: Where the shipped skeleton nets live: not weights/ itself, whose *.pt are the lifters.
DETECTORS_DIR = Path(__file__).resolve().parents[1] / "weights" / "detectors"
DEFAULT_WEIGHTS = "skeleton-net"
#: Below this confidence a person is lost: not followed into the next frame.
LOST_CONFIDENCE = 0.3
#: Below this confidence a crop holds no person (not answered, not followed).
PERSON_CONFIDENCE = 0.1
#: The one-line warning of every run with --detector skeleton-net, until the image path is accurate.
EXPERIMENTAL = (f"--detector skeleton-net is experimental and less accurate than MediaPipe; a person whose "
                f"confidence is below {PERSON_CONFIDENCE:g} is not answered")
#: A crop that follows the pose is at least this many frame pixels wide.
MIN_CROP_SIDE = 32.0
#: More than this share of the joints outside the frame: the person is lost.
MAX_OUTSIDE_SHARE = 0.5
#: The person detector (blazepose.proposals.PersonDetector): its score threshold (MultiPoseDetector's
#: min_detection_confidence) and its tiles (proposals.TILES: the whole frame and 2 square tiles).
PERSON_SCORE = 0.5
PERSON_TILES = 2
#: Video mode: the person detector also runs on every DETECT_EVERY-th frame while fewer than
#: max_people are followed (blazepose.tracker.DETECT_EVERY).
DETECT_EVERY = 10
#: A detected person whose core box overlaps a followed person's by IoU > NEWCOMER_IOU is that
#: person (proposals.MATCH_IOU).
NEWCOMER_IOU = 0.3
#: Two answers whose 2D boxes overlap by IoU > SAME_PERSON_IOU are one person.
SAME_PERSON_IOU = 0.5
#: By default no crop is read again in its frame (refine_passes): two passes gained on the rendered
#: val clips but cost the 30 fps of one person live (docs/results.md, "refinement").
REFINE_PASSES = 0
#: [K, 2] (parent, child): the bones of every skeleton image, one channel each.
BONES = torch.tensor(H36M17.bones, dtype=torch.long)
# [J, K]: joint j's row averages the bones that touch it
_TOUCH = torch.zeros(H36M17.num_joints, NUM_BONES)
for _k, (_a, _b) in enumerate(H36M17.bones):
    _TOUCH[_a, _k] = _TOUCH[_b, _k] = 1.0
_TOUCH /= _TOUCH.sum(1, keepdim=True)
#: The mirror image (left <-> right) of each joint [J] and of each bone [K] (its channel).
_FLIP_JOINTS = torch.from_numpy(H36M17.flip_permutation).long()
_FLIP_BONES = torch.from_numpy(H36M17.bone_flip_permutation).long()


def shipped_skeleton_nets() -> list[str]:
    """Names of the skeleton nets shipped inside the package (weights/detectors/*.pt)."""
    return sorted(p.stem for p in DETECTORS_DIR.glob("*.pt"))


def _resolve(name_or_path: str | os.PathLike) -> Path:
    path = Path(name_or_path)
    if path.suffix == ".pt":
        if not path.is_file():
            raise UserError(f"skeleton-net weights not found: {path}")
        return path
    name = str(name_or_path)
    if name not in shipped_skeleton_nets():
        if name == DEFAULT_WEIGHTS:
            raise UserError(f"no skeleton net is shipped yet ({DETECTORS_DIR / (name + '.pt')} is missing); "
                             "give the .pt of a `realtime3d train skeleton-net` run (--detector-weights PATH)")
        raise UserError(f"unknown skeleton net {name!r}; shipped: {', '.join(shipped_skeleton_nets()) or 'none'} "
                         "(or give a .pt file)")
    return DETECTORS_DIR / f"{name}.pt"


def load_skeleton_net(name_or_path: str | os.PathLike = DEFAULT_WEIGHTS) -> tuple[SkeletonNet, dict]:
    """A shipped skeleton net by name (shipped_skeleton_nets()) or a .pt file written by
    trainers.checkpoint.save_model -> (the SkeletonNet in eval mode, float32, its model card).

    A missing, unreadable or foreign file is a UserError with one line that names it."""
    path = _resolve(name_or_path)
    not_ours = f"{path}: not a realtime3d skeleton-net checkpoint"
    card, state = read_weights(path, "skeleton-net")
    arch = dict(card["architecture"])
    kind = arch.pop("kind", "lifting")
    if kind != "skeleton-net":
        hint = " (a lifter: pass it as --model)" if kind in ("lifting", "svmac") else ""
        raise UserError(f"{not_ours} (its network is a {kind!r}){hint}")
    try:
        net = SkeletonNet(**arch)
        net.load_state_dict(state)
    except (KeyError, RuntimeError, TypeError, ValueError, AttributeError) as exc:
        raise UserError(f"{not_ours} (its weights do not fit: {exc.__class__.__name__})") from None
    _check_card(card, str(path))
    return net.eval(), card


def train_minutes(card: dict) -> float | None:
    """A skeleton net's training budget in minutes (its card's budget_minutes), with that of the
    net it started from (started_from) added; None for a card without a budget."""
    own = card.get("budget_minutes")
    if own is None:
        return None
    return own + (card.get("started_from") or {}).get("train_minutes", 0.0)


def _check_card(card: dict, where: str) -> None:
    size = card.get("skeleton_size", SKELETON_SIZE)
    if size != SKELETON_SIZE:
        raise UserError(f"{where}: skeleton images of {size} px; this realtime3d draws {SKELETON_SIZE}")
    margin = card.get("crop_margin", CROP_MARGIN)
    if not (isinstance(margin, (int, float)) and margin > 0):
        raise UserError(f"{where}: crop_margin must be a positive number, got {margin!r}")
    gamma = card.get("gamma", GAMMA)
    if not (isinstance(gamma, (int, float)) and gamma > 0):
        raise UserError(f"{where}: gamma must be a positive number, got {gamma!r}")
    for key in ("lost_confidence", "person_confidence", "visibility_threshold"):
        value = card.get(key, 0.0)
        if not (isinstance(value, (int, float)) and 0.0 <= value <= 1.0):
            raise UserError(f"{where}: {key} must be in 0..1, got {value!r}")


# ----------------------------------------------------------------------------- agreement


def bone_agreement(skeleton, rendered, eps: float = 1e-6) -> torch.Tensor:
    """Soft Dice per bone of two skeleton images [..., K, H, W] (values in 0..1) -> [..., K] in 0..1:
    2 sum(a b) / (sum(a^2) + sum(b^2)); 1 exactly where the two are equal (eps keeps two blank
    channels at 1)."""
    a = torch.as_tensor(skeleton, dtype=torch.float32)
    b = torch.as_tensor(rendered, dtype=torch.float32)
    if a.shape != b.shape or a.ndim < 3:
        raise ValueError(f"skeleton and rendered must be two [..., K, H, W] of one shape, got "
                         f"{list(a.shape)} and {list(b.shape)}")
    return ((2.0 * (a * b).sum((-2, -1)) + eps) / ((a * a).sum((-2, -1)) + (b * b).sum((-2, -1)) + eps)).clamp(0, 1)


def joint_visibility(agreement: torch.Tensor) -> torch.Tensor:
    """Per-bone agreement [..., K] -> per joint [..., J]: the mean over the bones that touch the joint."""
    agreement = torch.as_tensor(agreement, dtype=torch.float32)
    return agreement @ _TOUCH.T


def render_kappa(joints_crop_px: torch.Tensor, gamma: float = GAMMA) -> torch.Tensor:
    """kappa of 2D joints [B, J, 2] in crop pixels -> per-bone skeleton images [B, K, S, S]."""
    return render_skeleton(crop_to_skeleton_px(joints_crop_px.float()), BONES, (SKELETON_SIZE, SKELETON_SIZE),
                           gamma, mode="per_bone")


def phi_omega(net: nn.Module, images: torch.Tensor, flip_average: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """Phi -> Omega on crops [B, 3, 128, 128] -> (skeleton images [B, K, S, S], joints [B, J, 2] crop
    px). With flip_average, the crops' mirror images go through the net in the same batch, and
    their answers, mirrored back (x -> size - 1 - x, left <-> right joints and bones), are averaged
    with the direct ones: a test-time augmentation at twice the cost."""
    if not flip_average:
        return net(images)
    n = len(images)
    skeleton, joints = net(torch.cat([images, images.flip(-1)]))
    back_s = skeleton[n:].flip(-1)[:, _FLIP_BONES.to(skeleton.device)]                      # [B, K, S, S]
    back_j = joints[n:][:, _FLIP_JOINTS.to(joints.device)]                                  # [B, J, 2]
    back_j = torch.stack([images.shape[-1] - 1 - back_j[..., 0], back_j[..., 1]], -1)
    return (skeleton[:n] + back_s) / 2, (joints[:n] + back_j) / 2


@torch.inference_mode()
def read_crops(net: nn.Module, images: torch.Tensor, gamma: float = GAMMA,
               flip_average: bool = False) -> dict[str, torch.Tensor]:
    """Phi -> Omega on crops [B, 3, 128, 128] in 0..1 (phi_omega: with flip_average, also on their
    mirror images), with the agreement of the two (the module docstring) -> {"skeleton": Phi's
    [B, K, S, S], "joints": Omega's [B, J, 2] crop px, "rendered": kappa of them [B, K, S, S],
    "agreement": per bone [B, K], "confidence": [B]}."""
    skeleton, joints = phi_omega(net, images, flip_average)
    skeleton, joints = skeleton.float(), joints.float()
    rendered = render_kappa(joints, gamma)
    agreement = bone_agreement(skeleton, rendered)
    return {"skeleton": skeleton, "joints": joints, "rendered": rendered, "agreement": agreement,
            "confidence": agreement.mean(-1)}


# ----------------------------------------------------------------------------- crops


def full_frame_box(width: int, height: int) -> tuple[float, float, float]:
    """The fallback crop (cx, cy, side): the centred square whose side is the frame's longer side."""
    return ((width - 1) / 2.0, (height - 1) / 2.0, float(max(width, height)))


def corner_box(box: tuple[float, float, float]) -> tuple[float, float, float]:
    """(cx, cy, side) -> (x0, y0, side): the top-left corner of the square, frame pixels."""
    cx, cy, side = box
    return (cx - side / 2.0, cy - side / 2.0, side)


def crop_to_frame(points: np.ndarray, box: tuple[float, float, float], size: int = CROP_SIZE) -> np.ndarray:
    """Crop pixels [..., 2] of box (cx, cy, side) -> frame pixels [..., 2] (crops.from_crop)."""
    pts = torch.as_tensor(np.asarray(points, dtype=np.float64)).reshape(1, -1, 2)
    out = from_crop(pts, torch.tensor([box], dtype=torch.float64), size)
    return out.reshape(np.shape(points)).numpy()


# ----------------------------------------------------------------------------- the detector


def _joint_box(joints2d: np.ndarray) -> np.ndarray:
    """2D joints [J, 2] px -> their box [4] (x0, y0, x1, y1) px, over the finite joints (zeros: none)."""
    finite = joints2d[np.isfinite(joints2d).all(-1)]
    if not len(finite):
        return np.zeros(4)
    return np.concatenate([finite.min(0), finite.max(0)]).astype(np.float64)


def _area(box: np.ndarray) -> float:
    return float(max(box[2] - box[0], 0.0) * max(box[3] - box[1], 0.0))


def _core_box(joints2d: np.ndarray) -> np.ndarray:
    """A followed person's core box [4] (x0, y0, x1, y1): the square around the pelvis whose side is
    the distance to the farthest joint, as proposals.core_boxes makes the person detector's (the
    square around the hips whose side is the distance to the point whose circle holds the body)."""
    pelvis = joints2d[0].astype(np.float64)
    reach = np.linalg.norm(joints2d - pelvis, axis=-1)
    half = float(np.nanmax(reach)) / 2.0 if np.isfinite(reach).any() else 0.0
    return np.concatenate([pelvis - half, pelvis + half])


@dataclass
class _Found:
    """One crop's answer: its Detection, and whether the person is lost (not followed further)."""

    detection: Detection
    lost: bool

    @property
    def box(self) -> np.ndarray:
        return _joint_box(self.detection.joints2d_px)


@dataclass
class _Followed:
    """A followed person: the crop (cx, cy, side) their next frame gets, and their last 2D joints [J, 2] px."""

    crop: tuple[float, float, float]
    joints2d: np.ndarray


class SkeletonNetDetector(ManyPeopleDetector):
    """Phi -> Omega on person crops: every person in a frame, each followed by a crop of their own
    (see the module docstring); a `Detector` (detect/detection.py).

    detect_all(frame_bgr) / detect_all_rgb(frame_rgb) -> list of Detection, largest (2D box area)
    first: joints2d_px [17, 2] px, visibility [17] (the agreement of the joint's bones), skeleton and
    rendered [16, 64, 64] (Phi's image, kappa of Omega's 2D), crop_box (x0, y0, side) px of the
    crop read, confidence in 0..1. detect / detect_rgb: the largest person or None.

    Args:
        weights: a shipped name, a .pt path, or a SkeletonNet already built (then card is its model
            card, {} by default).
        lost_confidence, person_confidence: as in the module docstring; None takes the card's
            value, else LOST_CONFIDENCE and PERSON_CONFIDENCE.
        flip_average: also read each crop's mirror image and average (phi_omega); None takes the
            card's flip_average, else False.
        refine_passes: how many times each crop is read again in the crop of its own answer, in
            the same frame (>= 0; REFINE_PASSES).
        max_people: the most people answered and followed (>= 1), largest first; None: everyone.
        static_image_mode: every call is an unrelated photo (the person detector runs each time,
            nothing is followed).
        detect_every: video mode's period of the person detector while people are followed (frames).

    The crops of a frame go through the net as one batch, under torch.inference_mode; the torch
    thread count is the caller's (PosePipeline sets 1). The person detector (one LiteRT thread) is
    made on its first use.

    Attributes:
        detector_runs: the frames that ran the person detector.
    """

    name = "skeleton-net"

    def __init__(self, weights: str | os.PathLike | nn.Module = DEFAULT_WEIGHTS, card: dict | None = None,
                 lost_confidence: float | None = None, person_confidence: float | None = None,
                 max_people: int | None = None, static_image_mode: bool = False, detect_every: int = DETECT_EVERY,
                 flip_average: bool | None = None, refine_passes: int = REFINE_PASSES):
        if max_people is not None and int(max_people) < 1:
            raise ValueError(f"max_people must be >= 1 or None, got {max_people}")
        if int(detect_every) < 1:
            raise ValueError(f"detect_every must be >= 1, got {detect_every}")
        if int(refine_passes) < 0:
            raise ValueError(f"refine_passes must be >= 0, got {refine_passes}")
        self.refine_passes = int(refine_passes)
        if isinstance(weights, nn.Module):
            net, card = weights, dict(card or {})
            _check_card(card, "card")
            self._weights_id = f"skeleton:in-memory:{id(net)}"
        else:
            net, card = load_skeleton_net(weights)
            path = _resolve(weights)
            stat = path.stat()
            self._weights_id = f"skeleton:{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}"
        self.net, self.card = net.eval(), card
        self.crop_margin = float(card.get("crop_margin", CROP_MARGIN))
        self.gamma = float(card.get("gamma", GAMMA))
        self.visibility_threshold = float(card.get("visibility_threshold", 0.0))
        self.flip_average = bool(card.get("flip_average", False) if flip_average is None else flip_average)
        self.lost_confidence = float(card.get("lost_confidence", LOST_CONFIDENCE)
                                     if lost_confidence is None else lost_confidence)
        self.person_confidence = float(card.get("person_confidence", PERSON_CONFIDENCE)
                                       if person_confidence is None else person_confidence)
        for key in ("lost_confidence", "person_confidence"):
            if not 0.0 <= getattr(self, key) <= 1.0:
                raise ValueError(f"{key} must be in 0..1, got {getattr(self, key)}")
        self.max_people = None if max_people is None else int(max_people)
        self.static_image_mode = bool(static_image_mode)
        self.detect_every = int(detect_every)
        self.detector_runs = 0
        self._detector = None                  # the person detector, made on first use
        self._followed: list[_Followed] = []   # largest first
        self._since_detection = 0
        self._closed = False

    @property
    def fingerprint(self) -> str:
        """The weights and the settings that decide the answers (offline.py: a resumed run must share them)."""
        return (f"{self._weights_id}|{self.max_people}|{self.static_image_mode}|{self.detect_every}|"
                f"{self.lost_confidence:g}|{self.person_confidence:g}|person-detector:{PERSON_SCORE:g},{PERSON_TILES}")

    @property
    def lifter(self) -> str | None:
        """The lifter the net was trained with (the card's "lifter"), or None."""
        return self.card.get("lifter")

    @property
    def next_boxes(self) -> list[tuple[float, float, float]]:
        """(x0, y0, side) of the crop each followed person's next frame gets, largest person first;
        [] when nobody is followed (the next frame runs the person detector)."""
        return [corner_box(f.crop) for f in self._followed]

    @property
    def next_box(self) -> tuple[float, float, float] | None:
        """The largest followed person's next crop (x0, y0, side), or None: nobody is followed."""
        boxes = self.next_boxes
        return boxes[0] if boxes else None

    # -- every person (detect, detect_rgb, detect_all: ManyPeopleDetector's, from this)
    def detect_all_rgb(self, frame_rgb: np.ndarray) -> list[Detection]:
        """An RGB uint8 frame [H, W, 3] (the networks' own order) -> every person's Detection,
        largest first; [] without a person."""
        if self._closed:
            raise ValueError("SkeletonNetDetector is closed")
        frame = check_frame(frame_rgb, "RGB")
        height, width = frame.shape[:2]
        followed = [] if self.static_image_mode else self._followed
        run_detector = self.static_image_mode or self._detector_due()
        crops, held = [f.crop for f in followed], []
        if run_detector:
            newcomers, held = self._newcomers(frame, followed)
            crops += newcomers
        found = self._read(frame, crops)
        lost = {i for i, f in enumerate(found[:len(followed)]) if f.lost}
        if followed and not run_detector and len(lost) == len(followed):
            run_detector = True                   # everyone followed was lost: look for people in this frame
            found += self._read(frame, self._newcomers(frame, [])[0])
        elif held and lost:                       # the detected people taken for followed ones that were lost
            found += self._read(frame, [crop for crop, matched in held if matched <= lost])
        self._since_detection = 0 if run_detector else self._since_detection + 1
        people = self._largest(self._distinct([f for f in found if f.detection.confidence >= self.person_confidence]))
        if not self.static_image_mode:
            self._followed = [_Followed(self._follow(f.detection.joints2d_px, width, height), f.detection.joints2d_px)
                              for f in people if not f.lost]
        return [f.detection for f in people]

    def person_crops(self, frame_rgb: np.ndarray) -> list[tuple[float, float, float]]:
        """The person detector's people in an RGB frame as crops (cx, cy, side) px, by decreasing
        score: the square of each one's roi_from_person ROI, upright."""
        if self._closed:
            raise ValueError("SkeletonNetDetector is closed")
        return [crop for crop, _, _ in self._proposals(check_frame(frame_rgb, "RGB"))]

    def reset(self, search: bool = True) -> None:
        """Forget the followed people: the next frame runs the person detector. search: the
        detectors' common signature (MultiPoseDetector.reset); this one has no thorough search."""
        if self._closed:
            raise ValueError("SkeletonNetDetector is closed")
        self._followed = []
        self._since_detection = 0

    def close(self) -> None:
        self._followed = []
        self._detector = None
        self._closed = True

    def __enter__(self) -> "SkeletonNetDetector":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- the steps
    def _detector_due(self) -> bool:
        """Video mode: whether this frame runs the person detector (nobody followed, or its
        detect_every-th frame while fewer than max_people are); it also runs on a frame where
        everyone followed was lost (detect_all_rgb)."""
        room = self.max_people is None or len(self._followed) < self.max_people
        return not self._followed or (self._since_detection + 1 >= self.detect_every and room)

    def _proposals(self, frame: np.ndarray) -> list[tuple[tuple[float, float, float], np.ndarray, np.ndarray]]:
        """The person detector's people: (crop (cx, cy, side), core box [4], centre [2]) each, by
        decreasing score."""
        from .blazepose.proposals import PersonDetector, core_boxes
        from .blazepose.ssd import roi_from_person
        if self._detector is None:
            self._detector = PersonDetector(PERSON_SCORE, threads=1, tiles=PERSON_TILES)
        out = []
        for person in self._detector(np.ascontiguousarray(frame)):
            try:
                roi = roi_from_person(person)
            except ValueError:                    # a degenerate detection: keypoints 0 and 1 coincide
                continue
            keypoints = np.asarray(person.keypoints, dtype=np.float64)
            out.append(((roi.cx, roi.cy, roi.width), core_boxes(keypoints[None])[0], keypoints[0]))
        return out

    def _newcomers(self, frame: np.ndarray, followed: list[_Followed]) -> tuple[list[tuple[float, float, float]],
                                                                             list[tuple[tuple, set[int]]]]:
        """The person detector's people -> (the crops of those that are none of `followed` (the
        module docstring), the largest first, max_people at most, or the full frame when it finds
        nobody and nobody is followed; the others: (crop, the indices of the followed people they
        were taken for))."""
        from .blazepose.rois import box_iou
        self.detector_runs += 1
        theirs = np.stack([_core_box(f.joints2d) for f in followed]) if followed else np.zeros((0, 4))
        boxes = np.stack([_joint_box(f.joints2d) for f in followed]) if followed else np.zeros((0, 4))
        crops, held = [], []
        for crop, core, centre in self._proposals(frame):
            matched = set(np.flatnonzero(box_iou(core[None], theirs)[0] > NEWCOMER_IOU).tolist()) if followed else set()
            matched |= set(np.flatnonzero((boxes[:, 0] <= centre[0]) & (centre[0] <= boxes[:, 2])
                                          & (boxes[:, 1] <= centre[1]) & (centre[1] <= boxes[:, 3])).tolist())
            if matched:
                held.append((crop, matched))
            else:
                crops.append(crop)
        crops.sort(key=lambda c: -c[2])
        if self.max_people is not None:
            crops = crops[:self.max_people]
        if not crops and not followed:
            crops = [full_frame_box(frame.shape[1], frame.shape[0])]
        return crops, held

    def _read(self, frame: np.ndarray, crops: list[tuple[float, float, float]]) -> list[_Found]:
        """Phi -> Omega on the crops (cx, cy, side) of a frame, one batch -> one _Found each; then
        refine_passes times again, each in the crop of its own answer (_follow; a crop whose answer
        is not finite is read where it was)."""
        found = self._read_once(frame, crops)
        height, width = frame.shape[:2]
        for _ in range(self.refine_passes):
            crops = [self._follow(f.detection.joints2d_px, width, height)
                     if np.isfinite(f.detection.joints2d_px).all() else crop for f, crop in zip(found, crops)]
            found = self._read_once(frame, crops)
        return found

    def _read_once(self, frame: np.ndarray, crops: list[tuple[float, float, float]]) -> list[_Found]:
        """Phi -> Omega on the crops (cx, cy, side) of a frame, one batch -> one _Found each."""
        if not crops:
            return []
        height, width = frame.shape[:2]
        images = np.stack([cut(frame, crop, CROP_SIZE) for crop in crops])                # [B, 128, 128, 3] uint8
        x = torch.from_numpy(images).permute(0, 3, 1, 2).float().div_(255.0)          # [B, 3, 128, 128]
        read = read_crops(self.net, x, self.gamma, self.flip_average)
        skeleton, rendered = read["skeleton"], read["rendered"]                       # [B, K, S, S]
        visibility = joint_visibility(read["agreement"]).numpy().astype(np.float32)   # [B, J]
        confidence = read["confidence"].tolist()                                      # [B]
        joints2d = from_crop(read["joints"].double(), torch.tensor(crops, dtype=torch.float64),
                             CROP_SIZE).numpy().astype(np.float32)                    # [B, J, 2] frame px
        found = []
        for i, crop in enumerate(crops):
            inside = ((joints2d[i] >= -0.5) & (joints2d[i] <= np.array([width - 0.5, height - 0.5]))).all(-1)
            lost = confidence[i] < self.lost_confidence or (1.0 - inside.mean()) > MAX_OUTSIDE_SHARE \
                or not np.isfinite(joints2d[i]).all()
            found.append(_Found(Detection(joints2d_px=joints2d[i], visibility=visibility[i],
                                          skeleton=skeleton[i].numpy().copy(), rendered=rendered[i].numpy().copy(),
                                          crop_box=corner_box(crop), confidence=float(confidence[i])), bool(lost)))
        return found

    def _distinct(self, found: list[_Found]) -> list[_Found]:
        """One answer per person: of answers whose 2D boxes overlap by IoU > SAME_PERSON_IOU, the most
        confident (the first found, of equals: a followed person before a newcomer)."""
        from .blazepose.rois import box_iou
        kept: list[_Found] = []
        for f in sorted(found, key=lambda f: -f.detection.confidence):
            if not kept or box_iou(f.box[None], np.stack([k.box for k in kept])).max() <= SAME_PERSON_IOU:
                kept.append(f)
        return kept

    def _largest(self, found: list[_Found]) -> list[_Found]:
        """Largest 2D box first; max_people of them at most."""
        found = sorted(found, key=lambda f: -_area(f.box))
        return found if self.max_people is None else found[:self.max_people]

    def _follow(self, joints2d: np.ndarray, width: int, height: int) -> tuple[float, float, float]:
        """The next crop: the square box of this frame's joints times crop_margin, its side bounded."""
        cx, cy, side = square_box(torch.from_numpy(joints2d[None]).double(), self.crop_margin)[0].tolist()
        return (cx, cy, float(np.clip(side, MIN_CROP_SIDE, 2.0 * max(width, height))))
