"""Lifter: 2D keypoints in pixels -> 3D skeletons in millimetres, with a shipped model.

    lifter = Lifter.from_pretrained()            # the default model's lifting network
    joints3d = lifter.lift(keypoints_px, image_size=(1280, 720), focal=1000.0)

The path is the same for every caller (the eval tool, the video pipeline, users):
pixels -> normalized camera coordinates (camera.py) -> the lifter's normalization
(normalization.py) -> network -> metric 3D. Monocular lifting has no absolute scale:
the output is scaled to the mean adult's skeleton (anthropometry.BONE_SUM_MM, from published
body proportions, not from the mocap) and placed at the depth where that skeleton projects
to the observed 2D size.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import torch

from .camera import default_focal, pixels_to_normalized
from .defaults import DEFAULT_MODEL, LIVE_MODEL  # noqa: F401  (re-exported: the lifters' names)
from .errors import UserError
from .io.weights import read_weights
from .models import build_network
from .models.lifter import inference_copy
from .anthropometry import BONE_SUM_MM
from .normalization import normalize_2d
from .skeleton import H36M17
from .world_model import WORLD_MODEL, WorldLandmarks

WEIGHTS_DIR = Path(__file__).parent / "weights"
#: Joints with a visibility below this go in as missing.
VISIBILITY_THRESHOLD = 0.5
#: A pose needs at least this many visible joints to be lifted; otherwise its row is NaN.
MIN_VISIBLE_JOINTS = 6
_FLIP_PERMUTATION = torch.from_numpy(H36M17.flip_permutation)
_PARENTS = torch.tensor([p for p, _ in H36M17.bones])
_CHILDREN = torch.tensor([c for _, c in H36M17.bones])


def available_models() -> list[str]:
    """Names of the models shipped inside the package: the lifting networks (NAME.pt) and the
    fusion models (fusion_models())."""
    return sorted([p.stem for p in WEIGHTS_DIR.glob("*.pt")] + fusion_models())


def fusion_models() -> list[str]:
    """Names of the shipped fusion models: a card NAME.json of "kind": "fusion" and no weights of
    its own (fusion.py: a lifter's answer blended with MediaPipe's world landmarks)."""
    return sorted(p.stem for p in WEIGHTS_DIR.glob("*.json")
                  if not p.with_suffix(".pt").exists() and json.loads(p.read_text()).get("kind") == "fusion")


def model_card(name: str) -> dict:
    """The model card (weights/<name>.json) of a shipped model, or {} where it has none."""
    card = WEIGHTS_DIR / f"{name}.json"
    return json.loads(card.read_text()) if card.exists() else {}


def load_model(name_or_path: str | os.PathLike = DEFAULT_MODEL):
    """What `--model` names: a shipped lifter or a lifter .pt (Lifter.from_pretrained), a shipped
    fusion model (fusion.Fusion), or "mediapipe-world", MediaPipe's own 3D (world_model.WorldLandmarks).

    Raises:
        UserError: as Lifter.from_pretrained.
    """
    if str(name_or_path) == WORLD_MODEL:
        return WorldLandmarks()
    if str(name_or_path) in fusion_models():
        from .fusion import Fusion
        return Fusion.from_card(str(name_or_path), model_card(str(name_or_path)))
    return Lifter.from_pretrained(name_or_path)


class Lifter:
    """A lifting network with its calling convention (see the module docstring)."""

    #: lift() reads the 2D alone (world_model.WorldLandmarks reads MediaPipe's 3D)
    reads_world3d = False

    def __init__(self, network: torch.nn.Module, name: str = "custom", card: dict | None = None,
                 flip_average: bool = True):
        self.network = network.eval()
        self._inference = inference_copy(network)    # the same function, BatchNorm folded, no module calls
        #: a network over a track's frames (models/temporal.py): lift() sees each pose as a one-frame
        #: track; lift_sequence() gives it a whole track
        self.temporal = bool(getattr(network, "temporal", False))
        self.name = name
        self.card = card or {}
        self.flip_average = flip_average

    @classmethod
    def from_pretrained(cls, name_or_path: str | os.PathLike | None = None) -> "Lifter":
        """Load a lifter.

        Args:
            name_or_path: a shipped lifting network's name (see available_models()) or a .pt file
                that a trainer wrote; None: the default model's network (DEFAULT_MODEL, or the
                lifter it fuses with MediaPipe's 3D when it is a fusion model).

        Returns:
            The Lifter, in eval mode on the CPU.

        Raises:
            UserError: an unknown name, a missing file, or a file that is no lifter checkpoint.
        """
        if name_or_path is None:
            name_or_path = model_card(DEFAULT_MODEL)["lifter"] if DEFAULT_MODEL in fusion_models() else DEFAULT_MODEL
        path = Path(name_or_path)
        if path.suffix != ".pt":
            if str(name_or_path) == WORLD_MODEL:
                raise UserError(f"{WORLD_MODEL} is MediaPipe's own 3D, not a lifting network: it runs in "
                                "webcam, video and image, not on 2D alone")
            if str(name_or_path) in fusion_models():
                raise UserError(f"{name_or_path} is a fusion model, not a lifting network: load it with "
                                "lifting.load_model")
            if str(name_or_path) not in available_models():
                raise UserError(f"unknown model {str(name_or_path)!r}; shipped models: "
                                 f"{', '.join(available_models()) or 'none'}, and {WORLD_MODEL} (webcam, "
                                 "video, image)")
            path = WEIGHTS_DIR / f"{name_or_path}.pt"
        if not path.is_file():
            raise UserError(f"model file not found: {path}")
        card, state = read_weights(path, "lifter")
        if card["architecture"].get("kind") == "skeleton-net":
            raise UserError(f"{path}: not a realtime3d lifter checkpoint (a skeleton net: pass it as "
                             "--detector-weights with --detector skeleton-net)")
        try:
            network = build_network(card["architecture"])
            network.load_state_dict(state)
        except (KeyError, RuntimeError, TypeError, ValueError, AttributeError) as exc:
            raise UserError(f"{path}: not a realtime3d lifter checkpoint (its weights do not fit: "
                             f"{exc.__class__.__name__})") from None
        # a distilled model learned the flip average of its teacher: one pass is its answer
        return cls(network, name=path.stem, card=card, flip_average=card.get("flip_average", True))

    def to(self, device: torch.device | str) -> "Lifter":
        """Move the network (and its inference copy) to a device; returns self."""
        self.network.to(device)
        self._inference.to(device)
        return self

    @torch.no_grad()
    def lift_normalized(self, pose2d: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Lift poses already in the lifter's normalization (normalization.normalize_2d).

        With flip_average, the pose is also lifted mirrored (x -> -x, left <-> right)
        and the mirrored answer, mirrored back, is averaged in: a mirrored person is
        as likely as the person, so the two answers should agree.

        Args:
            pose2d: [N, J, 2] normalized 2D (normalize_2d's first output).
            mask: [N, J] bool, True where a joint is visible.

        Returns:
            [N, J, 3] in the network's units (root near depth normalization.DEPTH).
        """
        if self.temporal:                           # each pose a track of one frame
            return self.lift_tracks(pose2d[:, None], mask[:, None])[:, 0]
        return self.lift_tracks(pose2d, mask)

    @torch.no_grad()
    def lift_tracks(self, pose2d: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """lift_normalized's pass (with the flip average) on the network's own input: poses [N, J, 2]
        and masks [N, J], or for a temporal network tracks [N, T, J, 2] and [N, T, J]."""
        if not self.flip_average:
            return self._inference(pose2d, mask)
        n = len(pose2d)
        perm = _FLIP_PERMUTATION
        sign = pose2d.new_tensor([-1.0, 1.0])
        both = self._inference(torch.cat([pose2d, pose2d[..., perm, :] * sign]),   # one pass: [2N, ..., J, 3]
                               torch.cat([mask, mask[..., perm]]))
        mirrored = both[n:, ..., perm, :] * both.new_tensor([-1.0, 1.0, 1.0])
        return 0.5 * (both[:n] + mirrored)

    @torch.inference_mode()   # numpy out, no autograd: the cheapest mode per torch call
    def lift(self, keypoints_px, image_size: tuple[int, int], focal: float | None = None,
             visibility=None, batch_size: int = 4096, threshold: float = VISIBILITY_THRESHOLD) -> np.ndarray:
        """Lift keypoints in pixels to metric 3D in camera coordinates.

        A joint is missing when its coordinates are NaN or its visibility is below
        threshold. The answer is scaled to the mean adult's skeleton (to_metric).

        Args:
            keypoints_px: [N, 17, 2] (or one pose [17, 2]) pixels, H36M17 order; NaN = missing.
            image_size: (width, height), pixels.
            focal: focal length, pixels; by default that of defaults.DEFAULT_HFOV_DEG.
            visibility: [N, 17] in 0..1, or None (every finite joint is visible).
            batch_size: poses per network call.
            threshold: the visibility below which a joint is missing (VISIBILITY_THRESHOLD,
                MediaPipe's; a detector can have its own).

        Returns:
            [N, 17, 3] float32 mm, camera coordinates (x right, y down, z forward); NaN rows
            for frames with fewer than MIN_VISIBLE_JOINTS visible joints.
        """
        kp = np.asarray(keypoints_px, dtype=np.float32)
        if kp.ndim == 2:
            return self.lift(kp[None], image_size, focal, None if visibility is None
                             else np.asarray(visibility)[None], batch_size, threshold)[0]
        if kp.ndim != 3 or kp.shape[1:] != (H36M17.num_joints, 2):
            raise ValueError(f"keypoints must be [N, {H36M17.num_joints}, 2], got {list(kp.shape)}")
        if len(image_size) != 2 or min(image_size) <= 0:
            raise ValueError(f"image_size must be (width, height), got {image_size}")
        focal = float(focal) if focal is not None else default_focal(image_size)
        if not focal > 0:
            raise ValueError(f"focal must be positive, got {focal}")
        mask = np.isfinite(kp).all(-1)                                    # [N, J]
        if visibility is not None:
            vis = np.asarray(visibility, dtype=np.float32)
            if vis.shape != mask.shape:
                raise ValueError(f"visibility must be {list(mask.shape)}, got {list(vis.shape)}")
            mask &= vis >= threshold
        ok = mask.sum(1) >= MIN_VISIBLE_JOINTS
        out = np.full(kp.shape[:2] + (3,), np.nan, dtype=np.float32)
        if not ok.any():
            return out
        pts = pixels_to_normalized(torch.from_numpy(np.nan_to_num(kp[ok])), image_size, focal)
        m = torch.from_numpy(mask[ok])
        results = []
        for start in range(0, len(pts), batch_size):
            p, mk = pts[start:start + batch_size], m[start:start + batch_size]
            pose2d, centre, scale = normalize_2d(p, mk)
            lifted = self.lift_normalized(pose2d, mk)                    # [B, J, 3]
            results.append(to_metric(lifted, centre, scale))
        out[ok] = torch.cat(results).numpy()
        return out


    @torch.inference_mode()
    def lift_sequence(self, keypoints_px, image_size: tuple[int, int], focal: float | None = None,
                      visibility=None, threshold: float = VISIBILITY_THRESHOLD) -> np.ndarray:
        """Lift one person's track, frame by frame in order, as lift() does each pose; a temporal
        network sees each run of consecutive liftable frames whole (a frame with fewer than
        MIN_VISIBLE_JOINTS visible joints ends a run), any other network frame by frame.

        Args:
            keypoints_px: [T, 17, 2] pixels, the track's frames in order; NaN = missing.
            image_size, focal, visibility ([T, 17]), threshold: as lift().

        Returns:
            [T, 17, 3] float32 mm, camera coordinates; NaN rows as lift()'s.
        """
        kp = np.asarray(keypoints_px, dtype=np.float32)
        if kp.ndim != 3 or kp.shape[1:] != (H36M17.num_joints, 2):
            raise ValueError(f"keypoints must be [T, {H36M17.num_joints}, 2], got {list(kp.shape)}")
        if not self.temporal:
            return self.lift(kp, image_size, focal, visibility, threshold=threshold)
        focal = float(focal) if focal is not None else default_focal(image_size)
        mask = np.isfinite(kp).all(-1)                                    # [T, J]
        if visibility is not None:
            mask &= np.asarray(visibility, dtype=np.float32) >= threshold
        ok = mask.sum(1) >= MIN_VISIBLE_JOINTS                             # [T]
        out = np.full(kp.shape[:2] + (3,), np.nan, dtype=np.float32)
        edges = np.flatnonzero(np.diff(np.concatenate([[0], ok.astype(np.int8), [0]])))
        for start, stop in zip(edges[::2], edges[1::2]):                  # runs of liftable frames
            pts = pixels_to_normalized(torch.from_numpy(np.nan_to_num(kp[start:stop])), image_size, focal)
            m = torch.from_numpy(mask[start:stop])
            pose2d, centre, scale = normalize_2d(pts, m)                  # [L, J, 2]
            lifted = self.lift_tracks(pose2d[None], m[None])[0]           # [L, J, 3]
            out[start:stop] = to_metric(lifted, centre, scale).numpy()
        return out


def to_metric(lifted: torch.Tensor, centre: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """Give a lifted pose the mean adult's size and the depth where it projects to the 2D.

    Each pose is scaled so that its 16 bone lengths sum to anthropometry.BONE_SUM_MM (the
    mean adult's, from published body proportions, not from the mocap). The normalized 2D
    is (x - centre) * scale and the network's root sits at depth z_root, so a skeleton of
    k mm per unit sits at depth k * z_root * scale.

    Args:
        lifted: [B, J, 3] the network's output (lift_normalized), network units.
        centre: [B, 2] normalize_2d's centre, normalized camera coordinates.
        scale: [B] normalize_2d's scale.

    Returns:
        [B, J, 3] mm, camera coordinates.
    """
    root = H36M17.root
    rel = lifted - lifted[:, root:root + 1]                               # [B, J, 3]
    bone_sum = (rel[:, _CHILDREN] - rel[:, _PARENTS]).norm(dim=-1).sum(-1)  # [B]
    k = BONE_SUM_MM / bone_sum.clamp(min=1e-6)                            # mm per unit [B]
    depth = k * lifted[:, root, 2] * scale                                # [B]
    root_xyz = torch.cat([centre * depth[:, None], depth[:, None]], dim=-1)
    return rel * k[:, None, None] + root_xyz[:, None, :]
