"""A TOML file as a list of blocks, one per table header, each edited with tomlkit and written back as it was.

tomlkit keeps comments and layout, with two gaps that matter for a config file of arrays of tables: it writes an
array of tables that another table interrupts as one run (the default config's ``[[buses]]`` between two
``[[devices]]`` moves below the last device), and it keeps the comment lines above a header in the body of the
table before it, so removing or moving an entry would take the next entry's comment along. Cutting the text
into blocks first closes both:

- A **block** is the text from one header line to the next, with its **lead**: the comment lines directly above
  its header (no blank line between them and the header). The text before the first header is the preamble.
- Each block is parsed by tomlkit on its own, so an untouched block is written back byte for byte, and blocks
  can be dropped, moved and added without touching their neighbours.
- The blocks of an array of tables named in ``lists`` are grouped into **entries**: an ``[[name]]`` block and the
  ``[name.sub]`` blocks that extend it. The others are **frame** blocks.

The caller edits the blocks' tomlkit documents, orders each list's entries (:meth:`Layout.order`) and renders the
file (:meth:`Layout.render`).
"""
from __future__ import annotations

import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field

import tomlkit
from tomlkit.toml_document import TOMLDocument

Path_ = tuple[str, ...]


class LayoutError(ValueError):
    """The text cannot be cut into blocks that tomlkit writes back unchanged."""


@dataclass(eq=False)
class Block:
    """One header's table: its lead comment lines and its tomlkit document (header and body)."""

    lead: str
    doc: TOMLDocument
    header: Path_ = ()
    aot: bool = False
    index: int | None = None  # its place in the original file; None for a block added by an edit

    def text(self) -> str:
        """The block as it is written: nothing at all once an edit emptied a table it had a header for."""
        body = self.doc.as_string()
        if self.header and not body.strip():
            return ""
        return self.lead + body


@dataclass(eq=False)
class Entry:
    """One entry of an array of tables: its ``[[name]]`` block and the blocks that extend it."""

    main: Block
    extensions: list[Block] = field(default_factory=list)

    def blocks(self) -> list[Block]:
        """The entry's blocks in the order they are written."""
        return [self.main, *self.extensions]


def header_starts(text: str) -> list[int]:
    """Offsets of the lines of ``text`` that hold a table header (outside strings and multi-line values)."""
    starts, i, n, depth, line_start = [], 0, len(text), 0, True
    while i < n:
        if line_start and depth == 0:
            j = i
            while j < n and text[j] in " \t":
                j += 1
            if j < n and text[j] == "[":
                starts.append(i)
                i = _end_of_line(text, j)
                continue
        line_start = False
        c = text[i]
        if c == "\n":
            line_start, i = True, i + 1
        elif c == "#":
            end = text.find("\n", i)
            i = n if end < 0 else end
        elif c in "\"'":
            i = _end_of_string(text, i)
        else:
            depth += c in "[{"
            depth -= c in "]}"
            i += 1
    return starts


def _end_of_line(text: str, i: int) -> int:
    end = text.find("\n", i)
    return len(text) if end < 0 else end + 1


def _end_of_string(text: str, i: int) -> int:
    """The offset just past the string that opens at ``i`` (basic, literal, or either multi-line form)."""
    quote = text[i]
    if text.startswith(quote * 3, i):
        j = i + 3
        while j < len(text):
            if quote == '"' and text[j] == "\\":
                j += 2
            elif text.startswith(quote * 3, j):
                j += 3
                while j < len(text) and text[j] == quote:  # up to two quotes may end the string's content
                    j += 1
                return j
            else:
                j += 1
        return j
    j = i + 1
    while j < len(text) and text[j] not in (quote, "\n"):
        j += 2 if quote == '"' and text[j] == "\\" else 1
    return j + 1


def _header(line: str) -> tuple[Path_, bool]:
    """The key path of a header line and whether it opens an entry of an array of tables."""
    try:
        data = tomllib.loads(line)
    except tomllib.TOMLDecodeError as exc:
        raise LayoutError(f"not a table header: {line.strip()!r} ({exc})") from None
    path: list[str] = []
    while isinstance(data, dict) and len(data) == 1:
        key, data = next(iter(data.items()))
        path.append(key)
        if isinstance(data, list):
            return tuple(path), True
    return tuple(path), False


def _lead_lines(text: str) -> int:
    """How many characters at the end of ``text`` are comment lines directly above the next header."""
    lines = text.splitlines(keepends=True)
    size = 0
    for line in reversed(lines):
        if not line.lstrip(" \t").startswith("#"):
            break
        size += len(line)
    return size


def split(text: str) -> list[Block]:
    """Cut ``text`` into the preamble and one block per header; the blocks joined give ``text`` again."""
    starts = header_starts(text)
    bounds = [0, *starts, len(text)]
    pieces = [text[a:b] for a, b in zip(bounds, bounds[1:], strict=False)]
    leads = [""] * len(pieces)
    for i in range(1, len(pieces)):
        moved = _lead_lines(pieces[i - 1])
        if moved:
            leads[i] = pieces[i - 1][len(pieces[i - 1]) - moved:]
            pieces[i - 1] = pieces[i - 1][:len(pieces[i - 1]) - moved]
    blocks = []
    for i, (lead, piece) in enumerate(zip(leads, pieces, strict=True)):
        header, aot = _header(piece.split("\n", 1)[0]) if i else ((), False)
        try:
            doc = tomlkit.parse(piece)
        except Exception as exc:  # tomlkit's parse errors have no common base class besides this
            raise LayoutError(f"tomlkit cannot read the block at {piece[:40]!r}: {exc}") from None
        if doc.as_string() != piece:
            raise LayoutError(f"tomlkit does not write the block at {piece[:40]!r} back unchanged")
        blocks.append(Block(lead, doc, header, aot, i))
    return blocks


