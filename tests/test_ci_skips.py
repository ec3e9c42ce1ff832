"""In CI (CI=true) a test that needs the installed ``htdyn`` command fails when it is missing; locally it skips."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent

NEEDS = '''
import shutil
import pytest

EXE = shutil.which("htdyn-not-installed-here")

@pytest.mark.skipif(EXE is None, reason="the htdyn command is not installed")
def test_marked():
    pass

def test_called():
    pytest.skip("the htdyn console script is not installed")

@pytest.mark.skipif(True, reason="needs a CUDA GPU")
def test_other_skip():
    pass

def test_through_the_shared_runner(monkeypatch):
    import clitools

    monkeypatch.setattr(clitools, "HTDYN", None)
    clitools.cli("--version")
'''


@pytest.mark.parametrize("ci, outcome", [("true", "2 failed, 1 skipped, 1 error"), ("", "4 skipped")])
def test_missing_command_fails_only_in_ci(tmp_path: Path, ci: str, outcome: str) -> None:
    shutil.copy(HERE / "conftest.py", tmp_path / "conftest.py")
    shutil.copy(HERE / "clitools.py", tmp_path / "clitools.py")
    (tmp_path / "test_needs.py").write_text(NEEDS)
    env = {**os.environ, "CI": ci}
    r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rfs", str(tmp_path)],
                       capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
    assert outcome in r.stdout, r.stdout + r.stderr  # a skipif marker fails in setup: an error
    assert r.returncode == (1 if ci else 0)
    if ci:
        assert "pip install -e ." in r.stdout


def test_the_shared_mark_gives_the_reason_ci_recognises() -> None:
    """``clitools.needs_htdyn`` skips (fails in CI) with the reason conftest looks for."""
    import clitools
    from conftest import NEEDS_COMMAND

    assert clitools.needs_htdyn.kwargs["reason"] == clitools.NOT_INSTALLED
    assert NEEDS_COMMAND.search(clitools.NOT_INSTALLED)
