"""Parameter sweeps: a spec of axes -> runs -> batches -> one trajectory file per batch, resumable.

spec (the sweep file, axes, store modes), seeds (the repeats' seeds), plan (batches sized
to memory), index (the directory and run states), worker / local / ray (executors),
driver (prepare and run), results (``open_sweep``, tables).  See docs/sweeps.md.
"""
