"""The ``htdyn`` Typer application, its consoles, and the entry point that turns errors into exit codes.

Each command lives in its own module of :mod:`htdyn.cli` and registers itself on
:data:`app`; :func:`main` imports them all.
"""

from __future__ import annotations

import sys
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape

from ..blas import set_thread_timeout
from ..errors import HtdynError, StopRequest

# nothing above loads numpy (the commands import it when they run): OpenBLAS still reads this
set_thread_timeout()

def _plain_help_types() -> None:
    """Help shows click's plain metavars (FILE, TEXT, INTEGER; nothing after a flag), on every typer.

    typer 0.2x prints a parameter's Python type instead (``--quiet <bool>``, ``--device <str>``,
    ``Usage: htdyn info [OPTIONS] {path}``); the three methods behind that are replaced where they
    exist (older typers print click's metavars already and are left alone).
    """
    from typer import core

    option, argument = getattr(core, "TyperOption", None), getattr(core, "TyperArgument", None)
    if option is not None and hasattr(option, "display_type_rich"):
        typed = option.display_type

        def option_type(self: Any, ctx: Any) -> str | None:
            if self.is_flag or self.count:
                return None
            if self.metavar:
                return self.metavar
            label = str(typed(self, ctx)).strip("<>")
            many = label.startswith("list[")
            label = label[5:-1] if many else label
            return {"str": "TEXT", "int": "INTEGER", "float": "FLOAT"}.get(label, label.upper()) + "..." * many

        option.display_type_rich = option_type
    if argument is not None and hasattr(argument, "display_type_rich"):
        argument.display_type_rich = lambda self, ctx: None  # the argument's name (its metavar) says it
    if argument is not None and hasattr(argument, "_usage_display_name"):
        def usage_name(self: Any) -> str:
            name = (self.metavar or self.name).upper() + ("..." if self.nargs != 1 else "")
            return name if self.required else f"[{name}]"

        argument._usage_display_name = usage_name


_plain_help_types()

app = typer.Typer(
    name="htdyn",
    help=(
        "Simulate noise-free training of two-layer networks and analyse how the spectra "
        "of their weight matrices evolve (Marchenko-Pastur bulk -> spikes -> heavy tails)."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
#: messages, errors and progress go to stderr; tables and results to stdout
console = Console(stderr=True)
out = Console()


class StopSignals(StopRequest):
    """Ctrl-C and SIGTERM stop a command even when the signal lands where Python drops it.

    The handler raises :class:`~htdyn.errors.Interrupted` at once, as usual; a signal that
    arrives inside a finalizer (a weakref callback, ``__del__``) is swallowed by Python,
    so the handler also records it and :meth:`check`, called after every step, raises it
    again; Python's "Exception ignored" report of the swallowed one (a traceback on the
    user's screen) is left out by an unraisable hook, since the stop is not lost.  Use as a
    context manager around the command's work.
    """

    def __init__(self) -> None:
        super().__init__()
        self.old: dict = {}
        self.old_hook: Any = None

    def _unraisable(self, info: Any) -> None:
        from ..errors import Interrupted

        if not isinstance(info.exc_value, Interrupted):
            self.old_hook(info)

    def __enter__(self) -> StopSignals:
        import signal

        for sig in (signal.SIGINT, signal.SIGTERM):
            if signal.getsignal(sig) is not signal.SIG_IGN:  # a job started with SIGINT ignored keeps it so
                self.old[sig] = signal.signal(sig, self.handler)
        self.old_hook, sys.unraisablehook = sys.unraisablehook, self._unraisable
        return self

    def __exit__(self, *exc: object) -> None:
        import signal

        for sig, old in self.old.items():
            signal.signal(sig, old)
        sys.unraisablehook = self.old_hook


def _version(value: bool) -> None:
    if value:
        from .._version import __version__

        out.print(f"htdyn {__version__}", markup=False, highlight=False)
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                 help="Print the version and exit."),
) -> None:
    """Simulate two-layer network training and analyse the spectra of its weight matrices."""


def _on_sigterm(signum: int, frame: object) -> None:
    from ..errors import Interrupted

    raise Interrupted(signum)


def main() -> None:
    """Console entry point.

    typer runs in its standalone mode, so usage errors (unknown command or
    option, missing argument) get typer's own message and exit code 2 on every
    typer the dependency range allows; errors of user input (:class:`HtdynError`)
    become one line ``error: ...`` on stderr and exit code 2.
    """
    import signal

    signal.signal(signal.SIGTERM, _on_sigterm)  # a clean stop (status interrupted, exit 143), as Ctrl-C
    try:
        app(prog_name="htdyn")
    except HtdynError as exc:
        console.print(f"[red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
        sys.exit(2)
    except KeyboardInterrupt as exc:
        console.print("interrupted", markup=False, highlight=False)
        sys.exit(getattr(exc, "exit_code", 130))

