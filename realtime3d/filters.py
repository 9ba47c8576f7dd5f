"""Temporal filters for joint trajectories: One Euro (live) and zero-lag Butterworth (offline).

Both filter every coordinate of every joint on its own and treat NaN as missing.
"""
from __future__ import annotations

import math

import numpy as np

# MediaPipe's pose landmark smoothing (mediapipe/modules/pose_landmark/
# pose_landmark_filtering.pbtxt, LandmarksSmoothingCalculator one_euro_filter):
# min_cutoff 0.1 Hz, beta 40, derivate_cutoff 1 Hz, with the speed measured in object
# sizes per second (landmarks_smoothing_calculator_utils.cc: value_scale = 1 / the
# mean of the landmarks' bounding-box width and height) and 30 Hz assumed for the
# first step (mediapipe/util/filtering/one_euro_filter.cc).
MEDIAPIPE_MIN_CUTOFF = 0.1
MEDIAPIPE_BETA = 40.0
MEDIAPIPE_D_CUTOFF = 1.0
_FIRST_FREQUENCY_HZ = 30.0

#: Default cutoff of the offline filter: 6 Hz, the usual low-pass for human movement
#: (Winter, Biomechanics and Motor Control of Human Movement).
ZERO_LAG_CUTOFF_HZ = 6.0
ZERO_LAG_ORDER = 2  # filtfilt runs it twice: an effective 4th-order, zero-phase filter
#: Runs of valid frames shorter than this are left unfiltered.
MIN_RUN_FRAMES = 4


def _alpha(cutoff: np.ndarray | float, dt: float) -> np.ndarray:
    tau = 1.0 / (2.0 * math.pi * np.asarray(cutoff))
    return 1.0 / (1.0 + tau / dt)


class OneEuroFilter:
    """Casiez et al. (CHI 2012) One Euro filter, per joint and coordinate, as MediaPipe runs it
    (mediapipe/util/filtering/one_euro_filter.cc). The live filter of every pipeline, and the
    smoothing of BlazePose's auxiliary landmarks (detect/blazepose/landmarks.py).

        f = OneEuroFilter()
        smoothed = f(joints, t_seconds)      # [J, D] -> [J, D]

    The speed that opens the cutoff is measured in object sizes per second: by default the
    pose's own size (the mean of its bounding-box width and height over the first two
    coordinates), so the same parameters work for pixels and millimetres; a caller that knows
    the size passes it (object_scale, MediaPipe's 1 / value_scale). A NaN joint passes through
    as NaN and restarts that joint's filter; reset() restarts all (for a frame with no person).

    Args:
        min_cutoff: the cutoff at rest (Hz), > 0.
        beta: how fast the cutoff opens with speed (Hz per object size per second), >= 0.
        d_cutoff: the cutoff of the speed's own low-pass (Hz), > 0.
        frequency_hz: None: each call's t_seconds gives the time step, and a timestamp that does
            not increase changes nothing and returns the previous output; a rate (Hz): every
            call is one step of 1 / frequency_hz and t_seconds is not used (MediaPipe's Python
            solution, which feeds its graph at a simulated 30 Hz).
    """

    def __init__(self, min_cutoff: float = MEDIAPIPE_MIN_CUTOFF, beta: float = MEDIAPIPE_BETA,
                 d_cutoff: float = MEDIAPIPE_D_CUTOFF, frequency_hz: float | None = None):
        if not (min_cutoff > 0 and d_cutoff > 0 and beta >= 0):
            raise ValueError(f"One Euro needs min_cutoff > 0, d_cutoff > 0, beta >= 0; "
                             f"got {min_cutoff}, {d_cutoff}, {beta}")
        if frequency_hz is not None and not frequency_hz > 0:
            raise ValueError(f"frequency_hz must be positive or None, got {frequency_hz}")
        self.min_cutoff, self.beta, self.d_cutoff = float(min_cutoff), float(beta), float(d_cutoff)
        self.frequency_hz = None if frequency_hz is None else float(frequency_hz)
        self.reset()

    def reset(self) -> None:
        """Forget every joint's state: the next call's joints pass through unchanged."""
        self._x: np.ndarray | None = None     # [J, D] last filtered value (NaN: no state)
        self._raw: np.ndarray | None = None   # [J, D] last raw value
        self._dx: np.ndarray | None = None    # [J, D] filtered speed, object sizes / s
        self._t: float | None = None

    def __call__(self, x, t_seconds: float | None = None, object_scale: float | None = None) -> np.ndarray:
        """One step of the filter.

        Args:
            x: the pose [J, D] (NaN = missing).
            t_seconds: its time (s); needed unless frequency_hz is set.
            object_scale: the object's size in x's units (None: measured on x's valid joints).

        Returns:
            The filtered pose [J, D] float64, NaN where x is.
        """
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 2:
            raise ValueError(f"OneEuroFilter takes one pose [J, D], got {list(x.shape)}")
        if self._x is not None and self._x.shape != x.shape:
            raise ValueError(f"pose shape changed from {list(self._x.shape)} to {list(x.shape)}; call reset()")
        if self.frequency_hz is None and t_seconds is None:
            raise ValueError("OneEuroFilter needs t_seconds unless it has a frequency_hz")
        valid = np.isfinite(x).all(axis=1)                                    # [J]
        if object_scale is None:
            object_scale = _object_scale(x[valid])
        if self._x is None:
            self._x, self._raw, self._dx = (np.full_like(x, np.nan) for _ in range(3))
        elif self.frequency_hz is None and t_seconds <= self._t:
            return np.where(valid[:, None], self._x, np.nan)
        if self.frequency_hz is not None:
            dt = 1.0 / self.frequency_hz
        else:
            dt = 1.0 / _FIRST_FREQUENCY_HZ if self._t is None else t_seconds - self._t
            self._t = float(t_seconds)
        out = np.full_like(x, np.nan)
        if not object_scale > 0:   # no extent to measure speed against: pass through
            self._x, self._raw, self._dx = x.copy(), x.copy(), np.where(valid[:, None], 0.0, np.nan)
            return x.copy()
        fresh = valid & ~np.isfinite(self._x).all(axis=1)                     # [J] start here
        going = valid & ~fresh                                                # [J] continue
        out[fresh] = x[fresh]
        self._dx[fresh] = 0.0
        if going.any():
            speed = (x[going] - self._raw[going]) / (dt * object_scale)
            dx = self._dx[going] + _alpha(self.d_cutoff, dt) * (speed - self._dx[going])
            a = _alpha(self.min_cutoff + self.beta * np.abs(dx), dt)
            out[going] = self._x[going] + a * (x[going] - self._x[going])
            self._dx[going] = dx
        self._x = out.copy()
        self._raw = np.where(valid[:, None], x, np.nan)
        self._dx[~valid] = np.nan
        return out


