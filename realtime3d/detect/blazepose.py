"""Every person in a frame: MediaPipe's BlazePose graph, run per person with LiteRT.

mp.solutions.pose (detect/mediapipe.py) keeps one person. The mediapipe==0.10.21 wheel holds
the two BlazePose models that its graph runs, and this module runs that graph's steps itself,
once per person, with LiteRT (ai_edge_litert); nothing is downloaded. Each step reproduces a
MediaPipe graph node, and its constants are the ones of that graph, as compiled into the
wheel (the subgraph protos inside mediapipe/python/_framework_bindings*.so were read back and
agree with the .pbtxt files of github.com/google-ai-edge/mediapipe cited below):

1. PersonDetector: modules/pose_detection/pose_detection_cpu.pbtxt.
   ImageToTensorCalculator (the whole frame letterboxed into 224x224, zero border, values in
   [-1, 1]) -> pose_detection.tflite -> SsdAnchorsCalculator (2254 anchors) ->
   TensorsToDetectionsCalculator (XYWH boxes and 4 keypoints per anchor, sigmoid scores clipped
   at +-100, score >= min_score) -> NonMaxSuppressionCalculator (WEIGHTED, IoU > 0.3) ->
   DetectionLetterboxRemovalCalculator. A detection's box is the face's, says the graph (it
   measures about a fifth of the detector's input, whatever the person's size); its keypoints
   are 0: mid-hip centre, 1: a point whose distance and direction from 0 give the full body's
   size and rotation, 2 and 3: the same for the upper body.
2. roi_from_person: modules/pose_landmark/pose_detection_to_roi.pbtxt.
   AlignmentPointsRectsCalculator (keypoints 0 -> 1, target angle 90 degrees: a square of side
   twice their distance, centred on 0, rotated so that 0 -> 1 points up) ->
   RectTransformationCalculator (square_long, scale 1.25).
3. LandmarkModel: modules/pose_landmark/pose_landmark_by_roi_cpu.pbtxt and
   tensors_to_pose_landmarks_and_segmentation.pbtxt.
   ImageToTensorCalculator (the rotated ROI into 256x256, values in [0, 1], border mode left
   unset, which is BORDER_REPLICATE: image_to_tensor_utils.cc GetBorderMode) ->
   pose_landmark_full.tflite (model_complexity=1) -> the pose-presence score, used as the model
   gives it (TensorsToFloatsCalculator, no activation; the model ends in a sigmoid) ->
   TensorsToLandmarksCalculator (39 landmarks, x and y / 256, sigmoid visibility and presence)
   -> RefineLandmarksFromHeatmapCalculator (kernel 7, min confidence 0.5) ->
   PoseLandmarksAndSegmentationInverseProjection (LandmarkProjectionCalculator: from the
   rotated ROI back to the frame; z scaled as x).
4. roi_from_landmarks: modules/pose_landmark/pose_landmarks_to_roi.pbtxt. The same alignment
   as 2, on the auxiliary landmarks 33 (body centre) -> 34 (size and rotation point), which
   pose_landmark_filtering.pbtxt always smooths first with a One Euro filter (min_cutoff 0.01,
   beta 10, derivate_cutoff 1, per axis, velocities scaled by the person's size, 30 Hz: the
   Python solution's simulated frame rate, solution_base.py).
5. MultiPoseDetector: modules/pose_landmark/pose_landmark_cpu.pbtxt, for many people. In video
   mode each tracked person's next ROI comes from its landmarks (4), so the person detector does
   not run every frame; a person whose pose score is not above min_tracking_confidence is
   dropped (ThresholdingCalculator: value > threshold) and, as in MediaPipe, so is such a
   person in static-image mode.

Pixels: frame pixels, pixel centres at integer coordinates. MediaPipe's crops map the ROI's
corners to the tensor's pixel coordinates 0 and 256 (image_to_tensor_converter_opencv.cc), and
landmarks come back by the same map (x / 256 is the fraction across the ROI); both are
reproduced here with one affine matrix per ROI (cv2.warpAffine, bilinear).

Measured against MediaPipe's own subgraphs run on the same RGB frames (mp.CalculatorGraph fed
ImageFrames): PersonDetector equals PoseDetectionCpu to 0.001 px on the 22 photos of
shared/data/media; LandmarkModel agrees with PoseLandmarkByRoiCpu on the same ROIs to
0.01-0.15 px median; roi_from_landmarks with the smoothing agrees with PoseLandmarkCpu's
ROI_FROM_LANDMARKS to 0.1 px. mp.solutions.pose (PoseDetector) feeds its graph an mp.Image,
resampled a little differently: 0.1-0.7 px median on one person (tests/test_blazepose.py).

Beyond MediaPipe (which keeps the best detection only): every detection is a person, tiles
for small people (TILES), tracking of many people (MultiPoseDetector), and full-body
proposals (BodyProposals: OpenCV's HOG people detector, also on the frame mirrored across its
side edges) for the people BlazePose's detector, which keys on the face, does not find:
walkers seen from behind or side-on, and people cut by the frame's edge. The thorough search
(static image mode; video mode while nobody is followed) adds a second tiling (SEARCH_TILES),
the detector's weak detections (WEAK_SCORE) and the faces of MediaPipe's full-range face
detector (FaceDetector, same wheel), each confirmed by two landmark passes (_confirmed); dark
frames are stretched first (levels_lut). benchmarks/bench_recall.py measures each route.
"""
from __future__ import annotations

import importlib.util
import math
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import cv2
import numpy as np

from .detection import Detection, check_frame as _checked
from .mediapipe import landmarks_to_h36m

# ----------------------------------------------------------------------------- constants
# modules/pose_detection/pose_detection_cpu.pbtxt
DETECTOR_SIZE = 224                       # ImageToTensorCalculator output_tensor_width/height
NUM_ANCHORS = 2254                        # TensorsToDetectionsCalculator num_boxes
_ANCHOR_STRIDES = (8, 16, 32, 32, 32)     # SsdAnchorsCalculator strides (num_layers 5)
_ANCHOR_OFFSET = 0.5                      # anchor_offset_x / anchor_offset_y
_ANCHORS_PER_LAYER = 2                    # aspect_ratios [1.0] + interpolated_scale_aspect_ratio
#                                           (proto default 1.0): two anchors per cell and layer
_NUM_KEYPOINTS = 4                        # num_keypoints (num_coords 12: box 4 + 4 keypoints x 2)
_BOX_SCALE = 224.0                        # x_scale = y_scale = w_scale = h_scale
_SCORE_CLIP = 100.0                       # score_clipping_thresh (then sigmoid_score)
NMS_IOU = 0.3                             # NonMaxSuppressionCalculator min_suppression_threshold
# modules/pose_landmark/pose_detection_to_roi.pbtxt and pose_landmarks_to_roi.pbtxt
ROI_SCALE = 1.25                          # RectTransformationCalculator scale_x = scale_y
_TARGET_ANGLE = math.pi / 2               # rotation_vector_target_angle_degrees: 90
# modules/pose_landmark/pose_landmark_by_roi_cpu.pbtxt, tensors_to_pose_landmarks_and_segmentation.pbtxt
LANDMARK_SIZE = 256                       # ImageToTensorCalculator output size; TensorsToLandmarks
#                                           input_image_width / input_image_height
NUM_LANDMARKS_ALL = 39                    # 33 landmarks + 2 auxiliary (33, 34) + 4 unused
_AUX = (33, 34)                           # SplitNormalizedLandmarkListCalculator ranges 33..35
_HEATMAP_KERNEL = 7                       # RefineLandmarksFromHeatmapCalculator kernel_size
_HEATMAP_MIN_CONFIDENCE = 0.5             # min_confidence_to_refine (proto default)
# modules/pose_landmark/pose_landmark_filtering.pbtxt: the auxiliary landmarks' One Euro filter
_AUX_MIN_CUTOFF, _AUX_BETA, _AUX_DERIVATE_CUTOFF = 0.01, 10.0, 1.0
_AUX_FREQUENCY = 30.0                     # mediapipe/python/solution_base.py: 33333 us per frame

# This module's own choices (not MediaPipe's, which tracks one person)
#: Video mode: the person detector also runs on every DETECT_EVERY-th frame while fewer than
#: max_people are tracked, to find newcomers. A newcomer waits at most 10 frames (1/3 s at
#: 30 fps); the detector's run (two passes of ~11 ms with tiles, one per ~10 frames) costs
#: about 2 ms a frame, against ~15 ms a person for the landmark model. On the first 60 frames
#: of street_dance.avi it runs on 6.
DETECT_EVERY = 10
#: A person is described, for matching, by their *core box*: the square centred on the body
#: centre (detector keypoint 0, landmark 33) with side the distance to the size point
#: (keypoint 1, landmark 34), half the alignment square, about half the person's height. It
#: follows the person's size, unlike the detector's boxes, which are about a fifth of each
#: pass's input whatever the person's size (measured on the COCO images, bus.jpg and the
#: street video), and two people side by side (half a height apart) do not overlap in it.
#: A detected person whose core box overlaps a tracked person's by IoU > MATCH_IOU is that
#: person, not a newcomer; the passes over tiles are merged by weighted NMS on core boxes with
#: the same threshold, the detector's own NMS threshold.
MATCH_IOU = NMS_IOU
#: Two people are one when their 33 landmarks lie, on median, within SAME_PERSON_DISTANCE of
#: the larger box's diagonal of each other: two ROIs that converged on one person.
SAME_PERSON_DISTANCE = 0.1
#: ... or when their face landmarks (0-10) lie, on median, within SAME_FACE_DISTANCE of the
#: larger head's size of each other (_same_person).
SAME_FACE_DISTANCE = 0.5
_FACE = slice(0, 11)                      # MediaPipe's face landmarks: nose, eyes, ears, mouth
#: Tiles, for people too small in the detector's 224x224 view of the whole frame: `tiles`
#: square tiles along the frame's long side (as many along the short side as needed to
#: cover it), neighbours overlapping by at least TILE_OVERLAP of their side, so that a person
#: cut by one tile's edge is whole in the next.
TILE_OVERLAP = 0.25
#: MultiPoseDetector's default: the whole frame and 2 tiles. Measured (min_detection_confidence
#: 0.5, the person detector without BodyProposals): bus.jpg, static: 1 person with tiles=1 (as
#: mp.solutions.pose), 2 with tiles=2..4 (the two people cut by the frame's edges are never
#: kept); street_dance.avi, static, every 20th
#: frame: 0.9 people a frame with tiles=1, 2.0 with 2, 2.7 with 3 (133 ms a frame), 2.5 with 4;
#: video mode, all 205 frames: 1.2 people a frame with tiles=1, 2.4 with 2, 2.6 with 3, at
#: ~42 ms a frame for tiles 2 and 3 (the background walkers are out of focus; the detector
#: misses most of them at any tiling). On 20 COCO photos, tiles=2 adds people that
#: mp.solutions.pose misses and keeps its answer for the one it finds.
TILES = 2


