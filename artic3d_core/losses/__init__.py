"""Loss weights and constants (spec §6)."""
