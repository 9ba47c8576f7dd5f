"""Tests for realtime3d.detect.blazepose: MediaPipe's BlazePose graph, per person, with LiteRT.

The geometry is checked on hand-made values; the detector against MediaPipe's own graph and
mp.solutions.pose on real images, and the tracking on the street video."""
from __future__ import annotations

import math
import os
from dataclasses import astuple

import cv2
import numpy as np
import pytest

from realtime3d.detect import PoseDetector
from realtime3d.detect.blazepose import (
    DETECT_EVERY, EDGE_ROI_SCALE, NUM_ANCHORS, BodyProposals, MultiPoseDetector, PersonBox, PersonDetector,
    Roi, apply_affine, crop, crop_to_frame, invert_affine, roi_from_landmarks, roi_from_person, ssd_anchors, tile_rois, weighted_nms)
from realtime3d.skeleton import H36M17

J = H36M17.index
ONE_PERSON = "coco/COCO_val2014_000000000415.jpg"        # a tennis player, full body, alone


@pytest.fixture(scope="module")
def static_detector():
    with MultiPoseDetector(static_image_mode=True) as detector:
        yield detector


@pytest.fixture(scope="module")
def street_frames(media):
    """The first 60 frames of street_dance.avi (BGR)."""
    cap = cv2.VideoCapture(str(media / "street_dance.avi"))
    frames = [cap.read()[1] for _ in range(60)]
    cap.release()
    assert all(f is not None for f in frames)
    return frames


# ----------------------------------------------------------------------------- geometry


def test_anchors_follow_the_ssd_options():
    anchors = ssd_anchors()                                             # [2254, 2]
    assert anchors.shape == (NUM_ANCHORS, 2) == (2254, 2)
    # stride 8: 28x28 cells, 2 anchors each; stride 16: 14x14 x 2; the three of stride 32: 7x7 x 6
    assert 28 * 28 * 2 + 14 * 14 * 2 + 7 * 7 * 6 == 2254
    np.testing.assert_allclose(anchors[0], anchors[1])                  # two anchors per cell
    np.testing.assert_allclose(anchors[0], [0.5 / 28, 0.5 / 28], rtol=1e-6)
    np.testing.assert_allclose(anchors[2], [1.5 / 28, 0.5 / 28], rtol=1e-6)   # x runs fastest
    np.testing.assert_allclose(anchors[1568], [0.5 / 14, 0.5 / 14], rtol=1e-6)
    np.testing.assert_allclose(anchors[1568 + 392:1568 + 392 + 6], [[0.5 / 7, 0.5 / 7]] * 6, rtol=1e-6)
    assert (anchors > 0).all() and (anchors < 1).all()


def test_weighted_nms_merges_overlapping_boxes():
    scores = np.array([0.6, 0.9, 0.8])
    boxes = np.array([[0.0, 0.0, 10.0, 10.0], [1.0, 0.0, 11.0, 10.0], [50.0, 50.0, 60.0, 60.0]])
    keypoints = np.array([[[0.0, 0.0]], [[2.0, 4.0]], [[55.0, 55.0]]])          # [3, 1, 2]
    out_scores, out_boxes, out_keypoints = weighted_nms(scores, boxes, keypoints, 0.3)
    assert len(out_scores) == 2                                                  # the first two are one
    np.testing.assert_allclose(out_scores, [0.9, 0.8])                           # the best one's score
    np.testing.assert_allclose(out_boxes[0], (0.6 * boxes[0] + 0.9 * boxes[1]) / 1.5)
    np.testing.assert_allclose(out_keypoints[0, 0], [1.2, 2.4])
    np.testing.assert_allclose(out_boxes[1], boxes[2])
    # apart (IoU 1/3 > 0.3 only when the threshold is lower): kept apart
    apart = np.array([[0.0, 0.0, 10.0, 10.0], [5.0, 0.0, 15.0, 10.0]])
    assert len(weighted_nms(np.array([0.9, 0.8]), apart, np.zeros((2, 1, 2)), 0.4)[0]) == 2
    assert len(weighted_nms(np.array([0.9, 0.8]), apart, np.zeros((2, 1, 2)), 0.3)[0]) == 1


