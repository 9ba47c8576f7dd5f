"""Reading an .npz archive of named arrays, with one-line errors that name the file."""
from __future__ import annotations

import os
import zipfile

import numpy as np

from ..errors import UserError


def read_npz(path: str | os.PathLike, error: type[UserError] = UserError, what: str = "file") -> dict[str, np.ndarray]:
    """Every array of the .npz archive at path, by name (no pickles).

    Raises:
        error: the path is missing, or is not a readable .npz archive of named arrays (one line).
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise error(f"{path}: no such {what}")
    try:
        loaded = np.load(path, allow_pickle=False)
        if not isinstance(loaded, np.lib.npyio.NpzFile):
            raise error(f"{path}: not an .npz archive of named arrays")
        with loaded as z:
            return {k: z[k] for k in z.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        if isinstance(exc, UserError):
            raise
        raise error(f"{path}: not a readable .npz file ({exc.__class__.__name__})") from None
