"""Prefect options shared by every stage task.

Retries only for transient failures (:func:`tasks.errors.retry_transient`). Prefect's own
result cache is off: a stage's result *is* its unit folder, and the unit's manifest carries the
cache key (inputs + params sections + code version) that decides whether it is reused — this
survives DVC deleting outputs, a killed process, and a fresh Prefect home.
"""

from __future__ import annotations

from typing import Any

from prefect.cache_policies import NO_CACHE

from tasks.errors import retry_transient

TASK_OPTIONS: dict[str, Any] = dict(
    retries=2,
    retry_delay_seconds=2,
    retry_condition_fn=retry_transient,
    cache_policy=NO_CACHE,
    persist_result=False,
)
