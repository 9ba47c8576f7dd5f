"""Trainers, one per method (importable as realtime3d.trainers)."""
