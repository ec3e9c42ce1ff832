"""Parameter sweeps: a spec of axes -> runs -> batches -> one trajectory file per batch, resumable.

spec (the sweep file, axes, store modes), seeds (the repeats' seeds), plan (batches sized
to memory), index (the run states; manifest: ``sweep.json``; dirlock: the driver's lock;
docfile: the JSON documents), executors (the ``Executor`` protocol and the registry),
local / pool / slots / ray (the executors, the worker pool, GPU discovery), worker (one
batch), driver (prepare and run), results (``open_sweep``, tables).  See docs/sweeps.md.
"""
