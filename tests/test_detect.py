"""Tests for realtime3d.detect.mediapipe: the 33 -> 17 mapping, and real MediaPipe on real images."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from realtime3d.data.mocap import bvh_to_h36m
from realtime3d.detect import MP33_TO_H36M17, Detection, PoseDetector, landmarks_to_h36m
from realtime3d.detect.mediapipe import HEAD_TOP_K, NUM_LANDMARKS
from realtime3d.lifting import Lifter
from realtime3d.skeleton import H36M17

LM = __import__("mediapipe").solutions.pose.PoseLandmark
J = H36M17.index


@pytest.fixture(scope="module")
def street_dance(media):
    """Every frame of street_dance.avi through the real detector in video mode: list of Detection | None."""
    cap = cv2.VideoCapture(str(media / "street_dance.avi"))
    detections = []
    with PoseDetector() as detector:
        while True:
            ok, frame = cap.read()
            if not ok:
                break
            detections.append(detector.detect(frame))
    cap.release()
    return detections


def _facing_camera(landmarks33: np.ndarray) -> float:
    """MediaPipe's own depth cue: < 0 when the nose is nearer the camera than the ears."""
    return float(landmarks33[LM.NOSE, 2] - landmarks33[[LM.LEFT_EAR, LM.RIGHT_EAR], 2].mean())


# ----------------------------------------------------------------------------- the mapping


def test_mapping_follows_the_joint_rules():
    rng = np.random.default_rng(0)
    lm = rng.uniform(0.0, 1000.0, size=(5, NUM_LANDMARKS, 2))       # [N, 33, 2]
    vis = rng.uniform(0.0, 1.0, size=(5, NUM_LANDMARKS))
    joints, v = landmarks_to_h36m(lm, vis)
    assert joints.shape == (5, 17, 2) and v.shape == (5, 17) and joints.dtype == np.float32
    for side in ("left", "right"):                                   # the person's own side
        for part, landmark in (("hip", "HIP"), ("knee", "KNEE"), ("ankle", "ANKLE"),
                               ("shoulder", "SHOULDER"), ("elbow", "ELBOW"), ("wrist", "WRIST")):
            src = LM[f"{side.upper()}_{landmark}"]
            np.testing.assert_allclose(joints[:, J[f"{side}_{part}"]], lm[:, src], rtol=1e-6)
            np.testing.assert_allclose(v[:, J[f"{side}_{part}"]], vis[:, src], rtol=1e-6)
    hips = lm[:, [LM.LEFT_HIP, LM.RIGHT_HIP]]
    shoulders = lm[:, [LM.LEFT_SHOULDER, LM.RIGHT_SHOULDER]]
    ears = lm[:, [LM.LEFT_EAR, LM.RIGHT_EAR]]
    np.testing.assert_allclose(joints[:, J["pelvis"]], hips.mean(1), rtol=1e-5)
    np.testing.assert_allclose(joints[:, J["thorax"]], shoulders.mean(1), rtol=1e-5)
    np.testing.assert_allclose(joints[:, J["spine"]], (hips.mean(1) + shoulders.mean(1)) / 2, rtol=1e-5)
    np.testing.assert_allclose(joints[:, J["head"]], ears.mean(1), rtol=1e-5)
    head, thorax = ears.mean(1), shoulders.mean(1)
    np.testing.assert_allclose(joints[:, J["head_top"]], head + HEAD_TOP_K * (head - thorax), rtol=1e-5)
    # a derived joint is as visible as its least visible source
    np.testing.assert_allclose(v[:, J["pelvis"]], vis[:, [LM.LEFT_HIP, LM.RIGHT_HIP]].min(1), rtol=1e-6)
    np.testing.assert_allclose(v[:, J["head"]], vis[:, [LM.LEFT_EAR, LM.RIGHT_EAR]].min(1), rtol=1e-6)
    np.testing.assert_allclose(
        v[:, J["head_top"]], vis[:, [LM.LEFT_EAR, LM.RIGHT_EAR, LM.LEFT_SHOULDER, LM.RIGHT_SHOULDER]].min(1),
        rtol=1e-6)
    named = set(MP33_TO_H36M17) | {"pelvis", "spine", "thorax", "head_top"}
    assert named == set(H36M17.joint_names)


def test_mapping_rejects_bad_shapes():
    with pytest.raises(ValueError, match=r"\[\.\.\., 33, 2 or 3\]"):
        landmarks_to_h36m(np.zeros((17, 2)), np.zeros(17))
    with pytest.raises(ValueError, match="visibility33"):
        landmarks_to_h36m(np.zeros((33, 2)), np.zeros(32))


