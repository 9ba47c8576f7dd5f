"""Data: motion capture in the 17-joint skeleton, and 2D views sampled from it."""
