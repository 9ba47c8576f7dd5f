"""Yang et al.'s adversarial fine-tuning with a multi-source discriminator (seeds/002, CVPR 2018,
secs. 3-4), adapted to lifting 2D -> 3D, as a method on the spine (base.py).

The paper: a 3D pose estimator G (image -> heatmaps and depths) is pretrained with 3D labels
(sec. 4.1), then trained in turns with a discriminator D that tells ground-truth (image, 3D) pairs
of the 3D data set from G's (image, G(image)) on images of the 3D and of an in-the-wild 2D data set
(eq. 3, binary cross-entropy), with L_G = lambda * L_cls + L_pose, lambda = 1e-4 (eq. 5). D has
three sources, each embedded apart, then concatenated (Figure 2): the image, the geometric
descriptor [dx, dy, dz, dx^2, dy^2, dz^2] of every joint pair, heatmaps with depth maps
(realtime3d/models/yang.py). Table 2's rows: Baseline (no adversarial term), Map (image + maps),
Geo (image + descriptor), Full (all three).

Here:
- G is the lifter (LiftingNetwork), started from params.init, the shipped `supervised` model
  (the same architecture trained with the CMU train 3D labels: the paper's pretraining);
- L_pose: the supervised baseline's loss on the run's labelled CMU train views (the spine's
  sampler; baselines.scale_invariant_loss plus Drover's hidden-joint loss), every step;
- L_cls: G's fooling loss (eq. 4) on fakes: G's lifts of 2D without 3D labels from other sources,
  the paper's in-the-wild images:
  (a) media_share of them: MediaPipe's 2D (realtime3d.detect.PoseDetector) of the real photos and
      video of params.media (default: the shared media folder), the poses with at most
      params.max_drop joints unseen (visibility < 0.5: G fills them in, as it does for a user),
      normalized as Lifter.lift does (camera.pixels_to_normalized with the default 60-degree
      focal, normalization.normalize_2d), and their mirror images with params.mirror;
  (b) new_camera_share of them: CMU train poses seen from new cameras, elevations
      new_elevation_deg = 20-50 degrees (above the sampler's 0-20: high cameras, as in street
      and surveillance footage), the sampler's 2D only;
  (c) the rest: G's lifts of labelled train views (the paper's fakes come "from 3D or 2D pose
      dataset"; these are the fakes whose 2D D cannot tell from the reals' 2D, so D must judge
      their 3D).
  A fake is (G's completed 2D: the input's seen joints and G's filled-in ones, G's 3D); D's reals
  are ground-truth (2D, 3D) pairs of train views, every joint seen.
  D is trained with the paper's BCE (eq. 3), one D step then one G step per training step. G lifts
  the fakes in eval mode (batch norm's running statistics, as it answers at test time), so only
  L_pose's batches move its statistics: with cls_weight = 0 a run is Baseline's, weight for weight.
- params.adv = false is Table 2's Baseline: the same trainer, the same init, budget and L_pose,
  with no D (a fair baseline: the gain of the adversarial rows is the discriminator's alone).
- params.sources: which of D's sources are on ("pose", "map", "geo"; the shipped rows keep
  "pose", the paper's image, in every row).

What differs, and why: the image source is the 2D pose (we have no images of the mocap; see
models/yang.py); G's 3D reaches D root-centred and scaled to unit RMS radius (cycle.canonical),
for the reals' body units and the lifter's normalized units to look alike; lambda stays the
paper's 1e-4 (cls_weight), though our L_pose is a per-joint mean in body units, not the paper's
sum over joints and maps, so the adversarial term weighs less here than in the paper. The media
give a few hundred unlabelled poses, not MPII's 25K images; D can tell the media's and the new
cameras' 2D from the reals' 2D by the 2D alone (as the paper's D can tell in-the-wild images by
the image), which the labelled-view fakes (c) balance. No heatmap regression: G's 2D is its input.

Reads 3D (the card says so): the pose loss reads the 3D of every labelled train view, D's reals
are train views with their 3D, the start is a model trained with 3D labels, and model selection
is the val subjects' 3D P-MPJPE (val_p_mpjpe), as for the supervised baseline.

The media's detections can be cached (params.media_cache, a JSON file: joints, visibility and
image size of each detected pose, and the media files it was made from; write_media_cache makes
it, benchmarks/bench_yang.py writes runs/yang/media_2d.json before it trains the rows). A
current cache is read; without one the method runs MediaPipe itself at the start (seconds), and
writes nothing. Nothing derived from the media may be committed: the cache belongs in runs/.
"""
from __future__ import annotations

import json
import sys
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
from .baselines import scale_invariant_loss
from .common import script_main
from .cycle import canonical
from .distributed import unwrap
from ..errors import UserError
from .footage import PHOTO_SUFFIXES, VIDEO_SUFFIXES, _frames
from .losses import hidden_joint_loss
from .sampling import OWN_2D, mirror_poses

#: The cache file's format version (a cache of another version is detected again).
CACHE_VERSION = 1


