"""MediaPipe pose (33 landmarks) -> the 17 joints of skeleton.H36M17, by the data rules.

The rules are those that build the training data (../shared/data/README.md, "The
joint rules"), so that the lifter sees the joint definitions it was trained on:

- hips, knees, ankles, shoulders, elbows, wrists: the MediaPipe landmark of the same
  name. MediaPipe's LEFT_* landmarks are the person's own left, as ours are.
- pelvis, spine, thorax: skeleton.derive_h36m_torso (midpoint of the hips, of the
  shoulders, and of those two), the rule the mocap conversion uses.
- head: the midpoint of the ears (the detector's stand-in for the base of the skull).
- head top: MediaPipe has none; estimated in 2D as head + HEAD_TOP_K * (head - thorax),
  with HEAD_TOP_K fitted on CMU train mocap seen through the training cameras
  (benchmarks/calibrate_head_top.py).

Visibility is kept per joint; a derived joint takes the minimum of its sources.
Only model_complexity=1 is used: it is the model inside the mediapipe==0.10.21
wheel, so nothing is downloaded.
"""
from __future__ import annotations

import cv2
import mediapipe as mp
import numpy as np

from ..skeleton import H36M17, derive_h36m_torso
from .detection import VISIBILITY_THRESHOLD, Detection, OnePersonDetector, check_frame as _checked

#: MediaPipe's 33 pose landmarks by name (LANDMARK.LEFT_SHOULDER == 11): the one place their indices come from.
LANDMARK = mp.solutions.pose.PoseLandmark
NUM_LANDMARKS = len(LANDMARK)  # 33

#: head_top = head + HEAD_TOP_K * (head - thorax), in 2D. Least-squares fit over CMU
#: train poses under 4 random training views each (seed 0): mean error 0.27 of the
#: head-thorax length, against 0.77 for head_top = head
#: (benchmarks/results/head_top_calibration.json).
HEAD_TOP_K = 0.6693

#: The 33 -> 17 mapping: each 17-skeleton joint and the MediaPipe landmarks whose mean
#: it is. The derived joints (pelvis, spine, thorax: skeleton.derive_h36m_torso; head
#: top: HEAD_TOP_K) are not listed; they are built from the joints listed here.
MP33_TO_H36M17: dict[str, tuple[LANDMARK, ...]] = {
    "right_hip": (LANDMARK.RIGHT_HIP,),
    "right_knee": (LANDMARK.RIGHT_KNEE,),
    "right_ankle": (LANDMARK.RIGHT_ANKLE,),
    "left_hip": (LANDMARK.LEFT_HIP,),
    "left_knee": (LANDMARK.LEFT_KNEE,),
    "left_ankle": (LANDMARK.LEFT_ANKLE,),
    "head": (LANDMARK.LEFT_EAR, LANDMARK.RIGHT_EAR),  # midpoint of the ears
    "left_shoulder": (LANDMARK.LEFT_SHOULDER,),
    "left_elbow": (LANDMARK.LEFT_ELBOW,),
    "left_wrist": (LANDMARK.LEFT_WRIST,),
    "right_shoulder": (LANDMARK.RIGHT_SHOULDER,),
    "right_elbow": (LANDMARK.RIGHT_ELBOW,),
    "right_wrist": (LANDMARK.RIGHT_WRIST,),
}

# Each derived joint's source joints (for its visibility, the minimum over them).
_DERIVED_FROM = {
    "pelvis": ("left_hip", "right_hip"),
    "thorax": ("left_shoulder", "right_shoulder"),
    "spine": ("left_hip", "right_hip", "left_shoulder", "right_shoulder"),
    "head_top": ("head", "left_shoulder", "right_shoulder"),
}


