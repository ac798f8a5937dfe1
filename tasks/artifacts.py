"""Atomic artifacts with provenance: every unit of work is a folder with ``manifest.json``.

A unit folder is built in a hidden sibling (``.<name>.tmp-<pid>-<rand>``) and renamed into place
only when complete (:func:`artic3d_core.atomic.atomic_write_dir`), with its manifest inside. A process killed at any moment therefore leaves
either the previous complete unit or none — never a half-written one; leftover temp folders of
dead processes are removed by the next run. The manifest records the cache key, the params hash,
the weights (profile + fingerprint, flagged when random), the seed, the git revision and the
size and sha256 of every file.
"""

from __future__ import annotations

import functools
import json
import logging
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from artic3d_core.atomic import (
    TMP_TAG,
    atomic_write_bytes,
    atomic_write_dir,
    atomic_write_text,
    file_sha256,
)

log = logging.getLogger(__name__)

__all__ = [
    "MANIFEST",
    "Provenance",
    "UnitResult",
    "atomic_write_bytes",
    "atomic_write_json",
    "atomic_write_text",
    "build_unit",
    "git_revision",
    "read_manifest",
    "valid_manifest",
]

MANIFEST = "manifest.json"


def atomic_write_json(path: str | Path, obj: Any) -> Path:
    return atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n")


