"""Time and peak memory of the kernel ops: the eager reference against the fused CPU path
(--device cpu, the default) or against Triton (--device cuda), forward and forward+backward.
Writes CSV.

Claims it checks, in the same run:
- render_skeleton forward+backward on the CPU path, B=256, 64x64, J=17: >= 50x faster than the
  eager reference and <= 1/10 of its peak memory;
- render_views forward+backward against rotate_project followed by render_skeleton;
- the CPU path against torch.compile of the reference (the other way to fuse it), at one point.

Poses: CMU validation frames (realtime3d.data.mocap), in body units at depth DEPTH, turned by
random cameras (realtime3d.data.views.random_rotations); pixels = projection * scale + centre,
with the scale chosen so that the mean body height is 5/8 of the image height (40 px at 64x64).
gamma = 1: a line whose half-maximum width is 1.7 px.

Time: the fastest of 1 to 20 calls (within 5 s) after a warm-up call, both wall-clock and the
CPU time of the process (single-threaded, so CPU time is the work done; on a shared machine it
does not count the time the scheduler gives to others). Peak memory on the CPU, measured in
the warm-up call: the rise of the process's resident high-water mark
(VmHWM after, VmRSS before, /proc/self/clear_refs resetting the mark), with every large
allocation mapped fresh (see measure). It counts everything the call allocates: outputs,
autograd-saved tensors and temporaries.

On CUDA (--device cuda): Triton against the eager reference and torch.compile of the reference,
all on the GPU. time_ms is CUDA-event time from before the call's first launch to after its last
kernel (torch.cuda.synchronize around it), the fastest of up to 50 calls within 1 s after a
warm-up call that also compiles; cpu_time_ms is the host's CPU time for the call (waiting for the
GPU included); peak_mb is torch.cuda.max_memory_allocated above what was allocated before. The
machine column adds the GPU's name, CUDA and Triton versions. The CSV goes to
benchmarks/results/gpu/kernels_cuda.csv, rewritten after every grid point.

    python benchmarks/bench_kernels.py            # the full grid (long: the reference is slow)
    python benchmarks/bench_kernels.py --quick    # B=256, 64x64, V=1 only
    python benchmarks/bench_kernels.py --device cuda [--quick] [--poses cmu-val.npz]
"""
from __future__ import annotations

import argparse
import csv
import ctypes
import functools
import gc
import json
import os
import re
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _env import commit, machine_info  # noqa: E402

from realtime3d import kernels  # noqa: E402
from realtime3d.kernels import reference  # noqa: E402
from realtime3d.data.mocap import load_split  # noqa: E402
from realtime3d.data.views import random_rotations, to_body_units  # noqa: E402
from realtime3d.io._atomic import atomic_path  # noqa: E402
from realtime3d.normalization import DEPTH  # noqa: E402
from realtime3d.skeleton import H36M17  # noqa: E402

GAMMA = 1.0
HEIGHT_FRACTION = 40 / 64
POSE_SOURCE = "CMU val frames, random views (data.views.random_rotations), body 5/8 of the image height"
#: The reference is skipped where its estimated peak exceeds this (bytes); on CUDA, this
#: fraction of the GPU's memory.
MEMORY_LIMIT = 8 * 2**30
CUDA_MEMORY_FRACTION = 0.5
#: Estimated reference peak per [images, K, H, W] element, from this benchmark's own rows (B=1024,
#: 64x64, V=1: 1297 MB forward and 2373 MB forward+backward for 67M elements), rounded up.
REFERENCE_BYTES_PER_ELEMENT = {"forward": 22, "forward+backward": 40}
FULL = dict(batches=(64, 256, 1024), sizes=(64, 128), views=(1, 4))
QUICK = dict(batches=(256,), sizes=(64,), views=(1,))
#: The CUDA grid: the GPU is fast enough for the big batches (the CPU grid's reference needs minutes).
CUDA_FULL = dict(batches=(256, 1024), sizes=(64, 128), views=(1, 4))
#: The grid point (B, size, V) where torch.compile of the reference is timed too (it compiles for
#: a minute per shape and pass).
COMPILE_POINT = (256, 64, 1)
COMPILED = "torch.compile(reference)"
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3   # mallopt parameter numbers
LIBC = ctypes.CDLL("libc.so.6")


