"""Labelled crops of rendered people (realtime3d/render/crop_shards.py): holdouts keep appearances
and scenes apart, background crops show nobody, and shards read back as they were written."""
from __future__ import annotations

import numpy as np
import pytest

from realtime3d.render.clothing import TOP_PATTERNS, sample_outfit
from realtime3d.render.scenery import HELD_OUT_KINDS, KINDS, holdout_kinds, sample_scene

HELD_OUT_PATTERNS = set(TOP_PATTERNS["held-out"][0])


def test_holdouts_keep_scene_kinds_and_top_patterns_apart():
    train_kinds = {sample_scene(np.random.default_rng(s), kinds=holdout_kinds("train")).kind for s in range(40)}
    held_kinds = {sample_scene(np.random.default_rng(s), kinds=holdout_kinds("held-out")).kind for s in range(12)}
    assert train_kinds and not train_kinds & set(HELD_OUT_KINDS) and held_kinds == set(HELD_OUT_KINDS)
    assert holdout_kinds("all") is None and set(holdout_kinds("train")) | set(HELD_OUT_KINDS) == set(KINDS)
    top = lambda rng, holdout: sample_outfit(rng, holdout).materials[2].pattern        # noqa: E731
    assert not {top(np.random.default_rng(s), "train") for s in range(60)} & HELD_OUT_PATTERNS
    assert {top(np.random.default_rng(s), "held-out") for s in range(20)} == HELD_OUT_PATTERNS
    for seed in range(5):          # "all" draws as before holdouts existed: the benchmark clips keep their people
        assert sample_outfit(np.random.default_rng(seed)) == sample_outfit(np.random.default_rng(seed), "all")
        assert sample_scene(np.random.default_rng(seed)).kind == sample_scene(np.random.default_rng(seed), kinds=None).kind


def test_shards_hold_labelled_person_crops_and_empty_backgrounds(cmu_root, tmp_path):
    from realtime3d.render.crop_shards import generate, read_shards
    stats = generate("test", "held-out", tmp_path, minutes=5.0, seed=11, size=64, cmu_root=cmu_root, max_crops=12,
                     background_p=0.4)
    assert stats["crops"] == 12
    data = read_shards(tmp_path, ("images", "joints2d", "visible", "person", "masks", "joints3d", "focal"))
    person = data["person"]
    assert data["images"].shape == (12, 64, 64, 3) and data["masks"].shape == (12, 64, 64)
    assert person.any() and (~person).any()
    assert np.isfinite(data["joints2d"][person]).all() and np.isnan(data["joints2d"][~person]).all()
    assert not data["masks"][~person].any() and not data["visible"][~person].any()
    assert (data["masks"][person].mean((1, 2)) > 0.02).all()                  # the target shows
    inside = ((data["joints2d"][person] > -0.5) & (data["joints2d"][person] < 63.5)).all(-1).mean()
    assert inside > 0.9 and (data["joints3d"][person][..., 2] > 0).all()        # in front of the camera
    assert len(read_shards(tmp_path, ("person",), limit=5)["person"]) == 5
    with pytest.raises(FileNotFoundError, match="no crop shards"):
        read_shards(tmp_path / "none")
