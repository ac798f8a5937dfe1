"""Optimisation stages and schedules (docs/method.md §7)."""
