"""Animation and T-DASS (docs/method.md §9)."""
