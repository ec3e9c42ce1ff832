"""The producer API for a file whose unit is a layer: what :func:`htdyn.watch` calls.

A simulator file's unit is a run (:class:`~htdyn.io.writer.TrajectoryWriter`, preallocated:
the number of steps is known); a watched file's unit is a layer of the user's network,
trained by the user's own loop, for a number of steps nobody knows in advance.  The
:class:`LayerWriter` writes that file with the same rules (it is a ``TrajectoryWriter``:
the partial name, the writer's lock, the disk reserve, the two-phase flush, the
publishing rename are the same code) and the same layout where the two agree
(``docs/format.md``, "Layer files"): each layer is a ``/runs/<i>`` group, so every reader
of the format reads it, with

* ``metrics/steps``, ``metrics/<key>``: the online metric sets at the recorded steps,
  grown by one row per record;
* ``snapshot_steps``, ``W`` (and ``update_steps``, ``update``): the weights when stored
  (``store = "full"``), grown likewise, one chunk per snapshot;
* ``loss``, ``lr``: hard links to the model-level per-step scalars of ``/scalars``.

What a watched model lacks (a teacher, data, a probe set, the optimizer's state, a
checkpoint) is absent, not faked.  The counters (``snapshot_count``, ``update_count``,
``steps_done``) are published after the data they count, as in the simulator's files.

>>> import tempfile, htdyn
>>> w = LayerWriter(f"{tempfile.mkdtemp()}/net.h5", {"name": "net"})   # writes net.partial.h5
>>> w.add_layer(0, "fc1", (128, 64), metric_specs={"alpha_hill": ()})
>>> w.write_metrics(0, 0, {"alpha_hill": 3.1}); w.write_scalars(0, {"loss": 2.3})
>>> w.flush(1); path = w.finish()                            # publishes net.h5
>>> with htdyn.open(path) as traj:                           # any reader of the format reads it
...     layer = traj.runs[0]
...     print(layer.metric_names, layer.read_metrics()["alpha_hill"].tolist(), layer.loss.tolist())
['alpha_hill'] [3.1] [2.3]
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import socket
from typing import Any

import h5py
import numpy as np

from .._version import __version__
from .format import FORMAT_NAME, FORMAT_VERSION, attr_value
from .runid import run_id
from .writer import TrajectoryWriter

__all__ = ["LayerWriter", "LAYER_UNIT"]

#: the root attribute ``unit`` of a watched file (a simulator file's is ``"run"``, or absent before v2)
LAYER_UNIT = "layer"
#: the model-level per-step scalars every layer file has (others are created when first given)
BASE_SCALARS = ("loss", "lr")


def _grow(ds: h5py.Dataset, n: int) -> None:
    if ds.shape[0] < n:
        ds.resize(n, axis=0)


class LayerWriter(TrajectoryWriter):
    """Writes a trajectory file whose units are layers, for a producer that does not know its length.

    Parameters
    ----------
    path : path-like
        The destination (written as ``<stem>.partial.h5`` until :meth:`finish`).
    config : dict
        What the producer was asked to do (JSON-able); stored as ``config_json``.
    overwrite : bool
        Replace an existing file when the new one completes.
    device_info : dict
        ``backend``, ``device``, ``dtype`` and the like, written as root attributes.

    Raises
    ------
    StoreError
        The destination cannot be written (as :class:`TrajectoryWriter`).
    """

    def __init__(self, path: str | os.PathLike, config: dict, *, overwrite: bool = False,
                 device_info: dict | None = None):
        super().__init__(path, config, overwrite=overwrite, device_info=device_info)  # type: ignore[arg-type]
        self.scalars: dict[str, list[tuple[int, float]]] = {}

    def _write_header(self, device_info: dict) -> None:
        f, config = self.f, self.config
        f.attrs.update({"format": FORMAT_NAME, "format_version": FORMAT_VERSION, "unit": LAYER_UNIT,
                        "producer": "watch", "htdyn_version": __version__, "h5py_version": h5py.__version__,
                        "numpy_version": np.__version__, "host": socket.gethostname(), "status": "running",
                        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
                        "destination": self.dest.name, "name": str(config.get("name", self.dest.stem)),
                        "steps": 0, "n_runs": 0, "config_json": json.dumps(config, indent=1)})
        for k, v in self.lock.info.items():
            f.attrs[f"writer_{k}"] = attr_value(v)
        for k, v in device_info.items():
            f.attrs[k] = attr_value(v)
        g = f.create_group("scalars")
        g.attrs["description"] = ("model-level values per optimizer step t (index t), given to Watcher.step: "
                                  "loss[t] is the loss of W_t; NaN where not given")
        for name in BASE_SCALARS:
            self._scalar_set(name)
        f.create_group("runs")
        f.flush()

    def _scalar_set(self, name: str) -> h5py.Dataset:
        g = self.f["scalars"]
        if name not in g:
            g.create_dataset(name, shape=(0,), maxshape=(None,), chunks=(1024,), dtype=np.float64,
                             fillvalue=np.nan)
        return g[name]

    # ---------------------------------------------------------------- layers
    def add_layer(self, index: int, name: str, shape: tuple[int, int], *, metric_specs: dict | None = None,
                  weights: bool = False, updates: bool = False, info: dict | None = None) -> None:
        """Create the group of one layer (``/runs/<index>``), its data sets empty and growable.

        Parameters
        ----------
        index : the layer's unit index (0, 1, ... in the order the layers are listed)
        name : the layer's name (its label in every table and figure)
        shape : (h, d) of the matrix recorded (a convolution's kernel flattened to (out, in*kh*kw))
        metric_specs : ``{key: shape}`` of the online metrics of one record (``esd``: ``(N,)``)
        weights, updates : whether ``W`` snapshots (and updates ``M_t``) will be written
        info : more about the layer (module type, how it was flattened), stored in its config
        """
        h, d = (int(s) for s in shape)
        layer = {"layer": name, "shape": [h, d], **{k: v for k, v in (info or {}).items() if k in ("module", "kind")}}
        g = self.f.create_group(f"runs/{index:04d}")
        g.attrs.update({"index": index, "unit": LAYER_UNIT, "label": name, "layer": name,
                        "run_id": run_id(layer), "init": "model", "config_json": json.dumps(layer)})
        for k, v in (info or {}).items():
            g.attrs[k] = attr_value(v)
        for prefix, on in (("snapshot", True), ("update", updates)):
            g.create_dataset(f"{prefix}_steps", shape=(0,), maxshape=(None,), chunks=(256,), dtype=np.int64)
            name_ = "W" if prefix == "snapshot" else "update"
            grow = {"maxshape": (None, h, d), "chunks": (1, h, d)} if (weights and on) else {}
            ds = g.create_dataset(name_, shape=(0, h, d), dtype=np.float32, fillvalue=np.nan, **grow)
            ds.attrs["dims"] = "snapshot, h, d"
            g.create_dataset(name_ + "_scale", shape=(0,), maxshape=(None,), chunks=(256,), dtype=np.float64,
                             fillvalue=np.nan)
        mg = g.create_group("metrics")
        mg.create_dataset("steps", shape=(0,), maxshape=(None,), chunks=(256,), dtype=np.int64)
        for key, kshape in (metric_specs or {}).items():
            mg.create_dataset(key, shape=(0, *kshape), maxshape=(None, *kshape), dtype=np.float64,
                              chunks=(1, *kshape) if kshape else (256,), fillvalue=np.nan)
        for s in BASE_SCALARS:
            g[s] = self.f[f"scalars/{s}"]  # hard links: the model's loss is every layer's
        for cname, val in (("snapshot_count", 0), ("update_count", 0), ("steps_done", 0), ("diverged_step", -1)):
            g.create_dataset(cname, data=np.int64(val))
        self.f.attrs["n_runs"] = len(self.f["runs"])
        self.runs[index] = {"g": g, "pending": {}, "sdtype": np.float32, "snaps": 0, "upds": 0, "records": 0,
                            "msets": dict(mg.items()), "mbuf": []}
        self.f.flush()

    def write_metrics(self, index: int, step: int, values: dict[str, Any]) -> None:
        """Add one record of online metrics of layer ``index`` at ``step`` (a key not given stays NaN).

        The records are buffered and written at the next :meth:`flush`, one slice per data set
        (a record's many small writes cost more than its metrics); like every write, a record
        is durable only after a flush.
        """
        self.runs[index]["mbuf"].append((int(step), values))

    def _write_metric_rows(self) -> None:
        for r in self.runs.values():
            rows, i0 = r["mbuf"], r["records"]
            if not rows:
                continue
            n = len(rows)
            for key, ds in r["msets"].items():
                _grow(ds, i0 + n)
                if key == "steps":
                    ds[i0:i0 + n] = [t for t, _ in rows]
                elif any(key in v for _, v in rows):
                    block = np.full((n, *ds.shape[1:]), np.nan)
                    for j, (_, v) in enumerate(rows):
                        if key in v:
                            block[j] = v[key]
                    ds[i0:i0 + n] = block
            r["records"], r["mbuf"] = i0 + n, []

    def write_weights(self, index: int, step: int, W: np.ndarray) -> None:
        """Append the snapshot W_t of layer ``index`` (only where it was added with ``weights=True``)."""
        self._append(index, "snapshot", "W", step, W)

    def write_update(self, index: int, step: int, M: np.ndarray) -> None:
        """Append the update M_t = W_{t+1} - W_t of layer ``index`` (``updates=True``)."""
        self._append(index, "update", "update", step, M)

    def _append(self, index: int, prefix: str, name: str, step: int, arr: np.ndarray) -> None:
        r = self.runs[index]
        g, key = r["g"], "snaps" if prefix == "snapshot" else "upds"
        i = r[key]
        for ds in (g[name], g[f"{name}_scale"], g[f"{prefix}_steps"]):
            _grow(ds, i + 1)
        g[f"{prefix}_steps"][i] = step
        self._put(g, name, i, arr, r["sdtype"])
        r[key] = i + 1
        r["pending"][f"{prefix}_count"] = i + 1

    def mark_diverged(self, index: int, step: int) -> None:
        """Record that layer ``index`` held non-finite weights first at ``step``."""
        self.runs[index]["pending"]["diverged_step"] = step

    def write_scalars(self, step: int, values: dict[str, float]) -> None:
        """Buffer the model-level scalars of optimizer step ``step`` (written at the next flush)."""
        for name, v in values.items():
            self.scalars.setdefault(name, []).append((int(step), float(v)))

    def flush(self, steps_done: int | None = None) -> None:
        """Write the buffered metric records and scalars, flush, then publish the counters (``steps_done``)."""
        self._write_metric_rows()
        for name, rows in self.scalars.items():
            if rows:
                ds = self._scalar_set(name)
                top = max(t for t, _ in rows) + 1
                _grow(ds, top)
                idx = np.array([t for t, _ in rows])
                vals = np.array([v for _, v in rows])
                lo = int(idx.min())
                block = ds[lo:top]
                block[idx - lo] = vals
                ds[lo:top] = block
        self.scalars = {}
        if steps_done is not None:
            for k in ("scalars/loss", "scalars/lr"):
                _grow(self.f[k], steps_done)
            for r in self.runs.values():
                r["pending"]["steps_done"] = steps_done
            self.f.attrs["steps"] = steps_done
        super().flush()

    def finish(self, status: str = "complete", timings: dict | None = None, *,
               failed_step: int | None = None, error: str | None = None) -> Any:
        """Publish the file (complete), or leave the partial file with its status and the failing step."""
        if self.f.id.valid and failed_step is not None:
            self.f.attrs["failed_step"] = int(failed_step)
        if self.f.id.valid and error:
            self.f.attrs["error"] = error[:2000]
        return super().finish(status, timings)
