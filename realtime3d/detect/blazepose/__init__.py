"""Every person in a frame: MediaPipe's BlazePose models, run per person with LiteRT.

mp.solutions.pose (detect/mediapipe.py) keeps one person. The mediapipe==0.10.21 wheel holds the
models that its graph runs, and this package runs that graph's steps itself, once per person,
with LiteRT (ai_edge_litert); nothing is downloaded. Each step of the port reproduces a
MediaPipe graph node, with that graph's constants (the subgraph protos compiled into the wheel
agree with the .pbtxt files of github.com/google-ai-edge/mediapipe cited in each module).

The port of MediaPipe's graph:
    models.py     the wheel's .tflite files and their LiteRT interpreters
    rois.py       rotated ROIs, crops and the affine maps between crops and frames
    ssd.py        SSD anchors, decoding, weighted NMS: the person and face detectors' passes,
                  and the landmark model's first ROI from a detection (roi_from_person)
    landmarks.py  the landmark model on one ROI, and the next ROI from its landmarks after the
                  One Euro smoothing of the auxiliary landmarks (realtime3d.filters.OneEuroFilter)

The project's own additions:
    proposals.py  where else to look: tiles, weak detections, faces, HOG bodies and edge strips,
                  dark frames
    people.py     which found people are one, which are new, which proposals hold up
    tracker.py    MultiPoseDetector: every person, tracked from frame to frame

Pixels are frame pixels, pixel centres at integer coordinates (x right, y down).
"""
from .landmarks import LANDMARK_SIZE, NUM_LANDMARKS_ALL, LandmarkModel, refine_from_heatmap, roi_from_landmarks
from .proposals import (EDGE_ROI_SCALE, SEARCH_TILES, TILES, WEAK_SCORE, BodyProposals, PersonDetector, core_boxes,
                        face_roi, levels_lut, tile_rois)
from .rois import Roi, apply_affine, box_iou, crop, crop_to_frame, invert_affine, whole_frame
from .ssd import (DETECTOR_SIZE, NMS_IOU, NUM_ANCHORS, FaceDetector, PersonBox, decode_detections, roi_from_person,
                  ssd_anchors, weighted_nms)
from .tracker import DETECT_EVERY, MultiPoseDetector

__all__ = ["DETECTOR_SIZE", "DETECT_EVERY", "EDGE_ROI_SCALE", "LANDMARK_SIZE", "NMS_IOU", "NUM_ANCHORS",
           "NUM_LANDMARKS_ALL", "SEARCH_TILES", "TILES", "WEAK_SCORE", "BodyProposals", "FaceDetector",
           "LandmarkModel", "MultiPoseDetector", "PersonBox", "PersonDetector", "Roi", "apply_affine", "box_iou",
           "core_boxes", "crop", "crop_to_frame", "decode_detections", "face_roi", "invert_affine", "levels_lut",
           "refine_from_heatmap", "roi_from_landmarks", "roi_from_person", "ssd_anchors", "tile_rois",
           "weighted_nms", "whole_frame"]
