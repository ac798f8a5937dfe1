"""The paper's published numbers (versioned data file ``paper_numbers.yaml``, docs/method.md §12)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

__all__ = ["PAPER_NUMBERS_FILE", "PaperCell", "load_paper_numbers", "parse_cell"]

PAPER_NUMBERS_FILE = Path(__file__).with_name("paper_numbers.yaml")

_CELL = re.compile(r"^(?P<int>\d+)\.(?P<dec>\d+|x)(?:\s*\[(?P<rec>\d+(?:\.\d+)?)\])?(?P<rest>.*)$")


@dataclass(frozen=True)
class PaperCell:
    """A published number: ``shown`` as printed; ``value`` the nominal number (integer part
    when the decimal is lost, the recollection if one is given); ``certain`` only if all digits
    survived and the placement is not in doubt."""

    shown: str
    value: float | None
    certain: bool


def parse_cell(shown: str) -> PaperCell:
    """Parse one single-number cell such as ``44.4``, ``43.x``, ``40.x [40.3]``, ``57.x (likely)``."""
    s = shown.strip()
    m = _CELL.match(s)
    if m is None:
        return PaperCell(s, None, False)
    if m["rec"] is not None:
        value = float(m["rec"])
    elif m["dec"] == "x":
        value = float(m["int"])
    else:
        value = float(f"{m['int']}.{m['dec']}")
    certain = m["dec"] != "x" and m["rec"] is None and not m["rest"].strip()
    return PaperCell(s, value, certain)


@cache
def _load(path: str) -> dict[str, Any]:
    p = Path(path)
    try:
        data = yaml.safe_load(p.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise ValueError(f"{p}: cannot read the paper numbers ({exc})") from None
    if not isinstance(data, dict) or "version" not in data:
        raise ValueError(f"{p}: not a paper-numbers file (no 'version' key)")
    for key in ("table1", "table2", "table3"):
        tab = data.get(key)
        if not isinstance(tab, dict) or not isinstance(tab.get("rows"), list):
            raise ValueError(f"{p}: '{key}' missing or without 'rows'")
        for row in tab["rows"]:
            missing = [c for c in tab["classes"] if c not in row.get("cells", {})]
            if missing:
                raise ValueError(f"{p}: {key} row {row.get('method')!r} lacks cells {missing}")
    return data


def load_paper_numbers(path: str | Path | None = None) -> dict[str, Any]:
    """The paper-numbers data (``version``, ``table1``..``table3``; cells are display strings)."""
    return _load(str(path or PAPER_NUMBERS_FILE))
