"""Encounter difficulty in Markdown: code lenses and inlay hints.

Two ways a writer counts creatures, each given its difficulty for the party:

- an ```` ```encounter ```` block, the YAML of Obsidian's initiative-tracker (encounters
  separated by `---`):

      ```encounter
      name: Flame's den
      party: [3, 3, 3, 3]          # d5e's: the characters' levels (else d5e.toml, else setting)
      rules: 2024                  # d5e's: else the profile's edition
      creatures:
        - 2: Wolf
        - Dire Wolf
        - 1: Flame, 45, 15, 2, 700   # name, hp, ac, modifier, xp: a creature no pack has
      ```

- a line of prose that counts creatures, tagged or named: "Scene 1 (road): 4 wolves; Flame's
  den: Flame + 2 {@creature wolf|srd-2014} + 1 **dire wolf**". Each part between semicolons (and
  each cell of a table row) that counts at least one creature is an encounter of the creatures
  it names (names are recognised by `prose.py`; a name no pack has, like Flame, is not counted,
  and the hint's tooltip lists what was).

The party is the block's `party`, else the campaign's d5e.toml `party`, else the editor's
`d5e.party` setting; without one the hint says how to set one. A block that is not valid YAML,
a creature no pack has, a level of 0: the hint names the problem instead of a difficulty.
Blocks get a code lens above them, prose lines an inlay hint after their creatures; a client
without one of the two gets the other for both.
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from lsprotocol import types
from pygls.workspace import TextDocument

from .. import locate
from ..campaign import counting_parts
from ..errors import D5eError
from ..prose import walk_prose
from ..protocol import EncounterMonster, Rules
from ..quantity import QUANTITY
from .doclines import MAX_ITEMS, DocumentFacts
from .encounter import NEEDS_XP, check_party, counts, ends_text, maths, resolve
from .markdown import _range
from .tags import Resolver, Tag, tags_in_line

_FENCE_OPEN = re.compile(r"^ {0,3}(`{3,}|~{3,})[ \t]*encounter[ \t]*$", re.I)
_SEPARATOR = re.compile(r"^---[ \t]*$")
_CREATURE_TAGS = ("creature", "monster")
_WIKI_LINK = re.compile(r"^\[\[([^\]|#]+)(?:[#|][^\]]*)?\]\]$")
_TAG_NAME = re.compile(r"^\{@(?:creature|monster)[ \t]+([^|}]+)(?:\|([^|}]*))?[^}]*\}$", re.I)
MAX_BLOCK_CHARS = 20_000
MAX_CREATURE_LINES = 200
PARTY_HINT = (
    "set a party for the difficulty: `party: [3, 3, 3, 3]` in the block, `party = [3, 3, 3, 3]` "
    "in the campaign's d5e.toml, or the d5e.party setting"
)


@dataclass
class DocEncounter:
    """One encounter written in a document, and where its hint goes."""

    kind: str  # "block" or "line"
    line: int
    end: int
    """Column after which the inlay hint goes."""
    monsters: list[EncounterMonster] = field(default_factory=list)
    party: list[int] | None = None
    rules: Rules | None = None
    problem: str | None = None
    party_where: str = "the block"


@dataclass(frozen=True)
class Verdict:
    label: str
    tooltip: str
    ok: bool


# -- finding encounters ---------------------------------------------------------------------------


def find_encounters(
    resolver: Resolver,
    lines: Sequence[str],
    facts: DocumentFacts | None = None,
    key: Hashable | None = None,
    doc: TextDocument | None = None,
) -> list[DocEncounter]:
    """The encounter blocks and the counting prose lines of a document, in order: from what a
    pass found of the document, `facts`, when given (`key` and `doc`: the document's, for
    `prose.walk_prose`, when not)."""
    found = list(_blocks(lines, None if facts is None else facts.fences))
    found += _prose_lines(resolver, lines, facts, key, doc)
    found.sort(key=lambda e: (e.line, e.end))
    return found


def _blocks(lines: Sequence[str], fences: Iterable[int] | None = None) -> Iterator[DocEncounter]:
    """The encounter blocks; `fences`: the only lines that may open one, if known."""
    n = 0
    for start in range(len(lines)) if fences is None else fences:
        if start < n:
            continue  # inside the block before
        n = start
        m = _FENCE_OPEN.match(lines[n].rstrip("\r\n"))
        if m is None:
            continue
        fence, start = m[1], n
        body: list[tuple[int, str]] = []
        n += 1
        while n < len(lines):
            text = lines[n].rstrip("\r\n")
            if text.strip().startswith(fence[0] * len(fence)) and not text.strip(fence[0]).strip():
                break
            body.append((n, text))
            n += 1
        n += 1
        yield from _block_parts(start, lines[start].rstrip("\r\n"), body)


def _block_parts(
    fence_line: int, fence_text: str, body: list[tuple[int, str]]
) -> Iterator[DocEncounter]:
    """Each encounter of one block (initiative-tracker separates them with `---`)."""
    parts: list[tuple[int, int, list[str]]] = [(fence_line, len(fence_text), [])]
    for n, text in body:
        if _SEPARATOR.match(text):
            parts.append((n, len(text), []))
        else:
            parts[-1][2].append(text)
    for line, end, texts in parts:
        source = "\n".join(texts)
        if not source.strip() and len(parts) > 1:
            continue
        yield _parse_block(line, end, source)


def _parse_block(line: int, end: int, source: str) -> DocEncounter:
    found = DocEncounter(kind="block", line=line, end=end)
    if len(source) > MAX_BLOCK_CHARS:
        found.problem = (
            f"encounter block of {len(source):,} characters: at most {MAX_BLOCK_CHARS:,}"
        )
        return found
    import yaml  # at the first encounter block: no part of the daemon's start

    # aliases: `*a` ten times over nine levels is 10^9 creatures, whose repr in a message
    # never ended (the daemon's passes hung on a document)
    refused = locate.yaml_refused(source, aliases=False)
    if refused is not None:
        why, at_line, column = refused
        found.problem = f"encounter block: {why} (line {line + 2 + at_line}, column {column + 1})"
        return found
    try:
        data = yaml.load(source, Loader=yaml.CSafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {line + 2 + mark.line}, column {mark.column + 1})" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        found.problem = f"encounter block: not valid YAML: {problem}{where}"
        return found
    if data is None:
        data = {}
    if not isinstance(data, dict):
        found.problem = "encounter block: expected `creatures:` and other keys, not a list or text"
        return found
    try:
        found.party = _block_party(data.get("party"))
        found.rules = _block_rules(data.get("rules"))
        found.monsters = _block_creatures(data.get("creatures"))
    except ValueError as exc:
        found.problem = f"encounter block: {exc}"
    return found


def _block_party(value: Any) -> list[int] | None:
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return [value]
    if isinstance(value, str):
        parts = [p for p in re.split(r"[\s,]+", value.strip()) if p]
        if parts and all(re.fullmatch(r"-?\d+", p) for p in parts):
            return [int(p) for p in parts]
        raise ValueError(
            f"party {value!r} names no levels (an initiative-tracker party name means nothing "
            "to d5e): write the characters' levels, `party: [3, 3, 3, 3]`"
        )
    if isinstance(value, list) and all(
        isinstance(v, int) and not isinstance(v, bool) for v in value
    ):
        return list(value)
    raise ValueError(
        f"party must list the characters' levels, `party: [3, 3, 3, 3]`; not {value!r}"
    )


def _block_rules(value: Any) -> Rules | None:
    if value is None:
        return None
    text = str(value).strip()
    if text == "2014":
        return "2014"
    if text == "2024":
        return "2024"
    raise ValueError(f"rules {value!r}: 2014 or 2024")


def _block_creatures(value: Any) -> list[EncounterMonster]:
    if value is None:
        return []
    if isinstance(value, str | dict):
        value = [value]
    if not isinstance(value, list):
        raise ValueError(f"`creatures:` must be a list (`- 2: Wolf`), not {value!r}")
    if len(value) > MAX_CREATURE_LINES:
        raise ValueError(f"{len(value)} creature lines: at most {MAX_CREATURE_LINES}")
    return [_block_creature(i, item) for i, item in enumerate(value, 1)]


def _block_creature(i: int, item: Any) -> EncounterMonster:
    """`Goblin`, `3: Goblin` (a YAML mapping, or text), `2: Bugbear, 27, 16, 2, 200` (hp, ac,
    modifier, xp); a count may be a range or a roll (`2d4: Wolf`, `6-8: Wolf`)."""
    count: Any = 1
    if isinstance(item, dict):
        if len(item) != 1:
            raise ValueError(f"creature {i}: one `count: name` per line, not {item!r}")
        ((count, item),) = item.items()
    if not isinstance(item, str):
        raise ValueError(f"creature {i}: expected a name, not {item!r}")
    text = item.strip()
    m = re.match(r"^([^:]+?)\s*:\s*(.+)$", text)
    if m and count == 1 and QUANTITY.fullmatch(m[1]):
        count, text = m[1], m[2]
    if isinstance(count, str) and re.fullmatch(r"\d+", count.strip()):
        count = int(count)
    if not isinstance(count, int | str) or isinstance(count, bool):
        raise ValueError(f"creature {i}: the count {count!r} is not a number")
    try:
        counts(EncounterMonster(count=count), "")
    except D5eError as exc:
        raise ValueError(f"creature {i}: {exc.message}") from None
    name, *stats = [p.strip() for p in text.split(",")]
    name = _plain_name(name)
    if not name:
        raise ValueError(f"creature {i}: no name")
    xp = None
    if len(stats) >= 4 and stats[3]:
        if not re.fullmatch(r"\d+", stats[3]):
            raise ValueError(f"creature {i} ({name}): xp {stats[3]!r} is not a number")
        xp = int(stats[3])
    return EncounterMonster(name=name, count=count, xp=xp)


def _plain_name(name: str) -> str:
    """`[[Goblin]]`, `{@creature goblin|srd-2014}` → the name."""
    if m := _WIKI_LINK.match(name):
        return m[1].strip()
    if m := _TAG_NAME.match(name):
        return m[1].strip()
    return name.strip()


def _prose_lines(
    resolver: Resolver,
    lines: Sequence[str],
    facts: DocumentFacts | None = None,
    key: Hashable | None = None,
    doc: TextDocument | None = None,
) -> list[DocEncounter]:
    """Lines (parts between semicolons) that count creatures by name or by tag
    (`campaign.counting_parts`)."""
    names = resolver.prose_names()
    walk = walk_prose(lines, names, key, doc) if facts is None else facts.prose_walk

    def tags(prose_counts: set[int]) -> Iterable[tuple[int, Tag]]:
        if facts is None:
            return (
                (n, tag)
                for n, text in enumerate(walk.texts)
                if text is not None and "{@" in lines[n]
                for tag in tags_in_line(n, lines[n])
            )
        # Only a line that counts a creature (by a tag or in its prose) can hold an encounter:
        # its tags alone are read, not every tag of the document.
        return facts.all_tags(facts.prose_tag_lines & (facts.counted_tag_lines | prose_counts))

    def tag_entry(tag: Tag) -> tuple[str | None, str] | None:
        row = resolver.resolve(tag, suggest=False).row
        return None if row is None else (row.qualified_ref, row.name)

    return [
        DocEncounter(
            kind="line",
            line=n,
            end=max(c.end for c in part),
            monsters=[
                EncounterMonster(ref=c.ref, count=c.count if c.count == c.high else c.written())
                for c in part
            ],
            party_where="",
        )
        for n, part in counting_parts(lines, names, walk, tags, tag_entry)
    ]


# -- their difficulty -----------------------------------------------------------------------------


def verdict(resolver: Resolver, found: DocEncounter) -> Verdict:
    """What the hint says about one encounter: its difficulty, or what is missing or wrong."""
    app = resolver.app
    if found.problem is not None:
        return Verdict(f"⚠ {found.problem}", found.problem, ok=False)
    if not found.monsters:
        return Verdict("encounter: no creatures", "List them under `creatures:`.", ok=False)
    party, where = (found.party, "the block") if found.party else app.settings.party_levels()
    try:
        groups = [resolve(app, m, f"creature {i}") for i, m in enumerate(found.monsters, 1)]
    except D5eError as exc:
        message = exc.message.replace(
            f" ({NEEDS_XP})",
            "; a creature no pack has needs its XP: `- 1: Flame, 45, 15, 2, 700` (name, hp, ac, "
            "modifier, xp)"
            if found.kind == "block"
            else "",
        )
        return Verdict(f"⚠ {message}", exc.message, ok=False)
    counted = " + ".join(f"{ends_text(g.count, g.most)} × {g.name} ({g.xp:,} XP)" for g in groups)
    xp = ends_text(sum(g.xp * g.count for g in groups), sum(g.xp * g.most for g in groups), " XP")
    if not party:
        return Verdict(f"{xp} · {PARTY_HINT}", f"{counted} = {xp}. {PARTY_HINT}.", False)
    try:
        check_party(party)
    except D5eError as exc:
        message = f"party of {where}: {exc.message.replace('character level', 'level')}"
        return Verdict(f"⚠ {message}", message, ok=False)
    result = maths(party, groups, found.rules or app.settings.edition)
    sums = f"{counted} = {ends_text(result.xp, result.xp_max, ' XP')}"
    if result.rules == "2014":
        multiplier = ends_text(result.multiplier, result.multiplier_max, spec="g")
        adjusted = ends_text(result.adjusted_xp, result.adjusted_xp_max, " XP adjusted")
        sums += f" × {multiplier} = {adjusted}"
    limits = " · ".join(f"{name} {value:,}" for name, value in result.thresholds.items())
    tooltip = (
        f"{result.rules} rules: {sums}. Party ({where}) "
        f"{'thresholds' if result.rules == '2014' else 'budget'}: {limits}."
    )
    if result.notes:
        tooltip += " " + "; ".join(result.notes).capitalize() + "."
    return Verdict(result.summary, tooltip, ok=True)


def hint_kinds(
    caps: types.TextDocumentClientCapabilities | None,
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Which encounters get code lenses and which inlay hints: blocks lenses and prose lines
    hints, unless the client lacks one of the two (eglot has no code lenses)."""
    lenses = bool(caps and caps.code_lens)
    hints = bool(caps and caps.inlay_hint)
    if lenses and not hints:
        return ("block", "line"), ()
    if hints and not lenses:
        return (), ("block", "line")
    return ("block",), ("line",)


