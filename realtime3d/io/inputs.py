"""Input files: one check, and one wording, for every command that reads files."""
from __future__ import annotations

import os

from ..errors import UserError


def require_file(path: str | os.PathLike) -> str:
    """path as a str, or a UserError if nothing is there or it is not a regular file (a folder)."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise UserError(f"no such file: {path}")
    if os.path.isdir(path):
        raise UserError(f"{path}: a folder, not a file; give the files themselves (for example {path}/*)")
    if not os.path.isfile(path):
        raise UserError(f"{path}: not a regular file")
    return path
