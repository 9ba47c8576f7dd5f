"""The `realtime3d` command, run for real in a subprocess: eval, models, bad input."""
from __future__ import annotations

import json
import re

import numpy as np
import pytest
from conftest import run_cli


def assert_one_line_error(proc, *needles: str) -> None:
    assert proc.returncode != 0
    err = proc.stderr.strip()
    assert "Traceback" not in err, err
    assert len(err.splitlines()) == 1, err
    assert err.startswith("realtime3d: error:"), err
    for n in needles:
        assert n in err, err


def test_models_lists_the_shipped_models():
    proc = run_cli("models")
    assert proc.returncode == 0, proc.stderr
    names = [line.split()[0] for line in proc.stdout.splitlines()]
    assert "drover" in names and "supervised" in names
    from realtime3d.lifting import DEFAULT_MODEL, LIVE_MODEL
    roles = {name: re.search(r"^\S+ \(([^)]*)\)", line) for name, line in zip(names, proc.stdout.splitlines())}
    assert "default" in roles[DEFAULT_MODEL].group(1).split(", ")
    assert "webcam default" in roles[LIVE_MODEL].group(1).split(", ")
    assert re.search(r"on 1 thread$", proc.stdout, flags=re.M), proc.stdout
    assert " 1 threads" not in proc.stdout
    assert "--detector-weights NAME|PATH" in proc.stdout and "NAME|PATH" in run_cli("video", "--help").stdout


def test_video_help_names_the_files_a_run_writes():
    text = " ".join(run_cli("video", "--help").stdout.split())
    assert "poses_<id>.bvh per person" in text