def landmarks_to_h36m(landmarks33: np.ndarray, visibility33: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """MediaPipe landmarks and their visibility -> the 17 joints, by the rules above.

    Args:
        landmarks33: [..., 33, D]: D = 2, image pixels; or D = 3, MediaPipe's world landmarks (the
            same rules, in 3D).
        visibility33: [..., 33] in 0..1.

    Returns:
        (joints [..., 17, D] float32 in the landmarks' units, visibility [..., 17] float32).
    """
    lm = np.asarray(landmarks33, dtype=np.float64)
    vis33 = np.asarray(visibility33, dtype=np.float64)
    if lm.ndim < 2 or lm.shape[-2] != NUM_LANDMARKS or lm.shape[-1] not in (2, 3):
        raise ValueError(f"landmarks33 must be [..., {NUM_LANDMARKS}, 2 or 3], got {list(lm.shape)}")
    if vis33.shape != lm.shape[:-1]:
        raise ValueError(f"visibility33 must be {list(lm.shape[:-1])}, got {list(vis33.shape)}")
    batch = lm.shape[:-2]
    joints = np.zeros(batch + (H36M17.num_joints, lm.shape[-1]))  # [..., 17, D]
    vis = np.zeros(batch + (H36M17.num_joints,))                  # [..., 17]
    for name, sources in MP33_TO_H36M17.items():
        idx = [int(s) for s in sources]
        joints[..., H36M17.index[name], :] = lm[..., idx, :].mean(axis=-2)
        vis[..., H36M17.index[name]] = vis33[..., idx].min(axis=-1)
    derive_h36m_torso(joints)
    s = H36M17.index
    head, thorax = joints[..., s["head"], :], joints[..., s["thorax"], :]
    joints[..., s["head_top"], :] = head + HEAD_TOP_K * (head - thorax)
    for name, sources in _DERIVED_FROM.items():
        vis[..., s[name]] = vis[..., [s[n] for n in sources]].min(axis=-1)
    return joints.astype(np.float32), vis.astype(np.float32)


_BLANK_RGB = np.zeros((64, 64, 3), np.uint8)   # what reset() shows MediaPipe


class PoseDetector(OnePersonDetector):
    """MediaPipe's one-person pose graph (mp.solutions.pose), model_complexity=1 (shipped in the
    wheel; never downloads); a `Detector` (detection.py). The reference that blazepose's
    MultiPoseDetector is checked against, and the benchmarks' one-person detector.

    Args:
        static_image_mode: False tracks a person across video frames (faster, steadier); True
            runs the person detector on every frame (independent images).
        min_detection_confidence, min_tracking_confidence: MediaPipe's thresholds, 0..1.
        smooth_landmarks: MediaPipe's own One Euro filtering; off by default because
            realtime3d.filters applies its own, optional one.
    """

    name = "mediapipe-pose"
    visibility_threshold = VISIBILITY_THRESHOLD

    def __init__(self, static_image_mode: bool = False, min_detection_confidence: float = 0.5,
                 min_tracking_confidence: float = 0.5, smooth_landmarks: bool = False):
        for name, value in (("min_detection_confidence", min_detection_confidence),
                            ("min_tracking_confidence", min_tracking_confidence)):
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be in 0..1, got {value}")
        self._settings = (bool(static_image_mode), float(min_detection_confidence),
                          float(min_tracking_confidence), bool(smooth_landmarks))
        self._pose = mp.solutions.pose.Pose(
            static_image_mode=static_image_mode, model_complexity=1,
            smooth_landmarks=smooth_landmarks, enable_segmentation=False,
            min_detection_confidence=min_detection_confidence,
            min_tracking_confidence=min_tracking_confidence)

    @property
    def fingerprint(self) -> str:
        """The settings that decide the answers (an offline run's resume check)."""
        static, detection, tracking, smooth = self._settings
        return f"{self.name}|{static}|{detection:g}|{tracking:g}|{smooth}"

    def detect(self, frame_bgr: np.ndarray) -> Detection | None:
        """A BGR uint8 frame [H, W, 3] -> the person's Detection, or None when there is none."""
        return self.detect_rgb(cv2.cvtColor(_checked(frame_bgr, "BGR"), cv2.COLOR_BGR2RGB))

    def detect_rgb(self, frame_rgb: np.ndarray) -> Detection | None:
        """detect() of a frame already in RGB order (MediaPipe's own): a reader thread can convert
        it, off the detecting thread's path."""
        if self._pose is None:
            raise ValueError("PoseDetector is closed")
        frame = _checked(frame_rgb, "RGB")
        height, width = frame.shape[:2]
        result = self._pose.process(frame)
        if result.pose_landmarks is None:
            return None
        raw = np.array([(lm.x * width, lm.y * height, lm.z, lm.visibility)
                        for lm in result.pose_landmarks.landmark], dtype=np.float32)  # [33, 4]
        joints2d, vis = landmarks_to_h36m(raw[:, :2], raw[:, 3])
        return Detection(joints2d_px=joints2d, visibility=vis, landmarks33=raw)

    def reset(self, search: bool = True) -> None:
        """Forget the tracked person (a new video, a camera that reconnected): the next
        frame runs MediaPipe's person detector afresh. search: the detectors' common
        signature (MultiPoseDetector.reset); MediaPipe's graph has one way to look.

        MediaPipe is shown a small blank image: with no person in it, the tracker lets
        go, and the next frames are answered bit for bit as by a new detector
        (tests/test_detect.py). Pose.reset() does the same by restarting the graph,
        which re-creates its TFLite interpreters and costs more than twice as much
        (benchmarks/bench_tracking_reset.py measures both)."""
        if self._pose is None:
            raise ValueError("PoseDetector is closed")
        self._pose.process(_BLANK_RGB)

    def close(self) -> None:
        if self._pose is not None:
            self._pose.close()
            self._pose = None

    def __enter__(self) -> "PoseDetector":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
