"""Checkpoints (everything a run needs to go on) and the exported best model.

A run folder keeps two checkpoints: ckpt-last.pt and ckpt-prev.pt. Writing one goes
to a temporary file beside them, flushed to disk, then ckpt-last.pt becomes
ckpt-prev.pt and the new file becomes ckpt-last.pt (two os.replace, each atomic).
A kill at any moment leaves at least one complete checkpoint.
"""
from __future__ import annotations

import os
import pickle
import zipfile
from pathlib import Path

import torch

from realtime3d.io._atomic import atomic_path

from ..errors import UserError

LAST = "ckpt-last.pt"
PREV = "ckpt-prev.pt"


def save_checkpoint(run_dir: str | os.PathLike, state: dict) -> Path:
    """Write state as run_dir/ckpt-last.pt, keeping the one before as ckpt-prev.pt."""
    run_dir = Path(run_dir)
    last, prev, tmp = run_dir / LAST, run_dir / PREV, run_dir / ".ckpt-new.pt"
    try:
        with open(tmp, "wb") as fh:
            torch.save(state, fh)
            fh.flush()
            os.fsync(fh.fileno())
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    if last.exists():
        os.replace(last, prev)
    os.replace(tmp, last)
    return last


def latest_checkpoint(run_dir: str | os.PathLike) -> Path:
    """ckpt-last.pt, or ckpt-prev.pt when a kill fell between the two renames."""
    run_dir = Path(run_dir)
    if not (run_dir / LAST).exists() and (run_dir / PREV).exists():
        return run_dir / PREV
    return run_dir / LAST


def load_checkpoint(path: str | os.PathLike) -> dict:
    """A checkpoint written by save_checkpoint; a missing, truncated or corrupt file is a
    ValueError/FileNotFoundError whose one line names the file and the fallback."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"no checkpoint at {path}")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)     # tensors and plain values only
        if not isinstance(state, dict) or "step" not in state or "models" not in state:
            raise KeyError("not a training checkpoint")
    except (RuntimeError, EOFError, OSError, KeyError, pickle.UnpicklingError, zipfile.BadZipFile,
            ValueError, AttributeError, TypeError) as exc:
        hint = ""
        if path.name == LAST and (path.parent / PREV).is_file():
            hint = f"; the previous checkpoint is intact: resume with --resume {path.parent / PREV}"
        raise UserError(f"{path}: corrupt or truncated checkpoint, or not one of realtime3d train "
                        f"({exc.__class__.__name__}){hint}") from None
    return state


def save_model(path: str | os.PathLike, model: torch.nn.Module, card: dict) -> None:
    """Weights (fp16 where that keeps the file small) with a model card, atomically; what
    Lifter.from_pretrained and `realtime3d eval --model` read."""
    state = {k: (v.detach().cpu().half() if v.is_floating_point() else v.cpu()) for k, v in model.state_dict().items()}
    card = {"architecture": model.architecture, **card}
    with atomic_path(path, suffix=".pt") as tmp:
        torch.save({"state_dict": state, "card": card}, tmp)
