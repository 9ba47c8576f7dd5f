"""The adversarial fine-tuning of Yang et al., "3D Human Pose Estimation in the Wild by Adversarial
Learning" (2018), secs. 3-4, adapted to lifting 2D -> 3D, as a method on the spine (base.py).
What differs from the paper and why, and the verdict: docs/methods.md.

G is the lifter (LiftingNetwork), started from params.init (the shipped `supervised` model: the
paper's pretraining with 3D labels). Each step: one D step with the paper's BCE (eq. 3), then one G
step on L_G = cls_weight * L_cls + L_pose (eq. 5):
- L_pose: the supervised baseline's loss on labelled CMU train views (baselines.scale_invariant_loss
  plus Drover's hidden-joint loss);
- L_cls: G's fooling loss (eq. 4) on fakes, G's lifts (in eval mode) of 2D without 3D labels:
  (a) media_share of them: MediaPipe's 2D of params.media (at most max_drop joints unseen; mirrored
      with params.mirror), normalized as Lifter.lift does;
  (b) new_camera_share: CMU train poses seen from new cameras, elevations new_elevation_deg;
  (c) the rest: labelled train views.
  A fake is (G's completed 2D [B, J, 2], G's 3D [B, J, 3]); D's reals are ground-truth (2D, 3D) pairs
  of train views. 3D reaches D in canonical form (cycle.canonical).
- params.adversarial = false is Table 2's Baseline: the same trainer, init, budget and L_pose, no D.
- params.sources: D's information sources ("pose", "map", "geo"; realtime3d/models/yang.py).

Reads 3D (the card says so): L_pose, D's reals, the start, and the selection on the val subjects'
3D P-MPJPE (val_p_mpjpe). The media's detections can be cached (params.media_cache, a JSON file
written by write_media_cache); without a current cache the method runs MediaPipe at the start and
writes nothing. Nothing derived from the media may be committed: the cache belongs in runs/.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from realtime3d.camera import default_focal, pixels_to_normalized
from realtime3d.io._atomic import atomic_write_text
from realtime3d.lifting import VISIBILITY_THRESHOLD, Lifter
from realtime3d.models import LiftingNetwork
from realtime3d.models.yang import MultiSourceDiscriminator, parse_sources
from realtime3d.normalization import normalize_2d
from realtime3d.skeleton import H36M17
from .base import Method, descend
from .config import param
from .baselines import scale_invariant_loss
from .cycle import canonical
from .distributed import unwrap
from ..errors import UserError
from .footage import PHOTO_SUFFIXES, VIDEO_SUFFIXES, _frames
from .losses import HiddenJoints, hidden_joint_loss
from .sampling import OWN_2D, mirror_poses

#: The cache file's format version (a cache of another version is detected again).
CACHE_VERSION = 1

log = logging.getLogger(__name__)


@dataclass
class YangConfig(HiddenJoints):
    """The [params] of yang; defaults are the shipped Full row of Table 2."""

    init: str = param("supervised", "the pretrained generator to fine-tune: a shipped lifter's name (e.g. "
                                    "supervised) or a .pt")
    adversarial: bool = param(True, "fine-tune against the multi-source discriminator (false: Table 2's "
                                    "Baseline, the pose loss alone)")
    sources: str = param("pose,map,geo", "the discriminator's information sources, comma-separated: pose "
                                         "(the 2D, the paper's image), map (heatmaps with depth maps), geo "
                                         "(the pairwise geometric descriptor)")
    cls_weight: float = param(1e-4, "lambda of eq. 5, the weight of the generator's fooling loss L_cls "
                                    "beside L_pose")
    lr_g: float = param(1e-4)
    lr_d: float = param(2e-4)
    betas: tuple = param((0.5, 0.999))
    d_width: int = param(256, "the discriminator's width: each source's embedding and its head")
    map_size: int = param(16, "side of the heatmaps and depth maps, pixels (a multiple of 4)")
    map_sigma: float = param(1.0, "sigma of the heatmaps' Gaussians, pixels")
    map_channels: int = param(16, "channels of the first convolution of the maps' embedding")
    kernel_backend: str = param("auto", "realtime3d.kernels backend of the heatmaps and depth maps: auto, "
                                        "cpu, reference, triton")
    adv_batch: int = param(256, "the discriminator's real samples per step, and as many fakes")
    media: str = param("", "unlabelled photos and videos whose MediaPipe 2D are fakes (files or folders, "
                           "comma-separated; empty: the shared media folder)")
    media_cache: str = param("", "a JSON cache of the media's MediaPipe 2D, read when it matches the media "
                                 "(empty: detect at the start); benchmarks/bench_yang.py writes "
                                 "runs/yang/media_2d.json")
    media_share: float = param(0.25, "share of the fakes from the media's 2D")
    new_camera_share: float = param(0.5, "share of the fakes from CMU train poses seen by new cameras (the "
                                         "rest: labelled views)")
    new_elevation_deg: tuple = param((20.0, 50.0), "the new cameras' elevation range, degrees (the training "
                                                   "views: 0-20)")

    def __post_init__(self) -> None:
        parse_sources(self.sources)
        shares = (self.media_share, self.new_camera_share)
        if min(shares) < 0 or sum(shares) > 1:
            raise UserError(f"media_share and new_camera_share must be >= 0 and sum to at most 1, got {shares}")
        lo, hi = self.new_elevation_deg
        if not -90 < lo < hi < 90:
            raise UserError(f"new_elevation_deg must be (low, high) within (-90, 90), got {self.new_elevation_deg}")


# ---------------------------------------------------------------------------------- the media
def default_media_root() -> Path:
    """The shared media folder: beside the CMU mocap (data.mocap.default_cmu_root)."""
    from realtime3d.data.mocap import default_cmu_root
    return default_cmu_root().parent / "media"


def media_files(spec: str = "") -> list[Path]:
    """The photos and videos of spec (files or folders, comma-separated; "" = default_media_root()), sorted."""
    parts = [p.strip() for p in spec.split(",") if p.strip()] or [str(default_media_root())]
    files: list[Path] = []
    for part in parts:
        path = Path(part)
        if not path.exists():
            raise UserError(f"params.media {part!r}: no such file or folder")
        found = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        files += [p for p in found if p.suffix.lower() in VIDEO_SUFFIXES + PHOTO_SUFFIXES]
    if not files:
        raise UserError(f"params.media {spec!r}: no photos or videos there")
    return files


def _manifest(files: list[Path]) -> list[dict]:
    return [{"path": str(f.resolve()), "bytes": f.stat().st_size} for f in files]


def detect_media(files: list[Path]) -> list[dict]:
    """MediaPipe's person in every frame of every file: [{source, frame, image_size [w, h],
    joints2d_px [J][2], visibility [J]}] (photos: one independent image each; videos: tracked)."""
    from realtime3d.detect import PoseDetector
    poses = []
    for path in files:
        frames = _frames(path)                                                   # RGB [H, W, 3] each
        with PoseDetector(static_image_mode=path.suffix.lower() in PHOTO_SUFFIXES) as detector:
            for i, frame in enumerate(frames):
                found = detector.detect_rgb(frame)
                if found is not None:
                    poses.append({"source": str(path), "frame": i, "image_size": [frame.shape[1], frame.shape[0]],
                                  "joints2d_px": found.joints2d_px.tolist(), "visibility": found.visibility.tolist()})
    return poses


def _cached(files: list[Path], cache: str | Path) -> list[dict] | None:
    """The cache's detections when it is current (this version, the same files and sizes), else None."""
    if not cache or not Path(cache).is_file():
        return None
    stored = json.loads(Path(cache).read_text())
    if stored.get("version") == CACHE_VERSION and stored.get("files") == _manifest(files):
        return stored["poses"]
    return None


