"""The one error class the command reports as a single line.

A `UserError` says what the user gave that cannot work (a file that is not a video, a flag out of
range, a config key that does not exist) and how to fix it; the `realtime3d` command prints its
first line and exits with status 2. Every other exception is a bug: the command shows its
traceback and asks for a report. `UserError` is a `ValueError`, so callers that catch bad values
keep working.
"""
from __future__ import annotations


class UserError(ValueError):
    """Bad input from the user, reported as one line with exit status 2 (never a traceback)."""
