"""Exceptions raised for bad input.

Every error a user can cause by a config, a command-line value or a file is an
:class:`HtdynError`; the CLI prints its message on one line and exits with 2.
"""

from __future__ import annotations


class HtdynError(Exception):
    """Base class for errors caused by user input (config, files, arguments).

    The message is one line that names the key, file or value and what would be valid;
    the command line prints it and exits with status 2.  Catch this class to handle
    every error a user can cause.

    Attributes
    ----------
    args : tuple
        ``(message,)``, as for any exception; ``str(exc)`` is the message.

    Examples
    --------
    >>> import htdyn
    >>> try:
    ...     htdyn.OptimizerConfig(lr=-1.0).validate()
    ... except htdyn.HtdynError as exc:
    ...     print(type(exc).__name__, "-", exc)
    ConfigError - optimizer.lr = -1.0 must be > 0
    """


class ConfigError(HtdynError, ValueError):
    """A configuration value is unknown, of the wrong type or out of range.

    Raised by :func:`htdyn.load_config`, :func:`htdyn.from_dict`, :func:`htdyn.simulation`
    and the configs' ``validate``; also a :class:`ValueError`.

    Attributes
    ----------
    args : tuple
        ``(message,)``: one line naming the dotted key and what would be valid.

    Examples
    --------
    A misspelt key is named, with the key it probably meant:

    >>> import htdyn
    >>> try:
    ...     htdyn.from_dict({"modle": {"n": 64}})
    ... except htdyn.ConfigError as exc:
    ...     print(str(exc).split(";")[0])
    unknown config key 'modle' (did you mean 'model'?)
    >>> try:
    ...     htdyn.ModelConfig(n=-3).validate()
    ... except ValueError as exc:
    ...     print(exc)
    model.n = -3 must be a positive integer
    """


class StoreError(HtdynError, OSError):
    """A trajectory file (or sweep directory) is missing, corrupt, or would be overwritten.

    Raised by :func:`htdyn.open`, :func:`htdyn.open_sweep` and the writers; also an
    :class:`OSError`.

    Attributes
    ----------
    args : tuple
        ``(message,)``: one line naming the file and what is wrong with it.

    Examples
    --------
    >>> import htdyn, tempfile
    >>> missing = f"{tempfile.mkdtemp()}/none.h5"
    >>> try:
    ...     htdyn.open(missing)
    ... except htdyn.StoreError as exc:
    ...     print(str(exc).replace(missing, "PATH"))
    trajectory file 'PATH' does not exist
    """


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
