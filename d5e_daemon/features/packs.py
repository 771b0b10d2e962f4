"""`d5e/packs/*`: list, install, enable, disable, remove, validate, setPriority, create, upload.

Thin: the pack lifecycle (install, reload, remove, choose, dependents, the change event) is
`library.py`'s; these decode what a client asks and describe the result.
"""

from __future__ import annotations

import logging
from functools import partial
from pathlib import Path

import apsw

from .. import packfiles, packformat, packs, packwriter, queries, workspace
from ..app import App
from ..errors import InvalidParams, PackError
from ..library import origin_kind
from ..protocol import (
    CreateParams,
    CreateResult,
    OverrideInfo,
    PackChangeResult,
    PackIdParams,
    PackInfo,
    PackInstallParams,
    PackInstallResult,
    PackRemoveResult,
    PacksListParams,
    PacksListResult,
    SetPriorityParams,
    UploadParams,
    UploadResult,
    ValidateParams,
    ValidateResult,
)
from ..records import PackProblem

log = logging.getLogger(__name__)


def client_path(app: App, text: str) -> Path:
    """A path from a client: relative ones are taken from the workspace (else the cwd)."""
    path = Path(text).expanduser()
    if not path.is_absolute() and app.settings.workspace:
        path = Path(app.settings.workspace) / path
    return path


def _infos(app: App) -> list[PackInfo]:
    conn = app.conn
    enabled = queries.profile_packs(conn, app.profile)
    by_collection = queries.profile_collections(conn, app.profile)
    priorities = app.library.priorities(conn)
    reasons = priorities.reasons
    infos = [
        PackInfo(
            pack=row.pack,
            installed=True,
            kind=origin_kind(row.origin),
            origin=row.origin,
            entries=row.entries,
            collections=queries.counts_by_collection(conn, row.pack.id),
            enabled=row.pack.id in enabled,
            priority=enabled.get(row.pack.id),
            collection_priorities=by_collection.get(row.pack.id, {}),
            reason=reasons.get(row.pack.id) if row.pack.id in enabled else None,
            off=None
            if row.pack.id in enabled
            else _why_off(app, row.pack.id, priorities.off.get(row.pack.id)),
            installed_at=row.installed_at,
            overrides=_override_counts(pack_overrides(app, row.pack.id))
            if row.pack.id in enabled
            else {},
        )
        for row in queries.installed_packs(conn)
    ]
    installed = {i.pack.id for i in infos}
    for pack_id, source in sorted(app.plugins.pack_sources().items()):
        if pack_id not in installed:
            infos.append(
                PackInfo(pack=source.pack, installed=False, kind="plugin", origin=source.origin)
            )
    return infos


def _why_off(app: App, pack_id: str, why: str | None) -> str | None:
    """Why a pack is off, as the editors' pack lists and `d5e packs list` show it."""
    if why == "edition":
        return f"the SRD of the other edition (this profile's edition is {app.settings.edition})"
    if why == "command":
        return "turned off in this profile (d5e packs disable; enable turns it on)"
    if why == "settings":
        root = app.settings.workspace
        config, _ = workspace.applicable(Path(root)) if root else ({}, None)
        if pack_id in config.get("disabled", []):
            return f"disabled in {Path(root or '') / workspace.CONFIG}"
        return "disabled in the editor's settings (disabled)"
    if why == "campaign":
        return _brought_by(app, pack_id)
    return None


def _campaign_config(conn: apsw.Connection, profile_id: str | None) -> str:
    """The `d5e.toml` of the campaign whose profile is `profile_id` (`profile NAME` when its
    folder is not known)."""
    folder = queries.profile_owner(conn, profile_id)[1] if profile_id else None
    return str(Path(folder) / workspace.CONFIG) if folder else f"profile {profile_id}"


def adopted_text(result: PackInstallResult) -> str:
    """What an install that made a campaign's pack the user's says of it ('' when it did not):
    the words of every face (the CLI's line, MCP)."""
    if not result.adopted:
        return ""
    return (
        f"now yours, on in every profile (a campaign's packPaths had brought it, on there only: "
        f"{result.adoptedFrom})"
    )


def _brought_by(app: App, pack_id: str) -> str:
    """Why a pack another campaign's `packPaths` brought is off here, naming that campaign."""
    rows = [r for r in queries.installed_packs(app.conn) if r.pack.id == pack_id]
    where = _campaign_config(app.conn, rows[0].workspace_profile if rows else None)
    return (
        f"another campaign's packPaths brought it ({where}): on there only "
        f"(d5e packs enable {pack_id} turns it on here)"
    )


def pack_overrides(
    app: App, pack_id: str, conn: apsw.Connection | None = None
) -> list[packs.Overridden]:
    """What `pack_id` overrides in the App's profile, and whether on purpose."""
    conn = conn or app.conn
    rules = [*app.plugins.priority_rules(), *app.settings.rules]
    chosen = app.library.priorities(conn).reasons.get(pack_id) not in (None, "default")
    return packs.overrides(conn, app.profile, pack_id, rules, chosen)


