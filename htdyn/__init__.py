"""htdyn: spectral dynamics of two-layer networks trained without gradient noise."""

from ._version import __version__

__all__ = ["__version__"]