#: BodyProposals: OpenCV's HOG people detector (Dalal & Triggs, CVPR 2005; its default SVM is
#: inside OpenCV, nothing is downloaded) on a copy of the frame scaled to HOG_WIDTH px wide
#: (45-65 ms on one core for a 1280x720 frame; 240-270 ms at full size), windows with an SVM
#: weight of at least HOG_MIN_WEIGHT. On street_dance.avi at frame 120 it proposes 6 people at
#: this width, 5 of them confirmed by the landmark model (pose score >= 0.94 after one
#: refinement), where the BlazePose detector finds 2 over the whole frame and its tiles.
#: MultiPoseDetector's threads for the landmark model: the two cores of the machines it is made on.
LANDMARK_WORKERS = 2
HOG_WIDTH = 640
HOG_MIN_WEIGHT = 0.5
#: A proposal overlapping a person already found by IoU > PROPOSAL_IOU is that person.
PROPOSAL_IOU = 0.3
#: BodyProposals.edges: people cut by the frame's left or right edge, whom neither BlazePose's
#: detector (it keys on the face) nor HOG (its window holds a whole body) proposes. Each side's
#: strip, EDGE_STRIP of the frame's height wide, is scaled to EDGE_HEIGHT px high and mirrored
#: across the edge, so that a body cut near its middle is whole again, and the same HOG detector
#: looks at it; windows centred within a quarter of their width of the edge are kept (the others
#: are whole people, or mirror images). At 320 px high a person of at least 30% of the frame's
#: height fills a HOG window (96 of its 128 px); the two strips cost 16 ms a frame (the 34
#: pictures and street frames below; 30 ms at 416 px). Such a window's ROI is the upright square
#: of EDGE_ROI_SCALE of its height (the person's height in it), and the person is kept on that
#: one landmark pass (score above min_detection_confidence, and a shoulder and a hip inside the
#: frame). Measured on bus.jpg's walker at the right edge (head and half the body cut off, face
#: turned away): the strips propose them at each height tried, 256-448 px, with a landmark
#: score of 0.87-0.98 on the EDGE_ROI_SCALE square, against 0.05-0.46 on the window's own
#: square, and 0.1-0.9, changing from pass to pass, on the ROIs from the landmarks (MediaPipe's,
#: x1.25: most of such a crop lies outside the frame). On the 20 COCO photos, bus.jpg, zidane.jpg,
#: astronaut.png and every 20th frame of street_dance.avi (static image mode) they add 3 people,
#: bus.jpg's walker and two at the street video's left edge, and nobody else.
EDGE_HEIGHT = 320
EDGE_STRIP = 0.3
EDGE_ROI_SCALE = 0.75

# The thorough search (static image mode; video mode while nobody is followed), for the people
# that the person detector at min_detection_confidence misses: upper bodies facing the camera,
# small people, people behind others, gray and dark frames (benchmarks/bench_recall.py,
# results/recall.json, measures each route).
#: Tilings of a photo's thorough search: the whole frame, then the tiles of each count in turn
#: (tile_rois; video mode keeps `tiles`: MultiPoseDetector's docstring). One tiling cuts some people
#: that another holds whole; a person found by an earlier pass keeps that pass's detection
#: (PersonDetector.detect_regions), so a later tiling only adds people.
SEARCH_TILES = (2, 3)
#: Weak detections: the person detector's people scoring WEAK_SCORE up to min_detection_confidence,
#: each confirmed (below) before it counts.
WEAK_SCORE = 0.3
# modules/face_detection/face_detection_full_range.pbtxt and face_detection.pbtxt: faces as
# proposals for the people whose body the person detector does not see (an upper body facing
# the camera, the rest out of the frame)
FACE_SIZE = 192                           # tensor_width / tensor_height
FACE_STRIDES = (4,)                       # num_layers 1, strides [4], interpolated_scale_aspect_ratio
#                                           0: 48x48 cells of one anchor each, num_boxes 2304
FACE_MIN_SCORE = 0.6                      # min_score_thresh
#: A face's person, for the landmark model's first ROI (face_roi): the hip centre lies
#: FACE_HIP_OFFSET face sides below the face's centre and a standing person is about 7.5 face
#: sides tall (medians of 51 faces with the person found around them, on the 20 COCO photos,
#: bus.jpg, astronaut.png and every 20th frame of street_dance.avi: hips 3.28, quartiles
#: 2.8-3.8; height 7.5, quartiles 6.6-8.6); the ROI is as wide as MediaPipe's for such a
#: person (x1.25 around the hip centre to above the head: 2 x 4.2 x 1.25 face sides).
FACE_HIP_OFFSET = 3.3
FACE_ROI_SIDE = 10.5
#: Confirmation of the thorough search's weak proposals (a weak detection, a face, a person cut
#: by the frame's edge whose first pass is not above min_detection_confidence): the landmark
#: model on the proposal's ROI, then on the ROI from those landmarks (roi_from_landmarks). The
#: person is kept when the second pose score is above min_detection_confidence and at most
#: SCORE_DROP below the first (centred on their own landmarks, a person's crop fits them at
#: least as well: near 1 the two scores differ by a few thousandths), the two passes
#: found one person (_same_person: a crop of a person converges on them, a crop of a tree or a
#: wall does not settle), the shoulders' midpoint lies inside the frame, a face's person has
#: their face landmarks' centre in that face's box, and the person is upright: body axis
#: (landmark 33 -> 34) within UPRIGHT_DEGREES of straight up. The landmark model finds a
#: person in the crop's own orientation, so a weak detection's crop turned sideways or upside
#: down gives a person turned alike on a standing one (seen on street_dance.avi's first frame
#: and zidane.jpg); people lying down are left to the person detector's own detections.
UPRIGHT_DEGREES = 60.0
SCORE_DROP = 0.1
#: levels_lut(): dark frames stretched before the models see them: a frame whose luminance
#: spans less than 255 / LEVELS_MIN_GAIN between its 0.5 and 99.5 percentiles; photos and
#: video frames exposed as usual reach 255 and are left as they are. In video mode the stretch
#: is measured on the frames where the person detector may run and kept for those between.
LEVELS_PERCENTILE = 0.5
LEVELS_MIN_GAIN = 1.5
LEVELS_WIDTH = 160


def _module_path(*parts: str) -> str:
    """A file of the installed mediapipe package, found without importing it."""
    spec = importlib.util.find_spec("mediapipe")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("the mediapipe package (mediapipe==0.10.21) is not installed")
    return os.path.join(list(spec.submodule_search_locations)[0], *parts)


DETECTOR_MODEL = _module_path("modules", "pose_detection", "pose_detection.tflite")
LANDMARK_MODEL = _module_path("modules", "pose_landmark", "pose_landmark_full.tflite")
FACE_MODEL = _module_path("modules", "face_detection", "face_detection_full_range_sparse.tflite")


# ----------------------------------------------------------------------------- geometry


@dataclass(frozen=True)
class Roi:
    """A rotated rectangle in frame pixels: centre, size and rotation (radians; positive turns
    the rectangle's up direction towards the image's right, as MediaPipe's NormalizedRect)."""

    cx: float
    cy: float
    width: float
    height: float
    rotation: float

    def __post_init__(self) -> None:
        values = (self.cx, self.cy, self.width, self.height, self.rotation)
        if not all(math.isfinite(v) for v in values) or self.width <= 0 or self.height <= 0:
            raise ValueError(f"Roi must be finite with positive width and height, got {values}")


def _normalize_radians(angle: float) -> float:
    """The angle wrapped into [-pi, pi) (rect_transformation_calculator.cc NormalizeRadians)."""
    return angle - 2 * math.pi * math.floor((angle + math.pi) / (2 * math.pi))


def crop_to_frame(roi: Roi, size: float = 1.0) -> np.ndarray:
    """The affine map [2, 3] from a crop of side `size` (the ROI's corners at 0 and size) to
    frame pixels: image_to_tensor_utils.cc GetRotatedSubRectToRectTransformMatrix."""
    c, s = math.cos(roi.rotation), math.sin(roi.rotation)
    sx, sy = roi.width / size, roi.height / size
    return np.array([[c * sx, -s * sy, roi.cx - 0.5 * (c * roi.width - s * roi.height)],
                     [s * sx, c * sy, roi.cy - 0.5 * (s * roi.width + c * roi.height)]])