def test_crop_maps_points_there_and_back():
    rng = np.random.default_rng(0)
    for _ in range(20):
        roi = Roi(*rng.uniform(100, 500, 2), *(rng.uniform(50, 400) * np.ones(2)), rng.uniform(-math.pi, math.pi))
        points = rng.uniform(0, 256, (10, 2))                             # in a 256 crop
        to_frame = crop_to_frame(roi, 256)
        np.testing.assert_allclose(apply_affine(invert_affine(to_frame), apply_affine(to_frame, points)),
                                   points, atol=1e-9)
        # the corners: (0, 0) is the ROI's top-left corner, rotated about its centre
        c, s = math.cos(roi.rotation), math.sin(roi.rotation)
        top_left = [roi.cx - c * roi.width / 2 + s * roi.height / 2, roi.cy - s * roi.width / 2 - c * roi.height / 2]
        np.testing.assert_allclose(apply_affine(to_frame, np.zeros(2)), top_left, atol=1e-9)
    # the warp samples where the map says: a bright spot in the frame lands where it maps to
    frame = np.zeros((600, 800, 3), np.uint8)
    cv2.circle(frame, (500, 260), 3, (255, 255, 255), -1)
    roi = Roi(450.0, 300.0, 300.0, 300.0, 0.7)
    pixels = crop(frame, roi, 256, cv2.BORDER_CONSTANT)
    found = np.unravel_index(np.argmax(cv2.GaussianBlur(pixels[..., 0], (9, 9), 0)), pixels.shape[:2])[::-1]
    expected = apply_affine(invert_affine(crop_to_frame(roi, 256)), np.array([500.0, 260.0]))
    np.testing.assert_allclose(found, expected, atol=1.5)


def test_rois_are_aligned_on_the_body_centre_and_size_point():
    rng = np.random.default_rng(1)
    for _ in range(20):
        centre = rng.uniform(0, 1000, 2)
        size_point = centre + rng.uniform(-300, 300, 2)
        keypoints = np.stack([centre, size_point, rng.uniform(0, 1000, (2, 2))[0], rng.uniform(0, 1000, 2)])
        roi = roi_from_person(PersonBox(0.9, (0.0, 0.0, 1.0, 1.0), keypoints))
        distance = np.linalg.norm(size_point - centre)
        assert roi.width == pytest.approx(2.5 * distance) and roi.height == pytest.approx(2.5 * distance)
        # centre -> size point is "up" in the crop: the size point is 0.4 of the side above the middle
        to_crop = invert_affine(crop_to_frame(roi, 1.0))
        np.testing.assert_allclose(apply_affine(to_crop, np.stack([centre, size_point])), [[0.5, 0.5], [0.5, 0.1]],
                                   atol=1e-9)
        landmarks = rng.uniform(0, 1000, (39, 5))
        landmarks[33, :2], landmarks[34, :2] = centre, size_point
        same = roi_from_landmarks(landmarks, (1280, 720))
        assert astuple(same) == pytest.approx(astuple(roi))
    upright = roi_from_person(PersonBox(0.9, (0, 0, 1, 1), np.array([[100.0, 500], [100, 300], [0, 0], [0, 0]])))
    assert upright.rotation == pytest.approx(0.0)
    lying = roi_from_person(PersonBox(0.9, (0, 0, 1, 1), np.array([[100.0, 500], [300, 500], [0, 0], [0, 0]])))
    assert lying.rotation == pytest.approx(math.pi / 2)                 # head to the right: turned clockwise


def test_tiles_cover_the_frame():
    assert tile_rois(1280, 720, 1) == []
    for width, height, tiles in ((1280, 720, 2), (1280, 720, 3), (810, 1080, 3)):
        rois = tile_rois(width, height, tiles)
        covered = np.zeros((height, width), bool)
        side = max(width, height) / (tiles - (tiles - 1) * 0.25)                 # TILE_OVERLAP 0.25
        for r in rois:                                                   # squares, clipped to the frame
            assert (r.width, r.height) == pytest.approx((min(side, width), min(side, height))) and r.rotation == 0
            assert r.cx - r.width / 2 >= -1e-9 and r.cx + r.width / 2 <= width + 1e-9
            covered[round(r.cy - r.height / 2):round(r.cy + r.height / 2),
                    round(r.cx - r.width / 2):round(r.cx + r.width / 2)] = True
        assert covered.all()


