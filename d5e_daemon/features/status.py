"""`d5e/status`: versions, database, packs with counts and attribution, warnings."""

from __future__ import annotations

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
