"""Tests for realtime3d.filters: One Euro (live) and the zero-lag Butterworth (offline)."""
from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.signal import butter, sosfilt

from realtime3d.filters import MIN_RUN_FRAMES, OneEuroFilter, zero_lag_filter

FPS = 30.0


def _pose(seed: int = 0) -> np.ndarray:
    """A 17-joint 2D pose about 300 px across: [17, 2]."""
    return np.random.default_rng(seed).uniform(100.0, 400.0, size=(17, 2))


def _rms(a: np.ndarray) -> float:
    return float(np.sqrt(np.nanmean(a ** 2)))


def _mediapipe_one_euro(values, times, scale, min_cutoff=0.1, beta=40.0, d_cutoff=1.0):
    """A scalar transcription of mediapipe/util/filtering/one_euro_filter.cc, for reference."""
    def alpha(cutoff, freq):
        return 1.0 / (1.0 + (1.0 / (2 * math.pi * cutoff)) * freq)

    out, freq, last_t, x_prev, raw_prev, dx_prev = [], 30.0, None, None, None, None
    for v, t in zip(values, times):
        if last_t is not None:
            freq = 1.0 / (t - last_t)
        last_t = t
        dv = 0.0 if raw_prev is None else (v - raw_prev) / scale * freq
        dx_prev = dv if dx_prev is None else dx_prev + alpha(d_cutoff, freq) * (dv - dx_prev)
        a = alpha(min_cutoff + beta * abs(dx_prev), freq)
        x_prev = v if x_prev is None else x_prev + a * (v - x_prev)
        raw_prev = v
        out.append(x_prev)
    return np.array(out)


def test_one_euro_matches_mediapipe_on_one_coordinate():
    rng = np.random.default_rng(1)
    times = np.cumsum(rng.uniform(0.02, 0.05, size=60))        # irregular frame times
    values = np.cumsum(rng.normal(0.0, 5.0, size=60))
    f = OneEuroFilter()
    ours = [f(np.array([[v, 0.0]]), t, object_scale=250.0)[0, 0] for v, t in zip(values, times)]
    np.testing.assert_allclose(ours, _mediapipe_one_euro(values, times, 250.0), rtol=1e-9, atol=1e-9)


def test_one_euro_reduces_jitter_on_a_still_pose():
    rng = np.random.default_rng(2)
    truth = _pose()
    noisy = truth + rng.normal(0.0, 2.0, size=(90, 17, 2))       # 2 px detector jitter
    f = OneEuroFilter()
    smoothed = np.stack([f(x, i / FPS) for i, x in enumerate(noisy)])
    raw_err, filtered_err = _rms(noisy[15:] - truth), _rms(smoothed[15:] - truth)
    assert filtered_err < 0.7 * raw_err, (raw_err, filtered_err)
    frame_to_frame = _rms(np.diff(smoothed[15:], axis=0))
    assert frame_to_frame < 0.5 * _rms(np.diff(noisy[15:], axis=0))


def test_one_euro_follows_a_step_within_two_frames():
    truth = _pose()
    f = OneEuroFilter()
    step = np.array([150.0, -80.0])
    out = np.stack([f(truth + (step if i >= 30 else 0.0), i / FPS) for i in range(40)])
    moved = (out[:, 0] - truth[0]) / step                      # fraction of the step, per axis
    assert np.all(moved[:30] == 0.0)
    assert np.all(moved[31] > 0.9), moved[30:33]                # bounded lag: 90% one frame after
    assert np.all(np.abs(moved[35:] - 1.0) < 0.01)


def test_one_euro_nan_passes_through_and_restarts_the_joint():
    truth = _pose()
    f = OneEuroFilter()
    for i in range(10):
        f(truth + i, i / FPS)
    gap = truth.copy()
    gap[3] = np.nan
    out = f(gap, 10 / FPS)
    assert np.isnan(out[3]).all() and np.isfinite(np.delete(out, 3, axis=0)).all()
    back = truth + 50.0
    out = f(back, 11 / FPS)
    np.testing.assert_array_equal(out[3], back[3])               # restarted: no memory of the past
    assert not np.allclose(out[0], back[0])                      # the others keep filtering


def test_one_euro_reset_repeated_time_and_bad_input():
    f = OneEuroFilter()
    first = f(_pose(0), 0.0)
    np.testing.assert_array_equal(f(_pose(0) + 30.0, 0.0), first)   # same instant: no new state
    f.reset()
    np.testing.assert_array_equal(f(_pose(1), 0.01), _pose(1))
    with pytest.raises(ValueError, match=r"\[J, D\]"):
        f(np.zeros((2, 17, 2)), 1.0)
    with pytest.raises(ValueError, match="min_cutoff"):
        OneEuroFilter(min_cutoff=0.0)


