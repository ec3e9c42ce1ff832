"""A pool of worker processes on one host: one per GPU, or the CPU's cores shared out.

Each worker is a process started with the multiprocessing *spawn* context (a fresh
interpreter: no CUDA context or BLAS thread pool inherited from the driver) and bound
to a :class:`Slot`: its slot's environment is set in ``os.environ`` while the child
is started and restored afterwards, so the child sees it from its first instruction:

- ``CUDA_VISIBLE_DEVICES=<gpu>``: CuPy and torch in the child see that one GPU, as
  device 0;
- ``OMP_NUM_THREADS``, ``OPENBLAS_NUM_THREADS``, ``MKL_NUM_THREADS``: its BLAS threads
  (on the CPU, the cores divided by the number of workers).

The driver talks to each worker through its own pipe and gives it one batch at a time,
so it always knows which batch a worker holds; the batches still to hand out are the
driver's queue.  (Shared ``multiprocessing.Queue`` objects are not used: a worker killed
while it holds a shared queue's lock would hang every other worker.)  A worker
reports ``ready`` once started, ``step`` counts (at most about five a second) while it
runs a batch and ``done`` with the batch's outcome; a worker that dies (``kill -9``,
the kernel's out-of-memory killer) is noticed through its process sentinel and turned
into a ``died`` event for the batch it held.

Workers ignore SIGINT (a Ctrl-C on the terminal reaches the whole process group: the
driver alone decides) and take SIGTERM as an interrupt: the batch's partial file is
marked interrupted, the worker exits.  On Linux a worker is killed when the driver
dies however it dies (``PR_SET_PDEATHSIG``); elsewhere a thread checks for it; and a
worker whose pipe breaks (it reports progress every 0.2 s) exits too.

Which GPU and how many threads a slot gets is :mod:`htdyn.sweep.slots`' (re-exported here).
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from multiprocessing import connection, get_context
from typing import Any

from ..errors import HtdynError, StopRequest
from .slots import THREAD_VARS, Slot, cpu_cores, make_slots, visible_gpus

__all__ = ["Slot", "WorkerPool", "PoolEvent", "WorkerStartError", "make_slots", "visible_gpus", "cpu_cores",
           "THREAD_VARS"]


class WorkerStartError(HtdynError):
    """A worker process died before it was ready (a broken environment, not a bad batch)."""


@contextmanager
def _child_env(slot: Slot) -> Iterator[None]:
    """``slot``'s variables in ``os.environ`` (and SIGINT ignored) while a child is started."""
    saved = {k: os.environ.get(k) for k in (*THREAD_VARS, "CUDA_VISIBLE_DEVICES")}
    old_int = signal.getsignal(signal.SIGINT) if threading.current_thread() is threading.main_thread() else None
    main = old_int is not None  # None: a handler set outside Python, left alone
    if main:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        os.environ.update(slot.env())
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        if main:
            signal.signal(signal.SIGINT, old_int)


@dataclass
class PoolEvent:
    """What a worker reported: ``step`` (``value`` run-steps), ``done`` (``value`` the outcome) or
    ``died`` (``value`` the error message); ``key`` is the batch it concerns (None for an idle worker)."""

    kind: str
    key: str | None
    value: Any


@dataclass
class _Worker:
    """The driver's handle on one worker process."""

    slot: Slot
    process: Any
    conn: Any
    ready: bool = False
    key: str | None = None
    info: dict = field(default_factory=dict)

    @property
    def pid(self) -> int:
        return self.process.pid


#: replacements of one slot's worker that may die before they are ready, in a row, before the sweep stops
MAX_FAILED_STARTS = 3