def _object_scale(points: np.ndarray) -> float:
    """Mean of the bounding-box width and height of points [K, D>=2]; 0 when fewer than 2."""
    if len(points) < 2:
        return 0.0
    extent = points[:, :2].max(axis=0) - points[:, :2].min(axis=0)
    return float(extent.mean())


def zero_lag_filter(x, fps: float, cutoff_hz: float = ZERO_LAG_CUTOFF_HZ,
                    order: int = ZERO_LAG_ORDER) -> np.ndarray:
    """Offline zero-phase low-pass: Butterworth run forwards and backwards (scipy sosfiltfilt).

    x [N, J, D] with NaN for missing -> [N, J, D] float64. Each joint is filtered over
    each run of frames where it is present; NaN stays NaN. A run shorter than
    filtfilt's default padding is filtered with the padding cut to the run length
    minus one; a run shorter than MIN_RUN_FRAMES is left as it is.
    """
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 3:
        raise ValueError(f"zero_lag_filter takes [N, J, D], got {list(x.shape)}")
    if not fps > 0:
        raise ValueError(f"fps must be positive, got {fps}")
    if not 0 < cutoff_hz < fps / 2:
        raise ValueError(f"cutoff_hz must be between 0 and half the frame rate ({fps / 2:g} Hz), got {cutoff_hz}")
    from scipy.signal import butter, sosfiltfilt   # not at the top: `realtime3d --help` reads this module
    sos = butter(order, cutoff_hz, btype="low", fs=fps, output="sos")
    default_padlen = 3 * (2 * len(sos) + 1)  # sosfiltfilt's own default
    out = x.copy()
    valid = np.isfinite(x).all(axis=2)                                        # [N, J]
    for j in range(x.shape[1]):
        for start, stop in _runs(valid[:, j]):
            if stop - start >= MIN_RUN_FRAMES:
                padlen = min(default_padlen, stop - start - 1)
                out[start:stop, j] = sosfiltfilt(sos, x[start:stop, j], axis=0, padlen=padlen)
    return out


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """(start, stop) of each run of True in a 1-D boolean array."""
    edges = np.flatnonzero(np.diff(np.concatenate([[0], mask.astype(np.int8), [0]])))
    return list(zip(edges[::2].tolist(), edges[1::2].tolist()))
