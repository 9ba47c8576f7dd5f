"""Networks: pure nn.Modules, no I/O."""
from __future__ import annotations

from torch import nn

from .lifter import ConstantDepthNetwork, Discriminator2D, LiftingNetwork, ResidualBlock
from .svmac import SVMACNetwork
from .chen import ChenLifter, CoordinateRegressor
from .temporal import TemporalLiftingNetwork

#: architecture["kind"] -> the lifting network class it rebuilds (no kind: LiftingNetwork).
KINDS: dict[str, type[nn.Module]] = {"lifting": LiftingNetwork, "svmac": SVMACNetwork}
KINDS.update({"chen": ChenLifter, "chen-coords": CoordinateRegressor, "temporal": TemporalLiftingNetwork})


def build_network(architecture: dict) -> nn.Module:
    """The lifting network of a model card's architecture dict (what save_model wrote)."""
    args = dict(architecture)
    kind = args.pop("kind", "lifting")
    if kind not in KINDS:
        raise ValueError(f"unknown network kind {kind!r}; known: {', '.join(sorted(KINDS))}")
    return KINDS[kind](**args)


__all__ = ["ConstantDepthNetwork", "Discriminator2D", "KINDS", "LiftingNetwork", "ResidualBlock",
           "TemporalLiftingNetwork", "build_network"]
