"""A 2D-only method trains, validates, selects and saves a checkpoint from 2D files alone.

The train and validation data are pose-sequence files with joints2d and no joints3d, and
the training runs in a process whose CMU mocap folder does not exist, so nothing in it can
read 3D: not the losses, not model selection, not normalization or the output scale. The
files are made here from CMU train and val poses seen by a pinhole camera (the test reads
3D to make them; the training never sees it)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from conftest import CMU, one_line_error, project
from realtime3d.data.mocap import load_split
from realtime3d.io.poses import PoseSequence, read_poses, write_poses
from realtime3d.lifting import Lifter
from realtime3d.trainers.sampling import pool_from_files

SIZE, FOCAL = (1280, 720), 1000.0
#: The tiny config of every 2D-only method, with what each needs to run on 2D files.
TWO_D_ONLY = {
    "drover_cmu-h36m17_w32-g1d1_60steps": ["params.composed_real=false"],
    "cycle_cmu-h36m17_w32_20steps": [],
    "svmac_cmu-h36m17_w32_20steps": [],
}


def _write_2d(path: Path, split: str, every: int, seed: int) -> Path:
    """CMU poses of a split, every `every`-th frame, turned to random headings 3-6 m in front
    of the camera, as 2D pixels only."""
    joints = load_split(split)["joints3d"][::every]                                 # [N, J, 3] mm
    rng = np.random.default_rng(seed)
    a = rng.uniform(-np.pi, np.pi, len(joints))
    turn = np.zeros((len(joints), 3, 3), np.float32)
    turn[:, 0, 0], turn[:, 0, 2], turn[:, 1, 1], turn[:, 2, 0], turn[:, 2, 2] = np.cos(a), np.sin(a), 1, -np.sin(a), np.cos(a)
    root = joints[:, :1]
    placed = np.einsum("nij,nkj->nki", turn, joints - root) + np.stack(
        [rng.uniform(-500, 500, len(joints)), np.full(len(joints), 200.0), rng.uniform(3000, 6000, len(joints))], -1)[:, None]
    write_poses(path, PoseSequence(None, project(placed.astype(np.float32), FOCAL, SIZE), SIZE, FOCAL))
    assert read_poses(path, require_3d=False).joints3d is None
    return path


@pytest.fixture(scope="module")
def two_d_files(tmp_path_factory) -> tuple[Path, Path]:
    if not CMU.is_dir():
        pytest.skip(f"CMU mocap data not found at {CMU} (the 2D files are made from it)")
    folder = tmp_path_factory.mktemp("own2d")
    return _write_2d(folder / "train.npz", "train", 5, 0), _write_2d(folder / "val.npz", "val", 4, 1)


def _train(config: str, run_dir: Path, files: tuple[Path, Path], *sets: str) -> subprocess.CompletedProcess:
    args = ["train", config, "--run-dir", str(run_dir), "--set", f"train.data={files[0]}",
            "--set", f"train.val_data={files[1]}", "--set", "train.test_every_s=60"]
    for item in sets:
        args += ["--set", item]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "REALTIME3D_CMU": str(run_dir.parent / "no-mocap-here")}
    return subprocess.run([sys.executable, "-m", "realtime3d", *args], capture_output=True, text=True,
                          timeout=300, env=env)


@pytest.mark.data
def test_the_2d_pool_of_files_has_no_3d(two_d_files):
    pool = pool_from_files(str(two_d_files[0]))
    assert pool.body is None and pool.protocol == "own-2d" and pool.pose2d.shape[1:] == (17, 2)
    assert torch.isfinite(pool.pose2d).all()


@pytest.mark.data
@pytest.mark.slow
@pytest.mark.parametrize("config", sorted(TWO_D_ONLY))
def test_a_2d_only_method_selects_and_saves_a_checkpoint_without_any_3d(config, two_d_files, tmp_path):
    result = _train(config, tmp_path / "run", two_d_files, *TWO_D_ONLY[config])
    assert result.returncode == 0, result.stderr[-2000:]
    assert "best val_cycle_2d" in result.stdout
    assert "train.test_every_s ignored: no CMU BVH files" in result.stderr      # no mocap, so no cmu-test curve
    card = Lifter.from_pretrained(tmp_path / "run" / "best.pt").card
    assert card["protocol"] == "own-2d" and card["reads_3d"] == "nowhere"
    assert card["selection"]["criterion"] == "val_cycle_2d" and np.isfinite(card["selection"]["value"])
    header = (tmp_path / "run" / "eval.csv").read_text().splitlines()
    assert header[0] == "step,time_s,val_cycle_2d,val_p_mpjpe" and header[1].endswith(",")   # no 3D to log
    assert json.loads((tmp_path / "run" / "config.json").read_text())["train"]["data"] == str(two_d_files[0])


@pytest.mark.data
def test_the_supervised_baseline_refuses_2d_files(two_d_files, tmp_path):
    result = _train("supervised_cmu-h36m17_w32-b0_20steps", tmp_path / "run", two_d_files)
    one_line_error(result.returncode, result.stderr, "needs 3D")


@pytest.mark.data
def test_composed_cameras_need_the_random_projection_protocol(two_d_files, tmp_path):
    result = _train("drover_cmu-h36m17_w32-g1d1_60steps", tmp_path / "run", two_d_files)
    one_line_error(result.returncode, result.stderr, "composed_real = false")
