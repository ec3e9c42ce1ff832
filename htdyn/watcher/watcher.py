"""``htdyn.watch``: record the spectra of a PyTorch model's layers while the user's own loop trains it.

>>> import tempfile, torch, htdyn
>>> _ = torch.manual_seed(0)
>>> model = torch.nn.Sequential(torch.nn.Linear(20, 30), torch.nn.ReLU(), torch.nn.Linear(30, 5))
>>> opt = torch.optim.SGD(model.parameters(), lr=0.1)
>>> x, y = torch.randn(64, 20), torch.randn(64, 5)
>>> with htdyn.watch(model, output=f"{tempfile.mkdtemp()}/watch.h5", every=5) as w:
...     for _ in range(10):
...         opt.zero_grad(); loss = ((model(x) - y) ** 2).mean(); loss.backward(); opt.step()
...         w.step(loss=loss, lr=0.1)
>>> with htdyn.open(w.path) as traj:
...     [(r.label, r.metrics["alpha_hill"].shape) for r in traj.runs]
[('0', (3,)), ('2', (3,))]

Step ``t`` of the file is the ``t``-th call of :meth:`Watcher.step` (t = 0 is the model as
it was given to ``watch``): ``loss[t]`` is the loss the user computed with W_t (before
``optimizer.step()``), the metrics at step ``t`` are those of W_t, and the update written at
step ``t`` (``store="full"``) is M_t = W_{t+1} - W_t, as in the simulator's files.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ..config.steps import check_step_spec, check_steps_in_range, resolve_steps
from ..errors import ConfigError, StoreError
from .layers import LayerUnit, find_layers
from .spectra import is_finite, layer_metrics, metric_specs, watch_sets

__all__ = ["Watcher", "watch"]

#: flush at least this often (seconds) between recorded steps, so a killed run keeps its losses
FLUSH_EVERY_S = 5.0


def _schedule(every: Any, steps: int | None) -> Callable[[int], bool]:
    """Whether step t is recorded, for an ``every`` of the forms of ``snapshots.at``; errors name ``every``."""
    key = "watch: every"
    if steps is not None and (isinstance(steps, bool) or not isinstance(steps, int) or steps < 1):
        raise ConfigError(f"watch: steps = {steps!r} must be the number of optimizer steps planned, an int >= 1")
    check_step_spec(every, key)
    if every == "none":
        raise ConfigError(f"{key} = 'none' records nothing; use an int k, a list of steps or 'log:N'")
    if isinstance(every, str):
        if steps is None:
            raise ConfigError(f"{key} = {every!r} needs the number of steps: watch(..., steps=N)")
        chosen = set(resolve_steps(every, steps))
        return chosen.__contains__
    if steps is not None:
        check_steps_in_range(every, steps, key)
        if isinstance(every, int) and every > steps:
            raise ConfigError(f"{key} = {every} is past the end of the run (steps = {steps}); "
                              f"use 1..{steps}, a list of steps or 'log:N'")
    if isinstance(every, int):
        return lambda t: t % every == 0
    return set(every).__contains__


def _float(name: str, v: Any) -> float:
    try:
        return float(v.detach().item() if hasattr(v, "detach") else v)
    except (TypeError, ValueError):
        raise ConfigError(f"watch: step({name}={v!r}): give a number (a float, or a tensor of one element)") from None


class Watcher:
    """Records the layers of a model at the steps ``every`` selects; made by :func:`watch`.

    Attributes
    ----------
    units : list of LayerUnit
        The watched layers (:class:`~htdyn.watcher.layers.LayerUnit`), one file unit each.
    sets : tuple of str
        The metric sets recorded.
    t : int
        The current step (the number of :meth:`step` calls).
    path : str or Path
        Where the file is (the partial file until :meth:`finish` publishes it).
    overhead_s : float
        Seconds spent recording (computing and writing), the watcher's cost.

    Examples
    --------
    Without a ``with`` block: step, then finish (which publishes the file under its name):

    >>> import tempfile, torch, htdyn
    >>> _ = torch.manual_seed(0)
    >>> model = torch.nn.Sequential(torch.nn.Linear(8, 12), torch.nn.Tanh(), torch.nn.Linear(12, 1))
    >>> opt = torch.optim.Adam(model.parameters(), lr=0.05)
    >>> x, y = torch.randn(32, 8), torch.randn(32, 1)
    >>> w = htdyn.watch(model, output=f"{tempfile.mkdtemp()}/adam.h5", store="scalars")
    >>> [u.name for u in w.units], w.t
    (['0', '2'], 0)
    >>> for _ in range(3):
    ...     opt.zero_grad(); loss = ((model(x) - y) ** 2).mean(); loss.backward(); opt.step()
    ...     w.step(loss=loss)
    >>> path = w.finish()
    >>> w.t, path.name, w.overhead_s > 0
    (3, 'adam.h5', True)
    """

    def __init__(self, model: Any, output: str | os.PathLike, units: list[LayerUnit], recorded: Callable,
                 store: str, sets: tuple[str, ...], config: dict, overwrite: bool, final: bool):
        from ..io.producer import LayerWriter

        self.model, self.units, self.recorded, self.store, self.sets = model, units, recorded, store, sets
        self.final, self.t, self.overhead_s, self.finished = final, 0, 0.0, False
        self.last_recorded = -1
        self.prev: dict[int, Any] = {}
        self.diverged: set[int] = set()
        p = units[0].param
        self.writer = LayerWriter(output, config, overwrite=overwrite,
                                  device_info={"backend": "torch", "device": str(p.device), "dtype": str(p.dtype)})
        self.path = self.writer.path
        full = store == "full"
        try:
            for i, u in enumerate(units):
                h, d = u.shape
                self.writer.add_layer(i, u.name, (h, d), metric_specs=metric_specs(sets, h, d), weights=full,
                                      updates=full, info=u.info)
            self.last_flush = time.monotonic()
            if self.recorded(0):
                start = time.perf_counter()
                self._record(0)
                self._flush()
                self.overhead_s += time.perf_counter() - start
        except BaseException as exc:
            if not self.finished:
                self.finish("failed", error=exc)
            raise

    # --------------------------------------------------------------- the loop
    def step(self, loss: Any = None, **scalars: Any) -> None:
        """Call after ``optimizer.step()``: the model now holds W_{t+1}; ``loss`` was computed with W_t.

        Parameters
        ----------
        loss : the training loss of this step (a float or a one-element tensor), stored as ``loss[t]``
        scalars : any other numbers of the step (``accuracy=...``, ``lr=...``), stored under ``/scalars``
        """
        if self.finished:
            raise StoreError(f"watch: {str(self.path)!r} is finished; step() after finish() records nothing")
        start = time.perf_counter()
        values = {k: _float(k, v) for k, v in ({"loss": loss} if loss is not None else {}).items()}
        values.update({k: _float(k, v) for k, v in scalars.items()})
        self._guard(self.writer.write_scalars, self.t, values)
        for i, W_t in self.prev.items():  # M_t = W_{t+1} - W_t at a recorded step t (store = "full")
            M = (self.units[i].matrix() - W_t).float().cpu().numpy()
            self._guard(self.writer.write_update, i, self.t, M)
        self.prev = {}
        self.t += 1
        if self.recorded(self.t):
            self._record(self.t)
        if self.recorded(self.t) or time.monotonic() - self.last_flush > FLUSH_EVERY_S:
            self._flush()
        self.overhead_s += time.perf_counter() - start

    def _record(self, t: int) -> None:
        for i, u in enumerate(self.units):
            W = u.matrix()
            finite = is_finite(W)
            vals = layer_metrics(W, self.sets, finite)
            self._guard(self.writer.write_metrics, i, t, vals)
            if self.store == "full":
                self._guard(self.writer.write_weights, i, t, W.float().cpu().numpy())
                self.prev[i] = W.clone()
            if i not in self.diverged and not finite:
                self.diverged.add(i)
                self.writer.mark_diverged(i, t)
        self.last_recorded = t

    def _flush(self) -> None:
        self._guard(self.writer.flush, self.t)
        self.last_flush = time.monotonic()

    def _guard(self, fn: Callable, *args: Any) -> Any:
        """Run a write; a full disk stops the watcher with one line, keeping what was flushed."""
        from ..io.diskspace import is_disk_full

        try:
            return fn(*args)
        except OSError as exc:
            if isinstance(exc, StoreError) or not is_disk_full(exc):
                raise
            part = self.writer.abandon("failed")
            self.finished = True
            raise StoreError(f"watch: the disk is full; stopped at step {self.t}, the steps flushed before are "
                             f"in {str(part)!r}") from None

    # --------------------------------------------------------------- the end
    def finish(self, status: str = "complete", *, error: BaseException | None = None) -> Path:
        """Write the last record and close the file; a complete file is published under its name.

        With ``status="complete"`` the final weights W_t are recorded if ``every`` includes the
        last step (an int k or ``'log:N'``; not a list) and step t was not recorded.  Any
        other status (``failed``, ``interrupted``) leaves the partial file, with ``failed_step``
        the step it stopped at.  Returns where the file is.
        """
        if self.finished:
            return Path(self.path)
        self.finished = True
        if status == "complete" and self.final and self.last_recorded != self.t:
            start = time.perf_counter()
            self._record(self.t)
            self.overhead_s += time.perf_counter() - start
        self.prev = {}
        if self.writer.is_open:
            self._flush()
        timings = {"watch_s": self.overhead_s}
        msg = f"{type(error).__name__}: {error}" if error is not None else None
        self.path = self.writer.finish(status, timings, failed_step=None if status == "complete" else self.t,
                                       error=msg)
        return Path(self.path)

    close = finish

    def __enter__(self) -> Watcher:
        return self

    def __exit__(self, typ: Any, exc: BaseException | None, tb: Any) -> None:
        if exc is None:
            self.finish()
        elif not self.finished:
            self.finish("interrupted" if isinstance(exc, KeyboardInterrupt) else "failed", error=exc)

    def __repr__(self) -> str:
        return f"<htdyn.Watcher {len(self.units)} layers, step {self.t}, {str(self.path)!r}>"


def watch(model: Any, output: str | os.PathLike | None = None, layers: None | str | Sequence[str] | Callable = None,
          every: int | list[int] | str = 1, store: str = "spectra", metrics: Sequence[str] | None = None, *,
          steps: int | None = None, name: str | None = None, overwrite: bool = False) -> Watcher:
    """Watch the layers of a PyTorch model while it trains: a trajectory file whose units are layers.

    Parameters
    ----------
    model : torch.nn.Module
    output : str or path-like, optional
        The file (default ``outputs/<name>.h5``); written as ``<stem>.partial.h5`` until finished.
    layers : None, str, sequence of str or callable
        None (every ``nn.Linear``, convolution and ``nn.MultiheadAttention`` q/k/v), a name or
        names of layers, or a predicate ``fn(name, module) -> bool`` (:mod:`htdyn.watcher.layers`).
    every : int, list of int or str
        The recorded steps, as ``snapshots.at``: an int k (0, k, 2k, ... and the last step), a
        list of steps, ``'log:N'`` or ``'first_last'`` (these two need ``steps``).
    store : str
        ``"scalars"`` (the scalar metric sets), ``"spectra"`` (also the ESD and the top
        singular triplets) or ``"full"`` (also W_t and the update M_t = W_{t+1} - W_t).
    metrics : sequence of str, optional
        The online metric sets to record instead of the store mode's
        (``esd``, ``norms``, ``powerlaw``, ``mp``, ``phase``, ``top``, or ``["all"]``).
    steps : int, optional
        The number of optimizer steps planned (checks ``every`` against it).
    name : str, optional
        The file's name attribute (default the model's class name, lower case).
    overwrite : bool
        Replace an existing file at ``output`` when the new one completes.

    Returns
    -------
    Watcher
        Call ``w.step(loss=..., **scalars)`` after each ``optimizer.step()``, then ``w.finish()``;
        or use it as a context manager, which finishes the file on exit (``failed``, with the
        step, on an exception).

    Raises
    ------
    ConfigError
        Before any file is made: a layer not 2-D after flattening, a model with no matching
        layer, ``every`` or ``steps`` out of range, an unknown store mode or metric set.
    StoreError
        The output cannot be written (exists without ``overwrite``, a directory, no permission).

    Examples
    --------
    Two layers of a tiny model, every step of three, with the update M_t stored (``"full"``):

    >>> import tempfile, torch, htdyn
    >>> _ = torch.manual_seed(0)
    >>> model = torch.nn.Sequential(torch.nn.Linear(8, 12), torch.nn.Tanh(), torch.nn.Linear(12, 1))
    >>> opt = torch.optim.SGD(model.parameters(), lr=0.1)
    >>> x, y = torch.randn(32, 8), torch.randn(32, 1)
    >>> with htdyn.watch(model, output=f"{tempfile.mkdtemp()}/net.h5", store="full", steps=3) as w:
    ...     for _ in range(3):
    ...         opt.zero_grad(); loss = ((model(x) - y) ** 2).mean(); loss.backward(); opt.step()
    ...         w.step(loss=loss)
    >>> with htdyn.open(w.path) as traj:
    ...     fc1 = traj.runs[0]
    ...     print(traj.unit, fc1.label, fc1.shape, fc1.steps.tolist(), fc1.loss.shape)
    ...     M0_ok = bool(abs(fc1.W(1) - fc1.W(0) - fc1.update(0)).max() < 1e-6)
    layer 0 (12, 8) [0, 1, 2, 3] (3,)
    >>> M0_ok                                       # M_0 = W_1 - W_0
    True

    A layer name that the model does not have is refused before any file is made:

    >>> htdyn.watch(model, output=f"{tempfile.mkdtemp()}/net.h5", layers="fc9")
    Traceback (most recent call last):
    ...
    htdyn.errors.ConfigError: watch: Sequential has no layer 'fc9'; its layers: 0, 2
    """
    units = find_layers(model, layers)
    recorded = _schedule(every, steps)
    sets = watch_sets(store, metrics)
    name = name or type(model).__name__.lower()
    output = Path(output) if output is not None else Path("outputs") / f"{name}.h5"
    config = {"name": name, "producer": "htdyn.watch", "model": type(model).__name__,
              "layers": [u.name for u in units], "every": every, "steps": steps, "store": store,
              "metrics": list(sets)}
    final = not isinstance(every, list)
    return Watcher(model, output, units, recorded, store, sets, config, overwrite, final)
