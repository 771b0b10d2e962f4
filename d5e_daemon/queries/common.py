"""What every query module shares: the entry row, its columns, FTS5 query text."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from ..records import Entry, Source


@dataclass(frozen=True)
class EntryRow:
    """An entry as stored, with the pack facts a result needs."""

    id: int
    pack: str
    collection: str
    slug: str
    name: str
    data_json: str
    source_path: str | None
    source_line: int | None
    extends: str | None
    priority: int | None = None

    @property
    def ref(self) -> str:
        return f"{self.collection}/{self.slug}"

    @property
    def qualified_ref(self) -> str:
        return f"{self.pack}:{self.collection}/{self.slug}"

    def entry(self) -> Entry:
        source = (
            Source(path=self.source_path, line=self.source_line or 1) if self.source_path else None
        )
        return Entry(
            collection=self.collection,
            slug=self.slug,
            name=self.name,
            data=json.loads(self.data_json),
            pack=self.pack,
            source=source,
        )


ENTRY_COLUMNS = (
    "e.id, e.pack_id, e.collection, e.slug, e.name, e.data, e.source_path, e.source_line, e.extends"
)


def entry_rows(cursor: Iterable[Sequence[Any]]) -> list[EntryRow]:
    return [EntryRow(*row) for row in cursor]


def fts_phrase(word: str) -> str:
    """One FTS5 string token, quoted so that operators and quotes in it mean nothing."""
    return '"' + word.replace('"', '""') + '"'


def fts_any(words: Sequence[str]) -> str:
    """An FTS5 query matching any of `words`, each quoted."""
    return " OR ".join(fts_phrase(w) for w in words)
