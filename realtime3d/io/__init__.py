"""File formats: BVH motion capture and the pose-sequence files."""
