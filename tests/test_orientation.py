"""Phone videos and photos come out upright: a clip whose stream carries a rotation tag (a
display matrix) and a photo with an EXIF orientation are processed as a player shows them.

Each tagged file stores the street video's frames (or a photo) turned the opposite way of its
tag, so that what a player shows is the original; the results must then be those of the same
frames stored upright and untagged, encoded the same way."""
from __future__ import annotations

import json
from pathlib import Path

import av
import cv2
import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment

import realtime3d.offline as offline
from realtime3d.capture import LiveSource, VideoSource
from realtime3d.cli import main
from realtime3d.pipeline import VideoOptions, build_pipeline
from realtime3d.images import read_image
from realtime3d.skeleton import H36M17

from conftest import MEDIA

CLIP_FRAMES = 30
RUN_FRAMES = 10                  # frames of each clip through the detector
TOLERANCE_PX = 2.0               # the bound on 2D after the turn
#: A player's turn (the old `rotate` tag: clockwise degrees) -> cv2.rotate code that stores the
#: upright frame turned the opposite way, so that the player's turn shows the original again.
STORE_TURNED = {90: cv2.ROTATE_90_COUNTERCLOCKWISE, 180: cv2.ROTATE_180, 270: cv2.ROTATE_90_CLOCKWISE}


@pytest.fixture(scope="module")
def street_frames() -> list[np.ndarray]:
    """The first CLIP_FRAMES frames of the street video: [720, 1280, 3] uint8 BGR each."""
    path = MEDIA / "street_dance.avi"
    if not path.is_file():
        pytest.skip(f"test video not found at {path} (see shared/data/README.md)")
    cap = cv2.VideoCapture(str(path))
    frames = [cap.read()[1] for _ in range(CLIP_FRAMES)]
    cap.release()
    assert all(f is not None and f.shape == (720, 1280, 3) for f in frames)
    return frames


def write_clip(path: Path, frames: list[np.ndarray], rotate: int = 0, lossless: bool = True, fps: int = 50) -> Path:
    """An H.264 MP4 of frames; rotate (clockwise degrees, as the old `rotate` tag and
    CAP_PROP_ORIENTATION_META give it) is the turn a player applies: the frames are stored turned
    the other way and the stream carries the display matrix, so the clip shows `frames`.

    lossless: yuv444p at qp 0, so that a tagged clip decodes to exactly the pixels of the untagged
    one and any difference in the results is the turn's (MediaPipe's joints move with a lossy
    codec's noise); else yuv420p, as a phone records it."""
    stored = [cv2.rotate(f, STORE_TURNED[rotate]) if rotate else f for f in frames]
    with av.open(str(path), "w") as container:
        options = {"qp": "0", "preset": "ultrafast"} if lossless else {}
        stream = container.add_stream("libx264", rate=fps, options=options)
        stream.height, stream.width = stored[0].shape[:2]
        stream.pix_fmt = "yuv444p" if lossless else "yuv420p"
        if rotate:
            stream.set_display_rotation(-rotate)          # PyAV takes counter-clockwise degrees
        for image in stored:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="bgr24")))
        container.mux(stream.encode(None))
    return path


@pytest.fixture(scope="module")
def clips(street_frames, tmp_path_factory) -> dict[int, Path]:
    """{rotate: clip} for 0 (upright, untagged), 90 and 270."""
    folder = tmp_path_factory.mktemp("clips")
    return {rotate: write_clip(folder / f"rotate{rotate}.mp4", street_frames, rotate) for rotate in (0, 90, 270)}


@pytest.fixture(scope="module")
def phone_clip(street_frames, tmp_path_factory) -> Path:
    """The clip tagged rotate 90 in yuv420p, as a phone records it: it decodes faster than its 50 fps
    (the lossless clips may not, and a file played as a camera drops the frames that come late)."""
    return write_clip(tmp_path_factory.mktemp("phone") / "phone.mp4", street_frames, 90, lossless=False)


def _tag(path: Path) -> tuple[float, tuple[int, int]]:
    """What OpenCV reads of a file left as stored: its tag (clockwise degrees) and its stored size."""
    cap = cv2.VideoCapture(str(path))
    cap.set(cv2.CAP_PROP_ORIENTATION_AUTO, 0)
    tag = cap.get(cv2.CAP_PROP_ORIENTATION_META)
    size = (int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)))
    cap.release()
    return tag, size


@pytest.mark.data
def test_the_tagged_clips_carry_their_tag_and_are_stored_on_their_side(clips):
    assert _tag(clips[0]) == (0.0, (1280, 720))
    assert _tag(clips[90]) == (90.0, (720, 1280))
    assert _tag(clips[270]) == (270.0, (720, 1280))