class WorkerPool:
    """Worker processes bound to slots, each running one batch at a time (see the module docstring).

    Parameters
    ----------
    slots : one per worker (:func:`make_slots`).
    stop_timeout : seconds a worker gets to stop after SIGTERM before it is killed.

    Use as a context manager, or call :meth:`start` and then :meth:`close` in a ``finally``.
    """

    def __init__(self, slots: list[Slot], stop_timeout: float = 5.0) -> None:
        self.slots, self.stop_timeout = list(slots), stop_timeout
        self.ctx = get_context("spawn")
        self.workers: list[_Worker] = []
        self.started: set[int] = set()  # slots whose worker once became ready
        self.failed_starts: dict[int, int] = {}  # slot -> replacements in a row that died before ready

    def __enter__(self) -> WorkerPool:
        self.start()
        return self

    def __exit__(self, exc_type: Any, *exc: object) -> None:
        self.close(interrupt=exc_type is not None)

    # ------------------------------------------------------------------ processes
    def start(self) -> None:
        self.workers = [self._spawn(s) for s in self.slots]

    def _spawn(self, slot: Slot) -> _Worker:
        ours, theirs = self.ctx.Pipe(duplex=True)
        p = self.ctx.Process(target=worker_main, args=(theirs, slot.index, os.getpid()),
                             name=f"htdyn-worker-{slot.index}", daemon=True)
        with _child_env(slot):
            p.start()
        theirs.close()
        return _Worker(slot, p, ours)

    def idle(self) -> list[_Worker]:
        """Workers holding no batch (ready or still starting: a batch sent waits in the pipe)."""
        return [w for w in self.workers if w.key is None]

    def submit(self, worker: _Worker, key: str, *args: Any) -> None:
        """Hand ``worker`` one task: :func:`~htdyn.sweep.worker.execute_batch` ``(*args)``, named ``key``.

        A worker that died before it could take it is noticed by :meth:`wait`, which reports the task ``died``.
        """
        worker.key = key
        _send_quietly(worker.conn, (key, args))

    def wait(self, timeout: float | None = None) -> list[PoolEvent]:
        """Block until some worker reports or dies; a dead worker is replaced (same slot)."""
        conns = {w.conn: w for w in self.workers}
        sentinels = {w.process.sentinel: w for w in self.workers}
        events: list[PoolEvent] = []
        for obj in connection.wait([*conns, *sentinels], timeout):
            if obj in conns:
                events += self._drain(conns[obj])
        for obj in connection.wait(list(sentinels), 0):
            events += self._reap(sentinels[obj])
        return events

    def _drain(self, w: _Worker) -> list[PoolEvent]:
        events = []
        try:
            while w.conn.poll():
                kind, key, value = w.conn.recv()
                if kind == "ready":
                    w.ready, w.info = True, value
                    self.started.add(w.slot.index)
                    self.failed_starts[w.slot.index] = 0
                    continue
                if kind == "done":
                    w.key = None
                    value = {**value, "worker": w.info}
                events.append(PoolEvent(kind, key, value))
        except (EOFError, OSError):  # it died: its sentinel says so
            pass
        return events

    def _reap(self, w: _Worker) -> list[PoolEvent]:
        events = self._drain(w)  # what it sent before it died
        w.process.join(1.0)
        code = w.process.exitcode
        msg = f"worker {w.slot.index} (pid {w.pid}) died with exit code {code}{_signal_name(code)}"
        w.conn.close()
        if not w.ready:  # a first start that fails is a broken environment; a replacement may be unlucky
            n = self.failed_starts[w.slot.index] = self.failed_starts.get(w.slot.index, 0) + 1
            if w.slot.index not in self.started or n >= MAX_FAILED_STARTS:
                times = f" ({n} replacements in a row)" if w.slot.index in self.started else ""
                raise WorkerStartError(f"{msg} before it was ready{times}; run with --workers 1 to see why")
        self.workers[self.workers.index(w)] = self._spawn(w.slot)
        if w.key is not None:
            events.append(PoolEvent("died", w.key, msg))
        return events

    def close(self, interrupt: bool = False) -> None:
        """Stop every worker: idle ones are told to exit, busy ones (or all, with ``interrupt``) get
        SIGTERM; any left after ``stop_timeout`` seconds are killed.  No process outlives this."""
        try:
            for w in self.workers:
                if w.process.is_alive():
                    if interrupt or w.key is not None:
                        w.process.terminate()
                    else:
                        _send_quietly(w.conn, None)
            deadline = time.monotonic() + self.stop_timeout
            for w in self.workers:
                w.process.join(max(0.0, deadline - time.monotonic()))
        finally:
            for w in self.workers:
                if w.process.is_alive():
                    w.process.kill()
                w.process.join()
                w.conn.close()
            self.workers = []


