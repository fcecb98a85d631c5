"""The technician's config file: edited in place so that its comments and layout survive a save, and written
atomically.

A save through ``PUT /config`` writes the file as follows (docs/configuration.md, "Where PUT /config saves"):

- **TOML body** (the console's editor): the text the technician sent, exactly, once it has validated.
- **JSON body**: the file on disk (the packaged default when there is none yet) edited as little as the new
  config allows, by :func:`edit`: a value that changed is replaced on its line (its comment stays); a key the
  body leaves out is removed (its default applies, as it would for the body); a key the file does not have is
  written only when the body's value differs from what the file means without it (its default, or a default
  the file's other keys imply). Entries of the arrays of tables (``[[services]]``, ``[[counters]]``,
  ``[[buses]]``, ``[[devices]]``, ``[[starlight.branches]]``) are matched by their identity (``id`` or
  ``name``, the list's first unique key), so an entry keeps its comment lines wherever it moves; an entry whose
  identity changed is removed and a new one added. Inline tables stay inline. Everything else, comments and
  blank lines included, is left byte for byte.

What is written always means exactly the config that was validated: the edited text is validated again, and
when it does not give the same config (a default that depends on another key that changed, say) the edit is
redone writing the keys that came out different as well; failing that, the config is written out whole
(comments lost; logged as a warning).
"""
from __future__ import annotations

import collections.abc
import logging
import os
from pathlib import Path
from typing import Any

import tomlkit
from tomlkit.items import InlineTable, Item, Table

from . import settings, storage
from .errors import ConfigError, HallError
from .files import sync_dir, write_beside
from .schema import Field, Section, TableList
from .toml_blocks import Entry, Layout

log = logging.getLogger(__name__)

_MISSING = object()


def _list_paths(spec: Section, prefix: tuple[str, ...] = ()) -> dict[tuple[str, ...], TableList]:
    """Every array of tables in the schema, by its key path."""
    found: dict[tuple[str, ...], TableList] = {}
    for key, sub in spec.fields.items():
        if isinstance(sub, TableList):
            found[prefix + (key,)] = sub
        elif isinstance(sub, Section):
            found.update(_list_paths(sub, prefix + (key,)))
    return found


LISTS = _list_paths(settings.SCHEMA)


