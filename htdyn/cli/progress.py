"""Progress of long commands: a rich bar on a terminal, plain lines in logs and pipes.

A terminal gets the live bar; anything else (CI logs, ``| tee``, a file) gets a line
such as ``demo: 30/100 steps, 1.2 s, eta 2.8 s`` about every tenth of the work or every
few seconds, whichever comes first, once the command has run for a second (short
commands print nothing).  ``quiet`` silences both.  A command stopped by Ctrl-C or an error
clears its bar, so the message about the stop is the last thing on the screen.

>>> from rich.console import Console
>>> with progress(Console(stderr=True), "demo", total=100, unit="steps", quiet=True) as advance:
...     advance(30)
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.markup import escape


class PlainProgress:
    """Plain progress lines for a console that is not a terminal.

    Parameters
    ----------
    console : where the lines go.
    description : what is being done (user text: printed verbatim).
    total : the amount of work, in ``unit``.
    unit : what is counted (``steps``, ``snapshots``).
    delay : seconds before the first line (shorter commands print nothing).
    interval : at most this many seconds between lines.
    fraction : a line at least every this fraction of ``total``.
    clock : seconds, monotonic (injectable for tests).
    """

    def __init__(self, console: Console, description: str, total: int, unit: str = "steps", *,
                 delay: float = 1.0, interval: float = 5.0, fraction: float = 0.1,
                 clock: Callable[[], float] = time.perf_counter) -> None:
        self.console, self.description, self.total, self.unit = console, description, max(int(total), 0), unit
        self.delay, self.interval, self.fraction, self.clock = delay, interval, fraction, clock
        self.done = 0
        self.start = clock()
        self.last_line: float | None = None  # time of the last line printed
        self.last_done = 0  # work done at the last line

    def advance(self, k: int = 1) -> None:
        """Count ``k`` more units of work; print a line when one is due."""
        self.done = min(self.done + int(k), self.total) if self.total else self.done + int(k)
        now = self.clock()
        if now - self.start < self.delay:
            return
        step = max(self.fraction * self.total, 1.0)
        due_by_work = self.done - self.last_done >= step or (self.done == self.total and self.last_done < self.total)
        due_by_time = self.last_line is None or now - self.last_line >= self.interval
        if due_by_work or due_by_time:
            self._line(now)

    def close(self) -> None:
        """The final count, if lines were printed and the last one did not show it."""
        if self.last_line is not None and self.last_done < self.done:
            self._line(self.clock())

    def _line(self, now: float) -> None:
        elapsed = now - self.start
        text = f"{self.description}: {self.done}/{self.total} {self.unit}, {elapsed:.1f} s"
        if 0 < self.done < self.total:
            text += f", eta {elapsed / self.done * (self.total - self.done):.1f} s"
        self.console.print(text, markup=False, highlight=False, soft_wrap=True)
        self.last_line, self.last_done = now, self.done


@contextmanager
def progress(console: Console, description: str, total: int, unit: str = "steps",
             quiet: bool = False) -> Iterator[Callable[[int], None]]:
    """Show the progress of a command; yields ``advance(k)``, to call with the work just done.

    Parameters
    ----------
    console : where it goes; ``console.is_terminal`` picks the bar or plain lines.
    description : what is being done (user text, printed verbatim).
    total : the amount of work, in ``unit``.
    unit : what is counted, for the plain lines.
    quiet : show nothing.
    """
    if quiet:
        yield lambda k=1: None
        return
    if not console.is_terminal:
        plain = PlainProgress(console, description, total, unit)
        yield plain.advance
        plain.close()
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  console=console, transient=False) as bar:
        task = bar.add_task(escape(description), total=total)
        try:
            yield lambda k=1: bar.advance(task, k)
        except BaseException:
            # stopped (Ctrl-C, an error): clear the bar as it stops, so the message printed about the stop
            # is the last thing on the screen and no half-drawn bar is left below it
            bar.live.transient = True
            raise
