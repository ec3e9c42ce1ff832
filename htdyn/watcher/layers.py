"""Which matrices of a PyTorch model are watched, and how each becomes a 2-D matrix W (h x d).

* ``nn.Linear``: its ``weight`` (out_features, in_features), as it is.
* ``nn.Conv1d/2d/3d``: the kernel (out, in/groups, k1, ...) flattened to (out, in/groups * k1 * ...),
  as WeightWatcher does: one row per output channel (WeightWatcher's default
  ``conv2d_fft=False`` view; its per-kernel-position slices are not used).
* ``nn.MultiheadAttention``: the in-projection split into its query, key and value matrices
  (units ``<name>.q``, ``<name>.k``, ``<name>.v``, each (embed_dim, embed_dim), or
  (embed_dim, kdim|vdim) with separate projections); its ``out_proj`` is an ``nn.Linear``
  of its own (``<name>.out_proj``).
* Any other module with a ``weight`` of two or more dimensions (``nn.Embedding``) when a
  name or a predicate selects it; flattened as a convolution's kernel.

The selection (``layers=``) is ``None`` (every Linear, convolution and attention unit), a
name or a list of names (a unit's name, or a module's name for all of its units), or a
predicate ``fn(name, module) -> bool`` called for every unit.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import ConfigError

__all__ = ["LayerUnit", "find_layers"]


@dataclass
class LayerUnit:
    """One watched matrix: its name, module, kind and where its entries live.

    Attributes
    ----------
    name : the unit's name (the module's dotted name; ``.q``/``.k``/``.v`` for attention)
    module : the ``nn.Module`` it belongs to
    kind : ``linear``, ``conv1d``/``conv2d``/``conv3d``, ``attention.q``/``.k``/``.v``, or the module's class
    param : the parameter holding it
    rows : the rows of ``param`` it is (attention's packed in-projection), or None for all
    """

    name: str
    module: Any
    kind: str
    param: Any
    rows: slice | None = None

    def matrix(self) -> Any:
        """W as a (h, d) tensor on the model's device, sharing the parameter's memory (no copy)."""
        W = self.param.detach()
        if self.rows is not None:
            W = W[self.rows]
        return W.reshape(W.shape[0], -1)

    @property
    def shape(self) -> tuple[int, int]:
        n = self.param.shape[0] if self.rows is None else self.rows.stop - self.rows.start
        rest = 1
        for s in self.param.shape[1:]:
            rest *= int(s)
        return int(n), int(rest)

    @property
    def info(self) -> dict:
        """What a file records of the unit: module class, kind, the parameter's own shape, how it was flattened."""
        shape = list(self.param.shape)
        how = "as is" if len(shape) == 2 and self.rows is None else "flattened to (out, in*kernel)"
        if self.rows is not None:
            how = f"rows {self.rows.start}:{self.rows.stop} of in_proj_weight"
        return {"module": type(self.module).__name__, "kind": self.kind, "param_shape": shape, "matrix": how}


def _units(name: str, m: Any, nn: Any) -> list[LayerUnit]:
    """The default units of one module (none for a module of another type)."""
    if isinstance(m, nn.MultiheadAttention):
        if m.in_proj_weight is not None:
            E = m.embed_dim
            return [LayerUnit(f"{name}.{p}", m, f"attention.{p}", m.in_proj_weight, slice(i * E, (i + 1) * E))
                    for i, p in enumerate("qkv")]
        return [LayerUnit(f"{name}.{p}", m, f"attention.{p}", getattr(m, f"{p}_proj_weight")) for p in "qkv"]
    if isinstance(m, nn.Linear):
        return [LayerUnit(name, m, "linear", m.weight)]
    for k, cls in enumerate((nn.Conv1d, nn.Conv2d, nn.Conv3d)):
        if isinstance(m, cls):
            return [LayerUnit(name, m, f"conv{k + 1}d", m.weight)]
    return []


def _other(name: str, m: Any) -> list[LayerUnit]:
    w = getattr(m, "weight", None)
    if w is None or not hasattr(w, "detach"):
        return []
    return [LayerUnit(name, m, type(m).__name__.lower(), w)]


def find_layers(model: Any, layers: None | str | Sequence[str] | Callable[[str, Any], bool] = None
                ) -> list[LayerUnit]:
    """The units of ``model`` that ``layers`` selects, in the model's module order.

    Raises
    ------
    ConfigError
        A name that is no module or unit of the model, a selection that matches nothing,
        a model with no Linear, convolution or attention layer, or a selected weight that
        is not 2-D after flattening (a bias-like 1-D weight, e.g. of a BatchNorm).
    """
    import torch.nn as nn

    if not isinstance(model, nn.Module):
        raise ConfigError(f"watch: model must be a torch.nn.Module, got {type(model).__name__}")
    mods = [(name or type(m).__name__, m) for name, m in model.named_modules()]
    default = [u for name, m in mods for u in _units(name, m, nn)]
    every = [u for name, m in mods for u in (_units(name, m, nn) or _other(name, m))]
    if layers is None:
        chosen = default
        if not chosen:
            raise ConfigError(f"watch: model {type(model).__name__} has no nn.Linear, convolution or "
                              "nn.MultiheadAttention layer to watch; name its layers with layers=[...]")
    elif callable(layers):
        chosen = [u for u in every if layers(u.name, u.module)]
        if not chosen:
            raise ConfigError(f"watch: the layers predicate matches no layer of {type(model).__name__}; "
                              f"its layers: {_names(every)}")
    else:
        chosen = _by_name([layers] if isinstance(layers, str) else list(layers), every, model)
    for u in chosen:
        if u.param.dim() < 2:
            raise ConfigError(f"watch: layer {u.name!r} ({type(u.module).__name__}) has a weight of shape "
                              f"{tuple(u.param.shape)}, not 2-D after flattening; watch Linear, convolution, "
                              "attention or embedding layers")
    return chosen


def _by_name(names: list[str], every: list[LayerUnit], model: Any) -> list[LayerUnit]:
    if not names:
        raise ConfigError("watch: layers=[] selects no layer; give names, a predicate, or None for every layer")
    wanted: set[str] = set()
    for n in names:
        if not isinstance(n, str):
            raise ConfigError(f"watch: layers entries must be layer names (str), got {n!r}")
        hit = {u.name for u in every if u.name == n or (u.kind.startswith("attention.") and u.name[:-2] == n)}
        if not hit:
            raise ConfigError(f"watch: {type(model).__name__} has no layer {n!r}; its layers: {_names(every)}")
        wanted |= hit
    return [u for u in every if u.name in wanted]


def _names(units: list[LayerUnit]) -> str:
    names = [u.name for u in units]
    return ", ".join(names[:12]) + (f", ... ({len(names)} in all)" if len(names) > 12 else "") if names else "none"
