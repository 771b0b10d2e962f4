"""Every record of both SRD packs, written into a folder pack as JSON or as Markdown, validates
and installs as it was: what `d5e lookup NAME --json` prints can be copied into a pack."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from d5e_daemon import packwriter
from d5e_daemon.app import App
from d5e_daemon.default_plugins.folder import load_folder

from .packtools import write_pack


def srd_records(app: App, pack: str) -> dict[tuple[str, str], dict[str, Any]]:
    """(collection, slug) → the record as a pack author would copy it (with its name)."""
    return {
        (collection, slug): {**json.loads(data), "name": name}
        for collection, slug, name, data in app.conn.execute(
            "SELECT collection, slug, name, data FROM entry WHERE pack_id = ?", (pack,)
        )
    }


def _paragraphs(desc: Any) -> str:
    """A description's words, however it is split into paragraphs."""
    text = "\n".join(desc) if isinstance(desc, list) else str(desc or "")
    return " ".join(text.split())


@pytest.mark.slow
@pytest.mark.parametrize("form", ["json", "markdown"])
@pytest.mark.parametrize("pack", ["srd-2014", "srd-2024"])
def test_every_srd_record_is_a_valid_pack_entry(
    app: App, tmp_path: Path, pack: str, form: str
) -> None:
    records = srd_records(app, pack)
    assert len(records) > 1300
    copy_id = f"copy-{pack}-{form}"
    files: dict[str, str | bytes] = {}
    for (collection, slug), record in records.items():
        if form == "json":
            files[f"{collection}/{slug}.json"] = packwriter.json_text(record)
        else:
            files[f"{collection}/{slug}.md"] = packwriter.markdown_text(record)
    folder = write_pack(
        tmp_path / copy_id, files, f'id = "{copy_id}"\ntitle = "Copy"\nversion = "1"\n'
    )

    loaded = load_folder(folder)
    assert loaded is not None
    assert [str(p) for p in loaded.problems] == []
    result = app.db.write(lambda conn: app.library.install_path(conn, folder))
    assert (result.action, result.entries) == ("installed", len(records))

    stored = srd_records(app, copy_id)
    assert stored.keys() == records.keys()
    for ref, record in records.items():
        copy = stored[ref]
        if form == "markdown":  # the body is the description, in paragraphs
            assert _paragraphs(copy.pop("desc", None)) == _paragraphs(record.get("desc")), ref
            record = {k: v for k, v in record.items() if k != "desc"}
        assert copy == record, ref


def test_fraction_crs_hover_and_srd_slugs_validate(attributed: App, tmp_path: Path) -> None:
    """The three things the SRD writes that packs once refused, written by hand."""
    app = attributed  # the SRD's filter attributes made (its first search made them: ~1 s)
    folder = write_pack(
        tmp_path / "haunts",
        {
            "monsters/wisp.md": (
                "---\nname: Marsh Wisp\nchallenge_rating: 1/2\n"
                "speed: {walk: 0 ft., fly: 50 ft., hover: true}\n---\nA light.\n"
            ),
            "magic-items/stone.json": (
                '{"name": "Stone of Luck (Marsh)", "slug": "stone-of-luck-(marsh)"}'
            ),
        },
    )
    app.db.write(lambda conn: app.library.install_path(conn, folder))
    from d5e_daemon.features.lookup import lookup
    from d5e_daemon.features.search import search
    from d5e_daemon.protocol import LookupParams, SearchParams

    wisp = lookup(app, LookupParams(name="marsh wisp"))
    assert "fly 50 ft. (hover)" in wisp.markdown
    assert "1/2" in wisp.markdown
    stone = lookup(app, LookupParams(ref="magic-items/stone-of-luck-(marsh)"))
    assert stone.entry.name == "Stone of Luck (Marsh)"
    hits = search(app, SearchParams(query="", filters={"cr": "1/2"}, limit=100)).hits
    assert "monsters/marsh-wisp" in {h.ref for h in hits}
    assert "monsters/orc" in {h.ref for h in hits}  # the SRD's 0.5 too