def base_text(path: Path) -> str:
    """The text a JSON save edits: the config file, or the packaged default when there is none (or the file
    no longer reads as a valid config; then it is replaced as a whole, and that is logged)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        return settings.default_text()
    except (OSError, UnicodeDecodeError) as exc:
        log.warning("the config file %s cannot be read (%s); the save starts from the packaged default", path, exc)
        return settings.default_text()
    try:
        settings.parse_toml(text)
    except ConfigError as exc:
        log.warning("the config file %s is not a valid config (%s); the save starts from the packaged default",
                    path, exc.message)
        return settings.default_text()
    return text


def current_text(path: Path, cfg: dict) -> str:
    """The TOML text of the config in force (``GET /config?format=toml``): the file's own text when it means
    that config (so the editor shows its comments), else the file edited to mean it."""
    return edit(base_text(path), cfg, cfg)


def edit(text: str, sent: Any, new: dict) -> str:
    """Return ``text`` (a valid config) minimally edited so that it means ``new``, the validated form of the
    body ``sent``. A body that changes nothing leaves the text as it is."""
    old = settings.parse_toml(text)
    if old == new:
        return text
    force: set[tuple] = set()  # keys to write although the file seemed to mean their value without them
    for _attempt in range(3):
        try:
            layout = Layout(text, LISTS)
            _merge(_Scope(layout, None, ()), settings.SCHEMA, sent, old, new, (), force)
            out = layout.render()
            got = settings.parse_toml(out)
        except ConfigError as exc:
            log.warning("the edited config file is not valid (%s); it is written anew, without its comments",
                        exc.message)
            break
        except Exception as exc:  # LayoutError, or tomlkit refusing an edit: the save goes on without comments
            log.warning("the config file's layout cannot be kept (%s); it is written anew, without its comments",
                        exc)
            break
        if got == new:
            return out
        missed = _differences(got, new, settings.SCHEMA, ())
        if missed <= force:
            break
        force |= missed
    log.warning("the edited config file did not give the config that was saved; it is written anew, without "
                "its comments")
    return settings.to_toml(new)


def _differences(got: Any, want: Any, spec: Any, here: tuple) -> set[tuple]:
    """The keys (as paths: a list entry is its list's key and its identity) where ``got`` differs from ``want``."""
    if not (isinstance(got, dict) and isinstance(want, dict)):
        return set() if _same(got, want) else {here}
    found: set[tuple] = set()
    fields = spec.fields if isinstance(spec, Section) else {}
    for key in want.keys() | got.keys():
        sub = fields.get(key)
        if isinstance(sub, TableList):
            ident = sub.unique[0]
            have = {row[ident]: row for row in got.get(key, [])}
            for row in want.get(key, []):
                found |= _differences(have.get(row[ident], {}), row, sub.row, here + (key, row[ident]))
        else:
            found |= _differences(got.get(key), want.get(key), sub, here + (key,))
    return found


def stage(path: Path, text: str) -> Path:
    """Write ``text`` to a synced temporary file beside the config file and return it (see :func:`put`).

    A full disk is 503 ``storage_full``, any other failure 500 ``config_not_saved``; nothing changed then."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        return write_beside(path, text.encode("utf-8"))
    except OSError as exc:
        raise _not_saved(path, exc) from None


def put(temp: Path, path: Path) -> None:
    """Rename the staged file over the config file (the moment the new file takes effect; no data is written)."""
    try:
        os.replace(temp, path)
    except OSError as exc:
        raise _not_saved(path, exc) from None


def settle(path: Path) -> None:
    """Sync the config file's folder, so the rename survives a power cut (logged if it fails: the file is in
    place and the config in force either way)."""
    try:
        sync_dir(Path(path).parent)
    except OSError as exc:
        log.error("the folder of %s could not be synced after the config was saved: %s", path, exc.strerror)


def _not_saved(path: Path, exc: OSError) -> HallError:
    if storage.is_full(exc):
        return storage.full_error()
    return HallError(f"The config could not be saved to {path}: {exc.strerror}. Nothing was changed.",
                     code="config_not_saved", status=500)


# -- the minimal edit ---------------------------------------------------------------------------------------

def _merge(scope: "_Scope", spec: Any, sent: dict, old: dict | None, new: dict, here: tuple,
           force: set[tuple]) -> None:
    """Edit the table at ``scope`` so it holds what ``sent`` (validated: ``new``) says, as little as possible.

    ``old`` is what the file meant for this table before (for a new entry: an entry's defaults). ``here`` is
    the table's path as :func:`_differences` names it; a key in ``force`` is written even when the file seemed
    to mean its value without it."""
    fields = spec.fields if isinstance(spec, Section) else {}
    for key in scope.keys():
        if key not in sent:
            scope.remove(key)
    for key, sub in fields.items():
        if isinstance(sub, TableList):
            _merge_list(scope, key, sub, sent.get(key, []), _get(old, key, []), new[key], here, force)
    for key in [k for k in fields if k in sent] + [k for k in sent if k not in fields]:  # new keys in schema order
        value, was = sent[key], _get(old, key, _MISSING)
        if isinstance(fields.get(key), TableList):
            continue
        if isinstance(value, dict) and (scope.is_table(key) or not scope.has(key)):
            _merge(scope.child(key), fields.get(key), value, was if isinstance(was, dict) else None, new[key],
                   here + (key,), force)
        elif scope.has(key):
            if not _same(scope.get(key), value):
                scope.set(key, value)
        elif here + (key,) in force or was is _MISSING or not _same(was, new[key]):
            scope.add(key, value)  # the file does not mean this value without the key


def _merge_list(scope: "_Scope", key: str, spec: TableList, sent: list, old: list, new: list, here: tuple,
                force: set[tuple]) -> None:
    """Edit one array of tables: entries matched by identity, kept in place, added, removed and ordered."""
    if scope.has(key):  # written as an inline array: replaced whole when it changed
        if not _same(scope.get(key), sent):
            scope.set(key, sent)
        return
    path = scope.path + (key,)
    layout = scope.layout
    ident = spec.unique[0]
    current = {_Scope(layout, entry, ()).get(ident): entry for entry in layout.entries[path]}
    before = {row[ident]: row for row in old}
    final: list[Entry] = []
    for body_row, row in zip(sent, new, strict=True):
        entry = current.pop(row[ident], None)
        at = here + (key, row[ident])
        if entry is None:  # a new entry: compared with the defaults of an entry, as the body wrote it
            entry = layout.new_entry(path)
            _merge(_Scope(layout, entry, ()), spec.row, body_row, _fresh(spec.row, body_row), body_row, at, force)
        else:
            _merge(_Scope(layout, entry, ()), spec.row, body_row, before.get(row[ident]), row, at, force)
        final.append(entry)
    layout.order(path, final)


def _get(table: dict | None, key: str, missing: Any) -> Any:
    return missing if table is None else table.get(key, missing)


def _fresh(spec: Section, row: dict) -> dict:
    """What a new entry means for each key it does not write: the key's default; for a device's ``options``,
    its driver's defaults."""
    defaults = {}
    for key, sub in spec.fields.items():
        if isinstance(sub, Field):
            try:
                defaults[key] = sub.default_value("")
            except ConfigError:
                pass  # required: always written
    if isinstance(row.get("options"), dict) and "kind" in row:
        defaults["options"] = settings.option_defaults({**defaults, **row})
    return defaults


def _same(a: Any, b: Any) -> bool:
    """Equal as config values: 5 and 5.0 are the same, 1 and true are not."""
    a, b = _plain(a), _plain(b)
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return type(a) in (int, float) and type(b) in (int, float) and a == b or type(a) is type(b) and a == b


def _plain(value: Any) -> Any:
    return value.unwrap() if hasattr(value, "unwrap") else value


def _is_table(item: Any) -> bool:
    return isinstance(item, collections.abc.MutableMapping)


def _toml(value: Any) -> Any:
    """A value as tomlkit writes it on one line: tables as inline tables, spaced as the default config writes
    them (``{ bus = "hall-bus", address = 1 }``)."""
    if isinstance(value, dict):
        return _inline([(k, _render(v)) for k, v in value.items()], spaced=True)
    if isinstance(value, list):
        array = tomlkit.array()
        array.extend(_toml(v) for v in value)
        return array
    return value


def _render(value: Any) -> str:
    return tomlkit.item(_toml(value)).as_string()


def _inline(pairs: list[tuple[str, str]], spaced: bool) -> InlineTable:
    """An inline table of keys and their values' TOML text."""
    inner = ", ".join(f"{tomlkit.key(k).as_string()} = {v}" for k, v in pairs)
    table = tomlkit.parse(f"x = {{ {inner} }}" if spaced and inner else f"x = {{{inner}}}")["x"]
    assert isinstance(table, InlineTable)
    return table


class _Scope:
    """One table of the config as the file holds it: in the frame blocks (``entry`` None) or within one entry
    of an array of tables, at ``path`` below it. Its keys may be spread over several blocks' tables."""

    def __init__(self, layout: Layout, entry: Entry | None, path: tuple[str, ...]):
        self.layout, self.entry, self.path = layout, entry, path

    def _views(self) -> list[tuple[Any, tuple[str, ...]]]:
        """(table at the scope's root, the header path of its block relative to that root) for each block."""
        if self.entry is None:
            return [(b.doc, b.header) for b in self.layout.frame]
        list_path = self.entry.main.header
        views: list[tuple[Any, tuple[str, ...]]] = [(_walk(self.entry.main.doc, list_path)[-1], ())]
        views += [(_walk(b.doc, list_path), b.header[len(list_path):]) for b in self.entry.extensions]
        return views

    def parts(self) -> list[tuple[Any, Any, str | None, bool]]:
        """(table, its parent, its key in the parent, whether its block's header names it) for each block
        holding this table."""
        found = []
        for root, header in self._views():
            parent, key, table = None, None, root
            for step in self.path:
                if not _is_table(table) or step not in table or not _is_table(table[step]):
                    table = None
                    break
                parent, key, table = table, step, table[step]
            if table is not None:
                found.append((table, parent, key, header == self.path))
        return found

    def keys(self) -> list[str]:
        names: list[str] = []
        for table, *_ in self.parts():
            names += [k for k in table.keys() if k not in names]
        return names

    def has(self, key: str) -> bool:
        return any(key in table for table, *_ in self.parts())

    def is_table(self, key: str) -> bool:
        return any(key in table and _is_table(table[key]) for table, *_ in self.parts())

    def get(self, key: str) -> Any:
        return next(_plain(table[key]) for table, *_ in self.parts() if key in table)

    def child(self, key: str) -> "_Scope":
        return _Scope(self.layout, self.entry, self.path + (key,))

    def set(self, key: str, value: Any) -> None:
        for table, *_ in self.parts():
            if key in table:
                table[key] = _toml(value)
                return

    def remove(self, key: str) -> None:
        for table, parent, name, _own in self.parts():
            if key in table:
                if isinstance(table, InlineTable):
                    self._rewrite_inline(table, parent, name, drop=key)
                else:
                    del table[key]

    def add(self, key: str, value: Any) -> None:
        """Write a key the file does not have, in the table whose header names this table (else the first
        table that is not only a frame for sub-tables); a table written nowhere yet is created."""
        parts = self.parts()
        home = next((p for p in parts if p[3]), None) or next(
            (p for p in parts if not (isinstance(p[0], Table) and p[0].is_super_table())), None)
        if home is None:
            self._create()
            return self.add(key, value)
        table, parent, name, _own = home
        if isinstance(table, InlineTable):
            self._rewrite_inline(table, parent, name, add=(key, value))
        else:
            table[key] = _toml(value)

    def _create(self) -> None:
        if self.entry is None:
            self.layout.add_table(self.path)
        else:
            _Scope(self.layout, self.entry, self.path[:-1]).add(self.path[-1], {})

    @staticmethod
    def _rewrite_inline(table: InlineTable, parent: Any, name: str | None, drop: str | None = None,
                        add: tuple[str, Any] | None = None) -> None:
        """Replace an inline table by one without ``drop`` or with ``add``, its other values written as they
        were and spaced as it was (tomlkit's own edits of an inline table lose the space before ``}``)."""
        pairs = [(k, _item_text(table, k)) for k in table if k != drop]
        if add is not None:
            pairs.append((add[0], _render(add[1])))
        parent[name] = _inline(pairs, spaced=table.as_string().startswith("{ ") or not len(table))


def _item_text(table: InlineTable, key: str) -> str:
    """A value of an inline table as the file writes it."""
    item = table.value.item(key)
    return item.as_string() if isinstance(item, Item) else _render(_plain(item))


def _walk(doc: Any, path: tuple[str, ...]) -> Any:
    for step in path:
        doc = doc[step]
    return doc