def _status_bytes(key: str) -> int:
    return int(re.search(rf"{key}:\s+(\d+) kB", Path("/proc/self/status").read_text()).group(1)) * 1024


#: Timed calls per case at most: many for the fast paths, whose best call is then less likely to
#: have shared its core with another process.
MAX_CALLS = 20
#: On CUDA: calls at most, and the time budget per case (s).
CUDA_CALLS, CUDA_BUDGET_S = 50, 1.0


def measure(fn, cuda: bool, budget_s: float = 5.0) -> tuple[float, float, int, int]:
    """(best wall time in s, best CPU time of the process in s, peak bytes, timed calls) of fn().

    The first call measures memory (and warms up); then fn is timed until budget_s is spent
    (1 to MAX_CALLS calls). On the CPU the memory call runs with glibc's mmap threshold at 64 KiB after
    a malloc_trim, so every large allocation maps fresh pages that the resident high-water
    mark sees; the timed calls run with the threshold at 32 MiB and no trimming, as a
    long-running process that keeps its heap (blocks above 32 MiB are still mapped per call).
    On CUDA the wall time is CUDA-event time (see the module docstring).
    """
    if cuda:
        return measure_cuda(fn)
    gc.collect()
    LIBC.mallopt(M_MMAP_THRESHOLD, 1 << 16)
    LIBC.mallopt(M_TRIM_THRESHOLD, 1 << 16)
    LIBC.malloc_trim(0)
    Path("/proc/self/clear_refs").write_text("5")
    base = _status_bytes("VmRSS")
    fn()
    peak = _status_bytes("VmHWM") - base
    LIBC.mallopt(M_MMAP_THRESHOLD, 32 << 20)
    LIBC.mallopt(M_TRIM_THRESHOLD, 1 << 30)
    wall: list[float] = []
    cpu: list[float] = []
    while not wall or (sum(wall) < budget_s and len(wall) < MAX_CALLS):
        start, start_cpu = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return min(wall), min(cpu), peak, len(wall)


def measure_cuda(fn) -> tuple[float, float, int, int]:
    """measure() on CUDA: the warm-up call (it compiles) measures the peak of the caching
    allocator; each timed call runs between two CUDA events on the current stream, the GPU idle
    before it (synchronize), so the time covers the launches and every kernel of the call."""
    gc.collect()
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    base = torch.cuda.memory_allocated()
    fn()
    torch.cuda.synchronize()
    peak = torch.cuda.max_memory_allocated() - base
    wall: list[float] = []
    cpu: list[float] = []
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    while not wall or (sum(wall) < CUDA_BUDGET_S and len(wall) < CUDA_CALLS):
        torch.cuda.synchronize()
        start_cpu = time.process_time()
        start.record()
        fn()
        end.record()
        end.synchronize()
        wall.append(start.elapsed_time(end) / 1e3)
        cpu.append(time.process_time() - start_cpu)
    return min(wall), min(cpu), peak, len(wall)


@functools.cache
def val_frames(poses: str | None = None) -> torch.Tensor:
    """CMU val frames [N, J, 3] mm: the loader's, or the joints3d array of an .npz (--poses)."""
    if poses:
        with np.load(poses) as z:
            return torch.from_numpy(z["joints3d"]).float()
    return torch.from_numpy(load_split("val")["joints3d"]).float()


def make_inputs(b: int, v: int, size: int, device: str, seed: int = 0, poses: str | None = None):
    """(joints3d [b, J, 3] at depth DEPTH, rotations [b, v, 3, 3], scale, centre, mean pose height in px)."""
    frames = val_frames(poses)
    gen = torch.Generator().manual_seed(seed)
    pick = torch.randint(len(frames), (b,), generator=gen)
    joints3d = to_body_units(frames[pick]) + torch.tensor([0.0, 0.0, DEPTH])
    rots = random_rotations(b * v, gen).view(b, v, 3, 3)
    proj = kernels.rotate_project(joints3d, rots, DEPTH, backend="reference")                  # [b, v, J, 2]
    height = (proj[..., 1].amax(-1) - proj[..., 1].amin(-1)).mean().item()
    scale = HEIGHT_FRACTION * size / height
    return joints3d.to(device), rots.to(device), scale, (size / 2, size / 2), height * scale