def code_lenses(
    resolver: Resolver,
    doc: TextDocument,
    kinds: tuple[str, ...] = ("block",),
    facts: DocumentFacts | None = None,
) -> list[types.CodeLens]:
    """A lens above each encounter of `kinds`: the first MAX_ITEMS, then one saying how many
    more there are."""
    lines = doc.lines
    lenses = []
    found = [e for e in find_encounters(resolver, lines, facts, doc.uri, doc) if e.kind in kinds]
    for encounter in found[:MAX_ITEMS]:
        said = verdict(resolver, encounter)
        lenses.append(
            types.CodeLens(
                range=_range(doc, lines, encounter.line, 0, 0),
                command=types.Command(title=said.label, command=""),
            )
        )
    if len(found) > MAX_ITEMS:
        last = found[MAX_ITEMS].line
        title = (
            f"{len(found) - MAX_ITEMS} more encounter(s) from here on have no difficulty shown "
            f"(the first {MAX_ITEMS} have)"
        )
        lenses.append(
            types.CodeLens(
                range=_range(doc, lines, last, 0, 0), command=types.Command(title, command="")
            )
        )
    return lenses


def inlay_hints(
    resolver: Resolver,
    doc: TextDocument,
    within: types.Range,
    kinds: tuple[str, ...] = ("line",),
    facts: DocumentFacts | None = None,
) -> list[types.InlayHint]:
    """A hint after each encounter of `kinds` within the range (the first MAX_ITEMS)."""
    lines = doc.lines
    last = min(len(lines), within.end.line + 2)
    hints: list[types.InlayHint] = []
    if facts is None:
        found = find_encounters(resolver, lines[:last], None, (doc.uri, "hints"))
    else:
        found = find_encounters(resolver, lines, facts)
    first, last_line = within.start.line, within.end.line
    for encounter in found:
        if encounter.kind not in kinds or not first <= encounter.line <= last_line:
            continue
        if len(hints) >= MAX_ITEMS:
            break
        said = verdict(resolver, encounter)
        hints.append(
            types.InlayHint(
                position=_range(doc, lines, encounter.line, encounter.end, encounter.end).end,
                label=said.label,
                tooltip=said.tooltip,
                padding_left=True,
            )
        )
    return hints