def test_bad_inputs_are_one_line_errors():
    with pytest.raises(ValueError, match="positive width"):
        Roi(0.0, 0.0, -1.0, 1.0, 0.0)
    with pytest.raises(ValueError, match=r"landmarks39 must be \[39, >=2\]"):
        roi_from_landmarks(np.zeros((33, 5)), (640, 480))
    with pytest.raises(ValueError, match="coincide"):
        roi_from_person(PersonBox(0.9, (0, 0, 1, 1), np.ones((4, 2))))
    with pytest.raises(ValueError, match="tiles"):
        tile_rois(640, 480, 0)
    with pytest.raises(ValueError, match="max_people"):
        MultiPoseDetector(max_people=0)
    with pytest.raises(ValueError, match="min_tracking_confidence"):
        MultiPoseDetector(min_tracking_confidence=1.5)
    detector = MultiPoseDetector(static_image_mode=True)
    with pytest.raises(ValueError, match="BGR uint8"):
        detector.detect_all(np.zeros((10, 10), np.uint8))
    with pytest.raises(ValueError, match="RGB uint8"):
        detector.detect_all_rgb(np.zeros((10, 10, 3), np.float32))
    detector.close()
    with pytest.raises(ValueError, match="closed"):
        detector.detect_all(np.zeros((10, 10, 3), np.uint8))


# ----------------------------------------------------------------------------- real images


def _mediapipe_person_detector(frame_rgb: np.ndarray) -> list[tuple[float, np.ndarray, np.ndarray]]:
    """MediaPipe's own PoseDetectionCpu subgraph (compiled into the wheel) on a frame ->
    [(score, box (x0, y0, x1, y1) px, keypoints [4, 2] px)]."""
    import mediapipe as mp
    from mediapipe.python import packet_creator, packet_getter
    from mediapipe.python._framework_bindings import resource_util
    resource_util.set_resource_dir(os.path.dirname(os.path.dirname(mp.__file__)))
    graph = mp.CalculatorGraph(graph_config="""
        input_stream: "image"
        output_stream: "detections"
        node { calculator: "PoseDetectionCpu" input_stream: "IMAGE:image" output_stream: "DETECTIONS:detections" }""")
    found = []
    graph.observe_output_stream("detections", lambda _, packet: found.extend(packet_getter.get_proto_list(packet)))
    graph.start_run()
    graph.add_packet_to_input_stream(
        "image", packet_creator.create_image_frame(image_format=mp.ImageFormat.SRGB, data=frame_rgb).at(0))
    graph.close()
    height, width = frame_rgb.shape[:2]
    out = []
    for d in found:
        b = d.location_data.relative_bounding_box
        box = np.array([b.xmin, b.ymin, b.xmin + b.width, b.ymin + b.height]) * [width, height, width, height]
        keypoints = np.array([(k.x * width, k.y * height) for k in d.location_data.relative_keypoints])
        out.append((d.score[0], box, keypoints))
    return out


def test_person_detector_is_mediapipes(media):
    """The person detector (anchors, decoding, weighted NMS, letterbox) gives what MediaPipe's own
    graph gives, to a hundredth of a pixel (measured: equal to 0.001 px on all 22 photos)."""
    detector = PersonDetector(tiles=1)
    for name in ("bus.jpg", "coco/COCO_val2014_000000000241.jpg", "zidane.jpg"):
        frame = cv2.cvtColor(cv2.imread(str(media / name)), cv2.COLOR_BGR2RGB)
        ours, theirs = detector(frame), _mediapipe_person_detector(frame)
        assert len(ours) == len(theirs), name
        for person, (score, box, keypoints) in zip(ours, theirs):
            assert person.score == pytest.approx(score, abs=1e-4)
            np.testing.assert_allclose(person.box, box, atol=0.01)
            np.testing.assert_allclose(person.keypoints, keypoints, atol=0.01)
    assert len(detector(cv2.cvtColor(cv2.imread(str(media / ONE_PERSON)), cv2.COLOR_BGR2RGB))) == 1


