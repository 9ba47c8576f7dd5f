"""Person recall of the multi-person detector on real photos: the figures that
benchmarks/bench_recall.py records in results/recall.json, held by MultiPoseDetector's defaults.

Scoring: realtime3d.detect.coco (counted people, one-to-one matching, limb error)."""
from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from realtime3d.detect.blazepose import MultiPoseDetector
from realtime3d.detect.coco import MP33_LIMBS, Annotated, read_person_keypoints, score_photo

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from bench_recall import ROUTES  # noqa: E402  (the baseline's options: one place)


@pytest.fixture(scope="module")
def detector():
    with MultiPoseDetector(static_image_mode=True) as found:
        yield found


def _limbs(found) -> np.ndarray:
    return np.stack([d.landmarks33[MP33_LIMBS, :2] for d in found]) if found else np.zeros((0, 12, 2))


def test_scoring_on_hand_made_people():
    """One-to-one matching, the 0.5 x sqrt(box area) rule, uncounted people and crowd boxes."""
    limbs = np.arange(24, dtype=np.float64).reshape(12, 2) * 10
    person = Annotated(limbs, (0.0, 0.0, 100.0, 100.0), False)                   # sqrt(area) 100
    few = Annotated(np.where(np.arange(12)[:, None] < 3, limbs + 500, np.nan), (500, 500, 50, 50), False)
    crowd = Annotated(np.full((12, 2), np.nan), (900.0, 900.0, 100.0, 100.0), True)
    assert person.counted and not few.counted and not crowd.counted
    detected = np.stack([limbs + 30, limbs + 1, limbs + 500, limbs * 0 + 950, limbs + 3000])   # [5, 12, 2]
    score = score_photo(detected, [person, few, crowd])
    assert score.counted == 1 and score.found == 1
    assert score.pairs[0] == (1, 0) and score.errors[0] == pytest.approx(np.sqrt(2) / 100)   # the closer one
    # detection 0 is a second copy of the person, 4 lies nowhere: unmatched; 2 is the person with
    # few joints, 3 lies in the crowd box: not false people
    assert score.unmatched == 2
    far = score_photo(limbs[None] + 60, [person])                               # 60 sqrt(2) / 100 > 0.5
    assert far.found == 0 and far.unmatched == 1


def _scores(detector: MultiPoseDetector, media: Path) -> dict:
    """{photo: PhotoScore} of a detector's people on coco_annotated."""
    people = read_person_keypoints(media / "coco_annotated" / "person_keypoints.json")
    return {name: score_photo(_limbs(detector.detect_all(cv2.imread(str(media / "coco_annotated" / name)))), truth)
            for name, truth in people.items()}


def _errors(scores: dict) -> dict:
    """{(photo, annotation): limb error} of the found people."""
    return {(name, a): e for name, s in scores.items() for a, e in zip(s.people, s.errors)}


def test_coco_annotated_recall(media, detector):
    """coco_annotated: at least 11 of the 12 counted people found, at most one unmatched
    detection per photo; the limb error of the people that the detector before the thorough
    search (bench_recall's baseline, run here) finds is no worse, person by person on average,
    and the mean over all found people is no worse than the baseline's."""
    scores = _scores(detector, media)
    for name, score in scores.items():
        assert score.unmatched <= 1, (name, score)
    found, counted = sum(s.found for s in scores.values()), sum(s.counted for s in scores.values())
    assert counted == 12 and found >= 11, (found, counted)
    with MultiPoseDetector(static_image_mode=True, **ROUTES["baseline"]) as baseline:
        before = _errors(_scores(baseline, media))
    now = _errors(scores)
    assert set(before) <= set(now), set(before) - set(now)                      # nobody lost
    assert np.mean([now[k] for k in before]) <= np.mean(list(before.values())), (now, before)
    assert np.mean(list(now.values())) <= np.mean(list(before.values())), (now, before)


def test_named_photos(media, detector):
    """Both men of zidane.jpg (one faces the camera, upper body: the face detector's proposal);
    people on COCO 257 (a man with a stroller) and 357 (baseball players, 20-40 px tall)."""
    men = detector.detect_all(cv2.imread(str(media / "zidane.jpg")))
    assert len(men) == 2
    noses = np.array([d.landmarks33[0, :2] for d in men])
    assert np.linalg.norm(noses[0] - noses[1]) > 200                              # two men, not one twice
    for d in men:                                                                 # heads up: no pose turned over
        assert d.landmarks33[0, 1] < d.landmarks33[[11, 12], 1].mean() < d.landmarks33[[23, 24], 1].mean()
    for number in ("257", "357"):
        assert len(detector.detect_all(cv2.imread(str(media / f"coco/COCO_val2014_000000000{number}.jpg")))) >= 1


def test_gray_and_dark_frames(media, detector):
    """bus.jpg in gray (3 equal channels, as read_image gives a gray file) and at 0.3 x its
    brightness finds the same 3 people as in colour; on the dark copy, the stretch alone
    (levels_lut) finds more people than the detector before the thorough search."""
    image = cv2.imread(str(media / "bus.jpg"))
    darker = (image.astype(np.float32) * 0.3 + 0.5).astype(np.uint8)
    colour = detector.detect_all(image)
    gray = detector.detect_all(cv2.cvtColor(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR))
    dark = detector.detect_all(darker)
    assert len(colour) == len(gray) == len(dark) == 3
    pelvis = lambda found: np.array(sorted(d.joints2d_px[0, 0] for d in found))     # noqa: E731
    np.testing.assert_allclose(pelvis(gray), pelvis(colour), atol=40)             # the same people
    np.testing.assert_allclose(pelvis(dark), pelvis(colour), atol=40)
    with MultiPoseDetector(static_image_mode=True, **ROUTES["baseline"]) as before, \
            MultiPoseDetector(static_image_mode=True, **ROUTES["dark"]) as stretched:   # the stretch has teeth
        assert len(before.detect_all(darker)) < len(stretched.detect_all(darker))


@pytest.mark.slow
def test_video_mode_searches_on_the_first_frame_and_once_in_detect_every():
    """The thorough search costs a video its first frame, then one frame in detect_every while
    nobody is followed (an empty room), and nothing at a restart that asks for none."""
    blank = np.zeros((360, 640, 3), np.uint8)
    with MultiPoseDetector(detect_every=10) as video:
        for _ in range(25):
            assert video.detect_all(blank) == []
        assert video.detector_runs == 25 and video.searches == 3               # frames 0, 10, 20
        video.reset(search=False)
        video.detect_all(blank)
        assert video.searches == 3
        video.reset()
        video.detect_all(blank)
        assert video.searches == 4
