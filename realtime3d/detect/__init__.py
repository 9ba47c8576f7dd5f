"""2D detectors: their joints mapped into skeleton.H36M17."""
