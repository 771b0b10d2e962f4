"""A reference to an entry as a user writes it: `collection/slug` (the profile's winner) or
`pack:collection/slug` (that pack's entry)."""

from __future__ import annotations

import re

from .errors import InvalidParams
from .packformat import SLUG_CHARS

REF_RE = re.compile(
    r"(?:(?P<pack>[a-z0-9][a-z0-9-]*):)?(?P<collection>[a-z][a-z0-9-]*)/"
    rf"(?P<slug>[a-z0-9][{SLUG_CHARS}]*)"
)


def parse_ref(ref: str) -> tuple[str | None, str, str]:
    """(pack or None, collection, slug); a ref of another shape is refused naming `$.ref`."""
    m = REF_RE.fullmatch(ref.strip())
    if not m:
        raise InvalidParams(
            f"invalid ref {ref!r}: expected collection/slug or pack:collection/slug "
            "(e.g. spells/fireball); to look up by name use `name`",
            {"path": "$.ref"},
        )
    return m["pack"], m["collection"], m["slug"]