def test_one_person_agrees_with_mediapipe(media, static_detector):
    """The same 17 joints and 33 landmarks as mp.solutions.pose (PoseDetector) on a photo of one
    person. Measured on this photo (person 262 px tall): 17 joints median 0.43 px, max 1.63 px;
    33 landmarks median 0.40 px, max 2.2 px; visibility within 0.001; z within 0.001.
    (mp.solutions.pose feeds its graph an mp.Image, which is resampled a little differently from
    the ImageFrame path reproduced here: against MediaPipe's graph fed an ImageFrame, the
    landmarks agree to 0.01-0.15 px median.)"""
    image = cv2.imread(str(media / ONE_PERSON))
    with PoseDetector(static_image_mode=True) as reference:
        ref = reference.detect(image)
    found = static_detector.detect_all(image)
    assert ref is not None and len(found) == 1
    ours = found[0]
    height = ref.joints2d_px[:, 1].max() - ref.joints2d_px[:, 1].min()
    joint_error = np.linalg.norm(ours.joints2d_px - ref.joints2d_px, axis=1)            # [17]
    assert np.median(joint_error) < 0.005 * height and joint_error.max() < 0.015 * height, joint_error
    landmark_error = np.linalg.norm(ours.landmarks33[:, :2] - ref.landmarks33[:, :2], axis=1)   # [33]
    assert np.median(landmark_error) < 0.005 * height and landmark_error.max() < 0.015 * height
    np.testing.assert_allclose(ours.landmarks33[:, 2:], ref.landmarks33[:, 2:], atol=0.01)       # z, visibility
    np.testing.assert_allclose(ours.visibility, ref.visibility, atol=0.01)
    assert ours.score > 0.9 and ours.landmarks33.dtype == np.float32
    np.testing.assert_allclose(ours.box, [*ours.landmarks33[:, :2].min(0), *ours.landmarks33[:, :2].max(0)])
    assert static_detector.detect(image).landmarks33 == pytest.approx(ours.landmarks33)


def _limb_ratios(joints: np.ndarray) -> dict[str, float]:
    """Each limb's length of a standing person's joints [17, 2] px, the longer of its two sides
    (one may be foreshortened), over their height from head top to the lower ankle."""
    tall = max(joints[J["left_ankle"], 1], joints[J["right_ankle"], 1]) - joints[J["head_top"], 1]
    ratios = {f"{near}-{far}": max(np.linalg.norm(joints[J[f"{side}_{near}"]] - joints[J[f"{side}_{far}"]])
                                   for side in ("left", "right")) / tall
              for near, far in (("shoulder", "elbow"), ("elbow", "wrist"), ("hip", "knee"), ("knee", "ankle"))}
    return ratios


def _upright(joints: np.ndarray) -> bool:
    """Head above thorax above pelvis above the lower ankle."""
    ankle = max(joints[J["left_ankle"], 1], joints[J["right_ankle"], 1])
    order = [joints[J["head_top"], 1], joints[J["thorax"], 1], joints[J["pelvis"], 1], ankle]
    return all(a < b for a, b in zip(order, order[1:]))


def _plausible(joints: np.ndarray, size: tuple[int, int]) -> bool:
    """A standing person's 17 joints [17, 2] px: torso inside the image, head above thorax above
    pelvis above ankles, and each limb between 0.15 and 0.45 of the height (_limb_ratios)."""
    width, height = size
    torso = joints[[J["pelvis"], J["thorax"]]]
    if not ((torso >= 0) & (torso <= [width, height])).all() or not _upright(joints):
        return False
    return all(0.15 <= r <= 0.45 for r in _limb_ratios(joints).values())


