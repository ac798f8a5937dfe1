"""``fetch_lassie``: download missing LASSIE / E-LASSIE images from their ``img_url``
(docs/method.md §1.3) and report what is present. Each download is validated as an image and
written atomically.

Class names and ids name the files written under the root, so they are checked as plain names
before anything is downloaded: an annotation file with an id that would write outside the root
(``x/../../etc``) raises DataError naming the file and line, and nothing of that file is fetched.
"""

from __future__ import annotations

import logging
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from artic3d_core.atomic import atomic_write
from artic3d_core.data.image_io import read_image
from artic3d_core.data.lassie import annotation_path, image_path, read_annotation_rows
from artic3d_core.data.records import DataError
from artic3d_core.data.safe_paths import check_name

__all__ = ["FetchReport", "fetch_lassie"]

log = logging.getLogger("artic3d.data")
LASSIE_CLASSES = ("zebra", "giraffe", "tiger", "elephant", "kangaroo", "penguin")


@dataclass
class FetchReport:
    """Per class: rows in the CSVs, images present, downloaded now, still missing (id: reason)."""

    cls: str
    rows: int = 0
    present: int = 0
    downloaded: int = 0
    missing: dict[str, str] = field(default_factory=dict)
    annotation_missing: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return not self.missing and not self.annotation_missing and self.rows > 0


def _download(url: str, dest: Path, timeout: float) -> None:
    import requests

    resp = requests.get(url, timeout=timeout, allow_redirects=True)
    resp.raise_for_status()

    def write(tmp: str) -> None:
        Path(tmp).write_bytes(resp.content)
        read_image(tmp)  # keep only what decodes as an image

    atomic_write(dest, write)


def fetch_lassie(
    root: str | Path,
    classes: list[str] | None = None,
    download: bool = True,
    timeout: float = 20.0,
) -> list[FetchReport]:
    """Check (and with ``download``, fetch) the images of LASSIE + E-LASSIE classes.

    Raises DataError for a class or id that is not a plain file name (see the module docstring);
    a missing or unreadable annotation file is reported in ``annotation_missing``.
    """
    root = Path(root)
    classes = [check_name(c, "class") for c in classes or list(LASSIE_CLASSES)]
    reports = []
    for cls in classes:
        rep = FetchReport(cls)
        for set_name in ("clean", "occluded"):
            csv_path = annotation_path(root, cls, set_name)
            if not csv_path.is_file():
                rep.annotation_missing.append(f"{csv_path}: annotation file not found")
                continue
            rows, _ = read_annotation_rows(csv_path)  # DataError: a malformed file or unsafe id
            for line, row in rows:
                image_id = (row.get("id") or "").strip()
                if not image_id:
                    continue
                rep.rows += 1
                dest = image_path(root, cls, image_id, f"{csv_path}:{line}")
                if dest.is_file():
                    rep.present += 1
                    continue
                url = (row.get("img_url") or "").strip()
                if not download or not url:
                    rep.missing[image_id] = "no img_url" if not url else "not downloaded"
                    continue
                try:
                    _download(url, dest, timeout)
                    rep.downloaded += 1
                    rep.present += 1
                except Exception as exc:  # network, HTTP, not an image: report, go on
                    rep.missing[image_id] = f"{type(exc).__name__}: {str(exc)[:120]}"
                    log.warning("%s: download of %s failed (%s)", dest, url, exc)
        reports.append(rep)
    return reports
