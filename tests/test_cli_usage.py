"""Usage errors, user-text escaping and config-file messages, through the installed ``htdyn`` command.

These run the console script (not ``python -m``) because that is what a user meets: the
entry point, typer's standalone handling and the error handler are all in the path.
.ci/run reruns this file on the oldest typer the dependency range allows.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import clitools
import pytest
from clitools import assert_clean, needs_htdyn, one_line_error, write_config

from htdyn._version import __version__

pytestmark = needs_htdyn


def cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return clitools.cli(*args, cwd=cwd, columns=80)


@pytest.mark.parametrize(
    "args, words",
    [
        ([], ["Usage", "run", "info", "analyze"]),
        (["runn"], ["No such command", "runn"]),
        (["run"], ["give a config file", "--resume"]),  # the config is optional with --resume FILE
        (["info"], ["Missing argument"]),
        (["analyze"], ["Missing argument"]),
        (["run", "--foo"], ["No such option", "--foo"]),
        (["info", "x.h5", "--bar"], ["No such option", "--bar"]),
    ],
)
def test_usage_errors_give_typers_message_and_exit_2(args: list[str], words: list[str]) -> None:
    assert_clean(cli(*args), 2, *words)


def test_version_prints_the_package_version() -> None:
    r = cli("--version")
    assert_clean(r, 0)
    assert r.stdout.strip() == f"htdyn {__version__}"


@pytest.mark.parametrize("args", [["--help"], ["run", "--help"], ["info", "--help"], ["analyze", "--help"]])
def test_help_exits_0(args: list[str]) -> None:
    assert_clean(cli(*args), 0, "Usage")


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    return write_config(tmp_path / "tiny.toml", steps=2)


@pytest.mark.parametrize("value", ["[red]adam", "[bold]x[/bold]", "adam[torch]"])
def test_bracketed_user_text_is_printed_verbatim(tiny: Path, tmp_path: Path, value: str) -> None:
    """rich markup must not eat brackets: the message quotes the value as typed."""
    r = cli("run", str(tiny), "-o", str(tmp_path / "x.h5"), "-q", "--set", f"optimizer.name={value}")
    one_line_error(r, "optimizer.name", repr(value))


# --------------------------------------------------------------------------- config files


def test_directory_as_config_says_directory(tmp_path: Path) -> None:
    err = one_line_error(cli("run", str(tmp_path)), str(tmp_path), "is a directory", ".toml")
    assert "does not exist" not in err


def test_missing_config_says_missing(tmp_path: Path) -> None:
    one_line_error(cli("run", str(tmp_path / "nope.toml")), "nope.toml", "does not exist")


@pytest.mark.parametrize("name", ["bin.toml", "bin.yaml"])
def test_binary_config_is_not_a_text_file(tmp_path: Path, name: str) -> None:
    p = tmp_path / name
    p.write_bytes(bytes(range(256)) * 4)
    one_line_error(cli("run", str(p)), name, "not a text file")


@pytest.mark.parametrize("name, text", [("empty.toml", ""), ("comments.toml", "# nothing\n\n"),
                                        ("empty.yaml", ""), ("null.yaml", "---\n")])
def test_empty_config_is_refused(tmp_path: Path, name: str, text: str) -> None:
    """An empty file would run the paper-size default (143 MB): refuse it and point at examples."""
    p = tmp_path / name
    p.write_text(text)
    one_line_error(cli("run", str(p), "--set", "steps=1", cwd=tmp_path), name, "empty", "sims/")
    assert not any(tmp_path.glob("**/*.h5")) and not (tmp_path / "outputs").exists()


@pytest.mark.parametrize(
    "override, words",
    [
        ("snapshots.at=[0, 50]", ["snapshots.at", "50", "0..10"]),
        ("eval.at=[3, 11]", ["eval.at", "11", "0..10"]),
        ("output=out/{nme}.h5", ["output", "{nme}", "{name}"]),
        ("output=out/{name}_{seed}.h5", ["output", "{seed}", "{name}"]),
    ],
)
def test_silently_accepted_values_are_errors(tiny: Path, tmp_path: Path, override: str, words: list[str]) -> None:
    r = cli("run", str(tiny), "-q", "--set", "steps=10", "--set", override, cwd=tmp_path)
    one_line_error(r, *words)
    assert not any(tmp_path.glob("**/*.h5"))


def test_snapshot_steps_up_to_steps_are_fine(tiny: Path, tmp_path: Path) -> None:
    r = cli("run", str(tiny), "-q", "-o", str(tmp_path / "ok.h5"), "--set", "snapshots.at=[0, 2]",
            "--set", "eval.at=[2]", "--set", "output=elsewhere/{name}.h5")
    assert_clean(r, 0)
