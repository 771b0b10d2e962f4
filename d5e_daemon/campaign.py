"""The Markdown files of a campaign folder and the rules references they hold.

`Campaign` scans the workspace's Markdown files (every one, not only those open in an editor)
for tags and prose names, keeps what it found per file, and answers "where is this entry
mentioned" from memory. It is kept current by `changed(paths)` (the daemon's file watcher, the
editor's `didChangeWatchedFiles` and saves) and by `open_text(path, lines)` for documents open
in the editor, whose unsaved text wins over the file.

A campaign folder is untrusted: symbolic links are not followed (neither folders nor files
that lead out of it), hidden folders and `node_modules` are skipped, files larger than
`MAX_FILE_BYTES` are left out and at most `MAX_FILES` files are read, so a huge or hostile
folder costs bounded time and memory. Skipped files are listed in `skipped`.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple, Protocol

from .packfiles import read_data_file
from .prose import (
    COUNT_COLLECTIONS,
    ProseNames,
    ProseRef,
    ProseWalk,
    count_before,
    named_alone,
    named_by_article,
    walk_prose,
)
from .quantity import quantity_at, quantity_ending, roll_table_rows
from .tagsyntax import Tag, TagKey, find_tags, iter_tags

if TYPE_CHECKING:
    import asyncio  # the daemon's only: a command that only reads never loads it

log = logging.getLogger(__name__)

MARKDOWN_SUFFIXES = (".md", ".markdown")
MAX_FILE_BYTES = 2 * 2**20
"""A Markdown file larger than this is no adventure text (a dump, a log): left out."""
MAX_FILES = 5000
"""At most this many Markdown files of one campaign folder are read."""
MAX_WALK = 100_000
"""At most this many folder entries are looked at while looking for them (a workspace opened on
a home folder must not hold the daemon for minutes)."""
SKIPPED_FOLDERS = frozenset({"node_modules", "__pycache__"})


@dataclass
class FileRefs:
    """What one file holds: its lines, its tags (by what they name) and its prose names."""

    lines: list[str]
    stamp: tuple[int, int] | None
    """(size, mtime_ns) of the file read; None for an editor's unsaved text."""
    tags: dict[TagKey, list[tuple[int, Tag]]] = field(default_factory=dict)
    """(line, tag) by what the tag names; a tag's own columns are those of its line (its
    `line` is 0: it is the tag of a line's text, `line_tags`)."""
    prose: dict[int, list[ProseRef]] = field(default_factory=dict)
    names: ProseNames | None = None
    """The names the prose was read with (the profile's, at that time)."""
    encounters: list[Encounter] = field(default_factory=list)
    line_tags: dict[str, tuple[Tag, ...]] = field(default_factory=dict)
    """The tags of each line holding one, by its text: the next scan of this file (after an
    edit) parses only the lines whose text is new."""


@dataclass(frozen=True)
class Mention:
    """One mention of an entry in a campaign file; columns are code points."""

    path: Path
    line: int
    start: int
    end: int
    kind: str
    """`tag`, or how prose wrote the name: `bold`, `italic`, `count`."""
    text: str
    """The line's text, for showing the mention in context."""
    count: int = 1
    count_max: int = 1
    """The high end of a range or a roll ("6-8 wolves": 6 to 8); `count` for an exact one."""


@dataclass(frozen=True)
class Encounter:
    """An encounter written in a document: a fenced ```` ```encounter ```` block (the
    convention of Obsidian's initiative tracker), or a line that counts creatures."""

    line: int
    end_line: int
    name: str
    detail: str


_ENCOUNTER_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})[ \t]*encounter\b", re.I)
_ENCOUNTER_NAME = re.compile(r"^\s*name\s*:\s*(.+?)\s*$", re.I)
_LEVEL_BEFORE = re.compile(r"\blevel[ \t]+$", re.I)  # "a level 3 Druid": a level, no count
_LIST_MARK = re.compile(r"^\s*(?:[-+*]|\d+[.)])\s+")
NAME_MAX = 80


