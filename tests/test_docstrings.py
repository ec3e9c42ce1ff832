"""The public API's docstrings are numpydoc and complete (issue "One format, many producers").

Public means: the names of ``htdyn.__all__`` and ``htdyn.plot.__all__``, and in every module of
``htdyn.analysis`` the names of its ``__all__`` (or, without one, what the module defines without a
leading underscore; a module whose helpers serve only its siblings declares an ``__all__``).
Each public function has the sections numpydoc asks of it:

- ``Parameters`` when it takes any, ``Returns`` unless it returns ``None``, and ``Examples``;
- ``References`` (the paper and the equation) where it computes a formula: every function of the
  numerical modules below, the figures that draw one of the paper's figures, and ``simulate``;
- a class has ``Parameters`` or ``Attributes``, and ``Examples``.

The Examples run in CI (``--doctest-modules``, see the README); this test checks they exist.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

import htdyn

# Modules whose functions compute a formula from a paper: they cite it.
NUMERICAL = {f"htdyn.analysis.{m}" for m in (
    "alignment", "bulkfit", "compression", "esd", "features", "metrics", "mp", "mplaw", "phases",
    "plcompare", "powerlaw", "setmetrics", "spikes", "truncexp")} | {
    "htdyn.plot.spectra", "htdyn.plot.phasediagram", "htdyn.plot.overlaps", "htdyn.train.simulate"}


def _module_names(package: str) -> list[str]:
    pkg = importlib.import_module(package)
    return [package] + [f"{package}.{m.name}" for m in pkgutil.iter_modules(pkg.__path__)]


def _public(module_name: str) -> list[tuple[str, object]]:
    module = importlib.import_module(module_name)
    names = getattr(module, "__all__", None)
    if names is None:
        names = [n for n, obj in vars(module).items() if not n.startswith("_")
                 and getattr(obj, "__module__", None) == module_name]
    objs = [(f"{module_name}.{n}", getattr(module, n)) for n in names]
    return [(q, o) for q, o in objs if inspect.isfunction(o) or inspect.isclass(o)]


def _api() -> dict[str, object]:
    found: dict[str, object] = {}
    for package in (htdyn, htdyn.plot):
        for name in package.__all__:
            obj = getattr(package, name)
            if inspect.isfunction(obj) or inspect.isclass(obj):
                found.setdefault(f"{obj.__module__}.{obj.__qualname__}", obj)
    for module_name in _module_names("htdyn.analysis"):
        for _, obj in _public(module_name):
            found.setdefault(f"{obj.__module__}.{obj.__qualname__}", obj)
    return found


API = _api()


def missing_sections(obj: object) -> list[str]:
    """The numpydoc sections ``obj``'s docstring lacks under the rules above, sorted."""
    lines = (inspect.getdoc(obj) or "").splitlines()
    headed = {line.strip() for line, below in zip(lines, lines[1:]) if below.strip() and set(below.strip()) == {"-"}}
    missing = [] if "Examples" in headed else ["Examples"]
    if inspect.isclass(obj):
        return missing + ([] if {"Parameters", "Attributes"} & headed else ["Parameters or Attributes"])
    sig = inspect.signature(obj)
    need = []
    if any(p.name not in ("self", "cls") for p in sig.parameters.values()):
        need.append("Parameters")
    if sig.return_annotation not in (None, "None"):
        need.append("Returns")
    if obj.__module__ in NUMERICAL:
        need.append("References")
    return sorted(missing + [s for s in need if s not in headed])


def test_the_api_is_found():
    assert "htdyn.train.simulate.simulate" in API and "htdyn.io.reader.open" in API
    assert any(k.startswith("htdyn.analysis.powerlaw.") for k in API)
    assert any(k.startswith("htdyn.plot.") for k in API)


def test_the_rule_sees_a_missing_section():
    def documented(x: int) -> int:
        """One line.

        Parameters
        ----------
        x : int
        """
        return x

    assert missing_sections(documented) == ["Examples", "Returns"]


@pytest.mark.parametrize("name", sorted(API))
def test_public_docstring_is_complete(name):
    assert missing_sections(API[name]) == [], f"{name}: add the numpydoc sections {missing_sections(API[name])}"
