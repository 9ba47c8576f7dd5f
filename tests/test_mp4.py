"""realtime3d.io.mp4: H.264 yuv420p with the source's sound, copied or re-encoded, cut to the video."""
from __future__ import annotations

import av
import numpy as np
import pytest

from realtime3d.io.mp4 import Mp4Writer

RATE, SECONDS = 16000, 2.0


def _source(path, audio_codec: str | None, fmt: str) -> str:
    """A 2 s, 25 fps test clip with a 440 Hz tone in audio_codec (None: no sound)."""
    with av.open(str(path), "w", format=fmt) as out:
        video = out.add_stream("libx264", rate=25)
        video.width, video.height, video.pix_fmt = 64, 48, "yuv420p"
        audio = out.add_stream(audio_codec, rate=RATE) if audio_codec else None
        for i in range(int(25 * SECONDS)):
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), i, np.uint8), format="rgb24")
            frame.pts = i
            out.mux(video.encode(frame))
        if audio is not None:
            tone = (10000 * np.sin(2 * np.pi * 440 * np.arange(int(RATE * SECONDS)) / RATE)).astype(np.int16)
            for k in range(0, len(tone), 1024):
                chunk = av.AudioFrame.from_ndarray(tone[None, k:k + 1024], format="s16", layout="mono")
                chunk.sample_rate, chunk.pts = RATE, k
                out.mux(audio.encode(chunk))
            out.mux(audio.encode(None))
        out.mux(video.encode(None))
    return str(path)


@pytest.mark.parametrize("codec,fmt", [("aac", "mp4"), ("pcm_s16le", "matroska"), (None, "mp4")])
def test_sound_is_carried_and_cut_to_the_video(tmp_path, codec, fmt):
    source = _source(tmp_path / f"in.{'mkv' if fmt == 'matroska' else 'mp4'}", codec, fmt)
    out = tmp_path / "overlay.mp4"
    with Mp4Writer(out, 25.0, (64, 48), audio_from=source) as writer:
        for i in range(25):                                   # the first second only (--max-frames)
            writer.write(np.zeros((48, 64, 3), np.uint8), i)
    assert writer.audio_error is None
    with av.open(str(out)) as mp4:
        video = mp4.streams.video[0]
        assert (video.codec_context.name, video.codec_context.pix_fmt, video.frames) == ("h264", "yuv420p", 25)
        if codec is None:
            assert not mp4.streams.audio
        else:
            audio = mp4.streams.audio[0]
            assert audio.codec_context.name == "aac"           # copied, or re-encoded from PCM
            assert abs(float(audio.duration * audio.time_base) - 1.0) < 0.1


def test_frame_size_and_order_are_checked(tmp_path):
    with pytest.raises(ValueError, match="even"):
        Mp4Writer(tmp_path / "odd.mp4", 25.0, (63, 48))
    with Mp4Writer(tmp_path / "x.mp4", 25.0, (64, 48)) as writer:
        writer.write(np.zeros((48, 64, 3), np.uint8), 3)
        with pytest.raises(ValueError, match="increase"):
            writer.write(np.zeros((48, 64, 3), np.uint8), 3)
        with pytest.raises(ValueError, match=r"uint8 \[48, 64, 3\]"):
            writer.write(np.zeros((48, 64), np.uint8))