@pytest.mark.data
@pytest.mark.parametrize("rotate", [90, 180, 270])
def test_video_source_turns_frames_upright(street_frames, tmp_path, rotate):
    """Frames and image_size as a player shows them; 180 keeps the stored size."""
    reference = VideoSource(write_clip(tmp_path / "upright.mp4", street_frames[:3], lossless=False))
    tagged = VideoSource(write_clip(tmp_path / "tagged.mp4", street_frames[:3], rotate, lossless=False))
    assert tagged.image_size == reference.image_size == (1280, 720)
    assert (tagged.rotation, reference.rotation) == (rotate, 0)
    for a, b in zip(reference, tagged, strict=True):
        assert a.image.shape == b.image.shape == (720, 1280, 3) and a.index == b.index
        error = np.abs(a.image.astype(np.int16) - b.image.astype(np.int16)).mean()
        assert error < 3.0, f"rotate {rotate}: frame {a.index} differs by {error:.1f} grey levels on average"
        original = np.abs(a.image.astype(np.int16) - street_frames[a.index]).mean()
        assert original < 3.0


def _match(reference: np.ndarray, other: np.ndarray) -> float:
    """The largest 2D error (px) of the people of one frame matched one to one: [P, 17, 2] each."""
    assert len(reference) == len(other), f"{len(reference)} people against {len(other)}"
    if not len(reference):
        return 0.0
    cost = np.nanmean(np.linalg.norm(reference[:, None] - other[None], axis=-1), axis=-1)   # [P, P] px
    rows, cols = linear_sum_assignment(cost)
    return float(np.nanmax(np.linalg.norm(reference[rows] - other[cols], axis=-1)))


def _people(npz: Path) -> tuple[list[np.ndarray], tuple[int, int]]:
    """Each frame's people that have a pose: [P, 17, 2] px, and the file's image_size."""
    with np.load(npz) as data:
        joints2d, size = data["joints2d"], tuple(int(v) for v in data["image_size"])   # [N, P, 17, 2]
    return [frame[np.isfinite(frame).all(axis=(1, 2))] for frame in joints2d], size


def _upright(joints2d: np.ndarray) -> bool:
    """The tallest person of [P, 17, 2] px (the dancer in front, or the photo's nearest) stands: head
    and thorax above the pelvis, where a person on their side has them level and one upside down below."""
    s = H36M17.index
    y = joints2d[np.argmax(np.ptp(joints2d[..., 1], axis=1)), :, 1]          # [17] px
    return bool(y[s["head"]] < y[s["pelvis"]] and y[s["thorax"]] < y[s["pelvis"]])


@pytest.mark.data
@pytest.mark.slow
def test_video_command_on_tagged_clips_finds_the_same_people_upright(clips, tmp_path):
    paths = [str(clips[r]) for r in (0, 90, 270)]
    assert main(["video", *paths, "-o", str(tmp_path), "--no-show", "--max-frames", str(RUN_FRAMES)]) == 0
    reference, size = _people(tmp_path / "rotate0" / "poses.npz")
    assert size == (1280, 720) and all(len(p) for p in reference)              # someone in every frame
    assert all(_upright(p) for p in reference)
    for rotate in (90, 270):
        out = tmp_path / f"rotate{rotate}"
        people, size = _people(out / "poses.npz")
        assert size == (1280, 720), f"rotate {rotate}: image_size {size}"
        worst = max(_match(a, b) for a, b in zip(reference, people, strict=True))
        assert worst <= TOLERANCE_PX, f"rotate {rotate}: 2D differs by up to {worst:.2f} px"
        assert json.loads((out / "poses.json").read_text())["image_size"] == [1280, 720]
        # the overlay is upright and carries no tag: a player must not turn it again
        assert _tag(out / "overlay.mp4") == _tag(tmp_path / "rotate0" / "overlay.mp4")
        assert _tag(out / "overlay.mp4")[0] == 0.0
        with av.open(str(out / "overlay.mp4")) as overlay:
            assert next(overlay.decode(video=0)).rotation == 0


@pytest.mark.data
@pytest.mark.slow
def test_a_resumed_run_of_a_tagged_clip_is_the_uninterrupted_run(clips, tmp_path, monkeypatch):
    monkeypatch.setattr(offline, "CHUNK_FRAMES", 4)
    monkeypatch.setattr(offline, "LIFT_BATCH", 2)
    pipeline = build_pipeline(VideoOptions())
    frames = 8
    offline.run_video(clips[90], tmp_path / "whole", pipeline, max_frames=frames, overlay=False, progress=False)
    stop = iter(range(100))
    with pytest.raises(KeyboardInterrupt):
        offline.run_video(clips[90], tmp_path / "cut", pipeline, max_frames=frames, overlay=False, progress=False,
                          on_result=lambda frame, result: next(stop) < 5)
    summary = offline.run_video(clips[90], tmp_path / "cut", pipeline, max_frames=frames, resume=True,
                                overlay=False, progress=False)
    assert summary.resumed_from == 4
    # partial results saved by a version that read the clip on its side have no turn: never resumed
    assert offline._fingerprint(VideoSource(clips[90]), pipeline).endswith("|turned 90")
    assert "turned" not in offline._fingerprint(VideoSource(clips[0]), pipeline)
    with np.load(tmp_path / "whole" / "poses.npz") as whole, np.load(tmp_path / "cut" / "poses.npz") as resumed:
        assert list(resumed["image_size"]) == [1280, 720]
        for key in ("person_ids", "joints2d", "joints3d", "visibility", "image_size"):
            np.testing.assert_array_equal(resumed[key], whole[key])


