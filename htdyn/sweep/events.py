"""What a running sweep reports: run-steps done and batches finished (the CLI draws them)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class SweepEvents:
    """Callbacks of a running sweep; every one optional.

    ``on_step(k)``: k more run-steps done (one engine step of a batch of B runs is B);
    ``on_batch(batch, outcome)``: a batch finished (``outcome`` from ``execute_batch``).
    """

    on_step: Callable[[int], None] | None = None
    on_batch: Callable[[Any, dict], None] | None = None
    outcomes: list = field(default_factory=list)

    def step(self, k: int) -> None:
        if self.on_step is not None:
            self.on_step(k)

    def batch(self, b: Any, outcome: dict) -> None:
        self.outcomes.append((b, outcome))
        if self.on_batch is not None:
            self.on_batch(b, outcome)