def find_encounters(
    lines: Sequence[str],
    names: ProseNames,
    prose: ProseWalk | None = None,
    tags: Iterable[tuple[int, Tag]] | None = None,
    fences: Iterable[int] | None = None,
) -> list[Encounter]:
    """The encounters of a document, in order: its encounter blocks and the prose lines that
    count creatures ("Scene 1 (road): 4 wolves", "2 {@creature wolf}"). `prose` and `tags`
    ((line, tag) pairs): what was found of the document already, if it was; `fences`: the only
    lines that may open an encounter block, if known."""
    found: list[Encounter] = []
    n = 0
    for start in range(len(lines)) if fences is None else fences:
        if start < n:
            continue  # inside the block before
        n = start
        m = _ENCOUNTER_FENCE.match(lines[n])
        if m is None:
            continue
        end = n + 1
        while end < len(lines) and not lines[end].lstrip().startswith(m[1]):
            end += 1
        title = next(
            (t[1] for line in lines[n + 1 : end] if (t := _ENCOUNTER_NAME.match(line))), None
        )
        creatures = sum(1 for line in lines[n + 1 : end] if line.lstrip().startswith("- "))
        detail = f"{creatures} creature line" + ("s" if creatures != 1 else "")
        found.append(Encounter(n, min(end, len(lines) - 1), title or "Encounter", detail))
        n = end + 1
    walk = walk_prose(lines, names) if prose is None else prose
    counted: dict[int, list[str]] = {}
    for line, part in counting_parts(
        lines,
        names,
        walk,
        lambda _: ((t.line, t) for t in find_tags(lines)) if tags is None else tags,
        lambda tag: (None, tag.name),
    ):
        counted.setdefault(line, []).extend(f"{c.written()} × {c.name}" for c in part)
    for line, names_counted in counted.items():
        text = _LIST_MARK.sub("", lines[line]).strip()
        name = text if len(text) <= NAME_MAX else text[: NAME_MAX - 1] + "…"
        found.append(Encounter(line, line, name, ", ".join(names_counted)))
    return sorted(found, key=lambda e: e.line)


class Counted(NamedTuple):
    """A creature a line of prose counts: its columns (the name's, and its count's when it has
    one), how many (`count` to `high`: "6-8 wolves", "1d4+1 orcs"; the same for an exact
    count), and what it is (`ref`: the entry's qualified reference, None for a tag the caller
    did not resolve; `name`: the entry's name, or the tag's as written)."""

    start: int
    end: int
    count: int  # type: ignore[assignment]  # the field, not tuple.count (unused here)
    ref: str | None
    name: str
    count_start: int | None
    high: int

    def written(self) -> str:
        """`4`, or a range by its ends: `6–8`."""
        return str(self.count) if self.count == self.high else f"{self.count}–{self.high}"


def _counted(
    line: str, start: int, end: int, count: int, at: int | None, meant: tuple[str | None, str]
) -> Counted:
    """A creature counted at `at` (the count the prose reader read), with the range or the
    roll written there ("6-8", "1d4+1", "two or three", "up to 5", "half a dozen":
    `quantity.quantity_ending`), or after the name ("Wolves (2d4)": `quantity.quantity_at`;
    the creature's columns then end after the count)."""
    if at is not None and at > start and (after := quantity_at(line, at)) is not None:
        return Counted(start, after[2], after[0], *meant, at, after[1])  # its end: the count's
    if at is not None and (written := quantity_ending(line, at)) is not None:
        low, high, at = written
        return Counted(start, end, low, *meant, at, high)
    return Counted(start, end, count, *meant, at, count)


