"""Exceptions raised for bad input.

Every error a user can cause by a config, a command-line value or a file is an
:class:`HtdynError`; the CLI prints its message on one line and exits with 2.
"""

from __future__ import annotations


class HtdynError(Exception):
    """Base class for errors caused by user input (config, files, arguments)."""


class ConfigError(HtdynError, ValueError):
    """A configuration value is unknown, of the wrong type or out of range."""


class StoreError(HtdynError, OSError):
    """A trajectory file is missing, corrupt, or would be overwritten."""


class Interrupted(KeyboardInterrupt):
    """A stop asked for by a signal: SIGINT (Ctrl-C) or SIGTERM.

    A KeyboardInterrupt, so every handler of Ctrl-C handles it too; ``exit_code``
    is the shell's convention, 128 + the signal number (130, 143).
    """

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum
        self.exit_code = 128 + signum


class StopRequest:
    """A stop signal's handler that raises :class:`Interrupted` at once and remembers it.

    Python drops an exception raised inside a finalizer (a weakref callback,
    ``__del__``), so a signal that lands there would be lost; :meth:`check`, called after
    every step, raises it again.  Install :meth:`handler` with ``signal.signal``.
    """

    def __init__(self) -> None:
        self.signum: int | None = None

    def handler(self, signum: int, frame: object) -> None:
        self.signum = signum
        raise Interrupted(signum)

    def check(self) -> None:
        """Raise the stop that was asked for, if any."""
        if self.signum is not None:
            raise Interrupted(self.signum)
