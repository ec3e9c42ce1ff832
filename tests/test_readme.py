"""The README's Python snippets run as scripts, and print what their comments say they print."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
SNIPPETS = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def test_the_readme_has_its_snippets() -> None:
    assert len(SNIPPETS) >= 2
    assert any("htdyn.simulate" in s for s in SNIPPETS) and any("fit_hill" in s for s in SNIPPETS)


@pytest.mark.parametrize("i", range(len(SNIPPETS)))
def test_readme_snippet_runs_as_a_script(tmp_path: Path, i: int) -> None:
    code = SNIPPETS[i]
    script = tmp_path / "snippet.py"
    script.write_text(code)
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_THREAD_TIMEOUT"}
    r = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, cwd=tmp_path, env=env,
                       timeout=300)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip(), "a snippet that prints nothing shows the reader nothing"
    # lines the snippet documents as its output ("# <line>" after the last print) are what it prints
    tail = code.rstrip().splitlines()
    last_print = max(j for j, ln in enumerate(tail) if "print(" in ln)
    said = [ln[2:] for ln in tail[last_print + 1:] if ln.startswith("# ")]
    if said:
        assert r.stdout.strip().splitlines()[-len(said):] == said, r.stdout
