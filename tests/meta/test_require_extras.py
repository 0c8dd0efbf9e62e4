"""The CI switch KRONOS_REQUIRE_EXTRAS=1 turns skips into failures; without it they stay (listed) skips."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

CONFTEST = "from tests._require_extras import pytest_make_collect_report, pytest_runtest_makereport\n"
MODULE_SKIP = "import pytest\npytest.importorskip('kronos_no_such_extra')\ndef test_never_runs():\n    pass\n"
TEST_SKIP = (
    "import pytest\n"
    "def test_skips_inside():\n"
    "    pytest.importorskip('kronos_no_such_extra')\n"
    "def test_passes():\n"
    "    assert 1 + 1 == 2\n"
)


def _run(folder: Path, switch: str | None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "KRONOS_REQUIRE_EXTRAS"}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    if switch is not None:
        env["KRONOS_REQUIRE_EXTRAS"] = switch
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", str(folder)],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _project(tmp_path: Path, **files: str) -> Path:
    (tmp_path / "conftest.py").write_text(CONFTEST)
    for name, text in files.items():
        (tmp_path / f"{name}.py").write_text(text)
    return tmp_path


def test_a_skip_inside_a_test_fails_under_the_switch_and_is_listed_without_it(tmp_path):
    folder = _project(tmp_path, test_inside=TEST_SKIP)
    free = _run(folder, None)
    assert free.returncode == 0, free.stdout
    assert "1 passed, 1 skipped" in free.stdout and "kronos_no_such_extra" in free.stdout  # -rs lists it
    strict = _run(folder, "1")
    assert strict.returncode == 1, strict.stdout
    assert "1 failed, 1 passed" in strict.stdout
    assert (
        "skipped while KRONOS_REQUIRE_EXTRAS=1" in strict.stdout and "kronos_no_such_extra" in strict.stdout
    )
    assert _run(folder, "0").returncode == 0  # 0 means off


def test_a_module_skipped_at_import_is_an_error_under_the_switch(tmp_path):
    folder = _project(tmp_path, test_module=MODULE_SKIP, test_other="def test_passes():\n    assert True\n")
    free = _run(folder, None)
    assert free.returncode == 0 and "1 passed, 1 skipped" in free.stdout, free.stdout
    strict = _run(folder, "1")
    assert strict.returncode != 0, strict.stdout
    assert "1 error" in strict.stdout and "could not import 'kronos_no_such_extra'" in strict.stdout
