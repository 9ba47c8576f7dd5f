"""Nonsense is refused: each case gives one `realtime3d: error: ...` line and exit code 2, never a
traceback. Most run the command in this process; the first runs the
real console command, as a user does."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from conftest import SHARED, one_line_error, run_cli
from realtime3d.cli import main

MEDIA = SHARED / "data" / "media"
STREET = MEDIA / "street_dance.avi"
PHOTO = MEDIA / "bus.jpg"


def _cli(capsys, *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    return code, capsys.readouterr().err


def _needs(path):
    if not path.is_file():
        pytest.skip(f"{path.name} not found in {path.parent} (see shared/data/README.md)")
    return str(path)


@pytest.fixture
def garbage_model(tmp_path):
    path = tmp_path / "garbage.pt"
    path.write_bytes(np.random.default_rng(0).bytes(300))
    return str(path)


@pytest.fixture
def tensor_model(tmp_path):
    path = tmp_path / "tensor.pt"
    torch.save(torch.zeros(3), path)
    return str(path)


def test_garbage_model_through_the_console_command(garbage_model, tmp_path):
    done = run_cli("eval", "--data", "cmu-test", "--model", garbage_model)
    one_line_error(done.returncode, done.stderr, "garbage.pt", "not a realtime3d lifter checkpoint")


@pytest.mark.data
@pytest.mark.parametrize("command", ["video", "webcam", "eval"])
@pytest.mark.parametrize("model", ["garbage_model", "tensor_model"])
def test_a_file_that_is_no_model(command, model, request, capsys, tmp_path):
    path = request.getfixturevalue(model)
    argv = {"video": ["video", _needs(STREET), "-o", str(tmp_path / "out")],
            "webcam": ["webcam", "--camera", _needs(STREET), "--no-show", "--max-seconds", "1"],
            "eval": ["eval", "--data", "cmu-test"]}[command]
    one_line_error(*_cli(capsys, *argv, "--model", path), "not a realtime3d lifter checkpoint")
    assert not (tmp_path / "out").exists()                                   # refused before any work


def test_negative_thread_count_for_training(capsys, tmp_path):
    one_line_error(*_cli(capsys, "train", "drover", "--set", "train.threads=-1", "--run-dir", str(tmp_path)),
                   "train.threads must be at least 1")


@pytest.mark.data
def test_webcam_for_a_negative_time(capsys):
    one_line_error(*_cli(capsys, "webcam", "--camera", _needs(STREET), "--no-show", "--max-seconds", "-1"),
                   "--max-seconds must be positive")


@pytest.mark.data
@pytest.mark.parametrize("focal", ["1e-9", "0", "nan", "inf"])
def test_a_focal_length_no_pinhole_camera_has(focal, capsys, tmp_path):
    one_line_error(*_cli(capsys, "image", _needs(PHOTO), "-o", str(tmp_path / "out"), "--focal", focal), "--focal")
    assert not (tmp_path / "out").exists()


def test_a_folder_gets_the_same_answer_from_image_and_video(capsys, tmp_path):
    answers = []
    for command in ("image", "video"):
        code, err = _cli(capsys, command, str(tmp_path), "-o", str(tmp_path / "out"))
        one_line_error(code, err, "a folder, not a file")
        answers.append(err.strip().splitlines()[-1])
    assert answers[0] == answers[1]


@pytest.mark.parametrize("argv", [
    ["video", "STREET", "--cutoff-hz", "6", "--no-filter"],
    ["webcam", "--camera", "STREET", "--no-show", "--beta", "0.1", "--no-filter"],
    ["webcam", "--camera", "STREET", "--no-show", "--min-cutoff", "1", "--d-cutoff", "1", "--no-filter"],
])
@pytest.mark.data
def test_contradictory_filter_flags(argv, capsys, tmp_path):
    argv = [_needs(STREET) if a == "STREET" else a for a in argv]
    one_line_error(*_cli(capsys, *argv, *(["-o", str(tmp_path / "out")] if argv[0] == "video" else [])),
                   "--no-filter", "contradict")


@pytest.mark.data
def test_a_photo_is_not_a_video(capsys, tmp_path):
    one_line_error(*_cli(capsys, "video", _needs(PHOTO), "-o", str(tmp_path / "out")),
                   "a still image, not a video", "realtime3d image")
    assert not (tmp_path / "out").exists()


def test_version(capsys):
    from realtime3d import __version__
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0 and capsys.readouterr().out.strip() == f"realtime3d {__version__}"


# ----------------------------------------------------------------------------- reliability


def test_atomic_writes_follow_the_umask_without_touching_it(tmp_path, monkeypatch):
    """The file gets 0o666 minus the process umask, and the umask is never read or set
    (setting it, even briefly, races with every other thread creating files)."""
    import os

    from realtime3d.io._atomic import atomic_write_text
    old = os.umask(0o027)
    try:
        def no_umask(*_):
            raise AssertionError("os.umask called")
        monkeypatch.setattr(os, "umask", no_umask)
        atomic_write_text(tmp_path / "out.txt", "x\n")
        monkeypatch.undo()
    finally:
        os.umask(old)
    assert (tmp_path / "out.txt").stat().st_mode & 0o777 == 0o640


def test_the_decode_thread_gives_up_when_the_consumer_stops():
    """The consumer took nothing and stopped: the decode thread, waiting to hand over the
    end of the video or a decoding error, returns once the run stops instead of blocking."""
    import queue
    import threading

    from realtime3d.offline import _decode

    from realtime3d.capture import Frame

    def frames_then(error):
        yield Frame(image=np.zeros((4, 4, 3), np.uint8), t=0.0, index=0)
        if error is not None:
            raise error

    for error in (None, ValueError("corrupt")):
        frames, stop = queue.Queue(maxsize=1), threading.Event()   # room for the frame, not for the end
        thread = threading.Thread(target=_decode, args=(frames_then(error), frames, stop), daemon=True)
        thread.start()
        thread.join(timeout=0.5)
        assert thread.is_alive() and frames.full()                 # the frame is in; the end waits
        stop.set()
        thread.join(timeout=2.0)
        assert not thread.is_alive()


def test_the_native_log_filter_drops_routine_lines_only():
    from realtime3d.native_logs import is_noise
    noise = [b"INFO: Created TensorFlow Lite XNNPACK delegate for CPU.",
             b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
             b"W0000 00:00:1796128151.407747    4601 inference_feedback_manager.cc:114] Feedback manager requires",
             b"W0000 00:00:1796128151.458762    4601 landmark_projection_calculator.cc:186] Using NORM_RECT",
             b"I0000 00:00:1796128151.458762    4601 gl_context.cc:357] GL version: 3.2",
             b"libpng warning: iCCP: known incorrect sRGB profile"]
    kept = [b"E0000 00:00:1796128151.458762    4601 calculator_graph.cc:887] INTERNAL: graph failed",
            b"realtime3d: error: no such file: x.mp4", b"Traceback (most recent call last):",
            b"street_dance.avi:  50%|#####     | 100/205", b"libpng error: IDAT: CRC error"]
    assert all(is_noise(line) for line in noise) and not any(is_noise(line) for line in kept)