def counting_parts(
    lines: Sequence[str],
    names: ProseNames,
    walk: ProseWalk,
    tags: Callable[[set[int]], Iterable[tuple[int, Tag]]],
    tag_entry: Callable[[Tag], tuple[str | None, str] | None],
) -> list[tuple[int, list[Counted]]]:
    """The encounters prose writes, (line, creatures in the order written): each part of a line
    (between semicolons, and each cell of a table row) that counts at least one creature, by a
    prose name ("4 wolves", "**2 ogres**"), a tag with a count before it ("2 {@creature wolf}")
    or one named by "a" or "an" beside them ("6 bandits and a bandit captain"); the creatures
    it names without a count are one each, unless named in the plural ("alerting the
    **bandits** in area B5": how many is not said, and they are left out). A count is a range
    where one is written ("6-8 wolves", "1d4+1 orcs", "two or three bandits", "up to 5
    zombies": `Counted.high`). A part
    that names creatures without counting any ("The **wolves** howl") is none. The one reader
    of encounters in prose: the symbols of a document or a campaign (`find_encounters`) and
    the difficulty hints (`features/encounter_lens.py`). `tags(lines)`: the (line, tag) pairs
    to read, given the lines whose prose counts a creature; `tag_entry(tag)`: (ref, name) of
    a creature's tag, or None to leave it out (a tag that names nothing)."""
    items: dict[int, list[Counted]] = {}
    prose_counts: set[int] = set()
    for n, on_line in walk.by_line():
        for ref in on_line:
            if ref.entry.collection in COUNT_COLLECTIONS and not names.uncounted(ref):
                entry = ref.entry
                items.setdefault(n, []).append(
                    _counted(lines[n], ref.start, ref.end, ref.count, ref.count_start,
                             (entry.qualified_ref, entry.name))
                )  # fmt: skip
                if ref.count_start is not None:
                    prose_counts.add(n)
    for n, tag in tags(prose_counts):
        if tag.kind in ("creature", "monster"):  # not its lore ({@creatureFluff})
            meant = tag_entry(tag)
            if meant is not None:
                before = count_before(lines[n], tag.start)
                count, at = before if before is not None else (1, None)
                items.setdefault(n, []).append(
                    _counted(lines[n], tag.start, tag.end, count, at, meant)
                )
    _one_a_row(lines, names, walk, items)
    out: list[tuple[int, list[Counted]]] = []
    for n in sorted(items):
        line = lines[n]
        # a roll table flattened into the line: each row is a part, and the numbers a row is
        # rolled on count nothing ("1-5 Clay Golem"; its "2 Mastiffs" do); nor does a level
        # ("if you're a level 3 Druid")
        rows = roll_table_rows(line) if any(c.count_start is not None for c in items[n]) else []
        found = [
            c._replace(count=1, high=1, count_start=None)
            if c.count_start is not None
            and (
                any(s <= c.count_start < e for s, e in rows)
                or _LEVEL_BEFORE.search(line, 0, c.count_start) is not None
            )
            else c
            for c in items[n]
        ]
        if all(c.count_start is None for c in found):
            continue
        taken = [(c.start, c.end) for c in found]
        for at, end, entry in named_by_article(names, line, taken):
            found.append(Counted(at, end, 1, entry.qualified_ref, entry.name, None, 1))
        taken = [(c.start, c.end) for c in found]
        for at, end, entry in named_alone(names, line, taken):
            found.append(Counted(at, end, 1, entry.qualified_ref, entry.name, None, 1))
        table = line.lstrip().startswith("|")  # a table row: each cell is a part too
        cuts = [i for i, char in enumerate(line) if char == ";" or (table and char == "|")]
        cuts += [start for start, _ in rows]
        parts: dict[int, list[Counted]] = {}
        for c in found:
            parts.setdefault(sum(1 for cut in cuts if cut < c.start), []).append(c)
        for _, part in sorted(parts.items()):
            if any(c.count_start is not None for c in part):
                out.append((n, sorted(part, key=lambda c: (c.start, c.end))))
    return out


_ROW_OR_ITEM = re.compile(r"[ \t]*(?:\||(?:[-+*]|\d{1,9}[.)])[ \t])")
_FIRST_IN_CELL = re.compile(
    r"(?:^|\|)[ \t]*(?:(?:[-+*]|\d{1,9}[.)])[ \t]+)?(?:\[[ xX]\][ \t]+)?(?:\*\*|__)?"
    r"(?P<article>[Aa]n?)[ \t]+(?:\*\*|__)?$"
)


