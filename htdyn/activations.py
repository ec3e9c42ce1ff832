"""Activations of the student and link functions of the teacher.

Each student activation phi comes with its derivative, written so that it
can reuse phi(x) (tanh: 1 - phi^2), and works on any array-API namespace.
A user-supplied callable gets a central finite-difference derivative unless
it is wrapped in :class:`Activation` with an exact one.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .errors import ConfigError

_GELU_C = math.sqrt(2.0 / math.pi)


@dataclass(frozen=True)
class Activation:
    """An element-wise activation and its derivative.

    Parameters
    ----------
    name : str
    f : callable
        ``f(xp, x) -> phi(x)``.
    df : callable, optional
        ``df(xp, x, fx) -> phi'(x)``, where ``fx = f(xp, x)`` may be reused.
        When omitted, a central difference with step eps**(1/3) max(1, |x|) is
        used (relative accuracy ~ eps**(2/3): 1e-11 in float64, 4e-5 in float32).
    f_out : callable, optional
        ``f_out(nat, x, out) -> out``: phi(x) written into ``out`` with the
        backend's own module ``nat`` (numpy, torch or cupy, whose functions take
        ``out=``).  Lets a training step reuse its buffers.
    df_inplace : callable, optional
        ``df_inplace(nat, x, fx) -> fx``: phi'(x) written over ``fx`` in place
        (``nat`` as for ``f_out``).

    Examples
    --------
    A cubic activation with its exact derivative, and the same without one (central
    differences), both applied to numpy arrays (``xp`` is the array namespace):

    >>> import numpy as np
    >>> from htdyn import Activation
    >>> cube = Activation("cube", lambda xp, x: x**3, lambda xp, x, fx: 3 * x**2)
    >>> x = np.array([-1.0, 0.5, 2.0])
    >>> cube(np, x).tolist(), cube.derivative(np, x, cube(np, x)).tolist()
    ([-1.0, 0.125, 8.0], [3.0, 0.75, 12.0])
    >>> approx = Activation("cube", lambda xp, x: x**3)
    >>> bool(np.allclose(approx.derivative(np, x, approx(np, x)), 3 * x**2, rtol=1e-9))
    True

    Either one can be a config's student activation: ``ModelConfig(activation=cube)``.
    """

    name: str
    f: Callable[..., Any]
    df: Callable[..., Any] | None = None
    f_out: Callable[..., Any] | None = None
    df_inplace: Callable[..., Any] | None = None

    def __call__(self, xp: Any, x: Any) -> Any:
        return self.f(xp, x)

    def derivative(self, xp: Any, x: Any, fx: Any) -> Any:
        if self.df is not None:
            return self.df(xp, x, fx)
        step = float(np.finfo(_np_dtype(x)).eps) ** (1.0 / 3.0) * xp.maximum(xp.abs(x), 1.0)
        return (self.f(xp, x + step) - self.f(xp, x - step)) / (2.0 * step)


def _np_dtype(x: Any) -> Any:
    name = str(x.dtype).split(".")[-1]
    return np.dtype(name)


def _tanh(xp, x):
    return xp.tanh(x)


def _dtanh(xp, x, fx):
    return 1.0 - fx * fx


def _tanh_out(nat, x, out):
    return nat.tanh(x, out=out)


def _dtanh_inplace(nat, x, fx):
    nat.multiply(fx, fx, out=fx)  # 1 - tanh^2 over fx: two passes, no new memory
    if hasattr(fx, "neg_"):  # torch: subtract() wants a tensor first
        return fx.neg_().add_(1.0)
    return nat.subtract(1.0, fx, out=fx)


def _relu(xp, x):
    return xp.maximum(x, 0.0)


def _drelu(xp, x, fx):
    return xp.astype(x > 0, x.dtype)


def _softplus(xp, x):
    # log(1 + e^x) = max(x, 0) + log1p(e^{-|x|}), stable for all x
    return xp.maximum(x, 0.0) + xp.log1p(xp.exp(-xp.abs(x)))


def _dsoftplus(xp, x, fx):
    # sigmoid(x) = (1 + tanh(x / 2)) / 2, stable for all x
    return 0.5 * (1.0 + xp.tanh(0.5 * x))


def _gelu(xp, x):
    # tanh approximation (torch's approximate="tanh")
    return 0.5 * x * (1.0 + xp.tanh(_GELU_C * (x + 0.044715 * x * x * x)))


def _dgelu(xp, x, fx):
    t = xp.tanh(_GELU_C * (x + 0.044715 * x * x * x))
    return 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * _GELU_C * (1.0 + 3 * 0.044715 * x * x)


def _linear(xp, x):
    return x


def _dlinear(xp, x, fx):
    return xp.ones_like(x)


ACTIVATIONS: dict[str, Activation] = {
    "tanh": Activation("tanh", _tanh, _dtanh, _tanh_out, _dtanh_inplace),
    "relu": Activation("relu", _relu, _drelu),
    "softplus": Activation("softplus", _softplus, _dsoftplus),
    "gelu": Activation("gelu", _gelu, _dgelu),
    "linear": Activation("linear", _linear, _dlinear),
}


def get_activation(spec: str | Activation | Callable) -> Activation:
    """Resolve a student activation: a name, an :class:`Activation`, or ``f(x)``.

    A plain callable is applied as ``f(x)`` to backend arrays and
    differentiated by central differences.
    """
    if isinstance(spec, Activation):
        return spec
    if isinstance(spec, str):
        try:
            return ACTIVATIONS[spec]
        except KeyError:
            raise ConfigError(
                f"activation {spec!r} is not valid; choose one of {', '.join(ACTIVATIONS)}"
            ) from None
    if callable(spec):
        fn = spec
        return Activation(getattr(fn, "__name__", "callable"), lambda xp, x: fn(x))
    raise ConfigError(f"activation must be a name or a callable, got {spec!r}")


TEACHERS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "softplus": lambda z: np.logaddexp(0.0, z),
    "relu": lambda z: np.maximum(z, 0.0),
    "tanh": np.tanh,
    "linear": lambda z: z,
}


def get_teacher(spec: str | Callable[[np.ndarray], np.ndarray]) -> Callable[[np.ndarray], np.ndarray]:
    """Resolve a teacher link g (applied on the host to float64 numpy arrays)."""
    if isinstance(spec, str):
        try:
            return TEACHERS[spec]
        except KeyError:
            raise ConfigError(f"teacher {spec!r} is not valid; choose one of {', '.join(TEACHERS)}") from None
    if callable(spec):
        return spec
    raise ConfigError(f"teacher must be a name or a callable, got {spec!r}")
