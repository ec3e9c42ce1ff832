"""The ``htdyn`` command line: run simulations, inspect and analyse trajectory files.

One module per command (``run``, ``info``, ``analyze``, ``sweep``, ``plot``, ``report``,
``demo``), each registering itself on :data:`htdyn.cli.app.app`; ``tables`` and
``progress`` are what they share.
"""

from __future__ import annotations

from . import analyze, demo, info, plot, report, run, sweep  # noqa: F401  (the commands register on app)
from .app import app, main

__all__ = ["app", "main"]
