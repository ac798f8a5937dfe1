"""DINO features, clustering and masks (spec §2)."""
