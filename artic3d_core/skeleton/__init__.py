"""Skeleton discovery (spec §3)."""
