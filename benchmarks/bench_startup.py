"""How fast the command starts, and how big the installed environment is.

Each command runs in a fresh process; the figure is the median wall time of --repeats runs:
- `python -c pass`: the interpreter alone, the floor every command pays;
- `realtime3d --version`, `realtime3d --help`, `realtime3d video --help`: what a user types
  first (the parser is built from realtime3d/defaults.py, without torch, scipy or OpenCV);
- `import realtime3d.collection`: the modules the parser imported before the defaults moved
  out of them (torch, scipy, OpenCV, MediaPipe's pipeline), the baseline.

Also the size of the virtual environment that runs it (site-packages, the five largest
packages) and whether triton is in it: the app's own install leaves triton out (it is in
the `test` extra, for the kernels' interpreter tests; CUDA builds of torch bring their own).
Writes benchmarks/results/startup.json (machine, commit). --root times another checkout's
command with the interpreter running this script (its own environment's), from that folder:
how the baseline of an earlier commit is measured on the same machine.

    python benchmarks/bench_startup.py [--repeats 7] [--root CHECKOUT] [--out FILE]
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _args  # noqa: E402
from _env import commit, machine_info  # noqa: E402

from realtime3d.io._atomic import atomic_write_text  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "startup.json"
CLI = [sys.executable, "-m", "realtime3d"]
COMMANDS = {
    "python -c pass": [sys.executable, "-c", "pass"],
    "realtime3d --version": [*CLI, "--version"],
    "realtime3d --help": [*CLI, "--help"],
    "realtime3d video --help": [*CLI, "video", "--help"],
    "import realtime3d.collection (baseline)": [sys.executable, "-c", "import realtime3d.collection"],
}


def seconds(argv: list[str], repeats: int, root: Path) -> dict:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=root)
        times.append(time.perf_counter() - t0)
    return {"median_s": round(statistics.median(times), 3), "runs_s": [round(t, 3) for t in times]}


def folder_mb(path: Path) -> float:
    total = 0
    for root, _, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except OSError:
                pass
    return round(total / 2**20, 1)


def environment() -> dict:
    site = Path(sysconfig.get_paths()["purelib"])
    sizes = {p.name: folder_mb(p) for p in site.iterdir() if p.is_dir() and not p.name.endswith("-info")}
    largest = dict(sorted(sizes.items(), key=lambda kv: -kv[1])[:5])
    return {"prefix": sys.prefix, "site_packages_mb": folder_mb(site), "largest_mb": largest,
            "triton_installed": importlib.util.find_spec("triton") is not None}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=_args.odd, default=7, help="runs per command; the median is kept (odd, default 7)")
    ap.add_argument("--out", default=str(RESULTS), help="results file (default: benchmarks/results/startup.json)")
    ap.add_argument("--root", type=Path, default=ROOT,
                    help="the checkout whose command is timed, run from its folder (default: this one)")
    args = ap.parse_args()
    root = args.root.resolve()
    for argv in COMMANDS.values():              # warm the file cache: every run then reads the same
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=root)
    results = {name: seconds(argv, args.repeats, root) for name, argv in COMMANDS.items()}
    for name, r in results.items():
        print(f"{name:42s} {r['median_s']:.3f} s")
    env = environment()
    print(f"site-packages {env['site_packages_mb'] / 1024:.2f} GB, triton installed: {env['triton_installed']}")
    timed = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True).stdout.strip()
    report = {"machine": machine_info(), "commit": commit(), "timed_checkout": str(root),
              "timed_commit": timed or "unknown", "repeats": args.repeats, "commands": results, "environment": env}
    atomic_write_text(args.out, json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
