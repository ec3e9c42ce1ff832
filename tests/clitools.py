"""What the command-line tests share: the installed ``htdyn`` command in a subprocess, the checks every
answer gets (exit code, no traceback, one ``error:`` line naming the thing), and the tiny configs.

The command is the console script a user runs (not ``python -m htdyn``): the entry point, typer's
standalone handling and the error handler are all in the path.  Without it on PATH a test skips with
:data:`NOT_INSTALLED`; in CI (``CI=true``) ``conftest.py`` turns that skip into a failure
(``tests/test_ci_skips.py``), so every test that needs the command must skip through :func:`htdyn_command`
or :data:`needs_htdyn`, whose reason it recognises.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from pathlib import Path

import pytest

#: the checkout these tests belong to: first on the command's PYTHONPATH, so it runs this code
ROOT = Path(__file__).resolve().parents[1]
#: the installed command, or None
HTDYN = shutil.which("htdyn")
#: the skip reason conftest.NEEDS_COMMAND recognises (a failure in CI)
NOT_INSTALLED = "the htdyn command is not installed"
#: a mark for a test (or ``pytestmark`` for a module) that drives the command
needs_htdyn = pytest.mark.skipif(HTDYN is None, reason=NOT_INSTALLED)


def htdyn_command() -> str:
    """The installed command's path; skips the test (fails it in CI) where it is not on PATH."""
    if HTDYN is None:
        pytest.skip(NOT_INSTALLED)
    return HTDYN


def cli_env(columns: int = 200, env: dict | None = None) -> dict[str, str]:
    """The command's environment: ``COLUMNS`` (rich wraps there), no colour, this checkout first on
    PYTHONPATH, then ``env``."""
    e = {**os.environ, "COLUMNS": str(columns), "NO_COLOR": "1", **(env or {})}
    e["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), e.get("PYTHONPATH")) if p)
    return e


def assert_no_traceback(r: subprocess.CompletedProcess) -> None:
    """Neither output holds a Python traceback (or the import error a broken install prints)."""
    text = r.stdout + r.stderr
    assert "Traceback" not in text and "ModuleNotFoundError" not in text, text[-4000:]


def cli(*args: object, cwd: Path | None = None, env: dict | None = None, columns: int = 200,
        timeout: float = 300) -> subprocess.CompletedProcess:
    """``htdyn *args`` run to its end, output captured as text; asserts it printed no traceback.

    Any exit code is returned: check it with :func:`assert_clean`, :func:`ok` or :func:`one_line_error`.
    """
    r = subprocess.run([htdyn_command(), *map(str, args)], capture_output=True, text=True, cwd=cwd,
                       env=cli_env(columns, env), timeout=timeout)
    assert_no_traceback(r)
    return r


def start(*args: object, columns: int = 200, env: dict | None = None, **popen: object) -> subprocess.Popen:
    """``htdyn *args`` started (for a test that signals or kills it); stdout and stderr piped unless given."""
    popen.setdefault("stdout", subprocess.PIPE)
    popen.setdefault("stderr", subprocess.PIPE)
    # Ctrl-C as at a terminal: a shell starts a background job (``pytest ... &``, nohup) with SIGINT
    # ignored, the child inherits that, and Python then rightly leaves it ignored, so a SIGINT test
    # run that way would see its signal do nothing
    popen.setdefault("preexec_fn", _default_sigint)
    return subprocess.Popen([htdyn_command(), *map(str, args)], text=True, env=cli_env(columns, env),
                            **popen)  # type: ignore[call-overload]


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def assert_clean(r: subprocess.CompletedProcess, code: int, *words: str) -> str:
    """Exit ``code``, no traceback, and every word in stdout + stderr; returns that text."""
    text = r.stdout + r.stderr
    assert r.returncode == code, (r.returncode, text)
    assert_no_traceback(r)
    for w in words:
        assert w in text, (w, text)
    return text


def ok(r: subprocess.CompletedProcess, *words: str) -> subprocess.CompletedProcess:
    """Exit 0, no traceback, every word in stdout + stderr; returns ``r``."""
    assert_clean(r, 0, *words)
    return r


def one_line_error(r: subprocess.CompletedProcess, *words: str, code: int = 2) -> str:
    """A refusal: exit ``code`` (2: bad input), no traceback, and stderr one line ``error: ...`` naming every
    word; returns that line."""
    assert_clean(r, code)
    err = r.stderr.strip()
    assert err.startswith("error:") and len(err.splitlines()) == 1, err
    for w in words:
        assert w in err, (w, err)
    return err


MODEL = """[model]
n = 64
d = 16
h = 24
n_test = 16
"""


def tiny_config(*, name: str = "tiny", steps: int = 2, seed: int | None = None, model: str = "",
                optimizer: str | None = None, lr: float | None = None, extra: str = "") -> str:
    """A one-run config that runs in a blink (n=64, d=16, h=24, n_test=16: conftest's TINY).

    ``model``: more ``[model]`` lines; ``optimizer``/``lr``: an ``[optimizer]`` table (else the
    defaults); ``extra``: more tables after it (``[snapshots]``, ``[grid]``, ``[sweep]``...).
    """
    head = f'name = "{name}"\nsteps = {steps}\n' + ("" if seed is None else f"seed = {seed}\n")
    opt = ""
    if optimizer is not None or lr is not None:
        opt = "[optimizer]\n" + ("" if optimizer is None else f'name = "{optimizer}"\n') + (
            "" if lr is None else f"lr = {lr}\n")
    body = MODEL + (model.strip() + "\n" if model.strip() else "") + opt
    return head + body + (extra.strip() + "\n" if extra.strip() else "")


def write_config(path: Path, **kw: object) -> Path:
    """:func:`tiny_config` (same keywords) written to ``path``; returns ``path``."""
    path.write_text(tiny_config(**kw))  # type: ignore[arg-type]
    return path
