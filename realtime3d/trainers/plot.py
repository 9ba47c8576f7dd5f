"""Training curves of a run folder (log.csv, eval.csv) drawn to PNG with matplotlib (Agg)."""
from __future__ import annotations

import csv
import json
import os
import textwrap
from pathlib import Path

from realtime3d.io._atomic import atomic_path
from ..errors import UserError
from .logs import EVAL_CSV, TRAIN_CSV


#: The label of each 2D selection criterion's axis (realtime3d/trainers/evaluation.py CRITERIA).
CRITERION_AXES = {"val_cycle_2d": "val_cycle_2d (% of pose radius)",
                  "val_render_2d": "val_render_2d (% of the torso height)",
                  "val_disagreement": "val_disagreement (%)", "val_disagreement_footage": "val_disagreement_footage (%)"}


def _read(path: Path) -> list[dict[str, str]]:
    if not path.is_file():
        return []
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def _series(rows: list[dict[str, str]], key: str) -> tuple[list[float], list[float]]:
    pts = [(float(r["step"]), float(r[key])) for r in rows if r.get(key) not in (None, "")]
    return [p[0] for p in pts], [p[1] for p in pts]


def _title(run_dir: Path) -> str:
    """The experiment's name and overrides from config.json, else the folder's name."""
    try:
        exp = json.loads((run_dir / "config.json").read_text())
        return " ".join([exp["name"], *exp.get("overrides", [])])
    except (OSError, ValueError, KeyError, TypeError):
        return run_dir.name


def _criterion(run_dir: Path) -> str:
    """The score that selected the run's best.pt: its method's criterion (config.json)."""
    try:
        from .config import method_class
        return method_class(json.loads((run_dir / "config.json").read_text())["method"]).criterion
    except (OSError, ValueError, KeyError, TypeError):
        return "val_cycle_2d"


def plot_run(run_dir: str | os.PathLike, out: str | os.PathLike | None = None) -> Path:
    """Losses vs step (left), validation and cmu-test P-MPJPE vs step (right), and the 2D
    selection criterion on the right's second axis -> PNG (default RUN_DIR/curves.png). The
    legend says which score selects the model (config.json's method)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise UserError(f"no run folder at {run_dir}")
    train, evals = _read(run_dir / TRAIN_CSV), _read(run_dir / EVAL_CSV)
    if not train and not evals:
        raise UserError(f"{run_dir}: no {TRAIN_CSV} or {EVAL_CSV} with rows to plot")
    out = Path(out) if out else run_dir / "curves.png"
    fig, (ax_loss, ax_eval) = plt.subplots(1, 2, figsize=(11, 4), dpi=110)
    losses = [k for k in (train[0] if train else {}) if k not in ("step", "time_s") and not k.startswith("lr_")]
    for key in losses:
        ax_loss.plot(*_series(train, key), label=key, linewidth=1)
    ax_loss.set_xlabel("step")
    ax_loss.set_ylabel("loss")
    ax_loss.set_title("training losses")
    selects = _criterion(run_dir)
    for key, label in (("val_p_mpjpe", "val 3D"), ("test_p_mpjpe_mm", "cmu-test 3D")):
        steps, values = _series(evals, key)
        if steps:
            note = "selects the model" if key == selects else "logged only"
            ax_eval.plot(steps, values, marker="o", markersize=2, label=f"{label} ({note})")
    ax_eval.set_xlabel("step")
    ax_eval.set_ylabel("P-MPJPE (mm)")
    ax_eval.set_title("evaluation")
    axes = [ax_loss, ax_eval]
    score = selects if selects in CRITERION_AXES else "val_cycle_2d"     # the 2D criterion, or the lifters' one
    steps, values = _series(evals, score)
    if steps:
        ax_2d = ax_eval.twinx()
        note = "selects the model" if selects == score else "logged only"
        ax_2d.plot(steps, values, color="tab:green", marker="s", markersize=2, linewidth=1,
                   label=f"{score} ({note})")
        ax_2d.set_ylabel(CRITERION_AXES[score])
        handles = [h for ax in (ax_eval, ax_2d) for h in ax.get_legend_handles_labels()[0]]
        ax_eval.legend(handles, [h.get_label() for h in handles], fontsize=8)
        axes = [ax_loss]
    for ax in axes:
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend()
    fig.suptitle(textwrap.fill(_title(run_dir), 110), fontsize=9)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(out, suffix=".png") as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)
    return out