def operations(impls: tuple[str, ...], compiled: bool) -> list[tuple[str, str]]:
    """(op, impl) pairs of one grid point; the reference render_views is the unfused chain itself."""
    ops = [("render_skeleton", i) for i in impls] + [("rotate_project+render_skeleton", i) for i in impls]
    ops += [("render_views", i) for i in impls if i != "reference"]
    return ops + [("render_skeleton", COMPILED)] if compiled else ops


@functools.cache
def compiled_reference():
    """torch.compile of the reference render_skeleton: the other candidate for the CPU path."""
    return torch.compile(reference.render_skeleton, dynamic=False)


def run_op(op: str, impl: str, joints2d, joints3d, rots, bones, size: int, scale: float, center,
           backward: bool) -> None:
    """One call of an op, with a backward pass of ones when asked."""
    if backward:
        joints2d, joints3d, rots = (t.clone().requires_grad_() for t in (joints2d, joints3d, rots))
    hw = (size, size)
    if op == "render_skeleton" and impl == COMPILED:
        out = compiled_reference()(joints2d, bones, hw, GAMMA)
    elif op == "render_skeleton":
        out = kernels.render_skeleton(joints2d, bones, hw, GAMMA, backend=impl)
    elif op == "render_views":
        out = kernels.render_views(joints3d, rots, bones, hw, GAMMA, DEPTH, scale, center, backend=impl)
    else:
        proj = kernels.rotate_project(joints3d, rots, DEPTH, backend=impl)              # [B, V, J, 2]
        pixels = (proj * scale + proj.new_tensor(center)).flatten(0, 1)
        out = kernels.render_skeleton(pixels, bones, hw, GAMMA, backend=impl)
    if backward:
        out.backward(torch.ones_like(out))


FIELDS = ["op", "impl", "pass", "B", "V", "images", "H", "W", "J", "K", "gamma", "pose_height_px", "time_ms",
          "cpu_time_ms", "peak_mb", "calls", "baseline", "speedup_vs_baseline", "cpu_time_speedup_vs_baseline",
          "memory_fraction_of_baseline", "skipped", "pose_source", "machine", "commit"]


def bench_point(b: int, v: int, size: int, impls: tuple[str, ...], device: str,
                poses: str | None = None) -> list[dict]:
    """The rows of one grid point: every (op, impl), forward and forward+backward."""
    cuda = device == "cuda"
    limit = CUDA_MEMORY_FRACTION * torch.cuda.get_device_properties(0).total_memory if cuda else MEMORY_LIMIT
    bones = torch.tensor(H36M17.bones, device=device)
    joints3d, rots, scale, center, height_px = make_inputs(b, v, size, device, poses=poses)
    proj = kernels.rotate_project(joints3d, rots, DEPTH, backend="reference")           # [B, V, J, 2]
    joints2d = (proj * scale + proj.new_tensor(center)).flatten(0, 1)                  # [B*V, J, 2]
    elements = b * v * len(bones) * size * size
    rows = []
    for pass_ in ("forward", "forward+backward"):
        backward = pass_ == "forward+backward"
        for op, impl in operations(impls, (b, size, v) == COMPILE_POINT):
            row = dict(op=op, impl=impl, **{"pass": pass_}, B=b, V=v, images=b * v, H=size, W=size,
                       J=H36M17.num_joints, K=len(bones), gamma=GAMMA, pose_height_px=round(height_px, 1),
                       pose_source=POSE_SOURCE)
            estimate = REFERENCE_BYTES_PER_ELEMENT[pass_] * elements
            if impl in ("reference", COMPILED) and estimate > limit:
                row["skipped"] = f"reference needs ~{estimate / 2**30:.0f} GB > {limit / 2**30:.0f} GB"
            else:
                call = functools.partial(run_op, op, impl, joints2d, joints3d, rots, bones, size, scale, center,
                                         backward)
                with torch.set_grad_enabled(backward):
                    if impl == COMPILED:
                        call()    # compile outside the measurement
                    seconds, cpu_seconds, peak, calls = measure(call, cuda)
                row.update(time_ms=round(seconds * 1e3, 3), cpu_time_ms=round(cpu_seconds * 1e3, 3),
                           peak_mb=round(peak / 2**20, 2), calls=calls)
            rows.append(row)
            print({k: row.get(k) for k in ("op", "impl", "pass", "B", "V", "H", "time_ms", "cpu_time_ms",
                                            "peak_mb", "skipped")}, flush=True)
    return rows


