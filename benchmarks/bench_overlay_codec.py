"""What overlay.mp4's encoder costs: PyAV's libx264 (what realtime3d uses) against the
alternatives, on the same overlay frames, in one run.

- pyav-libx264: realtime3d.io.mp4.Mp4Writer (H.264 yuv420p, the x264 settings as shipped),
  with and without carrying the source's sound;
- imageio-ffmpeg-libx264: the same x264 settings through imageio-ffmpeg's ffmpeg
  program, frames fed through a pipe (the other registry package with an H.264 encoder in
  its wheel; skipped when it is not installed: `pip install imageio-ffmpeg`);
- pyav-libx264-no-cabac: the same without CABAC (x264's ultrafast as it comes), to show
  what turning it back on costs and saves;
- opencv-mp4v: the MPEG-4 Part 2 writer that overlay.mp4 used before (browsers cannot
  play it), the baseline of the old speed numbers.

Also the two ways to turn a BGR frame into H.264's yuv420p: OpenCV's cvtColor (what
Mp4Writer does) against PyAV's bgr24 import and its own conversion (ms per frame), and
the BGR -> RGB copy that MediaPipe needs of each source frame.

Frames are the street video's, scaled to overlay.mp4's default height, beside a plain
panel. Per frame: wall time and CPU time of this process and its children, and the
file size. Writes benchmarks/results/overlay_codec.json (machine, commit).

    python benchmarks/bench_overlay_codec.py
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _env import commit, machine_info  # noqa: E402

from realtime3d.io import mp4  # noqa: E402
from realtime3d.io._atomic import atomic_write_text  # noqa: E402
from realtime3d.offline import OVERLAY_HEIGHT  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_VIDEO = ROOT.parent / "shared" / "data" / "media" / "street_dance.avi"


def overlay_frames(video: str) -> tuple[list[np.ndarray], float]:
    capture = cv2.VideoCapture(video)
    fps = capture.get(cv2.CAP_PROP_FPS) or 25.0
    frames = []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        width = 2 * round(frame.shape[1] * OVERLAY_HEIGHT / frame.shape[0] / 2)
        small = cv2.resize(frame, (width, OVERLAY_HEIGHT), interpolation=cv2.INTER_LINEAR)
        frames.append(np.concatenate([small, np.full((OVERLAY_HEIGHT, OVERLAY_HEIGHT, 3), 40, np.uint8)], 1))
    return frames, fps


def _cpu() -> float:
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def timed(encode, frames: list[np.ndarray], path: str) -> dict:
    start, start_cpu = time.perf_counter(), _cpu()
    encode(frames, path)
    wall, cpu = time.perf_counter() - start, _cpu() - start_cpu
    return {"wall_ms_per_frame": round(1e3 * wall / len(frames), 3), "cpu_ms_per_frame": round(1e3 * cpu / len(frames), 3),
            "kbytes": round(os.path.getsize(path) / 1024)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--video", default=str(DEFAULT_VIDEO))
    ap.add_argument("--repeats", type=int, default=3, help="the fastest of this many runs of each encoder")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "overlay_codec.json"))
    args = ap.parse_args()
    frames, fps = overlay_frames(args.video)
    height, width = frames[0].shape[:2]

    def pyav(audio):
        def encode(frames, path):
            with mp4.Mp4Writer(path, fps, (width, height), audio_from=args.video if audio else None) as writer:
                for i, frame in enumerate(frames):
                    writer.write(frame, i)
        return encode

    def opencv_mp4v(frames, path):
        writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*"mp4v"), fps, (width, height))
        for frame in frames:
            writer.write(frame)
        writer.release()

    def pyav_no_cabac(frames, path):
        params = mp4.X264_PARAMS
        mp4.X264_PARAMS = "cabac=0"
        try:
            pyav(False)(frames, path)
        finally:
            mp4.X264_PARAMS = params

    encoders = {"pyav-libx264": pyav(False), "pyav-libx264+audio": pyav(True),
                "pyav-libx264-no-cabac": pyav_no_cabac, "opencv-mp4v": opencv_mp4v}
    try:
        import imageio_ffmpeg

        def imageio(frames, path):
            command = [imageio_ffmpeg.get_ffmpeg_exe(), "-loglevel", "error", "-y", "-f", "rawvideo",
                       "-pix_fmt", "bgr24", "-s", f"{width}x{height}", "-r", f"{fps:g}", "-i", "-",
                       "-c:v", "libx264", "-preset", mp4.X264_PRESET, "-crf", str(mp4.X264_CRF),
                       "-x264-params", mp4.X264_PARAMS, "-threads", str(mp4.X264_THREADS),
                       "-pix_fmt", "yuv420p", "-movflags", "+faststart", path]
            with subprocess.Popen(command, stdin=subprocess.PIPE) as job:
                for frame in frames:
                    job.stdin.write(frame.tobytes())
                job.stdin.close()
            if job.returncode:
                raise RuntimeError(f"ffmpeg failed with exit code {job.returncode}")
        encoders["imageio-ffmpeg-libx264"] = imageio
        imageio_version = imageio_ffmpeg.__version__
    except ImportError:
        imageio_version = None

    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for repeat in range(args.repeats):
            for name, encode in encoders.items():
                run = timed(encode, frames, os.path.join(tmp, f"{name}.mp4"))
                best = results.get(name)
                results[name] = run if best is None or run["wall_ms_per_frame"] < best["wall_ms_per_frame"] else best
    for name, run in results.items():
        run["wall_vs_pyav"] = round(run["wall_ms_per_frame"] / results["pyav-libx264"]["wall_ms_per_frame"], 3)
        print(f"{name:24s} {run['wall_ms_per_frame']:6.2f} ms wall, {run['cpu_ms_per_frame']:6.2f} ms CPU per frame, "
              f"{run['kbytes']} KB ({run['wall_vs_pyav']:.2f}x pyav)")
    import av

    def per_frame_ms(convert, images) -> float:
        start = time.process_time()
        for image in images:
            convert(image)
        return round(1e3 * (time.process_time() - start) / len(images), 3)
    source = cv2.VideoCapture(args.video)
    originals = [source.read()[1] for _ in range(50)]
    conversions = {
        "opencv_bgr_to_yuv420p": per_frame_ms(lambda f: av.VideoFrame.from_ndarray(
            cv2.cvtColor(f, cv2.COLOR_BGR2YUV_I420), format="yuv420p"), frames),
        "pyav_bgr24_then_reformat": per_frame_ms(lambda f: av.VideoFrame.from_ndarray(
            f, format="bgr24").reformat(format="yuv420p"), frames),
        "source_bgr_to_rgb": per_frame_ms(lambda f: cv2.cvtColor(f, cv2.COLOR_BGR2RGB), originals),
        "source_size": list(originals[0].shape[1::-1]),
    }
    print("conversions, ms CPU per frame:", conversions)
    result = {"benchmark": "bench_overlay_codec", "machine": machine_info(), "commit": commit(),
              "video": Path(args.video).name, "frames": len(frames), "frame_size": [width, height], "fps": fps,
              "x264": {"preset": mp4.X264_PRESET, "crf": mp4.X264_CRF, "params": mp4.X264_PARAMS,
                       "threads": mp4.X264_THREADS}, "repeats": args.repeats,
              "pick": "the fastest repeat of each encoder (wall time)",
              "versions": {"av": av.__version__, "imageio_ffmpeg": imageio_version, "opencv": cv2.__version__},
              "encoders": results, "conversions_ms_cpu_per_frame": conversions}
    atomic_write_text(args.out, json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
