"""Where figures go: check an output place before any figure is drawn.

``htdyn plot -o STEM`` writes ``STEM.png`` and ``STEM.pdf`` (or ``STEM.gif``), creating missing
folders.  A place that cannot take them (a path under a file, a read-only or missing mount, a
folder where a file is wanted) is refused in one line before the work, not after it with a
traceback.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

from .common import PlotError

__all__ = ["check_output", "output_paths"]


def output_paths(stem: str | os.PathLike, formats: Sequence[str]) -> list[Path]:
    """``stem.<fmt>`` for each format (what :func:`htdyn.plot.save` writes)."""
    stem = Path(stem)
    return [stem.with_name(f"{stem.name}.{fmt}") for fmt in formats]


def check_output(paths: Sequence[str | os.PathLike], option: str = "-o", stem: str | os.PathLike | None = None) -> None:
    """Raise PlotError (one line) unless every path can be written, creating no file or folder.

    Parameters
    ----------
    paths : the files a command will write
    option : the option that named them, for the message
    stem : the stem they were made from: an existing folder there is refused (the user meant a place
        inside it, not ``folder.png`` beside it)

    Raises
    ------
    PlotError
        A path is a folder; a parent is a file; the nearest existing folder cannot be written
        (read-only, not ours, a missing mount below a place we may not write).

    Examples
    --------
    >>> check_output(["/tmp/figs/esd.png"])
    >>> check_output(["/proc/self/figs/esd.png"])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    htdyn.plot.common.PlotError: -o: cannot write in '/proc/self' (needed for '/proc/self/figs/esd.png'): ...
    """
    if stem is not None and Path(stem).is_dir():
        raise PlotError(f"{option} {str(stem)!r} is a folder; give a file stem in it (e.g. "
                        f"{str(Path(stem) / 'figure')!r})")
    probed: set[Path] = set()
    for p in map(Path, paths):
        if p.is_dir():
            raise PlotError(f"{option} {str(p)!r} is a folder; give a file stem (e.g. {str(p / 'figure')!r})")
        base = p.parent
        while not base.exists() and not base.is_symlink() and base != base.parent:
            base = base.parent
        if not base.is_dir():
            raise PlotError(f"{option}: {str(base)!r} is a file, not a folder (needed for {str(p)!r})")
        if base in probed:
            continue
        try:  # a real write: os.access says yes to root on a read-only mount's folders
            with tempfile.TemporaryFile(dir=base, prefix=".htdyn-probe-"):
                pass
        except OSError as exc:
            raise PlotError(f"{option}: cannot write in {str(base)!r} (needed for {str(p)!r}): "
                            f"{exc.strerror or exc}") from None
        probed.add(base)
