"""A small typed schema for nested config data (TOML or JSON).

A schema is built from :class:`Field`, :class:`Section` and :class:`TableList`; ``validate`` walks the data,
fills defaults, checks types and ranges, and rejects unknown keys. Every error names the key's path, such as
``counters[2].services[0]``, so a technician can find the line to fix.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from .errors import ConfigError

_MISSING = object()


def join_path(parent: str, key: str | int) -> str:
    """Return the dotted path of ``key`` under ``parent`` (``a.b``, ``a[3]``)."""
    if isinstance(key, int):
        return f"{parent}[{key}]"
    return f"{parent}.{key}" if parent else key


def type_name(value: Any) -> str:
    """Name a value's type in words a technician reads in TOML terms."""
    return {bool: "a boolean", int: "an integer", float: "a number", str: "a string",
            list: "a list", dict: "a table"}.get(type(value), type(value).__name__)


@dataclass
class Field:
    """One scalar or list value.

    ``kind`` is a Python type (``str``, ``int``, ``float``, ``bool``) or ``list`` with ``item`` describing the
    items; ``check`` may return an error message (or ``None``) for values of the right type.
    """

    kind: type
    default: Any = _MISSING
    check: Callable[[Any], str | None] | None = None
    item: "Field | None" = None
    doc: str = ""

    def validate(self, value: Any, path: str) -> Any:
        """Return the checked value or raise :class:`ConfigError` naming ``path``."""
        if self.kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, self.kind) or (self.kind is int and isinstance(value, bool)):
            expected = type_name(self.kind())
            raise ConfigError(path, f"must be {expected}, not {type_name(value)}")
        if self.kind is list and self.item is not None:
            value = [self.item.validate(v, join_path(path, i)) for i, v in enumerate(value)]
        if self.check is not None:
            problem = self.check(value)
            if problem:
                raise ConfigError(path, problem)
        return value

    def default_value(self, path: str) -> Any:
        """Return the default, or raise when the key is required."""
        if self.default is _MISSING:
            raise ConfigError(path, "is required")
        return self.default() if callable(self.default) else self.default


@dataclass
class Section:
    """A table with known keys; unknown keys are errors."""

    fields: dict[str, "Field | Section | TableList"]
    required: bool = False
    doc: str = ""

    def validate(self, value: Any, path: str) -> dict:
        """Return the checked table with defaults filled in."""
        if not isinstance(value, dict):
            raise ConfigError(path or "(top level)", f"must be a table, not {type_name(value)}")
        for key in value:
            if key not in self.fields:
                known = ", ".join(sorted(self.fields))
                hint = f"known here: {known}" if known else "this table takes no keys"
                raise ConfigError(join_path(path, key), f"is not a known key ({hint})")
        out = {}
        for key, spec in self.fields.items():
            sub = join_path(path, key)
            out[key] = spec.validate(value[key], sub) if key in value else spec.default_value(sub)
        return out

    def default_value(self, path: str) -> dict:
        """Return the section filled with defaults, or raise when it is required."""
        if self.required:
            raise ConfigError(path, "is required")
        return self.validate({}, path)


@dataclass
class TableList:
    """A list of tables (TOML ``[[name]]``) whose rows share one section, with optional unique keys."""

    row: Section
    unique: tuple[str, ...] = ()
    min_rows: int = 0
    default: list = field(default_factory=list)
    doc: str = ""

    def validate(self, value: Any, path: str) -> list[dict]:
        """Return the checked rows; duplicate values of a unique key are errors."""
        if not isinstance(value, list):
            raise ConfigError(path, f"must be a list of tables, not {type_name(value)}")
        rows = [self.row.validate(v, join_path(path, i)) for i, v in enumerate(value)]
        if len(rows) < self.min_rows:
            raise ConfigError(path, f"needs at least {self.min_rows} entr{'y' if self.min_rows == 1 else 'ies'}")
        for key in self.unique:
            seen: dict[Any, int] = {}
            for i, row in enumerate(rows):
                if row[key] in seen:
                    raise ConfigError(join_path(join_path(path, i), key),
                                      f"{row[key]!r} is used twice (also at {path}[{seen[row[key]]}])")
                seen[row[key]] = i
        return rows

    def default_value(self, path: str) -> list:
        """Return a copy of the default rows (validated)."""
        return self.validate(list(self.default), path)