def write_media_cache(spec: str, path: str | Path) -> Path:
    """The cache file of spec's media (see the module doc): kept when current, else MediaPipe
    runs once and writes it."""
    files = media_files(spec)
    path = Path(path)
    if _cached(files, path) is None:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, json.dumps({"version": CACHE_VERSION, "files": _manifest(files),
                                            "poses": detect_media(files)}) + "\n")
    return path


def media_detections(spec: str, cache: str = "") -> list[dict]:
    """The detections of spec's media: the cache's when it is current, else MediaPipe's, run now
    (nothing is written)."""
    files = media_files(spec)
    stored = _cached(files, cache)
    if stored is not None:
        return stored
    if cache:
        log.warning("train: yang: %s is missing or not of these media files; detecting them now", cache)
    return detect_media(files)


def media_pool(detections: list[dict], max_hidden: int = 3) -> tuple[torch.Tensor, torch.Tensor]:
    """(normalized 2D [N, J, 2], mask [N, J]) of the detections with at most max_hidden joints
    unseen (not finite, or visibility < VISIBILITY_THRESHOLD: the lifter fills them in), normalized
    as Lifter.lift does (the default focal of each image's size; unseen joints at 0)."""
    poses, masks = [], []
    for det in detections:
        px = torch.tensor(det["joints2d_px"], dtype=torch.float32)[None]             # [1, J, 2]
        seen = torch.isfinite(px).all(-1) & (torch.tensor(det["visibility"])[None] >= VISIBILITY_THRESHOLD)
        if (~seen).sum() > max_hidden:
            continue
        size = tuple(det["image_size"])
        pts = pixels_to_normalized(torch.nan_to_num(px), size, default_focal(size))
        poses.append(normalize_2d(pts, seen)[0])
        masks.append(seen)
    if not poses:
        raise UserError(f"params.media: MediaPipe saw nobody with at most {max_hidden} joints unseen in these media")
    return torch.cat(poses), torch.cat(masks)