def _plausible_at_edge(det, size: tuple[int, int]) -> bool:
    """A standing person cut by the frame's left or right edge: their box reaches the edge; a
    shoulder and a hip inside the image, and the torso's centre line (pelvis, thorax) within 2%
    of the width of the edge; upright; legs between 0.15 and 0.45 of the height, arms at most
    0.45 (an arm seen end-on, as bus.jpg's walker at the right edge holds theirs, is short)."""
    width, height = size
    joints, landmarks = det.joints2d_px, det.landmarks33[:, :2]
    if not (det.box[0] <= 0.01 * width or det.box[2] >= 0.99 * width):
        return False
    inside = ((landmarks[[11, 12, 23, 24]] >= 0) & (landmarks[[11, 12, 23, 24]] <= [width, height])).all(axis=1)
    torso = joints[[J["pelvis"], J["thorax"]]]
    if not (inside[:2].any() and inside[2:].any()) or not _upright(joints) \
            or not ((torso >= [-0.02 * width, 0]) & (torso <= [1.02 * width, height])).all():
        return False
    ratios = _limb_ratios(joints)
    return 0.15 <= min(ratios["hip-knee"], ratios["knee-ankle"]) and max(ratios.values()) <= 0.45


def test_bus_gives_several_plausible_people(media, static_detector):
    """bus.jpg: the two men in the middle, full body, and the walker at the right edge (head
    and half the body cut off, face turned away), whom only the edge proposals find. (The person
    at the left edge shows a sleeve and a leg. mp.solutions.pose finds one.) Measured: the
    walker's pelvis and thorax 5 and 9 px past the right edge (1% of the width), legs 0.25 of
    their height, forearms 0.12 (held towards the camera)."""
    image = cv2.imread(str(media / "bus.jpg"))
    size = image.shape[1], image.shape[0]
    found = static_detector.detect_all(image)
    assert len(found) >= 3
    for det in found:
        assert det.joints2d_px.shape == (17, 2) and det.visibility.shape == (17,)
        assert det.landmarks33.shape == (33, 4) and 0.5 < det.score <= 1.0
    whole = [d for d in found if _plausible(d.joints2d_px, size)]
    at_edge = [d for d in found if not _plausible(d.joints2d_px, size) and _plausible_at_edge(d, size)]
    assert len(whole) >= 2 and len(at_edge) >= 1 and len(whole) + len(at_edge) == len(found)
    assert at_edge[0].box[2] >= size[0] - 5 and at_edge[0].box[0] > size[0] / 2               # the right edge
    areas = [(d.box[2] - d.box[0]) * (d.box[3] - d.box[1]) for d in found]
    assert areas == sorted(areas, reverse=True)                                   # largest first
    pelvis = np.array([d.joints2d_px[J["pelvis"]] for d in found])
    gaps = np.linalg.norm(pelvis[:, None] - pelvis[None], axis=-1) + 1e9 * np.eye(len(found))
    assert gaps.min() > 100                                                       # each person once
    rng = np.random.default_rng(0)                                                # the tests have teeth
    assert sum(_plausible(rng.uniform([0, 0], size, (17, 2)), size) for _ in range(200)) == 0
    with MultiPoseDetector(static_image_mode=True, search_tiles=(1,), weak_score=0.5, faces=False,
                           bodies=False) as mediapipe_alone:                       # MediaPipe's pass
        assert len(mediapipe_alone.detect_all(image)) == 1
    with MultiPoseDetector(static_image_mode=True) as again:                     # the mirror image
        mirrored = again.detect_all(np.ascontiguousarray(image[:, ::-1]))
    assert len(mirrored) == len(found)
    assert any(d.box[0] <= 5 and _plausible_at_edge(d, size) for d in mirrored)               # the left edge


def test_edge_proposals_mirror_the_frame(media):
    """BodyProposals.edges proposes bus.jpg's walker cut by the right edge, a window reaching past
    it; the mirror image gives the mirrored window at the left edge; frames with nobody, or too
    small for a HOG window, give none."""
    frame = cv2.cvtColor(cv2.imread(str(media / "bus.jpg")), cv2.COLOR_BGR2RGB)
    width = frame.shape[1]
    proposals = BodyProposals()
    boxes, rois = proposals.edges(frame)
    assert boxes.shape[1:] == (4,) and len(boxes) == len(rois) >= 1
    assert boxes[0, 0] < width < boxes[0, 2] and rois[0].cx == pytest.approx(0.5 * (boxes[0, 0] + boxes[0, 2]))
    assert rois[0].width == pytest.approx(EDGE_ROI_SCALE * (boxes[0, 3] - boxes[0, 1])) and rois[0].rotation == 0
    mirrored, _ = proposals.edges(np.ascontiguousarray(frame[:, ::-1]))
    np.testing.assert_allclose(mirrored[:, [2, 1, 0, 3]] * [-1, 1, -1, 1] + [width, 0, width, 0], boxes, atol=1e-6)
    whole, _ = proposals(frame)
    assert not any(b[0] < width < b[2] for b in whole)                           # HOG alone does not see them
    for shape in ((720, 1280, 3), (1, 1, 3), (64, 30, 3), (5, 200, 3)):
        assert proposals.edges(np.zeros(shape, np.uint8))[0].shape == (0, 4)


