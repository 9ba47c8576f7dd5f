"""The weights file that trainers.checkpoint.save_model writes: {"state_dict", "card"}, read once
for every kind of shipped network (lifters, skeleton nets), with one wording for a bad file."""
from __future__ import annotations

import os

import torch

from ..errors import UserError


def read_weights(path: str | os.PathLike, what: str) -> tuple[dict, dict]:
    """Read a weights file.

    Args:
        path: the file (a user's --model or --detector-weights, or a shipped one).
        what: the kind of network, for the message ("lifter", "skeleton net").

    Returns:
        (card, state_dict): the model card, and the state dict with floating tensors as float32.

    Raises:
        UserError: the file is not one; its one line names it as "not a realtime3d WHAT
            checkpoint" and says why.
    """
    not_ours = f"{path}: not a realtime3d {what} checkpoint"
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:   # pickle, zip and torch errors alike: the file is not a checkpoint
        raise UserError(f"{not_ours} (torch.load: {exc.__class__.__name__})") from None
    if not isinstance(ckpt, dict):
        raise UserError(f"{not_ours} (it holds a {type(ckpt).__name__}, not a checkpoint dict)")
    card, state = ckpt.get("card"), ckpt.get("state_dict")
    if not (isinstance(card, dict) and isinstance(card.get("architecture"), dict) and isinstance(state, dict)):
        raise UserError(f"{not_ours} (no card with an architecture, or no state_dict)")
    return card, {k: v.float() if v.is_floating_point() else v for k, v in state.items()}
