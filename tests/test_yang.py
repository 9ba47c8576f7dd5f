"""Yang et al.'s multi-source discriminator (realtime3d/models/yang.py) and its adversarial fine-tuning
(realtime3d/trainers/yang.py): the geometric descriptor against a direct computation, the discriminator's
shapes and gradients for every source set, its maps through the kernels, MediaPipe's 2D of the
media and its cache, and tiny runs from the shipped supervised lifter that ship a checkpoint the
Lifter loads and that beats constant depth."""
from __future__ import annotations

import json

import pytest
import torch

from conftest import SHARED, val_p_mpjpe
from realtime3d.lifting import Lifter
from realtime3d.metrics import p_mpjpe
from realtime3d.models import ConstantDepthNetwork
from realtime3d.models.yang import SOURCES, MultiSourceDiscriminator, geometric_descriptor, parse_sources
from realtime3d.normalization import RMS_RADIUS
from realtime3d.trainers.base import train
from realtime3d.trainers.config import SHIPPED, SHIPPED_MODELS, load_experiment
from realtime3d.trainers.cycle import canonical

TINY = "yang_cmu-h36m17_supervised-w512-full-d16_6steps"
ROWS = {"baseline": "yang_cmu-h36m17_supervised-w512-baseline_14min", "map": "yang_cmu-h36m17_supervised-w512-map_14min",
        "geo": "yang_cmu-h36m17_supervised-w512-geo_14min", "full": "yang_cmu-h36m17_supervised-w512-full_14min"}
MEDIA = SHARED / "data" / "media"
PHOTO = MEDIA / "bus.jpg"          # MediaPipe finds one full-body pedestrian (shared/data/README.md)