def apply_affine(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Points [..., 2] through an affine map [2, 3] -> [..., 2]."""
    return points @ matrix[:, :2].T + matrix[:, 2]


def invert_affine(matrix: np.ndarray) -> np.ndarray:
    """The inverse of an affine map [2, 3]."""
    return cv2.invertAffineTransform(np.asarray(matrix, dtype=np.float64))


def crop(frame: np.ndarray, roi: Roi, size: int, border: int) -> np.ndarray:
    """The ROI of a frame [H, W, C] resampled into [size, size, C] (bilinear), as
    ImageToTensorCalculator's OpenCV converter does; border: cv2.BORDER_CONSTANT (zero) or
    cv2.BORDER_REPLICATE."""
    return cv2.warpAffine(np.ascontiguousarray(frame), crop_to_frame(roi, size), (size, size),
                          flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=border, borderValue=0)


def _alignment_roi(center: np.ndarray, scale_point: np.ndarray) -> Roi:
    """AlignmentPointsRectsCalculator + RectTransformationCalculator (square_long, x1.25):
    a square centred on `center`, of side 2 * |scale_point - center| * 1.25, rotated so that
    center -> scale_point points up."""
    dx, dy = float(scale_point[0] - center[0]), float(scale_point[1] - center[1])
    side = 2.0 * math.hypot(dx, dy) * ROI_SCALE
    if not side > 0:
        raise ValueError(f"alignment points coincide or are not finite: {center} -> {scale_point}")
    rotation = _normalize_radians(_TARGET_ANGLE - math.atan2(-dy, dx))
    return Roi(float(center[0]), float(center[1]), side, side, rotation)


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Intersection over union of boxes a [N, 4] and b [M, 4] (x0, y0, x1, y1) -> [N, M]."""
    a, b = np.asarray(a, dtype=np.float64)[:, None], np.asarray(b, dtype=np.float64)[None]
    w = np.clip(np.minimum(a[..., 2], b[..., 2]) - np.maximum(a[..., 0], b[..., 0]), 0, None)
    h = np.clip(np.minimum(a[..., 3], b[..., 3]) - np.maximum(a[..., 1], b[..., 1]), 0, None)
    inter = w * h
    area_a = (a[..., 2] - a[..., 0]) * (a[..., 3] - a[..., 1])
    area_b = (b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1])
    union = area_a + area_b - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1.0), 0.0)


# ----------------------------------------------------------------------------- person detector


def ssd_anchors(size: int = DETECTOR_SIZE, strides: tuple[int, ...] = _ANCHOR_STRIDES,
                per_layer: int = _ANCHORS_PER_LAYER) -> np.ndarray:
    """SsdAnchorsCalculator -> anchor centres [A, 2] (x, y) in 0..1 of the size x size input;
    by default pose_detection_cpu.pbtxt's options (A = 2254). fixed_anchor_size: every anchor's
    w = h = 1. Layers of equal stride (the three of 32) share one grid: their anchors come cell by
    cell, together. per_layer: anchors per cell and layer."""
    centres = []
    layer = 0
    while layer < len(strides):
        stride = strides[layer]
        same = sum(1 for s in strides[layer:] if s == stride)            # consecutive, as the calculator
        cells = math.ceil(size / stride)
        grid = (np.arange(cells) + _ANCHOR_OFFSET) / cells
        y, x = np.meshgrid(grid, grid, indexing="ij")
        xy = np.stack([x.ravel(), y.ravel()], axis=1)                     # [cells^2, 2]
        centres.append(np.repeat(xy, same * per_layer, axis=0))
        layer += same
    return np.concatenate(centres).astype(np.float32)


