"""Atomic file writes: write to a temporary file beside the target, then rename.

Temporary files are named TEMP_PREFIX + random + the target's suffix, so that a run
killed before its rename (SIGKILL, power loss) leaves files that remove_stale_temps()
can find and delete.
"""
from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path
from typing import Iterator

TEMP_PREFIX = ".tmp-"


def _create_temp(folder: str, suffix: str) -> str:
    """Create an empty, new file in folder and return its path.

    os.open with mode 0o666 lets the kernel apply the process umask, as for any output
    file (tempfile.mkstemp would make it 0o600); the umask itself is never read or set,
    so no other thread's files are affected."""
    for _ in range(100):
        tmp = os.path.join(folder, f"{TEMP_PREFIX}{secrets.token_hex(6)}{suffix}")
        try:
            os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
            return tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"{folder}: cannot create a temporary file")


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str = "") -> Iterator[str]:
    """Yield a temporary path in the target's folder; rename it over `path` on success."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    tmp = _create_temp(folder, suffix or os.path.splitext(path)[1])
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    with atomic_path(path) as tmp:
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(text)


def remove_stale_temps(folder: str | os.PathLike) -> list[Path]:
    """Delete the temporary files that killed writers left in folder; returns what was removed."""
    removed = []
    for stale in Path(folder).glob(f"{TEMP_PREFIX}*"):
        if stale.is_file():
            with contextlib.suppress(OSError):
                stale.unlink()
                removed.append(stale)
    return removed