def poses(b: int = 5, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Random normalized-looking 2D [b, 17, 2] and canonical 3D [b, 17, 3]."""
    g = torch.Generator().manual_seed(seed)
    return torch.randn(b, 17, 2, generator=g) * RMS_RADIUS, canonical(torch.randn(b, 17, 3, generator=g))


# ---------------------------------------------------------------------------------- the discriminator
def test_the_geometric_descriptor_is_eq_1_for_every_joint_pair():
    pose = torch.randn(3, 17, 3, dtype=torch.float64)
    d = geometric_descriptor(pose)
    assert d.shape == (3, 6, 17, 17)
    for b in range(3):
        for i in range(17):
            for j in range(17):
                dx, dy, dz = (pose[b, i] - pose[b, j]).tolist()
                assert d[b, :, i, j].tolist() == pytest.approx([dx, dy, dz, dx * dx, dy * dy, dz * dz], abs=1e-12)
    with pytest.raises(ValueError, match=r"\[B, J, 3\]"):
        geometric_descriptor(pose[..., :2])


@pytest.mark.parametrize("sources", ["pose", "map", "geo", "pose,map", "pose,geo", "pose,map,geo"])
def test_the_discriminator_gives_one_logit_and_judges_the_3d_only_through_map_and_geo(sources):
    d = MultiSourceDiscriminator(sources, width=8, map_size=8, map_channels=2)
    pose2d, pose3d = poses()
    pose2d.requires_grad_(True)
    pose3d.requires_grad_(True)
    logits = d(pose2d, pose3d)
    assert logits.shape == (5,) and torch.isfinite(logits).all()
    assert d.sources == tuple(s for s in SOURCES if s in sources.split(","))
    logits.sum().backward()
    to_3d = pose3d.grad is not None and pose3d.grad.abs().sum() > 0
    assert to_3d == ("map" in sources or "geo" in sources)       # the generator learns from these only
    assert (pose2d.grad is not None and pose2d.grad.abs().sum() > 0) == ("pose" in sources or "map" in sources)


def test_the_discriminator_refuses_bad_sources_and_shapes():
    for bad in ("", "image", "pose,depth"):
        with pytest.raises(ValueError, match="sources must be"):
            parse_sources(bad)
    with pytest.raises(ValueError, match="multiple of 4"):
        MultiSourceDiscriminator("map", map_size=10)
    d = MultiSourceDiscriminator("pose,geo", width=8)
    pose2d, pose3d = poses()
    with pytest.raises(ValueError, match=r"expected 2D \[B, 17, 2\]"):
        d(pose2d[:, :16], pose3d[:, :16])


def test_the_maps_go_through_the_kernels_and_every_backend_gives_the_same_logits():
    torch.manual_seed(0)
    d = MultiSourceDiscriminator("pose,map,geo", width=16, map_size=16, map_channels=4)
    _, pose3d = poses(4)
    pose2d = (torch.rand(4, 17, 2, generator=torch.Generator().manual_seed(1)) * 2 - 1) * 0.15   # within MAP_EXTENT
    maps = d.maps(pose2d, pose3d)                                         # [B, 2J, H, W]
    assert maps.shape == (4, 34, 16, 16)
    assert maps[:, :17].amax((2, 3)).min() > 0.75                         # each joint's peak: within half a pixel
    root = maps[:, 17]                                                   # the root's depth map: canonical z = 0
    assert root.abs().max() < 1e-6 and maps[:, 17:].abs().max() > 0.1
    out = {}
    for backend in ("reference", "cpu"):
        d.kernel_backend = backend
        p3 = pose3d.clone().requires_grad_(True)
        logits = d(pose2d, p3)
        logits.sum().backward()
        out[backend] = (logits.detach(), p3.grad)
    assert torch.allclose(out["reference"][0], out["cpu"][0], atol=1e-5)
    assert torch.allclose(out["reference"][1], out["cpu"][1], atol=1e-5)
    d.kernel_backend = "no-such-backend"                                  # the setting reaches the kernels
    with pytest.raises(ValueError, match="unknown kernel backend"):
        d(pose2d, pose3d)


# ---------------------------------------------------------------------------------- the configs
def test_the_ablation_rows_differ_only_in_the_discriminator():
    assert SHIPPED_MODELS["yang"] == SHIPPED["yang"] == ROWS["full"]
    exps = {row: load_experiment(name) for row, name in ROWS.items()}
    base = exps["full"].as_dict()
    for row, exp in exps.items():
        d = exp.as_dict()
        assert d["train"] == base["train"] and exp.train.minutes == 14.0 and exp.train.threads == 1
        assert exp.train.protocol == "random-projection" and exp.params.init == "supervised"
        diff = {k for k, v in d["method_config"].items() if base["method_config"][k] != v}
        assert diff == {"full": set(), "map": {"sources"}, "geo": {"sources"}, "baseline": {"adversarial"}}[row]
    assert exps["map"].params.sources == "pose,map" and exps["geo"].params.sources == "pose,geo"
    assert exps["baseline"].params.adversarial is False


# ---------------------------------------------------------------------------------- the media
@pytest.fixture(scope="module")
def photo():
    if not PHOTO.is_file():
        pytest.skip(f"shared media not found at {MEDIA} (see shared/data/README.md)")
    return PHOTO


@pytest.mark.data
def test_mediapipe_2d_of_a_photo_is_normalized_as_the_lifter_does_and_cached(photo, tmp_path):
    from realtime3d.trainers.yang import media_detections, media_pool, write_media_cache
    found = media_detections(str(photo))
    assert len(found) == 1 and found[0]["image_size"] == [810, 1080]
    pose2d, seen = media_pool(found)                                      # [1, J, 2], [1, J]
    assert pose2d.shape == (1, 17, 2) and seen.sum() >= 14
    rms = (pose2d[seen] ** 2).sum(-1).mean().sqrt()
    assert rms == pytest.approx(RMS_RADIUS, rel=1e-4) and pose2d[~seen].abs().sum() == 0
    cache = write_media_cache(str(photo), tmp_path / "media_2d.json")
    assert media_detections(str(photo), str(cache)) == json.loads(cache.read_text())["poses"]
    stored = json.loads(cache.read_text())
    stored["poses"] = []                                                 # a cache of other files is not read
    stored["files"][0]["bytes"] += 1
    cache.write_text(json.dumps(stored))
    assert len(media_detections(str(photo), str(cache))) == 1


# ---------------------------------------------------------------------------------- the method
def test_a_tiny_full_run_from_the_supervised_lifter_ships_a_lifter_that_beats_constant_depth(cmu_root, tmp_path):
    sets = [f"params.media={PHOTO}", "params.media_share=0.25"] if PHOTO.is_file() else []   # a real photo's 2D
    summary = train(load_experiment(TINY, sets), tmp_path / "full")
    assert summary["steps"] == 6 and summary["criterion"] == "val_p_mpjpe"
    lifter = Lifter.from_pretrained(tmp_path / "full" / "best.pt")
    card = lifter.card
    assert card["method"] == "yang" and card["init"] == "supervised" and card["adversarial"] is True
    assert "pose loss" in card["reads_3d"] and "discriminator's real samples" in card["reads_3d"]
    assert card["discriminator"]["sources"] == ["pose", "map", "geo"]
    assert sum(card["discriminator"]["fakes_per_step"].values()) == card["discriminator"]["reals_per_step"] == 32
    assert (card["discriminator"]["media_poses"] > 0) == bool(sets)
    header = (tmp_path / "full" / "log.csv").read_text().splitlines()[0]
    assert header.startswith("step,time_s,loss,pose,cls,loss_d,d_real,d_fake")
    flat = val_p_mpjpe(ConstantDepthNetwork(), 300)
    chosen = val_p_mpjpe(lifter, 300)
    assert chosen < 0.6 * flat, (chosen, flat)                    # constant depth fails this bar by construction


def test_the_baseline_row_is_the_same_trainer_without_a_discriminator(cmu_root, tmp_path):
    train(load_experiment(TINY, ["params.adversarial=false", "train.max_steps=2", "train.val_every_steps=2"]), tmp_path / "b")
    card = Lifter.from_pretrained(tmp_path / "b" / "best.pt").card
    assert card["adversarial"] is False and "discriminator" not in card
    models = torch.load(tmp_path / "b" / "ckpt-last.pt", weights_only=True)["models"]
    assert set(models) == {"g"}


def test_the_fooling_loss_reaches_the_generator(cmu_root, tmp_path):
    """One step from the same state and the same draws, with and without L_cls (the maps' depth
    and the descriptor carry its gradient to G's 3D): only the weight of L_cls differs, so must G."""
    from realtime3d.trainers.base import Trainer
    after = {}
    for weight in (0.0, 1e3):
        exp = load_experiment(TINY, [f"params.cls_weight={weight}", "params.sources=map,geo"])
        trainer = Trainer(exp, tmp_path / str(weight))
        trainer._seed_process_rngs()
        trainer.method.step(trainer.wrapped, trainer.opts, 0)
        after[weight] = torch.cat([p.detach().flatten() for p in trainer.models["g"].parameters()])
    assert not torch.allclose(after[0.0], after[1e3])


def test_with_no_fooling_weight_a_run_is_the_baseline_weight_for_weight(cmu_root, tmp_path):
    """The adversarial rows differ from Baseline by L_cls alone: the same pose batches, and the fakes
    lifted with batch norm's running statistics, so cls_weight = 0 trains Baseline's generator."""
    weights = {}
    for name, sets in {"baseline": ["params.adversarial=false"], "zero": ["params.cls_weight=0"], "full": []}.items():
        train(load_experiment(TINY, sets + ["train.max_steps=3", "train.val_every_steps=3"]), tmp_path / name)
        weights[name] = torch.load(tmp_path / name / "ckpt-last.pt", weights_only=True)["models"]["g"]
    assert all(torch.equal(weights["baseline"][k], weights["zero"][k]) for k in weights["baseline"])
    assert not all(torch.equal(weights["baseline"][k], weights["full"][k]) for k in weights["baseline"])


def test_the_shipped_yang_lifter_lifts_cmu_test_better_than_constant_depth(cmu_root):
    """The shipped Full row on every 20th cmu-test frame in the eval cameras: a lifter that ignores
    depth scores 1.0 here; the shipped one about 0.67 (flip-averaged)."""
    from realtime3d.evaluate import constant_depth, with_random_cameras
    from realtime3d.io.poses import PoseSequence
    from realtime3d.data.mocap import load_split
    lifter = Lifter.from_pretrained("yang")
    assert lifter.card["adversarial"] and lifter.card["discriminator"]["sources"] == ["pose", "map", "geo"]
    seq = with_random_cameras(PoseSequence(load_split("test")["joints3d"][::20]), seed=0)
    mine = p_mpjpe(lifter.lift(seq.joints2d, seq.image_size, seq.focal), seq.joints3d).mean()
    flat = p_mpjpe(constant_depth().lift(seq.joints2d, seq.image_size, seq.focal), seq.joints3d).mean()
    assert mine < 0.75 * flat, (mine, flat)
