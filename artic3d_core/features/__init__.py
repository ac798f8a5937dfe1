"""DINO features, clustering and masks (docs/method.md §2)."""