def _one_a_row(
    lines: Sequence[str], names: ProseNames, walk: ProseWalk, items: dict[int, list[Counted]]
) -> None:
    """A row of a table, or an item of a list, beside one that counts creatures, whose cell
    or item begins with a creature named by "a" or "an" ("| 3 | A **brown bear** and its cub
    |", "4. A gray ooze in a puddle"): one, as the roll tables of adventures write a row
    (`items` gains it; "Tracks of a troll" is no creature of the row)."""
    counted = {n for n, found in items.items() if any(c.count_start is not None for c in found)}
    todo = sorted({m for k in counted for m in (k - 1, k + 1)} - counted)
    while todo:
        n = todo.pop(0)
        if not 0 <= n < len(lines) or n in counted or walk.texts[n] is None:
            continue
        line = lines[n]
        if _ROW_OR_ITEM.match(line) is None:
            continue
        found = list(items.get(n, []))
        named = [(c.start, c.end, None) for c in found]
        for at, end, entry in named_by_article(names, line, [(c.start, c.end) for c in found]):
            found.append(Counted(at, end, 1, entry.qualified_ref, entry.name, None, 1))
            named.append((at, end, None))
        ones = False
        for k, c in enumerate(found):
            first = _FIRST_IN_CELL.search(line, 0, c.start)
            if c.count_start is None and first is not None:
                found[k] = c._replace(count_start=first.start("article"))
                ones = True
        if ones:
            items[n] = [c for c in found if c.count_start is not None]
            counted.add(n)
            todo += [n - 1, n + 1]


def is_markdown(path: Path) -> bool:
    return path.suffix.lower() in MARKDOWN_SUFFIXES


class TagResolver(Protocol):
    """What a campaign asks of the profile's resolver (`features.tags.Resolver`)."""

    def prose_names(self) -> ProseNames:
        """The names prose may use without tags."""

    def entry_id(self, tag: Tag) -> int | None:
        """The id of the entry `tag` means, or None."""


