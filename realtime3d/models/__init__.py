"""Networks: pure nn.Modules, no I/O."""
from .lifter import ConstantDepthNetwork, Discriminator2D, LiftingNetwork, ResidualBlock

__all__ = ["ConstantDepthNetwork", "Discriminator2D", "LiftingNetwork", "ResidualBlock"]
