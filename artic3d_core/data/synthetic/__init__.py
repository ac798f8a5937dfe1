"""Synthetic articulated-animal benchmark: procedural animals (skeleton + ellipsoid parts, the
model's representation without MLP deformation), rendered with an exact ray–ellipsoid
rasteriser, written in the LASSIE on-disk format plus a ground-truth sidecar."""

from artic3d_core.data.synthetic.generator import PRESETS, Preset, generate
from artic3d_core.data.synthetic.ground_truth import SynthGroundTruth, load_ground_truth
from artic3d_core.data.synthetic.templates import TEMPLATES, AnimalTemplate

__all__ = [
    "PRESETS",
    "TEMPLATES",
    "AnimalTemplate",
    "Preset",
    "SynthGroundTruth",
    "generate",
    "load_ground_truth",
]
