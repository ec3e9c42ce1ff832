"""Watching any PyTorch model while it trains: ``htdyn.watch`` (the second producer of trajectory files).

The simulator (:mod:`htdyn.train`) writes files whose unit is a run of the teacher-student
model; the watcher writes files whose unit is a layer of the user's network, through the same
writer rules (:class:`htdyn.io.producer.LayerWriter`), so ``htdyn info / analyze / plot /
report`` read both.  torch is imported when a model is watched, never by ``import htdyn``.
See ``docs/watch.md``.
"""

from __future__ import annotations

from .watcher import Watcher, watch

__all__ = ["Watcher", "watch"]
