"""Skeleton discovery (docs/method.md §3)."""
