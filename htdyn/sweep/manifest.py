"""A sweep directory's design, ``DIR/sweep.json``: written once, and what a new spec may change.

The manifest holds the design (spec, axes, repeats, store, seed derivation), the metric
sets of its store and the planned runs.  A rerun's spec must keep every run planned
before (adding values to an axis, or repeats, does), else it is refused unless
``--force``.  :class:`SweepManifest` is the part of :class:`~htdyn.sweep.index.SweepDir`
that reads and writes it.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import TYPE_CHECKING

from .._version import __version__
from ..errors import ConfigError, StoreError
from .docfile import read_json, write_error, write_json

if TYPE_CHECKING:
    from .spec import SweepSpec

__all__ = ["SweepManifest", "diff_manifest", "manifest_doc"]


def diff_manifest(old: dict, new: dict, prefix: str = "") -> list[str]:
    """What changed between two manifests, as 'key: old -> new' lines (dotted keys)."""
    out = []
    for k in sorted(set(old) | set(new), key=str):
        a, b = old.get(k, "(unset)"), new.get(k, "(unset)")
        if isinstance(a, dict) and isinstance(b, dict):
            out += diff_manifest(a, b, f"{prefix}{k}.")
        elif a != b:
            out.append(f"{prefix}{k}: {json.dumps(a)} -> {json.dumps(b)}")
    return out


def manifest_doc(spec: SweepSpec) -> dict:
    """``sweep.json``'s document for ``spec``."""
    return {"format": "htdyn-sweep", "format_version": 1, "htdyn_version": __version__,
            "design": spec.manifest(), "store_sets": spec.store_sets, "run_ids": [r.id for r in spec.runs],
            "runs": [{"id": r.id, "repeat": r.repeat, "point": r.point, "steps": r.steps} for r in spec.runs]}


class SweepManifest:
    """``sweep.json`` of a sweep directory (needs ``root``, ``batches`` and ``manifest_path``)."""

    root: Path
    batches: Path
    manifest_path: Path

    def manifest(self) -> dict | None:
        return read_json(self.manifest_path, "the sweep's design (its manifest)")

    def check_spec(self, spec: SweepSpec, force: bool = False) -> list[str]:
        """Refuse a spec whose runs do not include every run planned before (unless ``force``).

        Adding values to an axis (or repeats) keeps every old run, so it is accepted and
        the done runs are reused.  Returns the changes (empty for the same spec).
        """
        if self.root.exists() and not self.root.is_dir():
            raise StoreError(f"sweep directory {str(self.root)!r} is a file")
        old = self.manifest()
        if old is None:
            if self.root.is_dir() and any(p.name not in (".index.json.lock",) for p in self.root.iterdir()):
                raise StoreError(f"{str(self.root)!r} is not empty and holds no sweep.json; "
                                 "give a new or empty directory (-o)")
            return []
        changes = diff_manifest(old.get("design", {}), spec.manifest())
        if not changes:
            return []
        kept = {r.id for r in spec.runs}
        lost = [i for i in old.get("run_ids", []) if i not in kept]
        if lost and not force:
            shown = "; ".join(changes[:3]) + (f"; and {len(changes) - 3} more" if len(changes) > 3 else "")
            raise ConfigError(f"the spec differs from the one {str(self.root)!r} was made with ({shown}); "
                              f"{len(lost)} of its runs are not in the new spec. Use a new directory, "
                              "or pass --force to adopt the new spec (finished files are kept)")
        return changes

    def write_manifest(self, spec: SweepSpec) -> None:
        """Write ``sweep.json`` (left alone when it already says the same, so a rerun on a full disk starts)."""
        doc = manifest_doc(spec)
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            self.batches.mkdir(exist_ok=True)
            with contextlib.suppress(StoreError):
                if self.manifest() == json.loads(json.dumps(doc)):
                    return
            write_json(self.manifest_path, doc)
        except OSError as exc:
            raise write_error(self.manifest_path, exc) from None