class Layout:
    """The blocks of one TOML text, the entries of its arrays of tables, and edits to their order."""

    def __init__(self, text: str, lists: Iterable[Path_]):
        self.blocks = split(text)
        self.lists = tuple(lists)
        self.entries: dict[Path_, list[Entry]] = {path: [] for path in self.lists}
        self.frame: list[Block] = []
        self._order: dict[Path_, list[Entry]] = {}
        self._added: list[Block] = []
        for block in self.blocks:
            owner = next((p for p in self.lists if block.header[:len(p)] == p), None) if block.header else None
            if owner is None or (block.header == owner and not block.aot):
                self.frame.append(block)
            elif block.header == owner:
                self.entries[owner].append(Entry(block))
            elif self.entries[owner]:
                self.entries[owner][-1].extensions.append(block)  # extends the entry defined last (TOML's rule)
            else:
                raise LayoutError(f"[{'.'.join(block.header)}] comes before any [[{'.'.join(owner)}]]")

    def add_table(self, path: Path_) -> Block:
        """A new frame block ``[path]`` (empty), written at the end of the file."""
        block = Block("", tomlkit.parse(f"[{_dotted(path)}]\n"), path)
        self.frame.append(block)
        self._added.append(block)
        return block

    @staticmethod
    def new_entry(path: Path_) -> Entry:
        """A new, empty entry ``[[path]]``; it is written where :meth:`order` places it."""
        return Entry(Block("", tomlkit.parse(f"[[{_dotted(path)}]]\n"), path, True))

    def order(self, path: Path_, entries: list[Entry]) -> None:
        """Make ``entries`` (kept ones of this list and new ones) the list at ``path``, in this order.

        Kept entries fill the places the list's kept entries had, in the new order (so an entry that stays in
        its place keeps it, with whatever stands between entries). An entry that is not given is removed with
        its lead comment, except the list's first entry's lead (it usually introduces the whole list), which
        stays at the list's first place. A new entry is written right after the entry before it in the new
        order, or at the list's first place when it comes first (at the end of the file when the list had no
        entry)."""
        if entries != self.entries[path]:
            self._order[path] = entries

    def render(self) -> str:
        """The whole text, with every edit applied."""
        plans = {path: self._plan(path, entries) for path, entries in self._order.items()}
        parts: list[tuple[Block, str]] = []
        carried = {path: "" for path in plans}  # the lead of a list's removed first entry, for the next one
        for block in self.blocks:
            path, entry = self._entry_of(block)
            if path is None or entry is None or path not in plans:
                parts.append((block, ""))
                continue
            if entry.main is block and entry is self.entries[path][0] and entry not in self._order[path]:
                carried[path] = entry.main.lead
            if entry.main is block and id(entry) in plans[path]:
                for chosen in plans[path].pop(id(entry)):
                    parts += [(b, carried[path] if i == 0 else "") for i, b in enumerate(chosen.blocks())]
                    carried[path] = ""
            # otherwise a removed entry's block, or an extension (written with its entry): nothing here
        for plan in plans.values():
            for rest in plan.values():  # a list that had no entry: its new entries go at the end
                parts += [(b, "") for chosen in rest for b in chosen.blocks()]
        parts += [(b, "") for b in self._added]
        return _join(parts)

    def _entry_of(self, block: Block) -> tuple[Path_ | None, Entry | None]:
        for path, entries in self.entries.items():
            for entry in entries:
                if block is entry.main or block in entry.extensions:
                    return path, entry
        return None, None

    def _plan(self, path: Path_, final: list[Entry]) -> dict[int, list[Entry]]:
        """What is written at each place of the list (keyed by the id of the entry that had it in the file):
        kept entries in the new order at the kept entries' places; new entries after their predecessor; those
        that come first at the list's first place (key 0: at the end, for a list that had no entry)."""
        original = self.entries[path]
        places = [e for e in original if e in final]
        kept = iter(places)
        plan: dict[int, list[Entry]] = {}
        current = plan.setdefault(id(original[0]) if original else 0, [])
        for entry in final:
            if entry in original:
                current = plan.setdefault(id(next(kept)), [])
            current.append(entry)
        return plan


def _dotted(path: Path_) -> str:
    """A key path as TOML writes it (bare keys where possible)."""
    return ".".join(tomlkit.key(part).as_string() for part in path)


def _join(parts: list[tuple[Block, str]]) -> str:
    """Join blocks (each with a lead it inherits); a blank line goes between two that did not stand next to
    each other in the file."""
    out = ""
    previous: Block | None = None
    for block, inherited in parts:
        text = block.text()
        text = inherited + text if text else ""
        if not text:
            continue
        adjacent = (previous is not None and previous.index is not None and block.index is not None
                    and block.index == previous.index + 1)
        if out and not adjacent:
            if not out.endswith("\n"):
                out += "\n"
            if not out.endswith("\n\n"):
                out += "\n"
        out += text
        previous = block
    return out
