"""Text that comes from outside (JSON bodies, uploaded rosters, configs): the one check that it is storable.

JSON may spell a lone UTF-16 surrogate (``"\\udc80"``), which Python decodes into a ``str`` that cannot be
encoded as UTF-8: SQLite, the config file and every JSON answer would fail on it later. Such text is refused
where it is read (400 ``bad_text``, ``field`` naming where it was), so it never reaches the queue. Bytes that
are not UTF-8 never become text at all (their readers refuse them with their own codes).
"""
from __future__ import annotations

from typing import Any

from .errors import BadRequest


class BadText(BadRequest):
    """A string holds a lone surrogate, which is not a character (400 ``bad_text``)."""

    code = "bad_text"


def _is_storable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _shown(key: str) -> str:
    """A key as it can be shown in an answer (a lone surrogate as its ``\\udc80`` escape)."""
    return key.encode("utf-8", "backslashreplace").decode("utf-8")


def _join(where: str, key: Any) -> str:
    if isinstance(key, int):
        return f"{where}[{key}]"
    return f"{where}.{_shown(key)}" if where else _shown(key)


def _all_storable(value: Any) -> bool:
    todo = [value]
    while todo:
        item = todo.pop()
        if isinstance(item, str):
            if not item.isascii() and not _is_storable(item):
                return False
        elif isinstance(item, dict):
            todo.extend(item)
            todo.extend(item.values())
        elif isinstance(item, list):
            todo.extend(item)
    return True


def find_bad_text(value: Any, where: str = "") -> str | None:
    """Return where the first string (or object key) in ``value`` holding a lone surrogate is (``agent_code``,
    ``services[0].name``; ``""`` for ``value`` itself), or None when all its text is storable.

    The walks are iterative, so a document nested as deeply as the JSON parser allows is walked too; the path is
    only worked out for a document that has such text."""
    if _all_storable(value):
        return None
    todo: list[tuple[Any, str]] = [(value, where)]
    while todo:
        item, at = todo.pop()
        if isinstance(item, str):
            if not _is_storable(item):
                return at
        elif isinstance(item, dict):
            for key in item:
                if isinstance(key, str) and not _is_storable(key):
                    return _join(at, key)
            todo.extend(reversed([(v, _join(at, k)) for k, v in item.items()]))
        elif isinstance(item, list):
            todo.extend(reversed([(v, _join(at, i)) for i, v in enumerate(item)]))
    return None


def check_text(value: Any, what: str = "The body") -> None:
    """Raise 400 ``bad_text`` if any string or key in ``value`` (parsed JSON) holds a lone surrogate."""
    where = find_bad_text(value)
    if where is None:
        return
    if where:
        raise BadText(f"The field {where!r} holds a lone surrogate (an escape such as \\udc80 that is not a "
                      "character); send UTF-8 text.", field=where)
    raise BadText(f"{what} holds a lone surrogate (an escape such as \\udc80 that is not a character); send "
                  "UTF-8 text.")