@pytest.mark.data
def test_live_source_plays_a_tagged_clip_upright(street_frames, phone_clip):
    with LiveSource(str(phone_clip)) as camera:
        frame = camera.read(timeout=5.0)
    assert frame is not None and frame.image.shape == (720, 1280, 3)
    # a file played as a camera drops the frames that come late: the frame is one of the clip's
    assert min(np.abs(frame.image.astype(np.int16) - f).mean() for f in street_frames) < 3.0


@pytest.mark.data
def test_webcam_command_records_a_tagged_clip_upright(phone_clip, tmp_path, capsys):
    rec = tmp_path / "rec"
    assert main(["webcam", "--camera", str(phone_clip), "--no-show", "--max-seconds", "5", "--record", str(rec)]) == 0
    with np.load(rec / "poses.npz") as data:
        size, joints2d = [int(v) for v in data["image_size"]], data["joints2d"]       # [N, P, 17, 2] px
    assert size == [1280, 720]
    people = [frame[np.isfinite(frame).all(axis=(1, 2))] for frame in joints2d]
    assert sum(len(p) for p in people) >= 1 and all(_upright(p) for p in people)


# ----------------------------------------------------------------------------- photos

#: EXIF orientation -> cv2.rotate code that stores the upright photo so that the tag shows it upright
#: (6: a viewer turns it 90 degrees clockwise, 8: counter-clockwise, 3: 180).
EXIF_STORE_TURNED = {6: cv2.ROTATE_90_COUNTERCLOCKWISE, 8: cv2.ROTATE_90_CLOCKWISE, 3: cv2.ROTATE_180}


def write_photo(path: Path, upright_bgr: np.ndarray, orientation: int = 1) -> Path:
    """A photo (JPEG at quality 100 without chroma subsampling, or PNG, by path's suffix) that a viewer
    shows as upright_bgr: stored turned against its EXIF orientation tag (Pillow writes the tag)."""
    from PIL import Image
    stored = cv2.rotate(upright_bgr, EXIF_STORE_TURNED[orientation]) if orientation != 1 else upright_bgr
    exif = Image.Exif()
    exif[0x0112] = orientation                          # Orientation
    options = {"quality": 100, "subsampling": 0} if path.suffix == ".jpg" else {}
    Image.fromarray(stored[:, :, ::-1]).save(path, exif=exif.tobytes(), **options)
    return path


@pytest.fixture(scope="module")
def bus() -> np.ndarray:
    path = MEDIA / "bus.jpg"
    if not path.is_file():
        pytest.skip(f"test photo not found at {path} (see shared/data/README.md)")
    return cv2.imread(str(path))                        # [1080, 810, 3]: bus.jpg carries no orientation


@pytest.mark.data
@pytest.mark.parametrize("suffix", [".jpg", ".png"])
def test_read_image_applies_the_exif_orientation(bus, tmp_path, suffix):
    reference = read_image(write_photo(tmp_path / f"upright{suffix}", bus))
    for orientation in EXIF_STORE_TURNED:
        image = read_image(write_photo(tmp_path / f"o{orientation}{suffix}", bus, orientation))
        assert image.shape == reference.shape == bus.shape, f"orientation {orientation}"
        error = np.abs(image.astype(np.int16) - reference).mean()
        assert error < 1.0, f"orientation {orientation}: differs by {error:.2f} grey levels on average"


@pytest.mark.data
def test_image_command_on_exif_tagged_photos_finds_the_same_people(bus, tmp_path, capsys):
    """PNG: lossless, so that the tagged photos decode to exactly the upright one's pixels (MediaPipe's
    joints move with a JPEG's noise; test_read_image_applies_the_exif_orientation covers JPEG)."""
    photos = [write_photo(tmp_path / "upright.png", bus)] + \
             [write_photo(tmp_path / f"o{o}.png", bus, o) for o in (6, 8)]
    assert main(["image", *map(str, photos), "-o", str(tmp_path / "out")]) == 0
    docs = {p.stem: json.loads((tmp_path / "out" / f"{p.stem}.json").read_text()) for p in photos}
    reference = np.array([p["joints2d_px"] for p in docs["upright"]["people"]], dtype=float)   # [P, 17, 2] px
    assert len(reference) >= 1 and _upright(reference)
    for name in ("o6", "o8"):
        assert docs[name]["image_size"] == [810, 1080]
        people = np.array([p["joints2d_px"] for p in docs[name]["people"]], dtype=float)
        worst = _match(reference, people)
        assert worst <= TOLERANCE_PX, f"{name}: 2D differs by up to {worst:.2f} px"
