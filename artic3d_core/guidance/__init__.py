"""Diffusion guidance: DASS, SDS, none (spec §8)."""
