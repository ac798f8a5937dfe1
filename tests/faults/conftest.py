"""The fault table: every test marked ``@pytest.mark.fault(name, result=..., data_lost=...)``
becomes one row, printed at the end of the run — fault → survived? → result → data lost.

``survived`` is the test's outcome (the test asserts the clean error or the recovery);
``result`` and ``data_lost`` say what the test asserts about the outcome, e.g. "identical to an
uninterrupted run" and "none (the stage is recomputed)". Parametrised cases share a row.
"""

from __future__ import annotations

import pytest

_ROWS: dict[str, dict[str, str]] = {}


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    mark = item.get_closest_marker("fault")
    if mark is None or (rep.when != "call" and not (rep.when == "setup" and rep.failed)):
        return
    name = mark.args[0]
    row = _ROWS.setdefault(
        name,
        {
            "result": mark.kwargs.get("result", "clean error"),
            "data_lost": mark.kwargs.get("data_lost", "none"),
            "passed": "",
        },
    )
    ok = "yes" if rep.passed else ("skipped" if rep.skipped else "NO")
    if row["passed"] in ("", "yes") or ok == "NO":
        row["passed"] = ok


def pytest_terminal_summary(terminalreporter):
    if not _ROWS:
        return
    w = max(len(n) for n in _ROWS)
    terminalreporter.section("fault table")
    terminalreporter.write_line(f"{'fault':<{w}}  survived  {'result':<36}  data lost")
    for name, r in _ROWS.items():
        terminalreporter.write_line(
            f"{name:<{w}}  {r['passed']:<8}  {r['result']:<36}  {r['data_lost']}"
        )
