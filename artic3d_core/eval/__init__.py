"""Evaluation: PCK keypoint transfer, IoU, CLIP similarity (spec §10)."""