class MediaSampler:
    """Random draws of the media's 2D and masks on a stream, with their mirror images."""

    def __init__(self, pose2d: torch.Tensor, mask: torch.Tensor, stream, mirror: bool = True,
                 device: torch.device | str = "cpu"):
        if mirror:
            perm = torch.from_numpy(H36M17.flip_permutation)
            pose2d, mask = torch.cat([pose2d, mirror_poses(pose2d)]), torch.cat([mask, mask[:, perm]])
        self.pose2d, self.mask, self.stream, self.device = pose2d, mask, stream, torch.device(device)

    def sample(self, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        """n is the global count: this process's (2D [k, J, 2], mask [k, J])."""
        idx = self.stream.draw(lambda k, gen: torch.randint(0, len(self.pose2d), (k,), generator=gen), n)
        return self.pose2d[idx].to(self.device), self.mask[idx].to(self.device)


# ---------------------------------------------------------------------------------- the method
def bce(logits: torch.Tensor, real: bool) -> torch.Tensor:
    """L_cls of the paper, -(y log D + (1 - y) log(1 - D)), on logits, batch mean."""
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, 1.0 if real else 0.0))


class Yang(Method):
    """Fine-tunes a supervised lifter with L_pose + cls_weight * L_cls against a multi-source D."""

    name = "yang"
    Config = YangConfig
    criterion = "val_p_mpjpe"
    reads_3d = ("its pose loss (the 3D of every labelled train view), the discriminator's real samples (train "
                "views with their 3D), its start (params.init, trained with 3D labels) and model selection "
                "(val 3D P-MPJPE)")

    def __init__(self, cfg: YangConfig, ctx):
        super().__init__(cfg, ctx)
        if ctx.protocol == OWN_2D:
            raise UserError("yang fine-tunes with 3D labels: train it on the CMU mocap (train.data = 'cmu')")
        self.poses = ctx.sampler("poses", mirror=cfg.mirror)
        self.sources = parse_sources(cfg.sources)
        self.counts = {"media": 0, "new_cameras": 0, "views": 0}
        self.media_poses = 0
        if not cfg.adversarial:
            return
        unit = ctx.total_shards
        if cfg.adv_batch % unit:
            raise UserError(f"params.adv_batch={cfg.adv_batch} must be a multiple of the {unit} data shards")
        media = round(cfg.media_share * cfg.adv_batch / unit) * unit
        new = round(cfg.new_camera_share * cfg.adv_batch / unit) * unit
        self.counts = {"media": media, "new_cameras": new, "views": cfg.adv_batch - media - new}
        self.reals = ctx.sampler("reals", mirror=cfg.mirror)
        self.fake_views = ctx.sampler("fake_views", mirror=cfg.mirror)
        if new:
            if ctx.protocol != "random-projection":
                raise UserError("new cameras re-project the 3D: the fixed-camera protocol has fixed views "
                                "(set params.new_camera_share = 0)")
            self.new_cameras = ctx.sampler("new_cameras", mirror=cfg.mirror, elevation_deg=cfg.new_elevation_deg)
        if media:
            pose2d, seen = media_pool(media_detections(cfg.media, cfg.media_cache), cfg.max_drop)
            self.media_poses = len(pose2d)
            self.media = MediaSampler(pose2d, seen, ctx.stream("media"), mirror=cfg.mirror, device=ctx.device)
            if ctx.rank == 0:
                log.info("train: yang: %d unlabelled media poses (at most %d joints unseen)", self.media_poses,
                         cfg.max_drop)

    def build(self):
        init = Lifter.from_pretrained(self.cfg.init)
        g = init.network
        if type(g) is not LiftingNetwork or g.extra_outputs:
            raise UserError(f"params.init {self.cfg.init!r} is not a plain lifting network "
                            f"({init.card['architecture']}): start from a supervised lifter")
        models = {"g": g.train()}
        if self.cfg.adversarial:
            cfg = self.cfg
            models["d"] = MultiSourceDiscriminator(self.sources, H36M17.num_joints, cfg.d_width, cfg.map_size,
                                                   cfg.map_sigma, cfg.map_channels, cfg.kernel_backend)
        return models

    def optimizers(self, models):
        cfg = self.cfg
        opts = {"g": torch.optim.Adam(models["g"].parameters(), lr=cfg.lr_g, betas=cfg.betas)}
        if cfg.adversarial:
            opts["d"] = torch.optim.Adam(models["d"].parameters(), lr=cfg.lr_d, betas=cfg.betas)
        return opts

    def _fakes(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The fakes' 2D [F, J, 2] and mask [F, J]: labelled views, new cameras (every joint
        seen), media (the joints MediaPipe saw)."""
        parts = []
        for name in ("views", "new_cameras"):
            if self.counts[name]:
                pose2d, mask, _ = (self.fake_views if name == "views" else self.new_cameras).sample(self.counts[name])
                parts.append((pose2d, mask))
        if self.counts["media"]:
            parts.append(self.media.sample(self.counts["media"]))
        return torch.cat([p for p, _ in parts]), torch.cat([m for _, m in parts])

    def step(self, models, opts, step):
        cfg = self.cfg
        g = models["g"]
        pose2d, mask, body = self.poses.sample(self.ctx.batch, cfg.max_drop, cfg.drop_prob)   # [B, J, 2], [B, J], [B, J, 3]
        pred = g(pose2d, mask)                                                                # [B, J, 3]
        loss_pose = scale_invariant_loss(pred, body) + cfg.fill_weight * hidden_joint_loss(pred, pose2d, mask)
        if not cfg.adversarial:  # Table 2's Baseline
            descend(opts["g"], loss_pose)
            return {"loss": loss_pose.item(), "pose": loss_pose.item()}
        # the fakes: G's answers as at test time (batch norm's running statistics), so that only
        # L_pose's batches move those statistics, as in Baseline; unwrapped: one DDP forward per step
        fake2d, fake_mask = self._fakes()                                                     # [F, J, 2], [F, J]
        lifter = unwrap(g)
        lifter.eval()
        lifted = lifter(fake2d, fake_mask)                                                    # [F, J, 3]
        lifter.train()
        fake3d = canonical(lifted)
        # D sees G's completed pose: its 2D is the input where a joint was seen, G's filled-in 2D elsewhere
        fake2d = torch.where(fake_mask[..., None], fake2d, lifted[..., :2] / lifted[..., 2:3])
        real2d, _, real3d = self.reals.sample(cfg.adv_batch)                                   # [R, J, 2], [R, J, 3]

        # D (eq. 3): ground-truth pairs -> 1, G's pairs -> 0, in one forward
        logits = models["d"](torch.cat([real2d, fake2d.detach()]), torch.cat([canonical(real3d), fake3d.detach()]))
        d_real, d_fake = logits[:len(real2d)], logits[len(real2d):]
        loss_d = bce(d_real, True) + bce(d_fake, False)
        descend(opts["d"], loss_d)

        # G (eq. 5): D unwrapped and frozen, so its gradients are neither computed nor reduced
        judge = unwrap(models["d"])
        judge.requires_grad_(False)
        loss_cls = bce(judge(fake2d, fake3d), True)
        judge.requires_grad_(True)
        loss = loss_pose + cfg.cls_weight * loss_cls
        descend(opts["g"], loss)
        return {"loss": loss.item(), "pose": loss_pose.item(), "cls": loss_cls.item(), "loss_d": loss_d.item(),
                "d_real": torch.sigmoid(d_real).mean().item(), "d_fake": torch.sigmoid(d_fake).mean().item()}

    def eval_model(self, models):
        return models["g"]

    def model_card(self) -> dict:
        cfg = self.cfg
        train_poses = len(self.ctx._split("train")["joints3d"])
        card = {"init": cfg.init, "adversarial": cfg.adversarial,
                "labels_3d": {"train_poses": train_poses, "mirror_images": cfg.mirror,
                              "read_by": "the pose loss and the discriminator's reals (every CMU train pose, through "
                                         "the run's views); the start was trained with the same labels",
                              "selection": "the val subjects' 3D (train.val_frames evenly spaced val frames)"}}
        if cfg.adversarial:
            card["discriminator"] = {
                "sources": list(self.sources), "cls_weight": cfg.cls_weight,
                "fakes_per_step": dict(self.counts), "reals_per_step": cfg.adv_batch,
                "media_poses": self.media_poses,
                "new_cameras_elevation_deg": list(cfg.new_elevation_deg) if self.counts["new_cameras"] else None}
        return card

