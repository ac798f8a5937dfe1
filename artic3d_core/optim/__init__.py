"""Optimisation stages and schedules (spec §7)."""