# ----------------------------------------------------------------------------- video mode


@pytest.mark.slow
def test_video_mode_tracks_without_the_detector(street_frames):
    """On 60 frames of the street video the person detector runs on a few, the people are kept."""
    with MultiPoseDetector() as detector:
        counts = [len(detector.detect_all(frame)) for frame in street_frames]
        runs = detector.detector_runs
    # measured (tiles=2, detect_every=10): 6 runs; 1 person for 20 frames, 2 for 20, then 3
    assert runs <= len(street_frames) // DETECT_EVERY + 2, runs
    assert min(counts) >= 1 and max(counts) <= 6, counts
    changes = sum(a != b for a, b in zip(counts, counts[1:]))
    assert changes <= 4, counts
    with MultiPoseDetector(max_people=1) as one:
        largest = [one.detect(frame) for frame in street_frames[:20]]
        assert all(d is not None for d in largest) and one.detector_runs == 1    # found once, then tracked


def test_reset_runs_the_person_detector_again(street_frames):
    with MultiPoseDetector() as detector:
        detector.detect_all(street_frames[0])
        assert detector.detector_runs == 1
        rgb = cv2.cvtColor(street_frames[1], cv2.COLOR_BGR2RGB)
        assert len(detector.detect_all_rgb(rgb)) >= 1 and detector.detector_runs == 1   # tracked
        detector.reset()
        assert len(detector.detect_all(street_frames[2])) >= 1 and detector.detector_runs == 2
        detector.detect_all(street_frames[3])
        assert detector.detector_runs == 2
    with MultiPoseDetector(static_image_mode=True, tiles=1) as static:
        for frame in street_frames[:3]:
            static.detect_all(frame)
        assert static.detector_runs == 3                                        # every call


def test_body_proposals_find_people_the_face_detector_misses(street_frames):
    """The street video's first frame: the face-keyed detector (with its 2 tiles, no weak
    detections, no faces) finds 1 person (the dancer, arms up under a sign), HOG's full-body
    proposals, confirmed by the landmark model, 2 more walkers, both plausible standing people."""
    frame = street_frames[0]
    size = frame.shape[1], frame.shape[0]
    with MultiPoseDetector(static_image_mode=True, bodies=False, search_tiles=(2,), weak_score=0.5,
                           faces=False) as faces, \
            MultiPoseDetector(static_image_mode=True) as both:
        alone, more = faces.detect_all(frame), both.detect_all(frame)
    assert len(more) >= len(alone) + 2, (len(alone), len(more))
    pelvis = np.array([d.joints2d_px[J["pelvis"]] for d in more])
    seen = np.array([d.joints2d_px[J["pelvis"]] for d in alone]).reshape(-1, 2)
    added = [d for d, p in zip(more, pelvis) if not len(seen) or np.linalg.norm(seen - p, axis=1).min() > 50]
    assert len(added) >= 2 and all(_plausible(d.joints2d_px, size) for d in added)
    gaps = np.linalg.norm(pelvis[:, None] - pelvis[None], axis=-1) + 1e9 * np.eye(len(more))
    assert gaps.min() > 50                                                      # each person once


def test_landmark_threads_give_the_same_answers(street_frames):
    """workers=2 runs the tracked people's landmarks on two threads: the answers are those of one."""
    with MultiPoseDetector(workers=1) as one, MultiPoseDetector(workers=2) as two:
        for frame in street_frames[:20]:
            a, b = one.detect_all(frame), two.detect_all(frame)
            assert len(a) == len(b)
            for p, q in zip(a, b):
                np.testing.assert_array_equal(p.joints2d_px, q.joints2d_px)
                np.testing.assert_array_equal(p.landmarks33, q.landmarks33)
