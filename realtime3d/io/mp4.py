"""H.264 MP4 files that web browsers play, with the source video's sound (PyAV).

    with Mp4Writer("overlay.mp4", fps=50.0, size=(1334, 480), audio_from="clip.avi") as mp4:
        mp4.write(frame_bgr, index)          # [H, W, 3] uint8, the frame's index in the source

Video is H.264 (libx264, in PyAV's wheel) in yuv420p, the one pixel format every
browser decodes, with the moov atom at the front (`+faststart`) so a page can start
playing before the whole file has loaded. OpenCV converts each BGR frame to yuv420p
(BT.601, limited range, tagged so in the stream): less than half the CPU time of PyAV's
own bgr24 import and conversion (benchmarks/bench_overlay_codec.py). The stream carries
no rotation tag (display matrix), whatever the source's: frames are stored as they are
to be shown, upright (capture.open_video turns a tagged source). Frame i is shown
at i / fps, so frames that the source failed to decode leave a gap instead of shifting
the picture against the sound. The first audio stream of `audio_from` is carried over: packet for packet when
MP4 holds its codec (AAC, MP3, Opus, ...), else re-encoded to AAC; it is cut to the
video's length (--max-frames) and shifted by the same start time as the video.
"""
from __future__ import annotations

import os
from fractions import Fraction

import av
import cv2
import numpy as np

VIDEO_CODEC = "libx264"
#: x264's speed/size trade-off and its constant-quality setting (lower is better; 23 is
#: x264's default), with CABAC entropy coding back on (ultrafast turns it off): 15% smaller
#: files for a tenth more encoding time. One encoder thread: the cores belong to MediaPipe
#: (benchmarks/bench_overlay_codec.py and bench_pipeline.py measure both).
X264_PRESET = "ultrafast"
X264_CRF = 23
X264_PARAMS = "cabac=1"
X264_THREADS = 1
#: Audio codecs that MP4 holds as they are; others are re-encoded to AAC.
MP4_AUDIO_CODECS = frozenset({"aac", "mp3", "ac3", "eac3", "opus", "flac", "alac"})
AAC_BIT_RATE = 128_000


class _Audio:
    """The first audio stream of an opened file, fed into an output container as the video advances."""

    def __init__(self, source: av.container.InputContainer, output: av.container.OutputContainer):
        self.input = source
        try:
            self.stream = self.input.streams.audio[0]
            video = self.input.streams.video[0] if self.input.streams.video else None
            start = video.start_time * video.time_base if video is not None and video.start_time else 0
            self.shift = round(start / self.stream.time_base)          # the video's start, in audio ticks
            self.copy = self.stream.codec_context.name in MP4_AUDIO_CODECS
            if self.copy:
                self.out = output.add_stream_from_template(self.stream)
            else:                                                      # the encoder resamples and re-chunks
                self.out = output.add_stream("aac", rate=self.stream.rate or 48000)
                self.out.bit_rate = AAC_BIT_RATE
            self.packets = self.input.demux(self.stream)
        except Exception:
            self.input.close()
            raise
        self.pending: av.Packet | None = None
        self.done = False

    def feed_until(self, seconds: float, output: av.container.OutputContainer) -> None:
        """Mux the audio packets that start before `seconds` of video time (and after its start)."""
        while not self.done:
            packet, self.pending = self.pending or next(self.packets, None), None
            if packet is None:
                self.done = True
            elif packet.pts is not None:                # None: the demuxer's end-of-stream packet
                pts = packet.pts - self.shift
                if pts * packet.time_base >= seconds:
                    self.pending = packet
                    return
                if pts < 0:
                    continue
                if self.copy:
                    packet.pts, packet.dts = pts, pts if packet.dts is None else packet.dts - self.shift
                    packet.stream = self.out
                    output.mux(packet)
                else:
                    for frame in packet.decode():
                        frame.pts = None if frame.pts is None else frame.pts - self.shift
                        output.mux(self.out.encode(frame))

    def close(self, output: av.container.OutputContainer) -> None:
        if not self.copy:
            output.mux(self.out.encode(None))
        self.input.close()


class Mp4Writer:
    """H.264 yuv420p MP4 at a constant frame rate, with the audio of another file (module docstring)."""

    def __init__(self, path: str | os.PathLike, fps: float, size: tuple[int, int],
                 audio_from: str | os.PathLike | None = None):
        width, height = size
        if width % 2 or height % 2 or min(width, height) < 2:
            raise ValueError(f"yuv420p needs an even frame size, got {width}x{height}")
        if not fps > 0:
            raise ValueError(f"fps must be positive, got {fps}")
        self.path, self.size = os.fspath(path), (int(width), int(height))
        self.rate = Fraction(fps).limit_denominator(1001)    # 29.97 -> 30000/1001
        self.container = av.open(self.path, "w", format="mp4", options={"movflags": "+faststart"})
        self.video = self.container.add_stream(VIDEO_CODEC, rate=self.rate)
        self.video.width, self.video.height = self.size
        self.video.pix_fmt = "yuv420p"
        self.video.codec_context.colorspace = av.video.reformatter.Colorspace.ITU601   # as cv2's BGR2YUV_I420
        self.video.codec_context.color_range = av.video.reformatter.ColorRange.MPEG    # 16..235
        self.video.options = {"preset": X264_PRESET, "crf": str(X264_CRF), "x264-params": X264_PARAMS}
        self.video.codec_context.thread_count = X264_THREADS
        self.audio: _Audio | None = None
        self.audio_error: str | None = None
        if audio_from is not None:
            try:
                source = av.open(os.fspath(audio_from))
                if source.streams.audio:
                    self.audio = _Audio(source, self.container)
                else:
                    source.close()
            except (av.FFmpegError, ValueError, OSError) as exc:
                self.audio_error = f"{audio_from}: its audio is not carried over ({exc})"
        self.last_index = -1

    def write(self, frame_bgr: np.ndarray, index: int | None = None) -> None:
        """Encode one frame [H, W, 3] uint8 BGR, shown at index / fps (default: after the last)."""
        if frame_bgr.shape != (self.size[1], self.size[0], 3) or frame_bgr.dtype != np.uint8:
            raise ValueError(f"frames must be uint8 [{self.size[1]}, {self.size[0]}, 3], "
                             f"got {frame_bgr.dtype} {list(frame_bgr.shape)}")
        index = self.last_index + 1 if index is None else int(index)
        if index <= self.last_index:
            raise ValueError(f"frame indices must increase, got {index} after {self.last_index}")
        frame = av.VideoFrame.from_ndarray(cv2.cvtColor(frame_bgr, cv2.COLOR_BGR2YUV_I420), format="yuv420p")
        frame.pts, frame.time_base = index, 1 / self.rate
        self.container.mux(self.video.encode(frame))
        self.last_index = index
        if self.audio is not None:
            self.audio.feed_until(index / self.rate, self.container)

    def close(self) -> None:
        """Flush the encoder, add the rest of the audio (to the video's end) and finish the file."""
        if self.container is None:
            return
        try:
            self.container.mux(self.video.encode(None))
            if self.audio is not None:
                end = (self.last_index + 1) / self.rate
                self.audio.feed_until(float(end), self.container)
                self.audio.close(self.container)
        finally:
            self.container.close()
            self.container = None

    def __enter__(self) -> "Mp4Writer":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