@dataclass
class YangConfig:
    """Defaults are the shipped Full row (realtime3d/trainers/configs/yang_cmu-h36m17_supervised-w512-full_14min.toml)."""

    init: str = "supervised"              # the pretrained generator: a shipped lifter's name or a .pt
    adv: bool = True                      # false: Table 2's Baseline (L_pose alone, no D)
    sources: str = "pose,map,geo"         # D's information sources (models/yang.py SOURCES)
    cls_weight: float = 1e-4              # lambda of eq. 5
    lr_g: float = 1e-4                    # fine-tuning: a tenth of the supervised run's peak
    lr_d: float = 2e-4
    betas: tuple = (0.5, 0.999)
    d_width: int = 256                    # each source's embedding and the head's width
    map_size: int = 16                    # heatmaps and depth maps: map_size x map_size pixels
    map_sigma: float = 1.0                # their Gaussian's sigma, pixels
    map_channels: int = 16                # channels of the maps' first convolution
    kernel_backend: str = "auto"          # realtime3d.kernels backend of the maps
    adv_batch: int = 256                  # reals per step, and as many fakes (global counts)
    media: str = ""                       # unlabelled photos and videos (files, folders, comma-separated); "" = shared media
    media_cache: str = ""                 # the JSON cache of their MediaPipe 2D ("" = detect in memory)
    media_share: float = 0.25             # share of the fakes from the media
    new_camera_share: float = 0.5         # share of the fakes from train poses at new cameras
    new_elevation_deg: tuple = (20.0, 50.0)   # the new cameras' elevation range (degrees)
    max_drop: int = 3                     # L_pose's inputs hide joints, as the supervised run's
    drop_prob: float = 0.3
    fill_weight: float = 1.0
    mirror: bool = True

    def __post_init__(self) -> None:
        parse_sources(self.sources)
        shares = (self.media_share, self.new_camera_share)
        if min(shares) < 0 or sum(shares) > 1:
            raise ValueError(f"media_share and new_camera_share must be >= 0 and sum to at most 1, got {shares}")
        lo, hi = self.new_elevation_deg
        if not -90 < lo < hi < 90:
            raise ValueError(f"new_elevation_deg must be (low, high) within (-90, 90), got {self.new_elevation_deg}")


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
        raise ValueError(f"params.media {spec!r}: no photos or videos there")
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
        print(f"realtime3d train: yang: {cache} is missing or not of these media files; detecting them now",
              file=sys.stderr)
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
        raise ValueError(f"params.media: MediaPipe saw nobody with at most {max_hidden} joints unseen in these media")
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
            raise ValueError("yang fine-tunes with 3D labels: train it on the CMU mocap (train.data = 'cmu')")
        self.poses = ctx.sampler("poses", mirror=cfg.mirror)
        self.sources = parse_sources(cfg.sources)
        self.counts = {"media": 0, "new_cameras": 0, "views": 0}
        self.media_poses = 0
        if not cfg.adv:
            return
        unit = ctx.total_shards
        if cfg.adv_batch % unit:
            raise ValueError(f"params.adv_batch={cfg.adv_batch} must be a multiple of the {unit} data shards")
        media = round(cfg.media_share * cfg.adv_batch / unit) * unit
        new = round(cfg.new_camera_share * cfg.adv_batch / unit) * unit
        self.counts = {"media": media, "new_cameras": new, "views": cfg.adv_batch - media - new}
        self.reals = ctx.sampler("reals", mirror=cfg.mirror)
        self.fake_views = ctx.sampler("fake_views", mirror=cfg.mirror)
        if new:
            if ctx.protocol != "random-projection":
                raise ValueError("new cameras re-project the 3D: the fixed-camera protocol has fixed views "
                                 "(set params.new_camera_share = 0)")
            self.new_cameras = ctx.sampler("new_cameras", mirror=cfg.mirror, elevation_deg=cfg.new_elevation_deg)
        if media:
            pose2d, seen = media_pool(media_detections(cfg.media, cfg.media_cache), cfg.max_drop)
            self.media_poses = len(pose2d)
            self.media = MediaSampler(pose2d, seen, ctx.stream("media"), mirror=cfg.mirror, device=ctx.device)
            if ctx.rank == 0:
                print(f"realtime3d train: yang: {self.media_poses} unlabelled media poses (at most "
                      f"{cfg.max_drop} joints unseen)", file=sys.stderr)

    def build(self):
        init = Lifter.from_pretrained(self.cfg.init)
        g = init.network
        if type(g) is not LiftingNetwork or g.extra_outputs:
            raise ValueError(f"params.init {self.cfg.init!r} is not a plain lifting network "
                             f"({init.card['architecture']}): start from a supervised lifter")
        models = {"g": g.train()}
        if self.cfg.adv:
            cfg = self.cfg
            models["d"] = MultiSourceDiscriminator(self.sources, H36M17.num_joints, cfg.d_width, cfg.map_size,
                                                   cfg.map_sigma, cfg.map_channels, cfg.kernel_backend)
        return models

    def optimizers(self, models):
        cfg = self.cfg
        opts = {"g": torch.optim.Adam(models["g"].parameters(), lr=cfg.lr_g, betas=cfg.betas)}
        if cfg.adv:
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
        if not cfg.adv:                                                                       # Table 2's Baseline
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
        card = {"init": cfg.init, "adversarial": cfg.adv,
                "labels_3d": {"train_poses": train_poses, "mirror_images": cfg.mirror,
                              "read_by": "the pose loss and the discriminator's reals (every CMU train pose, through "
                                         "the run's views); the start was trained with the same labels",
                              "selection": "the val subjects' 3D (train.val_frames evenly spaced val frames)"}}
        if cfg.adv:
            card["discriminator"] = {
                "sources": list(self.sources), "cls_weight": cfg.cls_weight,
                "fakes_per_step": dict(self.counts), "reals_per_step": cfg.adv_batch,
                "media_poses": self.media_poses,
                "new_cameras_elevation_deg": list(cfg.new_elevation_deg) if self.counts["new_cameras"] else None}
        return card


def main(argv=None) -> None:
    """`python -m realtime3d.trainers.yang --minutes 4`: the shipped config (Full) with flags."""
    script_main("yang", argv)


if __name__ == "__main__":
    main()
