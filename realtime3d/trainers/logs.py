"""Scalars of a run: CSV always (log.csv: losses and learning rates; eval.csv: validation and
test metrics), TensorBoard too when the `tensorboard` package is installed. Rank 0 only."""
from __future__ import annotations

import csv
import os
from pathlib import Path

TRAIN_CSV = "log.csv"
EVAL_CSV = "eval.csv"


class CsvTable:
    """Rows of scalars with a fixed header (`fields`, or the first row's keys); appends across
    resumes; a row may leave columns empty."""

    def __init__(self, path: Path, resume_step: int | None, fields: list[str] | None = None):
        self.path = path
        self.fields = fields
        if resume_step is not None and path.exists():
            self._truncate_after(resume_step)
        elif path.exists():
            path.unlink()

    def _truncate_after(self, step: int) -> None:
        """Drop the rows a killed run logged after its last checkpoint: they are trained again."""
        with open(self.path, newline="") as fh:
            reader = csv.DictReader(fh)
            rows = list(reader)
        self.fields = self.fields or list(reader.fieldnames or []) or None
        with open(self.path, "w", newline="") as fh:
            if self.fields:   # the current columns: a resumed run may log more than the killed one
                writer = csv.DictWriter(fh, fieldnames=self.fields, extrasaction="ignore")
                writer.writeheader()
                writer.writerows(r for r in rows if int(r["step"]) <= step)

    def write(self, row: dict) -> None:
        self.fields = self.fields or list(row)
        header = not self.path.exists() or self.path.stat().st_size == 0
        with open(self.path, "a", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=self.fields)
            if header:
                writer.writeheader()
            writer.writerow(row)


class RunLog:
    """log.csv and eval.csv in the run folder, mirrored to run_dir/tb when TensorBoard is there."""

    def __init__(self, run_dir: str | os.PathLike, resume_step: int | None = None,
                 eval_fields: tuple[str, ...] = ("val_p_mpjpe",)):
        self.dir = Path(run_dir)
        self.train = CsvTable(self.dir / TRAIN_CSV, resume_step)
        self.eval = CsvTable(self.dir / EVAL_CSV, resume_step, ["step", "time_s", *eval_fields])
        try:
            from torch.utils.tensorboard import SummaryWriter
            self.tb = SummaryWriter(str(self.dir / "tb"), purge_step=resume_step)
        except ImportError:        # tensorboard is optional
            self.tb = None

    def scalars(self, table: CsvTable, step: int, time_s: float, values: dict[str, float]) -> None:
        table.write({"step": step, "time_s": round(time_s, 2), **{k: round(float(v), 6) for k, v in values.items()}})
        if self.tb is not None:
            for key, value in values.items():
                self.tb.add_scalar(key, value, step)

    def close(self) -> None:
        if self.tb is not None:
            self.tb.close()
