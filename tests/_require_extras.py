"""``KRONOS_REQUIRE_EXTRAS=1``: a skipped test is a failure (CI sets it; see the README's section on tests).

Every skip in this suite means an optional extra is missing (``pytest.importorskip`` of darts, sktime,
gluonts, ray, statsforecast, ... or a data source package). A developer without the extras sees those tests
skipped and listed (``-rs``); CI installs every extra, so there a skip can only mean a broken install, and
this switch turns it into a failure that names the test and the reason instead of a silent pass.
"""

from __future__ import annotations

import os

import pytest

ENV = "KRONOS_REQUIRE_EXTRAS"


def required() -> bool:
    """Whether skips are failures in this run."""
    return os.environ.get(ENV, "").strip() not in ("", "0")


def _reason(longrepr) -> str:
    if isinstance(longrepr, tuple) and len(longrepr) == 3:  # (path, line, "Skipped: <reason>")
        return str(longrepr[2])
    return str(longrepr)


def _fail(report) -> None:
    report.outcome = "failed"
    report.longrepr = (
        f"skipped while {ENV}=1 (every extra should be installed): {_reason(report.longrepr)}\n"
        f"Install the extras (`make test` does: pip install -e '.[dev,all]'), or unset {ENV} to allow skips."
    )


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):
    """A module that skips itself at import (``pytest.importorskip`` at module level)."""
    outcome = yield
    report = outcome.get_result()
    if required() and report.skipped:
        _fail(report)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A test that skips while it runs or in a fixture (``pytest.skip``, ``importorskip`` in a test)."""
    outcome = yield
    report = outcome.get_result()
    if required() and report.skipped and not hasattr(report, "wasxfail"):
        _fail(report)
