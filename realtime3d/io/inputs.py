"""Input files: one check, and one wording, for every command that reads files."""
from __future__ import annotations

import os

from ..errors import UserError


def require_file(path: str | os.PathLike) -> str:
    """path as a str; FileNotFoundError if nothing is there, ValueError if it is not a file (a folder)."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise UserError(f"no such file: {path}")
    if os.path.isdir(path):
        raise ValueError(f"{path}: a folder, not a file; give the files themselves (for example {path}/*)")
    if not os.path.isfile(path):
        raise ValueError(f"{path}: not a regular file")
    return path
