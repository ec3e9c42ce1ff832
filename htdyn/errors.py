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
