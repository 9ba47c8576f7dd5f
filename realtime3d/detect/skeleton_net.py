"""The image path's detector: a person crop -> Phi (skeleton image) -> Omega (2D), with the
agreement of the two as its confidence (Sosa & Hogg, 2023; the networks are
realtime3d.models.image.SkeletonNet, trained by realtime3d/trainers/skeleton_net.py).

    with SkeletonNetDetector() as detector:           # the shipped weights/detectors/skeleton-net.pt
        detection = detector.detect(frame_bgr)        # Detection: joints2d_px, visibility, skeleton, ...

**The crop.** Phi reads a CROP_SIZE x CROP_SIZE RGB crop. On the first frame, after reset(), and
after a frame in which the person was lost, the crop is the full frame: the centred square whose
side is the frame's longer side, the rest padded black. Otherwise it follows the previous
frame's pose: the square box of its 2D joints times the model card's crop_margin
(realtime3d.crops.square_box, the rule that framed every training crop), its side kept within
[MIN_CROP_SIDE, 2 x the frame's longer side]. The person is lost when the frame's confidence is
below lost_confidence (LOST_CONFIDENCE unless the card or the caller says otherwise) or when more
than half of the joints lie outside the frame (Omega's soft-argmax always places a joint inside
its crop, so "outside the crop" can only mean in the crop's black padding beyond the frame).
The crop is resampled with OpenCV (INTER_AREA down to within a factor 2 of the crop's scale,
then bilinear warpAffine), padded black (BORDER_CONSTANT 0). The mapping between crop and
frame pixels is exact both ways (realtime3d.crops.to_crop / from_crop; pixel centres at
integers): Omega's joints go back to the frame through it, and the resampled pixels sit where
it says, up to OpenCV's 1/32-pixel interpolation grid.

**The confidence.** kappa of Omega's 2D (eq. 2, realtime3d.kernels.render_skeleton, one channel
per bone, in skeleton-image pixels) is compared with Phi's own skeleton image, bone by bone: a
soft Dice 2 sum(a b) / (sum(a^2) + sum(b^2)), in 0..1 and 1 exactly when the two images are
equal. A joint's visibility is the mean agreement of the bones that touch it; the frame's
confidence is the mean over bones. It says where Phi drew something that Omega's 2D does not
explain (or missed what it does): the kernels' inference use.

What the lifter gets: every joint, by default. Visibility here is an agreement, not
MediaPipe's probability that a landmark is seen, and it is not yet calibrated on trained
weights, so `visibility_threshold` (a joint below it goes to the lifter as missing) is 0 unless
the model card sets one. A frame whose confidence is below `person_confidence`
(PERSON_CONFIDENCE unless the card or the caller says otherwise) has no person.

The path is experimental and not accurate yet: EXPERIMENTAL is the command's warning.
"""
from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np
import torch
from torch import nn

from ..crops import CROP_MARGIN, cut, from_crop, square_box
from ..errors import UserError
from ..io.weights import read_weights
from ..kernels import render_skeleton
from ..models.image import CROP_SIZE, GAMMA, NUM_BONES, SKELETON_SIZE, SkeletonNet, crop_to_skeleton_px
from ..skeleton import H36M17
from .detection import Detection, OnePersonDetector, check_frame

#: Where the shipped skeleton nets live: not weights/ itself, whose *.pt are the lifters.
DETECTORS_DIR = Path(__file__).resolve().parents[1] / "weights" / "detectors"
DEFAULT_WEIGHTS = "skeleton-net"
#: Below this frame confidence the person is lost: the next frame's crop is the full frame.
LOST_CONFIDENCE = 0.3
#: Below this frame confidence the frame has no person (detect() answers None).
PERSON_CONFIDENCE = 0.1
#: The one-line warning of every run with --detector skeleton-net, until the image path is accurate.
EXPERIMENTAL = (f"--detector skeleton-net is experimental and not accurate yet; a frame whose confidence is below "
                f"{PERSON_CONFIDENCE:g} counts as no person")
#: A crop that follows the pose is at least this many frame pixels wide.
MIN_CROP_SIDE = 32.0
#: More than this share of the joints outside the frame: the person is lost.
MAX_OUTSIDE_SHARE = 0.5
#: [K, 2] (parent, child): the bones of every skeleton image, one channel each.
BONES = torch.tensor(H36M17.bones, dtype=torch.long)
# [J, K]: joint j's row averages the bones that touch it
_TOUCH = torch.zeros(H36M17.num_joints, NUM_BONES)
for _k, (_a, _b) in enumerate(H36M17.bones):
    _TOUCH[_a, _k] = _TOUCH[_b, _k] = 1.0
_TOUCH /= _TOUCH.sum(1, keepdim=True)


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


