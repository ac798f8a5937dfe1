"""Animation and T-DASS (spec §9)."""
