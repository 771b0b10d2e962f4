"""`d5e/status`: versions, database, packs with counts and attribution, warnings."""

from __future__ import annotations

import difflib
from pathlib import Path

from .. import __version__, queries
from ..app import App
from ..protocol import IndexStatus, PackStatus, StatusParams, StatusResult


def status(app: App, params: StatusParams | None = None) -> StatusResult:
    conn = app.conn
    enabled = queries.profile_packs(conn, app.profile)
    packs = [
        PackStatus(
            id=row.pack.id,
            title=row.pack.title,
            version=row.pack.version,
            edition=row.pack.edition,
            license=row.pack.license,
            attribution=row.pack.attribution,
            origin=row.origin,
            entries=row.entries,
            collections=queries.counts_by_collection(conn, row.pack.id),
            enabled=row.pack.id in enabled,
            priority=enabled.get(row.pack.id),
        )
        for row in queries.installed_packs(conn)
    ]
    schema_version = conn.execute("PRAGMA user_version").fetchone()
    state = app.search.state()
    return StatusResult(
        version=__version__,
        database=str(app.db_path),
        schema_version=int(schema_version[0]) if schema_version else 0,
        profile=app.profile,
        edition=app.settings.edition,
        packs=packs,
        entries=queries.resolved_count(conn, app.profile),
        failed_plugins=dict(app.plugins.failed),
        warnings=[
            *unknown_packs(app, {p.id for p in packs}),
            *app.library.warnings,
            *app.library.tie_warnings,
            *([f"the last change failed: {failure}"] if (failure := app.db.write_failure) else []),
        ],
        index=IndexStatus(
            entries=state.entries,
            indexed=state.indexed,
            ready=state.ready,
            running=state.running,
            model=state.model,
            model_loaded=state.model_loaded,
            pending_other_profiles=state.pending_other,
        ),
    )


def unknown_packs(app: App, installed: set[str]) -> list[str]:
    """The pack ids the settings name (`[packs]`, `collectionPriorities`, `disabled`, `rules`)
    that no installed pack has: a typo in a d5e.toml (`ghost-pak = 70`) changed nothing and
    said nothing. One line per id, naming the setting, the nearest installed id, and the
    install command when a plugin offers that pack."""
    s = app.settings
    named: dict[str, str] = {}
    for key, ids in (
        ("packs", list(s.packs)),
        ("collectionPriorities", list(s.collection_priorities)),
        ("disabled", list(s.disabled)),
        ("rules", [one for r in s.rules for one in (r.pack, r.over)]),
    ):
        for pack_id in ids:
            named.setdefault(pack_id, key)
    config = Path(s.workspace) / "d5e.toml" if s.workspace else None
    where = f"{config}: " if config is not None and config.is_file() else "settings: "
    offered = app.plugins.pack_sources()
    said = []
    for pack_id, key in sorted(named.items()):
        if pack_id in installed or (key == "disabled" and pack_id in offered):
            continue  # turning off a plugin's pack before it is installed is no mistake
        if pack_id in offered:
            hint = f"; a plugin offers it: d5e packs install {pack_id}"
        else:
            close = difflib.get_close_matches(pack_id, sorted(installed), n=1, cutoff=0.6)
            hint = f"; did you mean {close[0]!r}?" if close else " (d5e packs list names them)"
        said.append(f"{where}{key}: no installed pack is {pack_id!r}{hint}")
    return said