def _send_quietly(conn: Any, msg: Any) -> None:
    try:
        conn.send(msg)
    except (OSError, ValueError):
        pass


def _signal_name(code: int | None) -> str:
    if code is None or code >= 0:
        return ""
    try:
        return f" ({signal.Signals(-code).name})"
    except ValueError:
        return ""


# ---------------------------------------------------------------------- the worker's side
class _Reporter:
    """A worker's progress callback: counts steps, sends them at most every ``interval`` s, stops on SIGTERM."""

    def __init__(self, conn: Any, key: str, runs: int, stop: _Stop, interval: float = 0.2) -> None:
        self.conn, self.key, self.runs, self.stop, self.interval = conn, key, runs, stop, interval
        self.pending, self.last = 0, time.monotonic()

    def __call__(self, k: int) -> None:
        self.stop.check()
        self.pending += k * self.runs
        now = time.monotonic()
        if now - self.last >= self.interval:
            self.conn.send(("step", self.key, self.pending))
            self.pending, self.last = 0, now


class _Stop(StopRequest):
    """A worker's stop: SIGINT ignored (the driver decides), SIGTERM raises
    :class:`~htdyn.errors.Interrupted`, and one swallowed by a finalizer is raised again at
    the next step; Python's report of the swallowed one is left out."""

    def install(self) -> None:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, self.handler)
        old = sys.unraisablehook
        sys.unraisablehook = lambda info: None if isinstance(info.exc_value, KeyboardInterrupt) else old(info)


def _die_with_parent(parent: int) -> None:
    """Be killed when the driver dies: ``PR_SET_PDEATHSIG`` on Linux, else a watching thread."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(1, signal.SIGKILL, 0, 0, 0) != 0:  # PR_SET_PDEATHSIG = 1
            raise OSError
    except Exception:  # pragma: no cover - not Linux: no prctl
        def watch() -> None:
            while os.getppid() == parent:
                time.sleep(1.0)
            os._exit(1)

        threading.Thread(target=watch, daemon=True).start()
    if os.getppid() != parent:  # the driver died before the line above
        os._exit(1)


def worker_main(conn: Any, index: int, parent: int) -> None:
    """A worker's loop: tasks ``(key, (sim, dest, threads))`` from ``conn`` until ``None`` or the pipe closes."""
    _die_with_parent(parent)
    stop = _Stop()
    stop.install()
    from .worker import execute_batch
    info = {"slot": index, "pid": os.getpid(), "device": os.environ.get("CUDA_VISIBLE_DEVICES"),
            "threads": os.environ.get("OMP_NUM_THREADS")}
    try:
        conn.send(("ready", None, info))
        while (task := conn.recv()) is not None:
            key, (sim, dest, *threads) = task
            try:
                out = execute_batch(sim, dest, _Reporter(conn, key, len(sim.runs), stop), *threads)
            except KeyboardInterrupt:
                raise
            except Exception as exc:  # execute_batch catches its own; this is the pool's (pickling)
                out = {"ok": False, "error": f"{type(exc).__name__}: {exc}", "runs": len(sim.runs)}
            conn.send(("done", key, out))
    except KeyboardInterrupt:
        sys.exit(128 + (stop.signum or signal.SIGTERM))
    except (EOFError, OSError):  # the driver is gone
        sys.exit(1)