class SkeletonNetDetector(OnePersonDetector):
    """Phi -> Omega on a person crop that follows the pose (see the module docstring).

    weights: a shipped name, a .pt path, or a SkeletonNet already built (then card is its model
    card, {} by default). lost_confidence, person_confidence: as in the module docstring; None
    takes the card's value, else LOST_CONFIDENCE and PERSON_CONFIDENCE. One frame per call, batch 1, under
    torch.inference_mode; the torch thread count is the caller's (PosePipeline sets 1).
    """

    name = "skeleton-net"

    def __init__(self, weights: str | os.PathLike | nn.Module = DEFAULT_WEIGHTS, card: dict | None = None,
                 lost_confidence: float | None = None, person_confidence: float | None = None):
        if isinstance(weights, nn.Module):
            net, card = weights, dict(card or {})
            _check_card(card, "card")
            self.fingerprint = f"skeleton:in-memory:{id(net)}"
        else:
            net, card = load_skeleton_net(weights)
            path = _resolve(weights)
            stat = path.stat()
            self.fingerprint = f"skeleton:{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}"
        self.net, self.card = net.eval(), card
        self.crop_margin = float(card.get("crop_margin", CROP_MARGIN))
        self.gamma = float(card.get("gamma", GAMMA))
        self.visibility_threshold = float(card.get("visibility_threshold", 0.0))
        self.lost_confidence = float(card.get("lost_confidence", LOST_CONFIDENCE)
                                     if lost_confidence is None else lost_confidence)
        self.person_confidence = float(card.get("person_confidence", PERSON_CONFIDENCE)
                                       if person_confidence is None else person_confidence)
        for key in ("lost_confidence", "person_confidence"):
            if not 0.0 <= getattr(self, key) <= 1.0:
                raise ValueError(f"{key} must be in 0..1, got {getattr(self, key)}")
        self._box: tuple[float, float, float] | None = None    # (cx, cy, side) of the next crop; None: full frame
        self._closed = False

    @property
    def lifter(self) -> str | None:
        """The lifter the net was trained with (the card's "lifter"), or None."""
        return self.card.get("lifter")

    @property
    def next_box(self) -> tuple[float, float, float] | None:
        """(x0, y0, side) of the crop the next frame gets, or None: the full frame."""
        return None if self._box is None else corner_box(self._box)

    def detect(self, frame_bgr: np.ndarray) -> Detection | None:
        """A BGR uint8 frame [H, W, 3] -> the person's Detection, or None (a frame whose confidence
        is below person_confidence)."""
        return self.detect_rgb(cv2.cvtColor(check_frame(frame_bgr, "BGR"), cv2.COLOR_BGR2RGB))

    def detect_rgb(self, frame_rgb: np.ndarray) -> Detection | None:
        """detect() of a frame already in RGB order (the networks' own)."""
        if self._closed:
            raise ValueError("SkeletonNetDetector is closed")
        frame = check_frame(frame_rgb, "RGB")
        h, w = frame.shape[:2]
        box = self._box if self._box is not None else full_frame_box(w, h)
        crop = cut(frame, box, CROP_SIZE)                                                 # [128, 128, 3] uint8
        with torch.inference_mode():
            x = torch.from_numpy(crop).permute(2, 0, 1)[None].float().div_(255.0)     # [1, 3, 128, 128]
            skeleton, joints_crop = self.net(x)                                       # [1, K, S, S], [1, J, 2]
            skeleton, joints_crop = skeleton.float(), joints_crop.float()
            rendered = render_kappa(joints_crop, self.gamma)                          # [1, K, S, S]
            per_bone = bone_agreement(skeleton, rendered)[0]                          # [K]
            visibility = joint_visibility(per_bone).numpy().astype(np.float32)        # [J]
            confidence = float(per_bone.mean())
        joints2d = crop_to_frame(joints_crop[0].numpy(), box).astype(np.float32)      # [J, 2] frame px
        inside = ((joints2d >= -0.5) & (joints2d <= np.array([w - 0.5, h - 0.5]))).all(-1)
        lost = confidence < self.lost_confidence or (1.0 - inside.mean()) > MAX_OUTSIDE_SHARE \
            or not np.isfinite(joints2d).all()
        self._box = None if lost else self._follow(joints2d, w, h)
        if confidence < self.person_confidence:
            return None
        return Detection(joints2d_px=joints2d, visibility=visibility, skeleton=skeleton[0].numpy().copy(),
                         rendered=rendered[0].numpy().copy(), crop_box=corner_box(box), confidence=confidence)

    def _follow(self, joints2d: np.ndarray, width: int, height: int) -> tuple[float, float, float]:
        """The next crop: the square box of this frame's joints times crop_margin, its side bounded."""
        cx, cy, side = square_box(torch.from_numpy(joints2d[None]).double(), self.crop_margin)[0].tolist()
        return (cx, cy, float(np.clip(side, MIN_CROP_SIDE, 2.0 * max(width, height))))

    def reset(self, search: bool = True) -> None:
        """Forget the tracked person: the next frame's crop is the full frame. search: the
        detectors' common signature (MultiPoseDetector.reset); the full frame is the one search."""
        if self._closed:
            raise ValueError("SkeletonNetDetector is closed")
        self._box = None

    def close(self) -> None:
        self._closed = True

    def __enter__(self) -> "SkeletonNetDetector":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