class Campaign:
    """The references of one campaign folder. Not thread-safe: use it from one thread (the
    daemon's event loop; watcher threads hand their paths over with `call_soon_threadsafe`)."""

    def __init__(self, root: Path, resolver: TagResolver) -> None:
        self.root = root.resolve()
        self.resolver = resolver
        self.files: dict[Path, FileRefs] = {}
        self.open: dict[Path, tuple[str, ...]] = {}
        """The editors' texts of open campaign files, as their lines (line ends kept): taken
        as they are at each change (a copy of the list, made in C), read at the next question."""
        self.skipped: dict[Path, str] = {}
        self._walked = False
        self._folder_changes = 0
        self.reading: asyncio.Future[FolderRead] | None = None
        """The first reading of the folder under way in another thread (`read_folder`)."""
        self._dirty: set[Path] = set()
        self._names_seen: ProseNames | None = None
        self._tag_entries: dict[TagKey, int | None] = {}
        """What each tag written in the campaign resolves to (an entry id), for the names of
        `_names_seen` (the resolver's: a pack change gives new ones, and a new mapping)."""

    # -- keeping current ------------------------------------------------------------------------

    def changed(self, paths: Iterable[Path]) -> None:
        """Files (or folders) of the campaign changed on disk: read them again when next asked.
        A folder, or a path outside what was scanned, makes the next question walk again."""
        for path in paths:
            path = Path(os.path.abspath(path))
            if not self._inside(path):
                continue
            if is_markdown(path):
                self._dirty.add(path)
            else:
                self._walked = False  # a folder came, went or was renamed
                self._folder_changes += 1

    def open_text(self, path: Path, lines: Sequence[str]) -> None:
        """An editor's text of a campaign file (unsaved changes included) replaces the file's."""
        path = Path(os.path.abspath(path))
        if not (self._inside(path) and is_markdown(path)):
            return
        self.open[path] = tuple(lines)  # no work per line at each keystroke: see `_read`
        self._dirty.add(path)

    def close_text(self, path: Path) -> None:
        path = Path(os.path.abspath(path))
        if self.open.pop(path, None) is not None:
            self._dirty.add(path)

    def refresh(self) -> None:
        """Read what changed since the last question (everything the first time)."""
        if not self._walked:
            self._walk()
        for path in list(self._dirty):
            self._read(path)
        self._dirty.clear()
        names = self.resolver.prose_names()
        if names is not self._names_seen:
            self._names_seen, self._tag_entries = names, {}
        for refs in self.files.values():
            if refs.names is not names:
                _scan(refs, names, refs)  # the same text: its tags are parsed already

    def _inside(self, path: Path) -> bool:
        return path == self.root or self.root in path.parents

    def _walk(self) -> None:
        found, self.skipped = list_markdown(self.root)
        keep = set(found) | set(self.open)
        for path in list(self.files):
            if path not in keep:
                del self.files[path]
        for path in keep:
            self._read(path)
        self._walked = True

    # -- the first reading, away from the event loop -----------------------------------------------

    @property
    def walked(self) -> bool:
        """Whether the folder was read (and no folder changed since)."""
        return self._walked

    def read_folder(self, names: ProseNames) -> FolderRead:
        """Every Markdown file of the folder, read and scanned for `names`: the first reading,
        which takes long in a large campaign. Touches nothing of the campaign, so it may run in
        another thread while the campaign answers from its own; hand the result to `adopt`."""
        found, skipped = list_markdown(self.root)
        files: dict[Path, FileRefs] = {}
        for path in found:
            refs, why = read_file(path, names, None)
            if refs is not None:
                files[path] = refs
            elif why:
                skipped[path] = why
        return FolderRead(files, skipped, names, self._folder_changes)

    def adopt(self, read: FolderRead) -> None:
        """Take the files of a `read_folder`; what changed meanwhile (files, open documents) is
        read again at the next question, and a folder that changed meanwhile is walked again."""
        if self._walked:
            return
        for path, refs in read.files.items():
            if path not in self.open:
                self.files[path] = refs
        self.skipped = read.skipped
        self._dirty |= set(self.open)
        self._walked = read.folder_changes == self._folder_changes

    def _read(self, path: Path) -> None:
        """Read one file again if it changed (its size or time); forget it if it is gone."""
        if path in self.open:
            refs = self.files.get(path)
            lines = [line.rstrip("\r\n") for line in self.open[path]]
            if refs is None or refs.stamp is not None or refs.lines != lines:
                text = FileRefs(lines, None)
                self.files[path] = _scan(text, self._names(), refs, key=path)
            return
        refs, why = read_file(path, self._names(), self.files.get(path))
        if refs is None:
            self.files.pop(path, None)
        else:
            self.files[path] = refs
        if why:
            self.skipped[path] = why
        elif refs is not None:
            self.skipped.pop(path, None)

    def _names(self) -> ProseNames:
        return self.resolver.prose_names()

    # -- answering ------------------------------------------------------------------------------

    def encounters(self) -> list[tuple[Path, Encounter]]:
        """Every encounter of every campaign file, by file and line."""
        self.refresh()
        return [(path, e) for path in self._paths() for e in self.files[path].encounters]

    def _paths(self) -> list[Path]:
        return sorted(self.files, key=str)

    def mentions(self, entry_id: int) -> list[Mention]:
        """Every mention of the entry with this id, by file and position."""
        self.refresh()
        resolver, known = self.resolver, self._tag_entries
        found: list[Mention] = []
        for path in self._paths():
            refs = self.files[path]
            for key, tags in refs.tags.items():
                means = known.get(key, -1)
                if means == -1:
                    means = known[key] = resolver.entry_id(tags[0][1])
                if means != entry_id:
                    continue
                found += [Mention(path, n, t.start, t.end, "tag", refs.lines[n]) for n, t in tags]
            for ref in refs.prose.get(entry_id, ()):
                line = refs.lines[ref.line]
                counted = _counted(line, ref.start, ref.end, ref.count, ref.count_start, ("", ""))
                start = min(
                    ref.start, ref.start if counted.count_start is None else counted.count_start
                )
                found.append(
                    Mention(path, ref.line, start, ref.end, ref.style, line, counted.count,
                            counted.high)
                )  # fmt: skip
        found.sort(key=lambda m: (str(m.path), m.line, m.start))
        return found


