"""Every help screen reads as help: click's plain metavars, no Python types (<bool>, <str>, {path}), examples."""

from __future__ import annotations

import re

from clitools import cli, needs_htdyn, ok

pytestmark = needs_htdyn


def _commands() -> list[list[str]]:
    """Every command and sub-command of the app, as argument lists."""
    import typer

    from htdyn.cli import main  # noqa: F401 - registers every command
    from htdyn.cli.app import app

    found: list[list[str]] = []

    def walk(cmd, path: list[str]) -> None:  # noqa: ANN001 - a click command
        found.append(path)
        for name, sub in sorted(getattr(cmd, "commands", {}).items()):
            walk(sub, [*path, name])

    walk(typer.main.get_command(app), [])
    return found


def test_help_screens_have_no_python_type_artefacts() -> None:
    commands = _commands()
    assert ["run"] in commands and ["info"] in commands and ["analyze"] in commands and len(commands) >= 8
    for cmd in commands:
        r = ok(cli(*cmd, "--help", columns=160))
        text = r.stdout
        bad = re.findall(r"<(?:bool|str|int|float|path|list\[[a-z]+\])>|\{[a-z_]+\}|LIST\[", text)
        assert not bad, (cmd, bad, text)
        usage = next(ln for ln in text.splitlines() if "Usage:" in ln)
        assert "{" not in usage, usage
        if cmd in (["run"], ["info"], ["analyze"]):
            assert "Example: htdyn " + cmd[0] in text, (cmd, text)