@functools.lru_cache(maxsize=8)
def git_revision(root: str = ".") -> str:
    """``<commit>`` or ``<commit>+dirty`` of the repository at ``root``; ``unknown`` outside git.
    Read-only git commands only."""
    try:
        rev = subprocess.run(
            ["git", "-C", root, "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10
        )
        if rev.returncode != 0:
            return "unknown"
        dirty = subprocess.run(
            ["git", "-C", root, "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=20,
        )
        return rev.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


@dataclass(frozen=True)
class Provenance:
    """What made an artifact. ``weights``: one ``WeightsInfo.as_dict()`` per model used."""

    params_hash: str
    sections: dict[str, str]  # section name -> hash of that section
    seed: int
    git_revision: str
    code_version: str
    weights_profile: str
    weights: tuple[dict[str, Any], ...] = ()

    def with_weights(self, infos: list[Any]) -> Provenance:
        """A copy recording the given ``WeightsInfo`` objects (None entries are dropped)."""
        rows = tuple(i.as_dict() if hasattr(i, "as_dict") else dict(i) for i in infos if i)
        return Provenance(**{**asdict(self), "weights": self.weights + rows})

    @property
    def random_weights(self) -> bool:
        return any(w.get("random") for w in self.weights)


@dataclass(frozen=True)
class UnitResult:
    """The outcome of one unit: its folder, key, and whether it was reused (skipped)."""

    stage: str
    path: str
    key: str
    skipped: bool
    seconds: float
    meta: dict[str, Any] = field(default_factory=dict)


def _list_files(root: Path) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for p in sorted(root.rglob("*")):
        if p.is_file() and p.name != MANIFEST and TMP_TAG not in p.name:
            rel = p.relative_to(root).as_posix()
            out[rel] = {"size": p.stat().st_size, "sha256": file_sha256(p)}
    return out


def read_manifest(unit_dir: str | Path) -> dict[str, Any] | None:
    """The unit's manifest, or None when absent or unreadable."""
    p = Path(unit_dir) / MANIFEST
    try:
        return json.loads(p.read_text())
    except (OSError, ValueError):
        return None


def valid_manifest(unit_dir: str | Path, key: str) -> dict[str, Any] | None:
    """The manifest if it carries ``key`` and every file it lists exists with its size and
    sha256; otherwise None, with one log line naming the first file that differs."""
    unit_dir = Path(unit_dir)
    m = read_manifest(unit_dir)
    if m is None or m.get("key") != key:
        return None
    for rel, info in m.get("files", {}).items():
        p = unit_dir / rel
        if not p.is_file():
            log.warning("%s: %s is missing; recomputing the unit", unit_dir, rel)
            return None
        if p.stat().st_size != info.get("size") or file_sha256(p) != info.get("sha256"):
            log.warning("%s: %s changed since it was written (sha256); recomputing", unit_dir, rel)
            return None
    return m


def build_unit(
    stage: str,
    out_dir: str | Path,
    key: str,
    provenance: Provenance,
    body: Callable[[Path], dict[str, Any] | None],
    force: bool = False,
    readonly: bool = False,
    shared_seconds: float = 0.0,
) -> UnitResult:
    """Produce the unit folder ``out_dir`` unless a valid one with ``key`` exists.

    ``body(tmp_dir)`` writes the unit's files into ``tmp_dir`` and returns extra manifest
    metadata; it may return ``{"weights": [WeightsInfo, ...]}`` to record the weights it used.
    ``readonly``: only reuse — a missing or stale unit is an error (an upstream stage that the
    current invocation is not allowed to run, e.g. under a DVC stage that does not own it).
    ``shared_seconds``: this unit's share of work done for several units at once before
    ``body`` (images fitted together), added to the seconds its manifest records.
    """
    out_dir = Path(out_dir)
    t0 = time.perf_counter()
    if not force:
        m = valid_manifest(out_dir, key)
        if m is not None:
            log.info("%s: %s is up to date (key %s), skipped", stage, out_dir, key)
            return UnitResult(stage, str(out_dir), key, True, 0.0, m.get("meta", {}))
    if readonly:
        from tasks.errors import BadInputError

        raise BadInputError(
            f"{stage}: {out_dir} is missing or out of date (key {key}); run the stage that "
            "makes it first (dvc repro, or reconstruct_class without --stages)"
        )

    def fill(tmp: Path) -> tuple[dict[str, Any], float]:
        meta = dict(body(tmp) or {})
        weights = meta.pop("weights", None) or []
        prov = provenance.with_weights(list(weights))
        seconds = round(shared_seconds + time.perf_counter() - t0, 3)
        manifest = {
            "stage": stage,
            "key": key,
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "host": socket.gethostname(),
            "seconds": seconds,
            "provenance": asdict(prov),
            "random_weights": prov.random_weights,
            "meta": meta,
            "files": _list_files(tmp),
        }
        atomic_write_json(tmp / MANIFEST, manifest)
        return meta, seconds

    meta, seconds = atomic_write_dir(out_dir, fill)
    log.info("%s: wrote %s in %.1f s", stage, out_dir, seconds)
    return UnitResult(stage, str(out_dir), key, False, seconds, meta)


def build_units_together(
    stage: str,
    outs: list[Path],
    keys: list[str],
    provenance: Provenance,
    compute: Callable[[list[int]], tuple[Any, float]],
    write: Callable[[Any, int, Path], dict[str, Any] | None],
    force: bool = False,
    readonly: bool = False,
) -> list[UnitResult]:
    """Units made by one computation for several items (images enhanced or fitted together).

    The items whose unit folder ``outs[j]`` is not up to date with ``keys[j]`` are computed in
    one call ``compute(todo)`` → (result, seconds); then each is written as its own unit by
    ``write(result, row, tmp_dir)`` (``row``: its position in ``todo``), its manifest counting
    its share of the seconds. Up-to-date units are reused as :func:`build_unit` reuses them."""
    todo = [j for j, (o, k) in enumerate(zip(outs, keys, strict=True))
            if force or valid_manifest(o, k) is None]  # fmt: skip
    result, share = None, 0.0
    if todo and not readonly:
        result, seconds = compute(todo)
        share = seconds / len(todo)
    units = []
    for j, (out, key) in enumerate(zip(outs, keys, strict=True)):
        row = todo.index(j) if result is not None and j in todo else None

        def body(tmp: Path, row: int | None = row) -> dict[str, Any] | None:
            return write(result, row, tmp)

        forced = force and row is not None
        units.append(build_unit(stage, out, key, provenance, body, forced, result is None, share))
    return units