def test_head_top_rule_matches_mocap_in_2d(cmu_root):
    """On real mocap seen by a camera 4.5 m away, the estimate lands near the true head top."""
    joints, _ = bvh_to_h36m(cmu_root / "05" / "05_01.bvh", fps=10.0)          # [F, 17, 3] mm
    joints = joints - joints[:, H36M17.root:H36M17.root + 1] + np.array([0.0, 0.0, 4500.0])
    p = joints[..., :2] / joints[..., 2:3]                                     # [F, 17, 2]
    head, thorax, top = p[:, J["head"]], p[:, J["thorax"]], p[:, J["head_top"]]
    err = np.linalg.norm(head + HEAD_TOP_K * (head - thorax) - top, axis=-1)
    assert np.median(err / np.linalg.norm(head - thorax, axis=-1)) < 0.35


# ----------------------------------------------------------------------------- real MediaPipe


def test_detector_on_real_photos(media):
    with PoseDetector(static_image_mode=True) as detector:
        bus = cv2.imread(str(media / "bus.jpg"))
        det = detector.detect(bus)
        assert det is not None
        assert det.joints2d_px.shape == (17, 2) and det.visibility.shape == (17,)
        assert det.landmarks33.shape == (33, 4)
        h, w = bus.shape[:2]
        assert ((det.joints2d_px >= 0) & (det.joints2d_px <= [w, h])).all()
        assert ((det.visibility >= 0) & (det.visibility <= 1)).all()
        # the joints are the raw landmarks by the rules, in pixels of this frame
        np.testing.assert_allclose(det.joints2d_px[J["left_hip"]], det.landmarks33[LM.LEFT_HIP, :2])
        np.testing.assert_allclose(det.joints2d_px[J["pelvis"]],
                                   det.landmarks33[[LM.LEFT_HIP, LM.RIGHT_HIP], :2].mean(0), rtol=1e-5)
        assert det.joints2d_px[J["head_top"], 1] < det.joints2d_px[J["head"], 1] < det.joints2d_px[J["thorax"], 1]
        # zidane.jpg: upper bodies only; MediaPipe complexity 1 finds nobody, which is no error
        assert detector.detect(cv2.imread(str(media / "zidane.jpg"))) is None
        with pytest.raises(ValueError, match="BGR uint8"):
            detector.detect(np.zeros((10, 10), np.uint8))
    with pytest.raises(ValueError, match="closed"):
        detector.detect(bus)


@pytest.mark.parametrize("name", ["bus.jpg", "astronaut.png"])
def test_left_and_right_are_the_persons_own(media, name):
    """Mirroring the photo mirrors the person: the new left joints sit where the right ones were."""
    image = cv2.imread(str(media / name))
    with PoseDetector(static_image_mode=True) as detector:
        det = detector.detect(image)
        mirrored = detector.detect(np.ascontiguousarray(image[:, ::-1]))
    assert det is not None and mirrored is not None
    back = mirrored.joints2d_px.copy()
    back[:, 0] = image.shape[1] - 1 - back[:, 0]                    # mirrored back to the photo
    swapped = np.abs(back[H36M17.flip_permutation] - det.joints2d_px).mean()
    same = np.abs(back - det.joints2d_px).mean()
    assert swapped < 0.5 * same, (swapped, same)


def test_facing_and_sides_agree_on_coco_photos(media):
    """A person facing the camera has their left shoulder on the image's right, and one seen
    from behind on its left (MediaPipe's depth cue says which)."""
    checked = 0
    with PoseDetector(static_image_mode=True) as detector:
        for path in sorted((media / "coco").glob("*.jpg")):
            det = detector.detect(cv2.imread(str(path)))
            if det is None:
                continue
            facing = _facing_camera(det.landmarks33)
            width = det.joints2d_px[J["left_shoulder"], 0] - det.joints2d_px[J["right_shoulder"], 0]
            if abs(facing) < 0.05 or abs(width) < 15:                    # side-on: no clear answer
                continue
            assert np.sign(width) == -np.sign(facing), path.name
            checked += 1
    assert checked >= 8


def test_reset_forgets_the_tracked_person(media):
    """After reset() the detector answers exactly as a new one does (offline resume relies on it)."""
    cap = cv2.VideoCapture(str(media / "street_dance.avi"))
    frames = [cap.read()[1] for _ in range(8)]
    cap.release()
    with PoseDetector() as tracked, PoseDetector() as fresh:
        for frame in frames[:4]:
            tracked.detect(frame)
        tracked.reset()
        after = [tracked.detect(frame) for frame in frames[4:]]
        new = [fresh.detect(frame) for frame in frames[4:]]
    assert all(d is not None for d in after + new)
    for a, b in zip(after, new):
        np.testing.assert_array_equal(a.landmarks33, b.landmarks33)
    with pytest.raises(ValueError, match="closed"):
        tracked.reset()