def revision() -> str:
    """The commit (_env.commit), or $REALTIME3D_COMMIT where there is no git folder (a lent GPU machine
    gets the working tree without it; benchmarks/gpu_check.sh passes the commit on)."""
    rev = commit()
    return os.environ.get("REALTIME3D_COMMIT", rev) if rev == "unknown" else rev


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="only B=256, 64x64, V=1 (the acceptance point)")
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu",
                        help="cpu: reference vs the fused CPU path; cuda: reference and torch.compile vs Triton")
    parser.add_argument("--out", help="CSV file to write (default: benchmarks/results/kernels.csv, on CUDA "
                                      "benchmarks/results/gpu/kernels_cuda.csv)")
    parser.add_argument("--poses", metavar="NPZ", help="an .npz whose joints3d [N, 17, 3] mm are the CMU val "
                                                       "frames (default: the CMU loader)")
    args = parser.parse_args(argv)
    results = Path(__file__).resolve().parent / "results"
    cuda = args.device == "cuda"
    if cuda and not torch.cuda.is_available():
        parser.error("--device cuda: no CUDA device here")
    out = args.out or str(results / "gpu" / "kernels_cuda.csv" if cuda else results / "kernels.csv")
    torch.set_num_threads(1)
    impls = ("reference", "triton") if cuda else ("reference", "cpu")
    grid = (CUDA_FULL if cuda else FULL) if not args.quick else QUICK
    machine, rev = json.dumps(machine_info() | (gpu_info() if cuda else {})), revision()
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    rows = []
    for size in grid["sizes"]:
        for b in grid["batches"]:
            for v in grid["views"]:
                rows += bench_point(b, v, size, impls, args.device, args.poses)
                if cuda:                 # after every point: a GPU run cut short by its time limit keeps its rows
                    write_rows(out, rows, machine, rev)
    write_rows(out, rows, machine, rev)
    print(f"wrote {out}")
    return 0


def write_rows(out: str, rows: list[dict], machine: str, rev: str) -> None:
    add_ratios(rows)
    with atomic_path(out) as tmp:
        with open(tmp, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=FIELDS)
            writer.writeheader()
            writer.writerows({**row, "machine": machine, "commit": rev} for row in rows)


def gpu_info() -> dict:
    """The GPU beside machine_info(): name, memory, CUDA runtime, Triton version."""
    import triton
    props = torch.cuda.get_device_properties(0)
    return {"gpu": props.name, "gpu_memory_gb": round(props.total_memory / 2**30, 1),
            "cuda_runtime": torch.version.cuda, "triton": triton.__version__}


def add_ratios(rows: list[dict]) -> None:
    """Each row against its baseline in the same run: render_skeleton against the reference
    render_skeleton; render_views and the unfused chain against the reference unfused chain."""
    index = {(r["op"], r["impl"], r["pass"], r["B"], r["V"], r["H"]): r for r in rows}
    for r in rows:
        base_op = "render_skeleton" if r["op"] == "render_skeleton" else "rotate_project+render_skeleton"
        base = index.get((base_op, "reference", r["pass"], r["B"], r["V"], r["H"]))
        if r["impl"] == "reference" and r["op"] == base_op or base is None:
            continue
        r["baseline"] = f"{base_op}[reference]"
        if "time_ms" in base and "time_ms" in r:
            r["speedup_vs_baseline"] = round(base["time_ms"] / r["time_ms"], 2)
            r["cpu_time_speedup_vs_baseline"] = round(base["cpu_time_ms"] / max(r["cpu_time_ms"], 1e-3), 2)
            r["memory_fraction_of_baseline"] = round(r["peak_mb"] / max(base["peak_mb"], 1e-9), 4)


if __name__ == "__main__":
    sys.exit(main())