def test_one_euro_at_a_fixed_rate_is_mediapipes_landmark_smoothing():
    """frequency_hz: every call is one step of 1 / frequency_hz, whatever the timestamps (how
    BlazePose's auxiliary landmarks are smoothed: pose_landmark_filtering.pbtxt at 30 Hz, with the
    person's scale given), the same numbers as MediaPipe's filter fed frames 1/30 s apart."""
    rng = np.random.default_rng(5)
    values = np.cumsum(rng.normal(0.0, 4.0, size=80)) + 200.0
    scale = 150.0
    expected = _mediapipe_one_euro(values, np.arange(80) / 30.0, scale, min_cutoff=0.01, beta=10.0, d_cutoff=1.0)
    f = OneEuroFilter(0.01, 10.0, 1.0, frequency_hz=30.0)
    ours = [f(np.full((1, 2), v), object_scale=scale)[0, 0] for v in values]
    np.testing.assert_allclose(ours, expected, rtol=1e-10)
    g = OneEuroFilter(0.01, 10.0, 1.0, frequency_hz=30.0)
    shuffled = [g(np.full((1, 2), v), t_seconds=-k, object_scale=scale)[0, 0] for k, v in enumerate(values)]
    np.testing.assert_array_equal(shuffled, ours)                 # timestamps play no part
    with pytest.raises(ValueError, match="t_seconds"):
        OneEuroFilter()(np.zeros((17, 2)))
    with pytest.raises(ValueError, match="frequency_hz"):
        OneEuroFilter(frequency_hz=0.0)


def test_zero_lag_filter_has_no_phase_lag_on_a_sine():
    fps, n = 50.0, 500
    t = np.arange(n) / fps
    clean = 100.0 * np.sin(2 * np.pi * 1.0 * t)                # 1 Hz, well under the 6 Hz cutoff
    noisy = clean + np.random.default_rng(3).normal(0.0, 10.0, n)
    x = np.repeat(noisy[:, None, None], 3, axis=2).repeat(2, axis=1)   # [N, 2, 3]
    out = zero_lag_filter(x, fps)[:, 0, 0]
    causal = sosfilt(butter(2, 6.0, fs=fps, output="sos"), noisy)     # the same filter, one way

    def lag_of_peak(y):
        lags = np.arange(-10, 11)
        corr = [np.dot(np.roll(y, -k)[20:-20], clean[20:-20]) for k in lags]
        return int(lags[int(np.argmax(corr))])

    assert lag_of_peak(out) == 0
    assert lag_of_peak(causal) > 0                               # a causal filter does lag
    assert _rms(out[20:-20] - clean[20:-20]) < 0.6 * _rms(noisy - clean)   # 6 of 25 Hz kept
    gain = np.dot(out, clean) / np.dot(clean, clean)             # the sine's amplitude is kept
    assert abs(gain - 1.0) < 0.03, gain


def test_zero_lag_filter_handles_nan_gaps_and_short_runs():
    fps, n = 30.0, 120
    rng = np.random.default_rng(4)
    x = np.cumsum(rng.normal(0.0, 1.0, size=(n, 17, 3)), axis=0) + rng.normal(0.0, 3.0, size=(n, 17, 3))
    x[40:50] = np.nan                                          # a gap in every joint
    x[60:62, 5] = np.nan                                       # one joint missing briefly
    x[70:70 + MIN_RUN_FRAMES - 1, 7] = np.nan                  # leaves a short run before and after
    x[70 + MIN_RUN_FRAMES:, 7] = np.nan
    out = zero_lag_filter(x, fps)
    np.testing.assert_array_equal(np.isnan(out), np.isnan(x))
    short = slice(70 + MIN_RUN_FRAMES - 1, 70 + MIN_RUN_FRAMES)
    np.testing.assert_array_equal(out[short, 7], x[short, 7])  # too short: left as it is
    run = slice(50, 58)                                        # 8 frames: filtered, reduced padding
    assert not np.allclose(out[run, 0], x[run, 0])
    assert _rms(np.diff(out[:40, 0], axis=0)) < _rms(np.diff(x[:40, 0], axis=0))


def test_zero_lag_filter_rejects_bad_arguments():
    x = np.zeros((10, 17, 3))
    with pytest.raises(ValueError, match="half the frame rate"):
        zero_lag_filter(x, fps=10.0, cutoff_hz=6.0)
    with pytest.raises(ValueError, match=r"\[N, J, D\]"):
        zero_lag_filter(x[0], fps=30.0)
