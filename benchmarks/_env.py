"""Machine and commit, recorded by every benchmark beside its numbers."""
from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path

from realtime3d.io._atomic import atomic_write_text


def machine_info() -> dict:
    cpu = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import torch
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "cuda": torch.cuda.is_available(),
        "platform": platform.platform(),
    }


def commit() -> str:
    root = Path(__file__).resolve().parent.parent
    try:
        rev = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                               capture_output=True, text=True, check=True).stdout.strip()
        return rev.stdout.strip() + ("+dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def write_json(path: str | os.PathLike, result: dict) -> None:
    """result as indented JSON, written atomically (its folder made first)."""
    import json
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps(result, indent=2) + "\n")


def write_csv(path: str | os.PathLike, rows: list[dict], info: dict) -> None:
    """rows as CSV under a `# key=value ...` line (machine, commit, settings), written atomically."""
    import csv
    import io
    text = io.StringIO()
    text.write("# " + " ".join(f"{k}={v}" for k, v in info.items()) + "\n")
    writer = csv.DictWriter(text, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, text.getvalue())
