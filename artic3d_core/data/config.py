"""Typed ``data`` and ``synth`` sections of params.yaml (spec §1)."""

from artic3d_core.strict import StrictModel


class DataConfig(StrictModel):
    """The ``data`` section of params.yaml."""


class SynthConfig(StrictModel):
    """The ``synth`` section of params.yaml: the synthetic benchmark generator."""