def _override_counts(found: list[packs.Overridden]) -> dict[str, dict[str, int]]:
    counts: dict[str, dict[str, int]] = {}
    for item in found:
        by_collection = counts.setdefault(item.override.over, {})
        by_collection[item.override.collection] = by_collection.get(item.override.collection, 0) + 1
    return counts


def override_warnings(
    app: App, pack_id: str, conn: apsw.Connection | None = None
) -> list[PackProblem]:
    """The override report of a pack (see `packs.override_problems`)."""
    where = queries.pack_origin(conn or app.conn, pack_id) or pack_id
    return packs.override_problems(pack_id, where, pack_overrides(app, pack_id, conn))


def shadow_notes(app: App, pack_id: str, conn: apsw.Connection | None = None) -> list[PackProblem]:
    """What of a pack other packs hide (see `packs.shadow_problems`)."""
    conn = conn or app.conn
    where = queries.pack_origin(conn, pack_id) or pack_id
    return packs.shadow_problems(pack_id, where, queries.shadowed(conn, app.profile, pack_id))


def new_override_warnings(app: App, pack_ids: list[str], told: set[str]) -> list[str]:
    """What the changed packs now override of other enabled packs by accident (the same ref,
    no `extends`), leaving out what is in `told` (and adding the rest to it): each is said
    once. Intended overrides (the edition's SRD order, an `extends`, a rule) are not here."""
    lines = []
    for pack_id in pack_ids:
        for problem in override_warnings(app, pack_id):
            if problem.severity == "warning" and problem.message not in told:
                told.add(problem.message)
                lines.append(problem.message)
    return lines


def list_packs(app: App, params: PacksListParams | None = None) -> PacksListResult:
    listed: list[OverrideInfo] = []
    if params is not None and params.overrides is not None:
        if queries.get_pack(app.conn, params.overrides) is None:
            raise PackError(f"pack {params.overrides} is not installed")
        listed = [
            OverrideInfo(
                ref=f"{o.override.collection}/{o.override.slug}",
                name=o.override.name,
                collection=o.override.collection,
                over=o.override.over,
                intended=o.intended,
            )
            for o in pack_overrides(app, params.overrides)
        ]
    return PacksListResult(
        profile=app.profile, packs=_infos(app), warnings=app.library.check_ties(), overrides=listed
    )


def _info(app: App, pack_id: str) -> PackInfo:
    for info in _infos(app):
        if info.pack.id == pack_id:
            return info
    raise PackError(f"pack {pack_id} is not installed")


def _result(
    app: App, result: packs.InstallResult, conn: apsw.Connection | None = None
) -> PackInstallResult:
    """The wire form of an install, with what the pack now overrides in the profile (when it
    changed anything: an unchanged install changes no winner)."""
    overrides: list[PackProblem] = []
    if result.action != "unchanged":
        overrides = override_warnings(app, result.pack, conn) + shadow_notes(app, result.pack, conn)
    return PackInstallResult(
        pack=result.pack,
        action=result.action,
        entries=result.entries,
        changed=result.changed,
        warnings=[*result.warnings, *overrides],
        also=[_result(app, r, conn) for r in result.also],
        adopted=result.adopted is not None,
        adoptedFrom=_campaign_config(conn or app.conn, result.adopted) if result.adopted else None,
    )


async def install(app: App, params: PackInstallParams) -> PackInstallResult:
    """Install or upgrade a pack from a path or a plugin; atomic, and a no-op when unchanged."""
    if (params.path is None) == (params.id is None):
        raise InvalidParams("give exactly one of `path` or `id` - at `$`", {"path": "$"})
    if params.id is not None:
        return _result(app, await app.library.install(plugin=params.id, replace=params.replace))
    path = client_path(app, params.path or "")
    return _result(app, await app.library.install(path=path, replace=params.replace))


async def reload(app: App, changes: dict[str, set[str]]) -> list[packs.InstallResult]:
    """Re-import installed packs from their folder or file (live reload); see
    `Library.reload`."""
    return await app.library.reload(changes)


def _settings_note(app: App, pack_id: str, collection: str = "") -> list[str]:
    """Why a command's choice (for the whole pack, or for one `collection`) may not show: the
    workspace's settings decide first. A collection's own priority is the more specific: one a
    command gives stands against the settings' priority for the whole pack."""
    notes = []
    where = "d5e.toml or the editor's settings" if app.settings.workspace else "the settings"
    if pack_id in app.settings.disabled:
        notes.append(f"{where} disable {pack_id}; that wins over this command")
    own = app.settings.collection_priorities.get(pack_id, {})
    if collection and collection in own:
        notes.append(
            f"{where} set {pack_id}'s priority for {collection} to {own[collection]}; "
            "that wins over this command"
        )
    elif not collection and pack_id in app.settings.packs:
        notes.append(
            f"{where} set {pack_id}'s priority to {app.settings.packs[pack_id]}; "
            "that wins over this command"
        )
    return notes


async def _choose(
    app: App,
    pack_id: str,
    collection: str = "",
    *,
    enabled: bool | None = None,
    priority: int | None = None,
    clear_priority: bool = False,
) -> PackChangeResult:
    await app.library.choose(
        pack_id, collection, enabled=enabled, priority=priority, clear_priority=clear_priority
    )
    return PackChangeResult(
        info=_info(app, pack_id), warnings=_settings_note(app, pack_id, collection)
    )