def test_eval_on_a_hand_made_file(hand_made_npz, tmp_path):
    """The file's own 2D, its clips and the JSON layout. Not an accuracy test: the hand-made
    person is drawn almost flat, so constant depth beats every lifter on it (P-MPJPE measured:
    constant depth 51.1, drover 60.5, supervised 56.9 mm); test_eval_on_a_mocap_file is that test."""
    out = tmp_path / "result.json"
    proc = run_cli("eval", "--data", str(hand_made_npz), "--model", "drover", "--json", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "turn2" in proc.stdout and "constant_depth" in proc.stdout and "supervised" in proc.stdout
    assert "PA-PCK@150" in proc.stdout and "root-relative" in proc.stdout
    result = json.loads(out.read_text())
    assert result["frames"] == 8
    for block in (result["model"], result["baselines"]["constant_depth"], result["baselines"]["supervised"]):
        assert set(block) >= {"p_mpjpe_mm", "mpjpe_mm", "pck150", "auc", "pa_pck150", "pa_auc", "flip_average"}
        assert 0 < block["p_mpjpe_mm"] < 200 and block["p_mpjpe_mm"] <= block["mpjpe_mm"]
        for key in ("pck150", "auc", "pa_pck150", "pa_auc"):
            assert 0 <= block[key] <= 1, key
    assert result["model"]["flip_average"] is True


def test_eval_on_a_mocap_file(cmu_root, tmp_path):
    """A pose-sequence file with its own 2D (every 25th cmu-test frame through seeded cameras,
    seed 3): the model is at most 0.7x the constant-depth P-MPJPE on the same frames, with a
    clearly higher root-relative PCK@150 (measured on its 534 frames: 41.3 against 82.9 mm,
    0.498x; PCK@150 0.918 against 0.653). A lifter predicting constant depth scores 1.0x and fails."""
    from realtime3d.data.mocap import load_split
    from realtime3d.evaluate import with_random_cameras
    from realtime3d.io.poses import PoseSequence
    seq = with_random_cameras(PoseSequence(load_split("test")["joints3d"][::25]), seed=3)
    data = tmp_path / "mocap.npz"
    np.savez(data, joints3d=seq.joints3d, joints2d=seq.joints2d, image_size=np.array(seq.image_size),
             focal=np.float32(seq.focal))
    out = tmp_path / "result.json"
    proc = run_cli("eval", "--data", str(data), "--json", str(out))
    assert proc.returncode == 0, proc.stderr
    r = json.loads(out.read_text())
    model, const = r["model"], r["baselines"]["constant_depth"]
    assert model["p_mpjpe_mm"] < 0.7 * const["p_mpjpe_mm"], (model, const)
    assert model["pck150"] > const["pck150"] + 0.1, (model, const)


@pytest.mark.slow
def test_eval_drop_joints_and_seed_are_reproducible(hand_made_npz, tmp_path):
    outs = []
    for k in range(2):
        out = tmp_path / f"r{k}.json"
        proc = run_cli("eval", "--data", str(hand_made_npz), "--drop-joints", "3", "--seed", "7", "--json", str(out))
        assert proc.returncode == 0, proc.stderr
        outs.append(json.loads(out.read_text()))
    assert outs[0]["model"] == outs[1]["model"]
    assert outs[0]["drop_joints"] == 3


@pytest.mark.slow
def test_eval_cmu_test_model_beats_constant_depth(cmu_root, tmp_path):
    out = tmp_path / "cmu.json"
    proc = run_cli("eval", "--data", "cmu-test", "--json", str(out))
    assert proc.returncode == 0, proc.stderr
    r = json.loads(out.read_text())
    assert r["frames"] > 10000
    model, const = r["model"]["p_mpjpe_mm"], r["baselines"]["constant_depth"]["p_mpjpe_mm"]
    sup = r["baselines"]["supervised"]["p_mpjpe_mm"]
    assert model < 0.6 * const, (model, const)      # measured: 41.7 against 83.6 mm, 0.499x
    assert sup < 0.7 * const, (sup, const)          # measured: 49.0 mm, 0.585x
    # root-relative PCK@150 (MPI-INF-3DHP's form) measured: 0.911 against 0.647
    assert r["model"]["pck150"] > r["baselines"]["constant_depth"]["pck150"] + 0.15


# ----------------------------------------------------------------------------- bad input


def test_malformed_bvh(tmp_path):
    bad = tmp_path / "bad.bvh"
    bad.write_text("HIERARCHY\nROOT Hips\n{\n  OFFSET 0 0\n}\n")
    proc = run_cli("eval", "--data", str(bad))
    assert_one_line_error(proc, "bad.bvh:4")


def test_wrong_npz_shapes(tmp_path):
    bad = tmp_path / "bad.npz"
    np.savez(bad, joints3d=np.zeros((5, 16, 3), np.float32))
    proc = run_cli("eval", "--data", str(bad))
    assert_one_line_error(proc, "joints3d must be [N, 17, 3]")


def test_nan_everywhere(tmp_path):
    bad = tmp_path / "nan.npz"
    np.savez(bad, joints3d=np.full((4, 17, 3), np.nan, np.float32))
    proc = run_cli("eval", "--data", str(bad))
    assert_one_line_error(proc, "NaN")


def test_nan_2d_everywhere(hand_made_npz, tmp_path):
    with np.load(hand_made_npz) as z:
        data = dict(z)
    data["joints2d"][:] = np.nan
    bad = tmp_path / "nan2d.npz"
    np.savez(bad, **data)
    proc = run_cli("eval", "--data", str(bad))
    assert_one_line_error(proc, "NaN")


@pytest.mark.parametrize("args, needle", [
    (("eval", "--data", "/no/such/file.npz"), "no such file"),
    (("eval", "--data", "cmu-test", "--model", "no-such-model"), "unknown model"),
    (("eval", "--data", "cmu-test", "--drop-joints", "-1"), "--drop-joints"),
    (("eval", "--data", "cmu-test", "--drop-joints", "15"), "--drop-joints"),
])
def test_bad_arguments(args, needle):
    assert_one_line_error(run_cli(*args), needle)


def test_not_an_npz(tmp_path):
    bad = tmp_path / "video.npz"
    bad.write_bytes(b"this is not a zip archive")
    assert_one_line_error(run_cli("eval", "--data", str(bad)), "not a readable .npz")


def test_json_output_is_not_left_half_written(hand_made_npz, tmp_path):
    out = tmp_path / "missing_dir" / "r.json"
    proc = run_cli("eval", "--data", str(hand_made_npz), "--json", str(out))
    assert_one_line_error(proc)
    assert not out.exists()
    assert not list(tmp_path.glob("**/.tmp-*"))


def test_help_and_version_load_no_heavy_library():
    """`realtime3d --help`, `--version` and every subcommand's parser are built from
    realtime3d/defaults.py: torch, scipy, OpenCV and MediaPipe stay unloaded (their import is
    what made --help take seconds; benchmarks/bench_startup.py times it)."""
    import subprocess
    import sys
    code = ("import sys; from realtime3d.cli import build_parser; build_parser(); "
            "print(' '.join(m for m in ('torch', 'scipy', 'cv2', 'mediapipe', 'open3d') if m in sys.modules))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert loaded == "", f"building the parser imported {loaded}"
    proc = run_cli("--version")
    assert proc.returncode == 0 and proc.stdout.startswith("realtime3d ")
    for command in ("video", "webcam", "image", "train", "eval"):
        proc = run_cli(command, "--help")
        assert proc.returncode == 0 and "--verbose" in proc.stdout, proc.stderr


@pytest.mark.slow
def test_training_names_its_overrides_and_says_where_its_model_is(cmu_root, tmp_path):
    """A run with --set overrides is named with them (the default run folder too), config.json
    keeps them, and the last lines give best.pt's path and the commands that evaluate and use it;
    the path they give loads."""
    sets = ["--set", "train.max_steps=4", "--set", "train.val_every_steps=2", "--set", "train.test_every_s=0",
            "--set", "params.width=16"]
    proc = run_cli("train", "drover_cmu-h36m17_w32-g1d1_60steps", *sets, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    name = "drover_cmu-h36m17_w32-g1d1_60steps+train.max_steps=4+train.val_every_steps=2+train.test_every_s=0" \
           "+params.width=16"
    run = tmp_path / "runs" / name
    config = json.loads((run / "config.json").read_text())
    assert config["name"] == name and config["overrides"] == sets[1::2]
    last = proc.stdout.strip().splitlines()[-4:]
    best = f"runs/{name}/best.pt"
    assert last[0].startswith("best val_cycle_2d ") and last[1] == f"best checkpoint: {best}", last
    assert last[2].split() == ["evaluate:", "realtime3d", "eval", "--data", "cmu-test", "--model", best], last
    assert last[3].split()[:6] == ["use:", "realtime3d", "video", "CLIP.mp4", "-o", "out"] and best in last[3], last
    from realtime3d.lifting import Lifter
    assert Lifter.from_pretrained(tmp_path / best).card["experiment"] == name


def test_video_and_webcam_help_end_with_the_exit_statuses():
    from realtime3d.cli import EXIT_NOTHING_TO_EXPORT
    for command in ("video", "webcam"):
        text = " ".join(run_cli(command, "--help").stdout.split())
        assert "exit status: 0" in text and f"{EXIT_NOTHING_TO_EXPORT} " in text and "nothing to export" in text