def decode_detections(raw_boxes: np.ndarray, raw_scores: np.ndarray, anchors: np.ndarray, min_score: float,
                      box_scale: float = _BOX_SCALE) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """TensorsToDetectionsCalculator: raw_boxes [A, 4 + 2 P], raw_scores [A] (logits), anchors
    [A, 2] -> (scores [K], boxes [K, 4] x0 y0 x1 y1, keypoints [K, P, 2]), in 0..1 of the
    detector's input, for the K anchors with score >= min_score and a box of non-negative size.
    The person detector: A = 2254, P = 4, box_scale 224; the face detector: 2304, 6, 192."""
    if raw_boxes.ndim != 2 or raw_boxes.shape[0] != len(anchors) or raw_boxes.shape[1] < 4 \
            or raw_boxes.shape[1] % 2 or raw_scores.shape != (len(anchors),):
        raise ValueError(f"raw detector outputs must be [{len(anchors)}, 4 + 2 P] and "
                         f"[{len(anchors)}], got {list(raw_boxes.shape)} and {list(raw_scores.shape)}")
    scores = 1.0 / (1.0 + np.exp(-np.clip(raw_scores.astype(np.float64), -_SCORE_CLIP, _SCORE_CLIP)))
    keep = scores >= min_score
    raw, anchor = raw_boxes[keep].astype(np.float64), anchors[keep].astype(np.float64)
    centre = raw[:, 0:2] / box_scale + anchor                           # reverse_output_order: XYWH
    size = raw[:, 2:4] / box_scale                                      # anchor w = h = 1
    boxes = np.concatenate([centre - size / 2, centre + size / 2], axis=1)
    keypoints = raw[:, 4:].reshape(len(raw), (raw.shape[1] - 4) // 2, 2) / box_scale + anchor[:, None]
    ok = np.all(size >= 0, axis=1)
    return scores[keep][ok], boxes[ok], keypoints[ok]


def weighted_nms(scores: np.ndarray, boxes: np.ndarray, keypoints: np.ndarray, iou_threshold: float = NMS_IOU,
                 groups: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """NonMaxSuppressionCalculator, algorithm WEIGHTED: scores [K], boxes [K, 4], keypoints
    [K, P, 2] -> the same for the merged detections, by decreasing score. The best remaining
    detection and every one overlapping it by IoU > iou_threshold become one: box and keypoints
    averaged with the scores as weights, the best one's score kept. groups [K] (optional): a
    detection never merges with another of its group (the detector's passes: one pass's NMS has
    already told its people apart)."""
    order = np.argsort(-scores, kind="stable")
    out_scores, out_boxes, out_keypoints = [], [], []
    while order.size:
        best = order[0]
        similar = box_iou(boxes[order], boxes[best][None])[:, 0] > iou_threshold
        if groups is not None:
            similar &= groups[order] != groups[best]
        similar[0] = True
        members = order[similar]
        weights = scores[members][:, None]
        out_scores.append(scores[best])
        out_boxes.append((boxes[members] * weights).sum(0) / weights.sum())
        out_keypoints.append((keypoints[members] * weights[..., None]).sum(0) / weights.sum())
        order = order[~similar]
    if not out_scores:
        return scores[:0], boxes[:0], keypoints[:0]
    return np.array(out_scores), np.stack(out_boxes), np.stack(out_keypoints)


@dataclass(frozen=True)
class PersonBox:
    """One person found by the person detector, in frame pixels: score 0..1, the face box
    (x0, y0, x1, y1), and keypoints [4, 2] (0: mid-hip centre, 1: full-body size and rotation
    point, 2: mid-shoulder centre, 3: upper-body size and rotation point)."""

    score: float
    box: tuple[float, float, float, float]
    keypoints: np.ndarray


def _interpreter(model_path: str, threads: int):
    from ai_edge_litert.interpreter import Interpreter
    if int(threads) < 1:
        raise ValueError(f"threads must be >= 1, got {threads}")
    interpreter = Interpreter(model_path=model_path, num_threads=int(threads))
    interpreter.allocate_tensors()
    return interpreter


def _outputs_by_name(interpreter) -> dict[str, int]:
    return {d["name"]: d["index"] for d in interpreter.get_output_details()}


def tile_rois(width: int, height: int, tiles: int) -> list[Roi]:
    """Square tiles covering a frame, `tiles` of them along its long side, neighbours overlapping
    by at least TILE_OVERLAP, row by row; [] for tiles = 1 (the whole frame is its own pass)."""
    if int(tiles) < 1:
        raise ValueError(f"tiles must be >= 1, got {tiles}")
    if int(tiles) == 1:
        return []
    side = max(width, height) / (tiles - (tiles - 1) * TILE_OVERLAP)
    short = min(width, height)
    across = 1 if side >= short else math.ceil((short - side) / (side * (1 - TILE_OVERLAP))) + 1
    along = np.linspace(side / 2, max(width, height) - side / 2, int(tiles))
    other = np.linspace(side / 2, short - side / 2, across) if across > 1 else np.array([short / 2])
    centres = [(u, v) if width >= height else (v, u) for v in other for u in along]
    return [Roi(float(x), float(y), float(min(side, width)), float(min(side, height)), 0.0) for x, y in centres]


def whole_frame(width: int, height: int) -> Roi:
    """The whole frame as a ROI (ImageToTensorCalculator without one)."""
    return Roi(width / 2, height / 2, float(width), float(height), 0.0)


def core_boxes(keypoints: np.ndarray) -> np.ndarray:
    """Core boxes [N, 4] (x0, y0, x1, y1) of people given by their body centre and size point,
    keypoints [N, >=2, 2] px (the detector's keypoints 0, 1; landmarks 33, 34): the square
    centred on the first, of side the distance to the second (MATCH_IOU)."""
    keypoints = np.asarray(keypoints, dtype=np.float64)
    if keypoints.ndim != 3 or keypoints.shape[1] < 2 or keypoints.shape[2] != 2:
        raise ValueError(f"keypoints must be [N, >=2, 2], got {list(keypoints.shape)}")
    half = np.linalg.norm(keypoints[:, 1] - keypoints[:, 0], axis=1)[:, None] / 2
    return np.concatenate([keypoints[:, 0] - half, keypoints[:, 0] + half], axis=1)


def _merged_passes(scores: np.ndarray, boxes: np.ndarray, keypoints: np.ndarray,
                   passes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Several passes' detections (scores [K], boxes [K, 4], keypoints [K, 4, 2], frame px, the
    pass of each [K]) -> one per person: weighted NMS on their core boxes, boxes and keypoints
    averaged alike; two people of one pass (one behind the other) are never merged."""
    if len(scores) < 2:
        return scores, boxes, keypoints
    both = np.concatenate([keypoints, boxes.reshape(-1, 2, 2)], axis=1)          # [K, 6, 2]
    scores, _, both = weighted_nms(scores, core_boxes(keypoints), both, MATCH_IOU, passes)
    return scores, both[:, _NUM_KEYPOINTS:].reshape(-1, 4), both[:, :_NUM_KEYPOINTS]


def _letterboxed(roi: Roi) -> Roi:
    """ImageToTensorCalculator keep_aspect_ratio (image_to_tensor_utils.cc PadRoi): the ROI
    grown to a square around its centre; what falls outside the frame is the zero border."""
    side = max(roi.width, roi.height)
    return Roi(roi.cx, roi.cy, side, side, roi.rotation)


def _ssd_pass(detector, frame: np.ndarray, roi: Roi, size: int) -> tuple[Roi, np.ndarray, np.ndarray]:
    """One pass of a BlazePose-family SSD (PersonDetector, FaceDetector: their LiteRT interpreter
    and its input, boxes and scores tensors) over the ROI, letterboxed into size x size (zero
    border, values in [-1, 1], ImageToTensorCalculator) -> (the letterboxed square, raw boxes
    [A, 4 + 2 P], raw scores [A] logits)."""
    square = _letterboxed(roi)
    pixels = crop(frame, square, size, cv2.BORDER_CONSTANT)
    tensor = np.ascontiguousarray(pixels, dtype=np.float32) * np.float32(2.0 / 255.0) - np.float32(1.0)
    detector._interpreter.set_tensor(detector._input, tensor[None])
    detector._interpreter.invoke()
    return (square, detector._interpreter.get_tensor(detector._boxes_out)[0],
            detector._interpreter.get_tensor(detector._scores_out)[0, :, 0])


class PersonDetector:
    """BlazePose's person detector (pose_detection.tflite) on a frame: every person, as
    PersonBox in frame pixels, by decreasing score.

    min_score: TensorsToDetectionsCalculator's min_score_thresh (mp.solutions.pose's
    min_detection_confidence). tiles: 1, the whole frame only, MediaPipe's pass; n >= 2: the
    whole frame and n square tiles along its long side (tile_rois), for small people.
    weak_score (None: min_score): detections scoring weak_score..min_score are given too, after
    the others (their score tells them apart), for the caller to confirm; they never change the
    others, which are MediaPipe's."""

    def __init__(self, min_score: float = 0.5, threads: int = 1, tiles: int = 1, weak_score: float | None = None):
        weak_score = min_score if weak_score is None else weak_score
        if not 0.0 <= min_score <= 1.0 or not 0.0 <= weak_score <= min_score:
            raise ValueError(f"min_score and weak_score must satisfy 0 <= weak_score <= min_score <= 1, "
                             f"got {min_score} and {weak_score}")
        if int(tiles) < 1:
            raise ValueError(f"tiles must be >= 1, got {tiles}")
        self.min_score, self.weak_score, self.tiles = float(min_score), float(weak_score), int(tiles)
        self._interpreter = _interpreter(DETECTOR_MODEL, threads)
        self._input = self._interpreter.get_input_details()[0]["index"]
        outputs = _outputs_by_name(self._interpreter)
        self._boxes_out, self._scores_out = outputs["Identity"], outputs["Identity_1"]
        self._anchors = ssd_anchors()                                        # [2254, 2]

    def __call__(self, frame_rgb: np.ndarray) -> list[PersonBox]:
        frame = _checked(frame_rgb, "RGB")
        height, width = frame.shape[:2]
        return self.detect_regions(frame, [[whole_frame(width, height)], tile_rois(width, height, self.tiles)])

    def detect_regions(self, frame_rgb: np.ndarray, tilings: list[list[Roi]], weak: bool = True) -> list[PersonBox]:
        """One detector pass per ROI, each letterboxed as the whole frame is; tilings: the ROIs
        grouped by tiling, in priority order, the first one's first ROI the whole frame (or the
        ROI whose people come first). The first pass's people come first, as that pass gives
        them (for the whole frame: MediaPipe's output); then each tiling's people that are none
        of those before, by decreasing score: merged among themselves by weighted NMS on core
        boxes, and dropped when their core box overlaps one before by IoU > MATCH_IOU
        (core_boxes: the passes' own boxes scale with the pass, not with the person), so that
        a person found by an earlier tiling keeps that tiling's keypoints; then the weak
        detections of every pass (weak_score; none when `weak` is False), merged alike, that
        overlap none of those."""
        frame = _checked(frame_rgb, "RGB")
        rois = [roi for tiling in tilings for roi in tiling]
        if not rois:
            raise ValueError("tilings must hold at least one Roi")
        passes = [self._detect_in(frame, roi, self.weak_score if weak else self.min_score)
                  for roi in rois]                                              # [(strong, weak)]
        tiling_of = np.concatenate([np.full(len(t), i) for i, t in enumerate(tilings)]).astype(int)
        scores, boxes, keypoints = passes[0][0]
        groups = [[p[0] for p, t in zip(passes[1:], tiling_of[1:]) if t == i] for i in range(len(tilings))]
        for found in (*groups, [p[1] for p in passes]):
            if not found:
                continue
            passes_of = np.concatenate([np.full(len(f[0]), i) for i, f in enumerate(found)])
            extra_scores, extra_boxes, extra_keypoints = _merged_passes(*(np.concatenate(p) for p in zip(*found)),
                                                                        passes_of)
            overlap = box_iou(core_boxes(extra_keypoints), core_boxes(keypoints)).max(axis=1, initial=0.0)
            new = overlap <= MATCH_IOU
            scores = np.concatenate([scores, extra_scores[new]])
            boxes = np.concatenate([boxes, extra_boxes[new]])
            keypoints = np.concatenate([keypoints, extra_keypoints[new]])
        return [PersonBox(float(s), tuple(float(v) for v in b), k.astype(np.float32))
                for s, b, k in zip(scores, boxes, keypoints)]

    def _detect_in(self, frame: np.ndarray, roi: Roi, floor: float) -> tuple[tuple, tuple]:
        """One detector pass over the ROI, letterboxed -> the detections scoring min_score or
        more, merged by weighted NMS in the pass (pose_detection_cpu.pbtxt), and the weak ones
        (floor..min_score), merged among themselves, that overlap none of those (IoU >
        NMS_IOU): each (scores [K], boxes [K, 4] px, keypoints [K, 4, 2] px)."""
        square, raw_boxes, raw_scores = _ssd_pass(self, frame, roi, DETECTOR_SIZE)   # [2254, 12], [2254]
        scores, boxes, keypoints = decode_detections(raw_boxes, raw_scores, self._anchors, floor)
        above = scores >= self.min_score
        strong = weighted_nms(scores[above], boxes[above], keypoints[above])
        weak = weighted_nms(scores[~above], boxes[~above], keypoints[~above])
        if len(weak[0]) and len(strong[0]):
            apart = box_iou(weak[1], strong[1]).max(axis=1) <= NMS_IOU
            weak = tuple(w[apart] for w in weak)
        to_frame = crop_to_frame(square, 1.0)
        return tuple((s, apply_affine(to_frame, b.reshape(-1, 2, 2)).reshape(-1, 4),   # rotation 0: a box
                      apply_affine(to_frame, k)) for s, b, k in (strong, weak))


class BodyProposals:
    """Upright full-body people from OpenCV's HOG people detector (HOG_WIDTH, HOG_MIN_WEIGHT):
    frame_rgb [H, W, 3] -> (boxes [K, 4] (x0, y0, x1, y1) frame px, their square upright ROIs),
    the strongest first. A proposal's ROI is the square of its window's height around its centre
    (the window holds the person with a margin, as the landmark model's crops do)."""

    def __init__(self, width: int = HOG_WIDTH, min_weight: float = HOG_MIN_WEIGHT):
        self.width, self.min_weight = int(width), float(min_weight)
        self._hog = cv2.HOGDescriptor()
        self._hog.setSVMDetector(cv2.HOGDescriptor_getDefaultPeopleDetector())

    def __call__(self, frame_rgb: np.ndarray) -> tuple[np.ndarray, list[Roi]]:
        height, width = frame_rgb.shape[:2]
        scale = min(1.0, self.width / width)
        image = cv2.resize(frame_rgb, (round(width * scale), round(height * scale)), interpolation=cv2.INTER_AREA) \
            if scale < 1.0 else frame_rgb
        if min(image.shape[:2]) < 128:                     # smaller than one HOG window: nobody to propose
            return np.zeros((0, 4)), []
        rects, weights = self._hog.detectMultiScale(image, winStride=(8, 8), padding=(8, 8), scale=1.05)
        rects, weights = np.asarray(rects, np.float64).reshape(-1, 4) / scale, np.ravel(weights)
        keep = np.flatnonzero(weights >= self.min_weight)
        keep = keep[np.argsort(-weights[keep], kind="stable")]
        boxes = np.stack([rects[keep, 0], rects[keep, 1], rects[keep, 0] + rects[keep, 2],
                          rects[keep, 1] + rects[keep, 3]], axis=1) if len(keep) else np.zeros((0, 4))
        return boxes, _upright_rois(boxes, 1.0)

    def edges(self, frame_rgb: np.ndarray) -> tuple[np.ndarray, list[Roi]]:
        """People cut by the frame's left or right edge (EDGE_HEIGHT, EDGE_STRIP): frame_rgb
        [H, W, 3] -> (their HOG windows [K, 4] (x0, y0, x1, y1) frame px, reaching past the
        edge; their upright ROIs, EDGE_ROI_SCALE of the window's height), the strongest first."""
        height, width = frame_rgb.shape[:2]
        scale = EDGE_HEIGHT / height
        strip = min(width, max(1, round(EDGE_STRIP * height)))           # frame px
        found, weights = [], []
        for side in ("left", "right"):
            part = frame_rgb[:, :strip] if side == "left" else frame_rgb[:, width - strip:]
            part = cv2.resize(part, (max(2, round(strip * scale)), EDGE_HEIGHT), interpolation=cv2.INTER_AREA)
            pad = part.shape[1] - 1                                       # BORDER_REFLECT_101 takes at most this
            mirrored = cv2.copyMakeBorder(part, 0, 0, pad if side == "left" else 0, 0 if side == "left" else pad,
                                          cv2.BORDER_REFLECT_101)
            if mirrored.shape[1] < 64:                                   # narrower than one HOG window
                continue
            edge = pad if side == "left" else part.shape[1]              # the frame's edge in `mirrored`
            rects, weight = self._hog.detectMultiScale(mirrored, winStride=(8, 8), padding=(8, 8), scale=1.05)
            for (x, y, w, h), wt in zip(np.asarray(rects, np.float64).reshape(-1, 4), np.ravel(weight)):
                if abs(x + 0.5 * w - edge) > 0.25 * w:
                    continue
                x0 = (x - pad) / scale if side == "left" else width - strip + x / scale
                found.append((x0, y / scale, x0 + w / scale, (y + h) / scale))
                weights.append(float(wt))
        order = np.argsort(-np.asarray(weights), kind="stable")
        boxes = np.asarray(found, np.float64).reshape(-1, 4)[order]
        return boxes, _upright_rois(boxes, EDGE_ROI_SCALE)


def _upright_rois(boxes: np.ndarray, scale: float) -> list[Roi]:
    """Upright square ROIs of `scale` times each box's height [K, 4], around its centre."""
    return [Roi(float(0.5 * (b[0] + b[2])), float(0.5 * (b[1] + b[3])), scale * float(b[3] - b[1]),
                scale * float(b[3] - b[1]), 0.0) for b in boxes]


class FaceDetector:
    """MediaPipe's full-range face detector (face_detection_full_range_sparse.tflite, BlazeFace
    for faces up to about 5 m) on ROIs of a frame, as face_detection.pbtxt runs it: each ROI
    letterboxed into 192x192 (zero border, values in [-1, 1]), 2304 SSD anchors (FACE_STRIDES),
    FACE_MIN_SCORE, weighted NMS (IoU > NMS_IOU, the graph's min_suppression_threshold 0.3).

    detector(frame_rgb, rois) -> (scores [K], face boxes [K, 4] (x0, y0, x1, y1) frame px), by
    decreasing score; the passes' faces merged by the same weighted NMS (a face box follows the
    face's size, so plain IoU matches one face seen in two passes)."""

    def __init__(self, min_score: float = FACE_MIN_SCORE, threads: int = 1):
        if not 0.0 <= min_score <= 1.0:
            raise ValueError(f"min_score must be in 0..1, got {min_score}")
        self.min_score = float(min_score)
        self._interpreter = _interpreter(FACE_MODEL, threads)
        self._input = self._interpreter.get_input_details()[0]["index"]
        outputs = _outputs_by_name(self._interpreter)
        self._boxes_out, self._scores_out = outputs["Identity"], outputs["Identity_1"]
        self._anchors = ssd_anchors(FACE_SIZE, FACE_STRIDES, 1)              # [2304, 2]

    def __call__(self, frame_rgb: np.ndarray, rois: list[Roi]) -> tuple[np.ndarray, np.ndarray]:
        frame = _checked(frame_rgb, "RGB")
        scores, boxes = [np.zeros(0)], [np.zeros((0, 4))]
        for roi in rois:
            square, raw_boxes, raw_scores = _ssd_pass(self, frame, roi, FACE_SIZE)   # [2304, 16], [2304]
            s, b, k = weighted_nms(*decode_detections(raw_boxes, raw_scores, self._anchors, self.min_score,
                                                      FACE_SIZE))
            scores.append(s)
            boxes.append(apply_affine(crop_to_frame(square, 1.0), b.reshape(-1, 2, 2)).reshape(-1, 4))
        scores, boxes = np.concatenate(scores), np.concatenate(boxes)
        if len(scores) > 1:
            scores, boxes, _ = weighted_nms(scores, boxes, np.zeros((len(scores), 0, 2)))
        return scores, boxes


def face_roi(box) -> Roi:
    """The landmark model's first ROI for a person whose face box (x0, y0, x1, y1) px is given:
    upright, centred FACE_HIP_OFFSET face sides below the face's centre (the hips), of side
    FACE_ROI_SIDE face sides."""
    x0, y0, x1, y1 = (float(v) for v in box)
    side = 0.5 * ((x1 - x0) + (y1 - y0))
    return Roi(0.5 * (x0 + x1), 0.5 * (y0 + y1) + FACE_HIP_OFFSET * side, FACE_ROI_SIDE * side,
               FACE_ROI_SIDE * side, 0.0)


def levels_lut(frame_rgb: np.ndarray) -> np.ndarray | None:
    """The lookup table [256] uint8 that stretches a frame's [H, W, 3] luminance from 0 to 255
    between its LEVELS_PERCENTILE and 100 - LEVELS_PERCENTILE percentiles (measured on a copy
    LEVELS_WIDTH px wide), when that gains at least LEVELS_MIN_GAIN; None otherwise. The same
    table serves the three channels: a gray frame stays gray."""
    height, width = frame_rgb.shape[:2]
    small = cv2.resize(frame_rgb, (LEVELS_WIDTH, max(1, round(height * LEVELS_WIDTH / width))),
                       interpolation=cv2.INTER_AREA) if width > LEVELS_WIDTH else frame_rgb
    luma = cv2.cvtColor(small, cv2.COLOR_RGB2GRAY)
    low, high = np.percentile(luma, [LEVELS_PERCENTILE, 100.0 - LEVELS_PERCENTILE])
    if high - low < 1.0 or 255.0 / (high - low) < LEVELS_MIN_GAIN:
        return None
    return np.clip((np.arange(256) - low) * 255.0 / (high - low) + 0.5, 0, 255).astype(np.uint8)


def roi_from_person(person: PersonBox) -> Roi:
    """The landmark model's ROI for a detected person (pose_detection_to_roi.pbtxt): aligned on
    keypoints 0 -> 1, square, x1.25."""
    keypoints = np.asarray(person.keypoints, dtype=np.float64)
    if keypoints.shape != (_NUM_KEYPOINTS, 2):
        raise ValueError(f"person.keypoints must be [{_NUM_KEYPOINTS}, 2], got {list(keypoints.shape)}")
    return _alignment_roi(keypoints[0], keypoints[1])


# ----------------------------------------------------------------------------- landmark model


def refine_from_heatmap(xy: np.ndarray, heatmap: np.ndarray) -> np.ndarray:
    """RefineLandmarksFromHeatmapCalculator: landmarks xy [39, 2] in 0..1 of the crop, heatmap
    [64, 64, 39] (logits) -> xy [39, 2], each moved to the sigmoid-weighted mean of the 7x7
    heatmap cells around it when the largest of them is >= 0.5 (cell c at c / 64). As the
    calculator does, a landmark outside the heatmap keeps its place: its cell is the truncated
    (towards zero) product, and the row is checked against the height through the column
    (harmless: the heatmap is square, and a row past the bottom finds no cells)."""
    hm_h, hm_w, channels = heatmap.shape
    out = np.array(xy, dtype=np.float64)
    col = np.trunc(out[:, 0] * hm_w).astype(np.int64)
    row = np.trunc(out[:, 1] * hm_h).astype(np.int64)
    inside = (col >= 0) & (col < hm_w) & (row >= 0) & (col < hm_h)
    offsets = np.arange(_HEATMAP_KERNEL) - (_HEATMAP_KERNEL - 1) // 2
    rows = row[:, None] + offsets                                        # [39, 7]
    cols = col[:, None] + offsets
    valid = ((rows >= 0) & (rows < hm_h))[:, :, None] & ((cols >= 0) & (cols < hm_w))[:, None, :]
    channel = np.arange(channels)[:, None, None]
    logits = heatmap[np.clip(rows, 0, hm_h - 1)[:, :, None], np.clip(cols, 0, hm_w - 1)[:, None, :], channel]
    confidence = np.where(valid, 1.0 / (1.0 + np.exp(-logits.astype(np.float64))), 0.0)   # [39, 7, 7]
    total = confidence.sum(axis=(1, 2))
    refine = inside & (confidence.max(axis=(1, 2), initial=0.0) >= _HEATMAP_MIN_CONFIDENCE) & (total > 0)
    safe = np.where(total > 0, total, 1.0)
    mean_col = (confidence * cols[:, None, :]).sum(axis=(1, 2)) / safe / hm_w
    mean_row = (confidence * rows[:, :, None]).sum(axis=(1, 2)) / safe / hm_h
    out[refine, 0], out[refine, 1] = mean_col[refine], mean_row[refine]
    return out


class LandmarkModel:
    """BlazePose's landmark model, full (pose_landmark_full.tflite: mp.solutions.pose's
    model_complexity=1), on one ROI of a frame.

    model(frame_rgb, roi) -> (landmarks [39, 5] float32, pose score 0..1): per landmark x, y in
    frame pixels, z in pixels too (MediaPipe's z, which is scaled as x, times the frame width;
    negative: nearer the camera than the hips), visibility and presence in 0..1. Landmarks 0..32
    are MediaPipe's 33, 33 and 34 the auxiliary ones that give the next ROI, 35..38 unused."""

    def __init__(self, threads: int = 1):
        self._interpreter = _interpreter(LANDMARK_MODEL, threads)
        self._input = self._interpreter.get_input_details()[0]["index"]
        outputs = _outputs_by_name(self._interpreter)
        self._landmarks_out = outputs["Identity"]      # [1, 195]
        self._score_out = outputs["Identity_1"]        # [1, 1]
        self._heatmap_out = outputs["Identity_3"]      # [1, 64, 64, 39]

    def __call__(self, frame_rgb: np.ndarray, roi: Roi) -> tuple[np.ndarray, float]:
        frame = _checked(frame_rgb, "RGB")
        if not isinstance(roi, Roi):
            raise ValueError(f"roi must be a Roi, got {type(roi).__name__}")
        pixels = crop(frame, roi, LANDMARK_SIZE, cv2.BORDER_REPLICATE)
        tensor = np.ascontiguousarray(pixels, dtype=np.float32) * np.float32(1.0 / 255.0)
        self._interpreter.set_tensor(self._input, tensor[None])
        self._interpreter.invoke()
        raw = self._interpreter.get_tensor(self._landmarks_out).reshape(NUM_LANDMARKS_ALL, 5)
        score = float(self._interpreter.get_tensor(self._score_out).reshape(()))
        heatmap = self._interpreter.get_tensor(self._heatmap_out)[0]       # [64, 64, 39]
        return _project_landmarks(raw, heatmap, roi), score


def _project_landmarks(raw: np.ndarray, heatmap: np.ndarray, roi: Roi) -> np.ndarray:
    """The landmark model's raw output [39, 5] (crop pixels of 256, logits) -> [39, 5] in frame
    pixels (TensorsToLandmarks, RefineLandmarksFromHeatmap, LandmarkProjection)."""
    xy = refine_from_heatmap(raw[:, :2] / LANDMARK_SIZE, heatmap)
    out = np.empty((NUM_LANDMARKS_ALL, 5), dtype=np.float32)
    out[:, :2] = apply_affine(crop_to_frame(roi, 1.0), xy)
    out[:, 2] = raw[:, 2] / LANDMARK_SIZE * roi.width            # z scaled as x (LandmarkProjection)
    out[:, 3:] = 1.0 / (1.0 + np.exp(-raw[:, 3:5].astype(np.float64)))
    return out


def roi_from_landmarks(landmarks39: np.ndarray, image_size) -> Roi:
    """The next frame's ROI for a tracked person (pose_landmarks_to_roi.pbtxt): aligned on the
    auxiliary landmarks 33 -> 34 (frame pixels, landmarks39 [39, >=2]), square, x1.25.

    image_size (width, height): the frame's, as PoseLandmarksToRoi takes it. MediaPipe works in
    coordinates normalized by it; in pixels the ROI does not depend on it, and it is checked only."""
    lm = np.asarray(landmarks39, dtype=np.float64)
    if lm.ndim != 2 or lm.shape[0] != NUM_LANDMARKS_ALL or lm.shape[1] < 2:
        raise ValueError(f"landmarks39 must be [{NUM_LANDMARKS_ALL}, >=2], got {list(lm.shape)}")
    width, height = (int(v) for v in image_size)
    if width < 1 or height < 1:
        raise ValueError(f"image_size must be (width, height) >= 1, got {image_size}")
    return _alignment_roi(lm[_AUX[0], :2], lm[_AUX[1], :2])


class _OneEuro:
    """mediapipe/util/filtering/one_euro_filter.cc on an array of values, at a fixed frequency."""

    def __init__(self, frequency: float, min_cutoff: float, beta: float, derivate_cutoff: float):
        self.frequency, self.min_cutoff, self.beta = frequency, min_cutoff, beta
        self.derivate_cutoff = derivate_cutoff
        self._raw = self._value = self._derivative = None

    def _alpha(self, cutoff):
        tau = 1.0 / (2 * math.pi * cutoff)
        return 1.0 / (1.0 + tau * self.frequency)

    def __call__(self, value: np.ndarray, value_scale: float) -> np.ndarray:
        value = np.asarray(value, dtype=np.float64)
        if self._raw is None:                    # LowPassFilter's first value passes through
            self._raw, self._value, self._derivative = value, value, np.zeros_like(value)
            return value
        derivative = (value - self._raw) * value_scale * self.frequency
        a = self._alpha(self.derivate_cutoff)
        self._derivative = a * derivative + (1 - a) * self._derivative
        a = self._alpha(self.min_cutoff + self.beta * np.abs(self._derivative))
        self._raw, self._value = value, a * value + (1 - a) * self._value
        return self._value


def _smoothed_aux(landmarks39: np.ndarray, smoother: _OneEuro) -> np.ndarray:
    """pose_landmark_filtering.pbtxt on the auxiliary landmarks: landmarks [39, >=2] px -> the
    same with 33 and 34 smoothed; the velocity scale is 1 / the person's scale, half the sum of
    the sides of their (unscaled) alignment rect, i.e. twice the 33 -> 34 distance."""
    out = np.array(landmarks39, dtype=np.float64)
    aux = out[list(_AUX), :2]
    scale = 2.0 * float(np.hypot(*(aux[1] - aux[0])))
    if scale > 1e-6:                             # min_allowed_object_scale; below it, unsmoothed
        out[list(_AUX), :2] = smoother(aux, 1.0 / scale)
    return out


# ----------------------------------------------------------------------------- many people


@dataclass
class _Person:
    """A person of the current frame: landmarks [39, 5] px, pose score; and, in video mode, the
    smoother of their auxiliary landmarks."""

    landmarks: np.ndarray
    score: float
    smoother: _OneEuro | None = None

    @property
    def box(self) -> np.ndarray:
        """The extent (x0, y0, x1, y1) of the 33 landmarks."""
        xy = self.landmarks[:33, :2]
        return np.concatenate([xy.min(0), xy.max(0)])

    @property
    def area(self) -> float:
        x0, y0, x1, y1 = self.box
        return float((x1 - x0) * (y1 - y0))


def _same_person(a: _Person, b: _Person) -> bool:
    """Two landmark sets of one person (ROIs that converged): median landmark distance within
    SAME_PERSON_DISTANCE of the larger box's diagonal; or one face (landmarks 0-10), their median
    distance within SAME_FACE_DISTANCE of the larger head (the largest distance between two of
    its face landmarks): one person's crops that disagree on the body (an upper body and a
    whole one) still share the head, and two people's heads do not overlap."""
    distance = np.median(np.linalg.norm(a.landmarks[:33, :2] - b.landmarks[:33, :2], axis=1))
    diagonal = max(np.hypot(*(a.box[2:] - a.box[:2])), np.hypot(*(b.box[2:] - b.box[:2])))
    face = np.median(np.linalg.norm(a.landmarks[_FACE, :2] - b.landmarks[_FACE, :2], axis=1))
    head = max(_head_size(a.landmarks), _head_size(b.landmarks))
    return bool(distance <= SAME_PERSON_DISTANCE * diagonal or face <= SAME_FACE_DISTANCE * head)


def _head_size(landmarks39: np.ndarray) -> float:
    """The largest distance between two face landmarks (0-10) of [39, >=2] px."""
    face = landmarks39[_FACE, :2].astype(np.float64)
    return float(np.linalg.norm(face[:, None] - face[None], axis=-1).max())


def _merged(people: list[_Person]) -> list[_Person]:
    """One per person: of people found twice, the first (people come tracked ones first, then
    the whole frame's detections, then the tiles')."""
    kept: list[_Person] = []
    for person in people:
        if not any(_same_person(person, other) for other in kept):
            kept.append(person)
    return kept


def _distinct(people: list[_Person]) -> list[_Person]:
    """One per person in the thorough search's answer: of people whose core boxes (landmarks 33,
    34) overlap by IoU > MATCH_IOU, the first (people come surest first), as a detection is
    matched to a tracked person. Two proposals of one person can converge on two different
    poses of them, which _same_person does not tell apart."""
    kept: list[_Person] = []
    for person in people:
        mine = core_boxes(person.landmarks[None, list(_AUX), :2])
        if not kept or box_iou(mine, core_boxes(np.stack([k.landmarks[list(_AUX), :2] for k in kept]))).max() <= MATCH_IOU:
            kept.append(person)
    return kept


def _shoulders_in_frame(landmarks39: np.ndarray, size: tuple[int, int]) -> bool:
    """The shoulders' midpoint (landmarks 11, 12 of [39, >=2] px) inside the frame (width, height)."""
    mid = landmarks39[[11, 12], :2].mean(axis=0)
    return bool(np.all((mid >= 0) & (mid <= np.asarray(size, dtype=np.float64))))


def _inside(point, box) -> bool:
    """A point (x, y) px inside a box (x0, y0, x1, y1) px."""
    return bool(box[0] <= point[0] <= box[2] and box[1] <= point[1] <= box[3])


def _upright(landmarks39: np.ndarray) -> bool:
    """The body axis (landmark 33, the body centre, -> 34, above it for a standing person; of
    [39, >=2] px) within UPRIGHT_DEGREES of straight up."""
    dx, dy = (float(v) for v in landmarks39[_AUX[1], :2] - landmarks39[_AUX[0], :2])
    return bool(math.degrees(math.atan2(abs(dx), -dy)) <= UPRIGHT_DEGREES)


def _torso_in_frame(landmarks39: np.ndarray, size: tuple[int, int]) -> bool:
    """A shoulder and a hip (landmarks 11/12, 23/24 of [39, >=2] px) inside the frame (width, height)."""
    xy = landmarks39[[11, 12, 23, 24], :2]
    inside = np.all((xy >= 0) & (xy <= np.asarray(size, dtype=np.float64)), axis=1)   # [4]
    return bool(inside[:2].any() and inside[2:].any())


def _untracked(candidates: list[PersonBox], tracked: list[_Person]) -> list[PersonBox]:
    """The detected people that are none of the tracked ones: core boxes overlapping none of
    theirs (from landmarks 33, 34) by IoU > MATCH_IOU."""
    if not candidates or not tracked:
        return candidates
    ours = core_boxes(np.stack([np.asarray(c.keypoints) for c in candidates]))
    theirs = core_boxes(np.stack([p.landmarks[list(_AUX), :2] for p in tracked]))
    overlap = box_iou(ours, theirs).max(axis=1)
    return [c for c, o in zip(candidates, overlap) if o <= MATCH_IOU]


class MultiPoseDetector:
    """Every person in a frame, with MediaPipe's BlazePose graph (module docstring), per person.

    detect_all(frame_bgr) / detect_all_rgb(frame_rgb) -> list of Detection, largest (box area)
    first: joints2d_px [17, 2] and visibility [17] by landmarks_to_h36m (detect/mediapipe.py:
    the same joint rules as PoseDetector), landmarks33 [33, 4] (x_px, y_px, z, visibility; z as
    MediaPipe gives it: scaled as x, normalized by the frame width), box (x0, y0, x1, y1) the
    extent of the 33 landmarks, score the pose-presence score. detect / detect_rgb: the largest
    person or None (PoseDetector's one-person interface).

    Video mode (static_image_mode False), as MediaPipe tracks its one person: each tracked
    person's ROI comes from their previous landmarks (roi_from_landmarks, after the One Euro
    smoothing of the auxiliary landmarks), so the person detector runs only when nobody is
    tracked (or everyone tracked was lost in this frame), and on every `detect_every`-th frame
    while fewer than max_people are tracked, to find newcomers: those whose core box overlaps no
    tracked person's (MATCH_IOU) go through the landmark model on that frame (max_people of them at most, the largest ROIs first). A
    person whose pose score is not above min_tracking_confidence is dropped; two that turn out
    to be one (SAME_PERSON_DISTANCE) are merged, the first kept (the tracked one, or the whole
    frame's detection); max_people keeps the largest N (box area). static_image_mode: the
    detector runs on every call and nothing is carried over.

    tiles: 1, the person detector sees the whole frame (MediaPipe's pass); n >= 2, also square
    tiles, n along the long side (tile_rois), for small people: all of them in static-image
    mode, and in video mode when nobody is tracked; otherwise one per detector run, in turn,
    with the whole frame, so that a run costs two passes (a person found once is then tracked
    without the detector). bodies: each detector run also takes BodyProposals' full-body
    people that overlap nobody found (PROPOSAL_IOU); each goes through the landmark model
    twice (the upright window's ROI, then the ROI from those landmarks) and is kept when the
    second pose score is above min_detection_confidence; then BodyProposals.edges' people cut
    by the frame's left or right edge, kept on one pass (EDGE_ROI_SCALE).
    search_tiles: the tilings of a photo's thorough search, each tile_rois' count; a video's
    keeps the detector's own tiling (tiles): it has more chances (the periodic detector runs,
    a tile in turn), and each small far person that a second tiling adds is followed, at a
    landmark pass, on every later frame (bench_people.py measures the cost). The thorough search
    runs on every photo (static image mode) and, in video mode, when nobody is followed: on the
    first frame after reset(search=True) (a new clip, a camera that reconnected), then at most
    once every detect_every frames while nobody is followed (an empty room costs the webcam one
    search in detect_every frames, not one a frame); the detector's other runs keep its usual
    passes. weak_score: the thorough search also takes the
    person detector's detections scoring weak_score..min_detection_confidence (weak_score =
    min_detection_confidence: none); faces: and the full-range face detector's faces (face_roi);
    each confirmed by two landmark passes (_confirmed). dark: dark frames stretched first (levels_lut).
    threads: LiteRT's threads per model. workers: the tracked people of a frame go through the
    landmark model on this many threads, each with a model of its own (LiteRT lets go of the GIL
    while it runs: two threads take 10.4 ms a person where one takes 14.4, measured with the
    other core busy). detector_runs counts the frames that ran the detector, searches those that
    ran the thorough search.
    """

    name = "mediapipe"

    def __init__(self, max_people: int | None = None, static_image_mode: bool = False,
                 min_detection_confidence: float = 0.5, min_tracking_confidence: float = 0.5,
                 detect_every: int = DETECT_EVERY, threads: int = 1, tiles: int = TILES, bodies: bool = True,
                 workers: int = LANDMARK_WORKERS, search_tiles: tuple[int, ...] = SEARCH_TILES, weak_score: float = WEAK_SCORE,
                 faces: bool = True, dark: bool = True):
        for name, value in (("min_detection_confidence", min_detection_confidence),
                            ("min_tracking_confidence", min_tracking_confidence)):
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be in 0..1, got {value}")
        if max_people is not None and int(max_people) < 1:
            raise ValueError(f"max_people must be >= 1 or None, got {max_people}")
        if int(detect_every) < 1:
            raise ValueError(f"detect_every must be >= 1, got {detect_every}")
        search_tiles = tuple(int(t) for t in search_tiles)
        if not all(t >= 1 for t in search_tiles):
            raise ValueError(f"search_tiles must be tile counts >= 1, got {search_tiles}")
        if not 0.0 <= weak_score <= min_detection_confidence:
            raise ValueError(f"weak_score must be in 0..min_detection_confidence, got {weak_score}")
        self.max_people = None if max_people is None else int(max_people)
        self.static_image_mode = bool(static_image_mode)
        self.min_tracking_confidence = float(min_tracking_confidence)
        self.detect_every = int(detect_every)
        self.min_detection_confidence = float(min_detection_confidence)
        self.detector_runs = self.searches = 0
        self._bodies = BodyProposals() if bodies else None
        if int(workers) < 1:
            raise ValueError(f"workers must be >= 1, got {workers}")
        self._detector = PersonDetector(min_detection_confidence, threads, tiles, weak_score)
        self._faces = FaceDetector(threads=threads) if faces else None
        self.search_tiles, self.dark = search_tiles, bool(dark)
        self._weak = weak_score < min_detection_confidence            # the weak proposals' route is on
        self._lut: np.ndarray | None = None                          # levels_lut() of the last detector frame
        self._threads, self._workers = int(threads), int(workers)
        self._local = threading.local()                 # each thread's own LandmarkModel
        self._pool: ThreadPoolExecutor | None = None
        self._tracked: list[_Person] = []
        self._since_detection = 0
        self._search_due = True                          # the next detector run is the thorough search
        self._since_search = 0                           # frames since the last thorough search
        self._next_tile = 0
        self._closed = False

    @property
    def fingerprint(self) -> str:
        """The settings that decide the answers (offline.py: a resumed run must share them)."""
        return (f"blazepose|{self.max_people}|{self.static_image_mode}|{self.min_detection_confidence:g}|"
                f"{self.min_tracking_confidence:g}|{self.detect_every}|{self._detector.tiles}|{self._bodies is not None}|edges"
                f"|{','.join(map(str, self.search_tiles))}|{self._detector.weak_score:g}|{self._faces is not None}|{self.dark}")

    # -- the one-person interface of PoseDetector
    def detect(self, frame_bgr: np.ndarray) -> Detection | None:
        """A BGR uint8 frame [H, W, 3] -> the largest person's Detection, or None."""
        found = self.detect_all(frame_bgr)
        return found[0] if found else None

    def detect_rgb(self, frame_rgb: np.ndarray) -> Detection | None:
        """detect() of a frame already in RGB order."""
        found = self.detect_all_rgb(frame_rgb)
        return found[0] if found else None

    # -- every person
    def detect_all(self, frame_bgr: np.ndarray) -> list[Detection]:
        """A BGR uint8 frame [H, W, 3] -> every person's Detection, largest first."""
        return self.detect_all_rgb(cv2.cvtColor(_checked(frame_bgr, "BGR"), cv2.COLOR_BGR2RGB))

    def detect_all_rgb(self, frame_rgb: np.ndarray) -> list[Detection]:
        """detect_all() of a frame already in RGB order (MediaPipe's own)."""
        if self._closed:
            raise ValueError("MultiPoseDetector is closed")
        frame = np.ascontiguousarray(_checked(frame_rgb, "RGB"))
        if self.dark:                             # the stretch measured when the detector runs
            if self.static_image_mode or self._detector_due():
                self._lut = levels_lut(frame)
            frame = frame if self._lut is None else cv2.LUT(frame, self._lut)
        if self.static_image_mode:
            people = self._largest(_merged(self._newcomers(frame, [], thorough=True)))
        else:
            people = self._track(frame)
        return [_detection(p.landmarks, p.score, frame.shape[1]) for p in people]

    def reset(self, search: bool = True) -> None:
        """Forget the tracked people: the next frame runs the person detector. search: that run is
        the thorough search (a new clip or scene); False: the detector's usual passes (offline.py's
        restarts within a clip, which exist so that --resume is exact and must cost no search)."""
        if self._closed:
            raise ValueError("MultiPoseDetector is closed")
        self._tracked = []
        self._since_detection = self._next_tile = 0   # a resumed run's detector starts from here too
        self._search_due, self._since_search = bool(search), 0

    def close(self) -> None:
        self._tracked = []
        if self._pool is not None:
            self._pool.shutdown(wait=True)
        self._detector = self._pool = None
        self._local = threading.local()
        self._closed = True

    def __enter__(self) -> "MultiPoseDetector":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- the steps
    def _track(self, frame: np.ndarray) -> list[_Person]:
        """Video mode: the tracked people through their ROIs; newcomers when the detector is due."""
        height, width = frame.shape[:2]
        run_detector = self._detector_due()
        rois = [roi_from_landmarks(_smoothed_aux(before.landmarks, before.smoother), (width, height))
                for before in self._tracked]
        people = []
        for before, person in zip(self._tracked, self._people(frame, rois)):
            if person is not None:
                person.smoother = before.smoother
                people.append(person)
        if self._tracked and not people:          # everyone was lost: look for people in this frame
            run_detector = True
        search = run_detector and not people and (self._search_due or self._since_search + 1 >= self.detect_every)
        if run_detector:
            people += self._newcomers(frame, people, thorough=search)
            self._since_detection = 0
        else:
            self._since_detection += 1
        if search:
            self._search_due, self._since_search = False, 0
        else:
            self._since_search += 1
        self._tracked = self._largest(_merged(people))
        for person in self._tracked:
            if person.smoother is None:
                person.smoother = _OneEuro(_AUX_FREQUENCY, _AUX_MIN_CUTOFF, _AUX_BETA, _AUX_DERIVATE_CUTOFF)
        return self._tracked

    def _detector_due(self) -> bool:
        """Video mode: whether this frame runs the person detector (nobody followed, or its
        detect_every-th frame while fewer than max_people are); it also runs on a frame where
        everyone followed was lost (_track)."""
        room = self.max_people is None or len(self._tracked) < self.max_people
        return not self._tracked or (self._since_detection + 1 >= self.detect_every and room)

    def _regions(self, width: int, height: int, thorough: bool) -> list[list[Roi]]:
        """The detector's passes, by tiling (PersonDetector.detect_regions): the whole frame, and
        every tile of search_tiles' tilings (the thorough search of a photo), of tiles' tiling
        (video mode's thorough search: the class docstring, and its other runs while nobody is
        followed) or the next of tiles' in turn (video mode, people followed)."""
        if thorough:
            tilings = self.search_tiles if self.static_image_mode else (self._detector.tiles,)
            return [[whole_frame(width, height)], *(tile_rois(width, height, n) for n in tilings)]
        tiles = tile_rois(width, height, self._detector.tiles)
        if self._tracked and tiles:               # nobody followed: every tile, as a search does
            tiles = [tiles[self._next_tile % len(tiles)]]
            self._next_tile += 1
        return [[whole_frame(width, height)], tiles]

    def _newcomers(self, frame: np.ndarray, tracked: list[_Person], thorough: bool) -> list[_Person]:
        """The person detector's people not among `tracked`, through the landmark model; in the
        thorough search (thorough: see the class docstring) also its search_tiles' tilings, its
        weak detections and the faces, each confirmed (_confirmed); then BodyProposals' people.
        By decreasing pose score; in the thorough search one per person (_distinct)."""
        self.detector_runs += 1
        self.searches += thorough
        size = frame.shape[1], frame.shape[0]
        regions = self._regions(*size, thorough)
        candidates = _untracked(self._detector.detect_regions(frame, regions, thorough and self._weak), tracked)
        strong = [c for c in candidates if c.score >= self.min_detection_confidence]
        rois = []
        for candidate in strong:
            try:
                rois.append(roi_from_person(candidate))
            except ValueError:                    # a degenerate detection: keypoints 0 and 1 coincide
                continue
        if self.max_people is not None:           # the largest ROIs first; max_people at most
            rois = sorted(rois, key=lambda r: -r.width)[:self.max_people]
        people = [p for p in (self._person(frame, roi) for roi in rois) if p is not None]

        def room() -> int | None:
            return None if self.max_people is None else self.max_people - len(tracked) - len(people)
        if thorough and self._weak:
            weak = _untracked([c for c in candidates if c.score < self.min_detection_confidence], tracked + people)
            for candidate in weak:
                if room() is not None and room() <= 0:
                    break
                try:
                    roi = roi_from_person(candidate)
                except ValueError:
                    continue
                person = self._confirmed(frame, roi, tracked + people)
                if person is not None:
                    people.append(person)
        if thorough and self._faces is not None and (room() is None or room() > 0):
            for box in self._faces(frame, [roi for tiling in regions for roi in tiling])[1]:
                if room() is not None and room() <= 0:
                    break
                if any(_inside(p.landmarks[0, :2], box) for p in tracked + people):
                    continue                      # the face of someone found: their nose in its box
                person = self._confirmed(frame, face_roi(box), tracked + people, face=box)
                if person is not None:
                    people.append(person)
        if self._bodies is not None and (room() is None or room() > 0):
            people += self._body_people(frame, tracked + people, room(), thorough and self._weak)
        people = sorted(people, key=lambda p: -p.score)    # of one person found twice, _merged keeps the surer
        return _distinct(people) if thorough else people

    def _confirmed(self, frame: np.ndarray, roi: Roi, found: list[_Person], in_frame=_shoulders_in_frame,
                   face=None) -> _Person | None:
        """A person on the ROI of a weak proposal, or None: the landmark model on it, then on the
        ROI from those landmarks. Kept when the second score is above min_detection_confidence
        and at most SCORE_DROP below the first, both passes found one person, the
        person is upright (UPRIGHT_DEGREES), in_frame(landmarks, (width, height)) holds (by
        default: the shoulders' midpoint inside the frame), their face landmarks' centre lies in
        `face` (a face proposal's box (x0, y0, x1, y1) px, when given), and they are none of `found`."""
        model = getattr(self._local, "model", None)
        if model is None:
            model = self._local.model = LandmarkModel(self._threads)
        size = frame.shape[1::-1]
        first, score = model(frame, roi)
        if not np.all(np.isfinite(first[:, :2])):
            return None
        try:
            second = self._person(frame, roi_from_landmarks(first, size))
        except ValueError:
            return None
        if second is None or not second.score > self.min_detection_confidence or second.score < score - SCORE_DROP \
                or not _same_person(_Person(first, score), second) or not _upright(second.landmarks) \
                or not in_frame(second.landmarks, size) \
                or (face is not None and not _inside(second.landmarks[_FACE, :2].mean(axis=0), face)) \
                or any(_same_person(second, other) for other in found):
            return None
        return second

    def _body_people(self, frame: np.ndarray, found: list[_Person], room: int | None,
                     confirm: bool) -> list[_Person]:
        """BodyProposals' people that overlap none of `found` (PROPOSAL_IOU), `room` at most:
        whole bodies, confirmed by the landmark model on their window and again on the ROI from
        those landmarks; then bodies cut by the frame's edge, on their window's ROI alone, with a
        shoulder and a hip inside the frame (EDGE_ROI_SCALE)."""
        whole, edges = self._bodies(frame), self._bodies.edges(frame)
        proposals = [(box, roi, False) for box, roi in zip(*whole)] + [(box, roi, True) for box, roi in zip(*edges)]
        people: list[_Person] = []
        for box, roi, at_edge in proposals:
            if room is not None and len(people) >= room:
                break
            taken = np.stack([p.box for p in found + people]) if found or people else np.zeros((0, 4))
            if len(taken) and box_iou(box[None], taken).max() > PROPOSAL_IOU:
                continue
            person = self._person(frame, roi)
            if confirm and at_edge and (person is None or not person.score > self.min_detection_confidence):
                person = self._confirmed(frame, roi, found + people, _torso_in_frame)   # a second pass
            if person is not None and at_edge:
                person = person if _torso_in_frame(person.landmarks, frame.shape[1::-1]) else None
            elif person is not None:
                person = self._person(frame, roi_from_landmarks(person.landmarks, frame.shape[1::-1]))
            if person is not None and person.score > self.min_detection_confidence \
                    and not any(_same_person(person, other) for other in found + people):
                people.append(person)
        return people

    def _people(self, frame: np.ndarray, rois: list[Roi]) -> list[_Person | None]:
        """_person() of each ROI, on `workers` threads when there are several."""
        if len(rois) < 2 or self._workers < 2:
            return [self._person(frame, roi) for roi in rois]
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=self._workers, thread_name_prefix="landmarks")
        return list(self._pool.map(lambda roi: self._person(frame, roi), rois))

    def _person(self, frame: np.ndarray, roi: Roi) -> _Person | None:
        """The landmark model on one ROI; None unless its score is above min_tracking_confidence
        (ThresholdingCalculator)."""
        model = getattr(self._local, "model", None)
        if model is None:
            model = self._local.model = LandmarkModel(self._threads)
        landmarks, score = model(frame, roi)
        if not score > self.min_tracking_confidence or not np.all(np.isfinite(landmarks[:, :2])):
            return None
        return _Person(landmarks, score)

    def _largest(self, people: list[_Person]) -> list[_Person]:
        """Largest box first; max_people of them at most."""
        people = sorted(people, key=lambda p: -p.area)
        return people if self.max_people is None else people[:self.max_people]


def _detection(landmarks39: np.ndarray, score: float, width: int) -> Detection:
    """A person's Detection from their landmarks [39, 5] px (z in px) and pose score."""
    lm33 = np.empty((33, 4), dtype=np.float32)                        # [33, 4]
    lm33[:, :2] = landmarks39[:33, :2]
    lm33[:, 2] = landmarks39[:33, 2] / width                          # MediaPipe's z: normalized as x
    lm33[:, 3] = landmarks39[:33, 3]
    joints2d, visibility = landmarks_to_h36m(lm33[:, :2], lm33[:, 3])
    x0, y0 = lm33[:, :2].min(axis=0)
    x1, y1 = lm33[:, :2].max(axis=0)
    return Detection(joints2d_px=joints2d, visibility=visibility, landmarks33=lm33,
                     box=(float(x0), float(y0), float(x1), float(y1)), score=float(score))
