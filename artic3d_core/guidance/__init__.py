"""Diffusion guidance: DASS, SDS, none (docs/method.md §8)."""