@pytest.mark.slow
def test_street_dance_is_detected_and_lifts_to_a_plausible_skeleton(street_dance, cmu_root):
    assert len(street_dance) == 205
    found = [d for d in street_dance if d is not None]
    assert len(found) >= 0.95 * len(street_dance)
    joints2d = np.stack([d.joints2d_px for d in found])                       # [F, 17, 2]
    vis = np.stack([d.visibility for d in found])
    assert ((joints2d >= -50) & (joints2d <= [1330, 770])).all()
    # a lifter of mocap views, whose bones follow the joint rules as the mocap's do (the default's
    # lifter learned MediaPipe's placement: its trunk and forearms come out 1.6x subject 05's here)
    lifted = Lifter.from_pretrained("cycle").lift(joints2d, (1280, 720), visibility=vis)   # [F, 17, 3]
    assert np.isfinite(lifted).all()

    def bones(j):
        return np.stack([np.linalg.norm(j[:, c] - j[:, p], axis=-1) for p, c in H36M17.bones], -1)

    mocap, _ = bvh_to_h36m(cmu_root / "05" / "05_01.bvh", fps=10.0)
    ratio = np.median(bones(lifted), axis=0) / np.median(bones(mocap), axis=0)   # per bone
    assert ((ratio > 0.6) & (ratio < 1.6)).all(), np.round(ratio, 2)
    assert (lifted[:, J["pelvis"], 2] > 1500).all() and (lifted[:, J["pelvis"], 2] < 15000).all()

    # not mirrored: the lifted body faces the way MediaPipe says the person faces
    agree = total = 0
    for det, pose in zip(found, lifted):
        facing = _facing_camera(det.landmarks33)
        if abs(facing) < 0.05:
            continue
        left = pose[[J["left_hip"], J["left_shoulder"]]] - pose[[J["right_hip"], J["right_shoulder"]]]
        up = pose[J["thorax"]] - pose[J["pelvis"]]                            # y is down: this points up
        forward = np.cross(left.sum(0), up)                                   # x left, y up -> z forward
        agree += np.sign(forward[2]) == np.sign(facing)                       # toward camera: -z, facing < 0
        total += 1
    assert total >= 50 and agree >= 0.9 * total, (agree, total)


# ----------------------------------------------------------------------------- the Detector contract


def test_every_detector_satisfies_the_detector_protocol(media):
    """MultiPoseDetector, SkeletonNetDetector and PoseDetector are `Detector`s (runtime_checkable):
    the members the pipeline relies on exist and answer as the protocol says."""
    from realtime3d.defaults import DETECTORS
    from realtime3d.detect import Detector, MultiPoseDetector, SkeletonNetDetector
    bus = cv2.imread(str(media / "bus.jpg"))
    detectors = [MultiPoseDetector(static_image_mode=True), SkeletonNetDetector(), PoseDetector(static_image_mode=True)]
    try:
        assert [d.name for d in detectors] == [*DETECTORS, "mediapipe-pose"]
        for detector in detectors:
            assert isinstance(detector, Detector), detector.name
            assert 0.0 <= detector.visibility_threshold <= 1.0
            assert isinstance(detector.fingerprint, str) and detector.fingerprint
            found = detector.detect_all(bus)
            assert isinstance(found, list) and all(isinstance(d, Detection) for d in found)
            rgb = detector.detect_all_rgb(np.ascontiguousarray(bus[:, :, ::-1]))
            assert isinstance(rgb, list)
            detector.reset(search=True)
            detector.reset(search=False)
        assert len(detectors[0].detect_all(bus)) >= 2 and len(detectors[2].detect_all(bus)) == 1
        assert len(detectors[1].detect_all(bus)) >= 1   # the shipped skeleton net finds people too
    finally:
        for detector in detectors:
            detector.close()
    assert not isinstance(object(), Detector)


def test_detector_names_and_their_old_spellings():
    """--detector blazepose|skeleton-net; mediapipe and skeleton are read as these; one check where
    the choice enters (detect.choice.check_detector), with one-line errors."""
    from realtime3d.defaults import DETECTORS, detector_name
    from realtime3d.detect.choice import check_detector
    from realtime3d.errors import UserError
    assert DETECTORS == ("blazepose", "skeleton-net")
    assert [detector_name(v) for v in ("mediapipe", "skeleton", "blazepose", "skeleton-net", "x")] == \
        ["blazepose", "skeleton-net", "blazepose", "skeleton-net", "x"]
    assert check_detector("mediapipe") == "blazepose" and check_detector("skeleton") == "skeleton-net"
    for args, words in [(("yolo",), "unknown detector"), (("blazepose", "skeleton-net"), "--detector-weights needs"),
                        (("skeleton-net", None, 0), "--max-people"),
                        (("skeleton-net", "no-such-net"), "unknown skeleton net"),
                        (("skeleton-net", "/nonexistent/net.pt"), "not found")]:
        with pytest.raises(UserError, match=words):
            check_detector(*args)