async def enable(app: App, params: PackIdParams) -> PackChangeResult:
    return await _choose(app, params.pack, enabled=True)


async def disable(app: App, params: PackIdParams) -> PackChangeResult:
    return await _choose(app, params.pack, enabled=False)


async def set_priority(app: App, params: SetPriorityParams) -> PackChangeResult:
    return await _choose(
        app,
        params.pack,
        params.collection or "",
        priority=params.priority,
        clear_priority=params.priority is None,
    )


async def remove(app: App, params: PackIdParams) -> PackRemoveResult:
    count = await app.library.remove(params.pack)
    return PackRemoveResult(pack=params.pack, entries=count)


def _validate(app: App, conn: apsw.Connection, path: Path) -> ValidateResult:
    _, read = app.library.load_path(path)
    every = read if isinstance(read, list) else [read]
    loaded = every[0]
    problems = list(loaded.problems)
    ours = {one.pack.id for one in every}
    broken = any(one.errors for one in every)
    for one in every:
        entries = one.entries
        if broken:
            # the files have errors: still check what extends other, installed packs (those
            # bases do not depend on these files), so that every problem is told at once
            entries = [e for e in entries if e.extends and _base_pack(e.extends.ref, ours)]
        _, found = packs.prepare(conn, one.pack, entries, one.derive)
        problems += found + packs.missing_requirements(conn, one)
    if not broken:
        problems = sorted(problems, key=lambda p: (p.file, p.line, p.column))
    ok = not any(p.severity == "error" for p in problems)
    return ValidateResult(
        ok=ok,
        pack=loaded.pack if ok or loaded.entries else None,
        entries=sum(len(one.entries) for one in every),
        problems=problems,
        also=[one.pack for one in every[1:]],
    )


def _base_pack(ref: str, ours: set[str]) -> bool:
    """Whether an `extends` ref names an entry of a pack other than those being read."""
    pack, colon, _ = ref.partition(":")
    return bool(colon) and pack not in ours


async def validate(app: App, params: ValidateParams) -> ValidateResult:
    """Every problem of the pack at `path`, each with file, line, column and field."""
    return await app.write(partial(_validate, app, path=client_path(app, params.path)))


def default_pack_folder(app: App) -> Path:
    base = Path(app.settings.workspace) if app.settings.workspace else app.db_path.parent
    return base / "packs"


async def create(app: App, params: CreateParams) -> CreateResult:
    """Scaffold a folder pack (pack.toml, README, an example entry) and install it."""
    packs.check_pack_id(params.id)
    parent = client_path(app, params.directory) if params.directory else default_pack_folder(app)
    folder = parent / params.id
    claim = app.library.claim(replace=params.replace)  # checked before any file is written
    packs.check_claim(app.conn, params.id, str(folder.resolve()), claim, created=True)
    title = params.title or params.id.replace("-", " ").title()
    files = packwriter.scaffold(folder, params.id, title)
    install_params = PackInstallParams(path=str(folder.resolve()), replace=params.replace)
    result = await install(app, install_params)
    return CreateResult(path=str(folder.resolve()), files=[str(f) for f in files], install=result)


def _upload(app: App, conn: apsw.Connection, params: UploadParams) -> UploadResult:
    origin = queries.pack_origin(conn, params.pack)
    if origin is None:
        raise PackError(f"pack {params.pack} is not installed")
    root = Path(origin)
    if origin_kind(origin) != "folder":
        raise PackError(
            f"pack {params.pack} is not a folder pack ({origin}); uploads are written as files "
            "of a folder pack: `d5e packs new` makes one"
        )
    packs.check_in_place(root)  # swapped for a link since: an upload would write there
    packwriter.recover(root)  # a change a crash interrupted: finished or undone first
    with packfiles.in_place():  # a folder swapped for a link meanwhile is not read through it
        plan, after, read_problems = packwriter.plan_upload(
            root, params.collection, params.entries, params.replace
        )
        loaded = packformat.load(after, read_problems + plan.problems, params.pack, str(root))
    problems = list(loaded.problems)
    if not loaded.errors:
        _, found = packs.prepare(conn, loaded.pack, loaded.entries)
        problems += found
    if loaded.pack.id != params.pack and not loaded.errors:
        raise PackError(f"{root}/pack.toml now names pack {loaded.pack.id}, not {params.pack}")
    if any(p.severity == "error" for p in problems):
        raise packs.pack_error(params.pack, problems)
    with packwriter.applied(root, plan) as (written, removed):
        result = app.library.install_path(conn, root, in_place=True)
    return UploadResult(
        pack=params.pack, written=written, removed=removed, install=_result(app, result, conn)
    )


async def upload(app: App, params: UploadParams) -> UploadResult:
    """Add or replace the entries of one collection of a folder pack, written back as files."""
    result = await app.write(partial(_upload, app, params=params))
    await app.library.after([params.pack] if result.install.action != "unchanged" else [])
    return result
