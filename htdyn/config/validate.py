"""Validation and coercion driven by the field table (:mod:`htdyn.config.fields`).

Every message is one line naming the dotted key and what is valid; unknown keys
and bad choice values come with a "did you mean" hint when a valid one is close
(:func:`difflib.get_close_matches`, ratio >= 0.6).
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Iterable, Sequence
from typing import Any

from ..errors import ConfigError
from .fields import Field, fields_of
from .steps import check_step_spec


def suggest(word: Any, options: Iterable[str]) -> str | None:
    """The option closest to ``word`` (difflib ratio >= 0.6), or None."""
    if not isinstance(word, str):
        return None
    close = difflib.get_close_matches(word, sorted(options), n=1)
    return close[0] if close else None


def unknown_key_message(key: str, prefix: str, valid: Iterable[str]) -> str:
    """``unknown config key 'prefix+key' (did you mean 'x'?); valid keys: ...``."""
    valid = sorted(valid)
    close = suggest(key, valid)
    hint = f" (did you mean {close!r}?)" if close else ""
    return f"unknown config key '{prefix}{key}'{hint}; valid keys: {', '.join(valid)}"


def range_text(f: Field) -> str:
    """The range of a numeric field as the messages and docs say it: ``> 0``, ``>= 0``, ``in [0, 1)``."""
    if f.lo is not None and f.hi is not None:
        return f"in {'(' if f.lo_open else '['}{f.lo:g}, {f.hi:g}{')' if f.hi_open else ']'}"
    if f.lo is not None:
        return f"{'>' if f.lo_open else '>='} {f.lo:g}"
    if f.hi is not None:
        return f"{'<' if f.hi_open else '<='} {f.hi:g}"
    return ""


def coerce(f: Field, value: Any, key: str) -> Any:
    """A loaded value made the field's type where the file format could not.

    YAML 1.1 reads ``1e-3`` as a string: a numeric string becomes a float for
    ``float`` fields, optional or not.  Nothing else changes: ints stay ints
    (also in float fields, so messages quote the value as written), bools are
    never numbers, None stays None.
    """
    if f.kind == "float" and isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            raise ConfigError(f"{key} must be a number, got {value!r}") from None
    return value


def as_floats(obj: Any, section: str) -> Any:
    """Ints held by the ``float`` fields of ``section`` on ``obj`` become floats, in place; returns ``obj``.

    ``1`` and ``1.0`` are then one value in a stored config and in a run id (sweeps apply
    it to every section of a run, from this table, so no section is missed).
    """
    for f in fields_of(section):
        v = getattr(obj, f.name, None)
        if f.kind == "float" and isinstance(v, int) and not isinstance(v, bool):
            setattr(obj, f.name, float(v))
    return obj


def check_value(f: Field, value: Any, key: str) -> None:
    """Raise a :class:`ConfigError` naming ``key`` unless ``value`` is valid for field ``f``."""
    if value is None and f.optional:
        return
    _CHECKS[f.kind](f, value, key)


def check_fields(obj: Any, section: str, prefix: str | None = None) -> None:
    """Check every table field of ``section`` on the dataclass instance ``obj``.

    ``prefix`` replaces the section name in the keys of the messages (default:
    the section's own dotted prefix).
    """
    for f in fields_of(section):
        key = f.key if prefix is None else (f"{prefix}.{f.name}" if prefix else f.name)
        check_value(f, getattr(obj, f.name), key)


def _check_int(f: Field, v: Any, key: str) -> None:
    if isinstance(v, bool) or not isinstance(v, int):
        raise ConfigError(f"{key} must be an integer, got {v!r}")
    if _out_of_range(f, v):
        if f.hi is None and f.lo in (0, 1) and not f.lo_open:
            kind = "positive" if f.lo == 1 else "non-negative"
            raise ConfigError(f"{key} = {v} must be a {kind} integer")
        raise ConfigError(f"{key} = {v!r} is out of range; it must be an integer {range_text(f)}")


def _check_float(f: Field, v: Any, key: str) -> None:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise ConfigError(f"{key} must be a number, got {v!r}")
    if not math.isfinite(v):
        raise ConfigError(f"{key} must be finite, got {v!r}")
    if _out_of_range(f, v):
        if f.hi is None or f.lo is None:
            raise ConfigError(f"{key} = {v} must be {range_text(f)}")
        raise ConfigError(f"{key} = {v!r} is out of range; it must be {range_text(f)}")


def _out_of_range(f: Field, v: float) -> bool:
    low = f.lo is not None and (v <= f.lo if f.lo_open else v < f.lo)
    high = f.hi is not None and (v >= f.hi if f.hi_open else v > f.hi)
    return low or high


def _check_bool(f: Field, v: Any, key: str) -> None:
    if not isinstance(v, bool):
        raise ConfigError(f"{key} must be true or false, got {v!r}")


def _check_str(f: Field, v: Any, key: str) -> None:
    if not isinstance(v, str) or (f.nonempty and not v):
        raise ConfigError(f"{key} must be {f.what or 'a string'}, got {v!r}")
    if f.placeholders is not None:
        check_placeholders(v, key, f.placeholders)


def _check_choice(f: Field, v: Any, key: str) -> None:
    if f.callable_ok and callable(v):
        return
    if isinstance(v, str) and v in f.choices:
        return
    close = suggest(v, f.choices)
    hint = f" (did you mean {close!r}?)" if close else ""
    also = " or a Python callable" if f.callable_ok else ""
    raise ConfigError(f"{key} = {v!r} is not valid{hint}; choose one of {', '.join(f.choices)}{also}")


def _check_steps(f: Field, v: Any, key: str) -> None:
    if isinstance(v, str) and v in f.extra:
        return
    check_step_spec(v, key)


def _check_names(f: Field, v: Any, key: str) -> None:
    if not isinstance(v, list) or not all(isinstance(m, str) for m in v):
        raise ConfigError(f"{key} must be {f.what or 'a list of names'}, got {v!r}")


_CHECKS = {"int": _check_int, "float": _check_float, "bool": _check_bool, "str": _check_str,
           "choice": _check_choice, "steps": _check_steps, "names": _check_names}


def check_placeholders(text: str, key: str, valid: Sequence[str]) -> None:
    """Only the ``{name}``-style placeholders in ``valid`` may appear in ``text``."""
    for found in re.findall(r"\{([^{}]*)\}", text):
        if found not in valid:
            raise ConfigError(f"{key} = {text!r}: unknown placeholder {{{found}}}; "
                              f"valid placeholders: {', '.join('{' + v + '}' for v in valid)}")