@dataclass
class FolderRead:
    """What `Campaign.read_folder` read: files, what was left out and why, for which names,
    after how many folder changes."""

    files: dict[Path, FileRefs]
    skipped: dict[Path, str]
    names: ProseNames
    folder_changes: int


def list_markdown(root: Path) -> tuple[list[Path], dict[Path, str]]:
    """The Markdown files of a campaign folder, and what was left out (with why): no symbolic
    links followed, hidden folders and `SKIPPED_FOLDERS` skipped, at most `MAX_FILES` files of
    `MAX_WALK` looked at."""
    found: list[Path] = []
    skipped: dict[Path, str] = {}
    seen = 0
    for folder, dirs, files in os.walk(root, followlinks=False):
        seen += len(dirs) + len(files)
        if seen > MAX_WALK:
            skipped[Path(folder)] = f"more than {MAX_WALK:,} files and folders looked at"
            break
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in SKIPPED_FOLDERS)
        for name in sorted(files):
            path = Path(folder, name)
            if name.startswith(".") or not is_markdown(path):
                continue
            if len(found) >= MAX_FILES:
                skipped[path] = f"more than {MAX_FILES} Markdown files"
                continue
            found.append(path)
    if skipped:
        log.warning("%s: %d Markdown files left out", root, len(skipped))
    return found, skipped


def read_file(
    path: Path, names: ProseNames, old: FileRefs | None
) -> tuple[FileRefs | None, str | None]:
    """One campaign file read and scanned: `old` itself when its size and time are unchanged;
    (None, why) when it is left out; (None, None) when it is gone."""
    try:
        info = path.lstat()
    except OSError:
        return None, None
    if path.is_symlink() or not path.is_file():
        return None, "a symbolic link or not a file"
    if info.st_size > MAX_FILE_BYTES:
        return None, f"larger than {MAX_FILE_BYTES:,} bytes"
    stamp = (info.st_size, info.st_mtime_ns)
    if old is not None and old.stamp == stamp:
        return old, None
    try:  # as a pack's file: a pipe or link swapped in since the lstat is never opened
        data = read_data_file(path, MAX_FILE_BYTES)
    except OSError as exc:
        return None, f"unreadable: {exc.strerror or exc}"
    lines = data.decode("utf-8", errors="replace").splitlines()
    return _scan(FileRefs(lines, stamp), names, old), None


def _scan(
    refs: FileRefs, names: ProseNames, previous: FileRefs | None = None, key: Path | None = None
) -> FileRefs:
    """Find the file's tags, prose names and encounters. What a `previous` scan of the file
    found on a line is taken again for a line of the same text (prose names: `ProseNames`
    keeps them by text, and the walk of an editor's text by its `key`, `prose.walk_prose`),
    so an edit costs the parsing of the lines it changed."""
    known = previous.line_tags if previous is not None else {}
    refs.tags, refs.line_tags = {}, {}
    placed: list[tuple[int, Tag]] = []
    for n, text in enumerate(refs.lines):
        if "{@" not in text:
            continue
        tags = refs.line_tags.get(text)
        if tags is None:
            tags = known.get(text)
            if tags is None:
                tags = tuple(iter_tags(0, text))
            refs.line_tags[text] = tags
        for tag in tags:
            refs.tags.setdefault(tag.key, []).append((n, tag))
            placed.append((n, tag))
    refs.prose = {}
    walk = walk_prose(refs.lines, names, key)
    for ref in walk.refs:
        refs.prose.setdefault(ref.entry.id, []).append(ref)
    refs.names = names
    refs.encounters = find_encounters(refs.lines, names, walk, placed)
    return refs
