"""Input files: one check, and one wording, for every command that reads files."""
from __future__ import annotations

import os


def require_file(path: str | os.PathLike) -> str:
    """path as a str; FileNotFoundError if nothing is there, ValueError if it is not a file (a folder)."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"no such file: {path}")
    if not os.path.isfile(path):
        kind = "a folder" if os.path.isdir(path) else "not a regular file"
        raise ValueError(f"{path}: {kind}, not a file; give the files themselves (for example {path}/*)"
                         if os.path.isdir(path) else f"{path}: {kind}")
    return path
