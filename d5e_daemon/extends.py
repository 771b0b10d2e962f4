"""Entries written as changes to another entry (`extends`), resolved when their pack is installed.

Resolution is done once, at install, so that lookups read plain stored records. The order of the
changes is fixed (README, "Variants and partial overrides"): the base's fields are copied,
`remove` drops fields, `remove_items` drops list items, the entry's own fields replace the
base's, and `append` adds items at the end of lists. Entries of the same pack may extend each
other in any file order; a cycle is a problem, and so is a base that does not exist.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any, Literal

import msgspec

from .records import Derive, Entry, Extends, FindEntry, PackProblem
from .text import normalize

# Fields of a base record that do not carry over to a derived entry: its identity and API link.
_NOT_INHERITED = frozenset({"index", "name", "url"})

FindBase = FindEntry


def parse_ref(ref: str, own_pack: str) -> tuple[str, str, str] | None:
    """`pack:collection/slug`, or `collection/slug` in the same pack → (pack, collection, slug)."""
    pack, _, rest = ref.rpartition(":")
    collection, slash, slug = rest.partition("/")
    if not slash or not collection or not slug or "/" in slug:
        return None
    return (pack or own_pack), collection, slug


def _problem(
    entry: Entry,
    key: str,
    message: str,
    severity: Literal["error", "warning"] = "error",
) -> PackProblem:
    """A problem located where `key` (`extends`, `append.actions`, …) was written."""
    ext = entry.extends
    at = ext.at if ext else {}
    fallback = (entry.source.line if entry.source else 0, 0)
    line, column = at.get(key, at.get("extends", fallback))
    return PackProblem(
        file=entry.source.path if entry.source else "",
        line=line,
        column=column,
        field=ext.field if ext and ext.field and key == "extends" else key,
        message=message,
        severity=severity,
    )


def _copy(value: Any) -> Any:
    """A deep copy of JSON values (a round trip through msgspec: faster than copy.deepcopy)."""
    return msgspec.json.decode(msgspec.json.encode(value))


def _same_item(item: Any, wanted: Any) -> bool:
    """A list item matches by value, or an object by its `name` (case and punctuation aside)."""
    if item == wanted:
        return True
    if isinstance(item, dict) and isinstance(item.get("name"), str) and isinstance(wanted, str):
        return normalize(item["name"]) == normalize(wanted)
    return False


def apply(
    entry: Entry,
    base_ref: str,
    base_name: str,
    base: dict[str, Any],
    find: FindEntry | None = None,
) -> tuple[Entry, list[PackProblem]]:
    """The entry's record laid over `base`; problems name the field and where it was written.
    (`find` is part of the `Derive` signature; d5e's own rules need nothing besides the base.)"""
    ext = entry.extends
    assert ext is not None
    problems: list[PackProblem] = []
    data = _copy({k: v for k, v in base.items() if k not in _NOT_INHERITED})
    for field in ext.remove:
        if field not in data:
            message = f"{base_ref} has no field {field!r} to remove"
            problems.append(_problem(entry, f"remove.{field}", message, "warning"))
        data.pop(field, None)
    for field, unwanted in ext.remove_items.items():
        current = data.get(field)
        if not isinstance(current, list):
            message = f"cannot remove items: {field!r} of {base_ref} is not a list"
            problems.append(_problem(entry, f"remove.{field}", message))
            continue
        for wanted in unwanted:
            kept = [item for item in current if not _same_item(item, wanted)]
            if len(kept) == len(current):
                message = f"{base_ref} has no item {wanted!r} in {field!r}"
                problems.append(_problem(entry, f"remove.{field}", message, "warning"))
            current = kept
        data[field] = current
    data.update(_copy({k: v for k, v in entry.data.items() if k not in _NOT_INHERITED}))
    for field, items in ext.append.items():
        current = data.get(field, [])
        if not isinstance(current, list):
            message = f"cannot append: {field!r} of {base_ref} is not a list"
            problems.append(_problem(entry, f"append.{field}", message))
            continue
        data[field] = [*current, *_copy(items)]
    name = entry.name or base_name
    resolved = msgspec.structs.replace(
        entry,
        name=name,
        data={"index": entry.slug, "name": name, **data},
        extends=Extends(ref=base_ref),
    )
    return resolved, problems


def resolve(
    entries: list[Entry],
    pack_id: str,
    find: FindBase,
    installed: Collection[str],
    stored_own: bool = False,
    derive: Derive | None = None,
) -> tuple[list[Entry], list[PackProblem]]:
    """Every entry with its `extends` applied (bases in this pack first); problems located.

    An entry whose base cannot be found, or which takes part in a cycle, is reported and left
    out; the caller refuses the install when any problem is an error. A base that is not
    installed is a warning when the entry says so (`Extends.missing`); entries of this pack
    built on an entry left out so are left out with a warning too. `stored_own`: `entries`
    are only part of the pack (a live reload of some files) and the rest of it, as stored, may
    hold bases too. `derive` lays an entry over its base in place of `apply` (a loader's own
    rules, see `LoadedPack.derive`).
    """
    lay = derive or apply
    own = {(e.collection, e.slug): i for i, e in enumerate(entries)}
    done: dict[int, Entry] = {}
    problems: list[PackProblem] = []
    state: dict[int, str] = {}  # "visiting" | "done" | "failed" | "skipped"

    def visit(i: int) -> Entry | None:
        if state.get(i) == "done":
            return done[i]
        if state.get(i) in ("failed", "skipped"):
            return None
        entry = entries[i]
        ext = entry.extends
        if ext is None:
            state[i] = "done"
            done[i] = entry
            return entry
        if state.get(i) == "visiting":
            message = f"{entry.ref} extends {ext.ref}, which leads back to it (a cycle)"
            problems.append(_problem(entry, "extends", message))
            state[i] = "failed"
            return None
        state[i] = "visiting"
        parsed = parse_ref(ext.ref, pack_id)
        base: tuple[str, dict[str, Any]] | None = None
        if parsed is None:
            message = f"invalid ref {ext.ref!r}: expected pack:collection/slug"
            problems.append(_problem(entry, "extends", message))
        elif parsed[0] == pack_id:
            j = own.get((parsed[1], parsed[2]))
            base_entry = visit(j) if j is not None and j != i else None
            if base_entry is not None:
                base = (base_entry.name, base_entry.data)
            elif j is None and stored_own:
                base = find(*parsed)
            if base is None and (j is None or j == i):
                problems.append(_problem(entry, "extends", f"{ext.ref} is not in this pack"))
            elif base is None and j is not None and state.get(j) == "skipped":
                message = f"{entry.ref} left out: it is built on {ext.ref}, which was left out"
                problems.append(_problem(entry, "extends", message, "warning"))
                state[i] = "skipped"
                return None
        else:
            base = find(*parsed)
            if base is None:
                unknown = f"unknown entry {ext.ref}" + (f" ({ext.what})" if ext.what else "")
                message = (
                    f"{unknown}: {parsed[0]} has no {parsed[1]}/{parsed[2]}"
                    if parsed[0] in installed
                    else f"{unknown}: pack {parsed[0]!r} is not installed"
                )
                if ext.missing == "warning":
                    message = f"{entry.ref} left out: {message}"
                problems.append(_problem(entry, "extends", message, ext.missing))
                if ext.missing == "warning":
                    state[i] = "skipped"
                    return None
        if base is None or parsed is None:
            state[i] = "failed"
            return None
        resolved, found = lay(entry, f"{parsed[0]}:{parsed[1]}/{parsed[2]}", *base, find)
        problems.extend(found)
        state[i] = "done"
        done[i] = resolved
        return resolved

    for i in range(len(entries)):
        visit(i)
    return [done[i] for i in range(len(entries)) if i in done], problems
