"""Hostile input, each kind with the error it must get (the rest of the audit is in the test
modules docs/reliability.md names): FTS5 and LIKE metacharacters and SQL fragments in every
method that reads or changes packs, path traversal and links in packs, zip bombs and damaged
zips, 100 MB files, text that is not UTF-8 (or not Unicode), and database files that are not
SQLite, belong to another application, are damaged, or were written by a newer d5e."""

from __future__ import annotations

import asyncio
import io
import os
import re
import shutil
import struct
import subprocess
import sys
import time
import zipfile
from collections.abc import Awaitable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

import apsw
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from d5e_daemon import db, packfiles, packformat, protocol
from d5e_daemon.app import App
from d5e_daemon.client import Daemon, RpcError
from d5e_daemon.default_plugins.folder import load_folder, load_zip
from d5e_daemon.errors import InvalidParams, NotFound, PackError
from d5e_daemon.features import packs as pack_features
from d5e_daemon.features.complete import complete
from d5e_daemon.features.lookup import lookup
from d5e_daemon.features.markdown import workspace_symbols
from d5e_daemon.features.search import search, search_filters
from d5e_daemon.features.tags import tag_for_entry
from d5e_daemon.text import normalize

from .fixtures import make_app, private_copy
from .hostile_text import METACHARACTERS
from .packtools import MANIFEST, write_pack

SPELL = "---\nname: Spark\nlevel: 0\n---\nA spark.\n"
TIMEOUT = 20

# -- query text: FTS5 and LIKE syntax, SQL ---------------------------------------------------


def run(coroutine: Awaitable[Any]) -> Any:
    return asyncio.run(coroutine)  # type: ignore[arg-type]


def tables(app: App) -> tuple[int, int, int]:
    row = app.conn.execute(
        "SELECT (SELECT count(*) FROM sqlite_schema), (SELECT count(*) FROM entry),"
        " (SELECT count(*) FROM pack)"
    ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1]), int(row[2])


@pytest.fixture
def attributed_app(attributed_template: Path, tmp_path: Path) -> Iterator[App]:
    """The SRD with its filter attributes made once per run (each test's first search made them
    again, ~2 s of CPU a test; making them is tested in tests/test_search.py)."""
    app = make_app(private_copy(attributed_template, tmp_path))
    yield app
    app.close()


@pytest.mark.parametrize("text", METACHARACTERS)
def test_metacharacters_and_sql_are_plain_text_in_every_method(
    attributed_app: App, text: str
) -> None:
    """Each method treats the text as text: an answer made of real matches, or the error that
    names the field; nothing in the database changes."""
    app = attributed_app
    before = tables(app)
    words = [w[:4] for w in re.findall(r"[a-z0-9]+", text.lower())]  # stems, roughly
    for mode in ("keyword", "hybrid"):
        try:
            hits = search(app, protocol.SearchParams(query=text, mode=mode, limit=5)).hits
        except InvalidParams as exc:
            assert exc.data == {"path": "$.query"} and not words
        else:
            assert all(any(w in (h.name + h.snippet).lower() for w in words) for h in hits)
    # a text filter, a collection, a pack, an edition: literal values that match nothing
    assert search(app, protocol.SearchParams(filters={"school": text})).hits == []
    assert search(app, protocol.SearchParams(filters={"class": [text, "%"]})).hits == []
    for scope in ({"collections": [text]}, {"packs": [text]}, {"edition": text[:16]}):
        assert search(app, msgspec_params(protocol.SearchParams, query="fire", **scope)).hits == []
    with pytest.raises(NotFound) as unknown:  # no pack has such a collection: said so
        search_filters(app, protocol.SearchFiltersParams(collections=[text]))
    assert unknown.value.data == {"path": "$.collections[0]"}
    assert repr(text) in unknown.value.message
    items = complete(app, protocol.CompleteParams(prefix=text, limit=50)).items
    assert len(items) < 50, "a wildcard matched everything"
    try:  # names are matched ignoring case and punctuation: "^fire*" is the Fire entry
        found = lookup(app, protocol.LookupParams(name=text)).entry.name
        assert normalize(found) == normalize(text)
    except NotFound:
        pass
    with pytest.raises(InvalidParams):
        lookup(app, protocol.LookupParams(ref=text))
    with pytest.raises(InvalidParams):
        tag_for_entry(app, protocol.TagForParams(ref=text))
    assert len(workspace_symbols(app, text)) < 50
    # the pack methods: not installed, or not a pack id
    for change in (pack_features.enable, pack_features.disable, pack_features.remove):
        with pytest.raises(PackError, match="not installed"):
            run(change(app, protocol.PackIdParams(pack=text)))
    with pytest.raises(PackError, match="not installed"):
        run(pack_features.set_priority(app, protocol.SetPriorityParams(pack=text, priority=5)))
    with pytest.raises(PackError, match="invalid pack id"):
        run(pack_features.create(app, protocol.CreateParams(id=text, directory="/nonexistent")))
    with pytest.raises(PackError):
        run(pack_features.install(app, protocol.PackInstallParams(id=text)))
    assert tables(app) == before
    assert lookup(app, protocol.LookupParams(ref="spells/fireball")).entry.name == "Fireball"


def msgspec_params(kind: type[protocol.P], **values: Any) -> protocol.P:
    return protocol.decode(values, kind)


# -- path traversal and links in packs ------------------------------------------------------


def refused(app: App, path: Path) -> list[str]:
    """Install `path`: refused, nothing imported; its error problems as `file: message`."""
    before = tables(app)
    with pytest.raises(PackError) as caught:
        app.db.write(partial(app.library.install_path, path=path))
    assert tables(app) == before
    data = caught.value.data or {"problems": []}
    return [f"{p['file']}: {p['message']}" for p in data["problems"] if p["severity"] == "error"]


def brew_zip(tmp_path: Path, members: dict[str, bytes]) -> Path:
    target = tmp_path / "brew.zip"
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("pack.toml", MANIFEST)
        for name, data in members.items():
            info = zipfile.ZipInfo(name)
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, data)
    return target


@pytest.mark.parametrize(
    ("member", "why"),
    [("..\\evil\\x.json", "backslash in path"), ("C:/evil/x.json", "absolute path")],
)
def test_zip_paths_that_escape_on_windows(app: App, tmp_path: Path, member: str, why: str) -> None:
    target = brew_zip(tmp_path, {"spells/spark.md": SPELL.encode(), member: b'{"name": "X"}'})
    assert refused(app, target) == [
        f"{target}!/{member}: unsafe path in zip ({why}): nothing is read from it"
    ]


def test_a_linked_manifest_and_a_link_loop_are_refused(app: App, tmp_path: Path) -> None:
    elsewhere = write_pack(tmp_path / "elsewhere", {})
    root = write_pack(tmp_path / "p", {"spells/spark.md": SPELL}, manifest=None)
    os.symlink(elsewhere / "pack.toml", root / "pack.toml")
    os.symlink(root / "spells" / "loop", root / "spells" / "loop")
    problems = refused(app, root)
    assert (
        f"{root}/pack.toml: links are not allowed in packs (this one points outside the pack)"
        in problems
    )
    assert any(p.startswith(f"{root}/spells/loop: links are not allowed") for p in problems)


def test_a_pipe_in_a_pack_is_never_opened(app: App, tmp_path: Path) -> None:
    """Opening a named pipe would block the writer thread forever."""
    root = write_pack(tmp_path / "p", {"spells/spark.md": SPELL})
    os.mkfifo(root / "spells" / "pipe.json")
    started = time.monotonic()
    result = app.db.write(partial(app.library.install_path, path=root))
    assert time.monotonic() - started < 5
    assert result.entries == 1
    assert [str(w) for w in result.warnings] == [
        f"{root}/spells/pipe.json: warning: not a regular file (a pipe, a socket or a device): "
        "not read"
    ]
    os.mkfifo(tmp_path / "pipe.zip")
    with pytest.raises(PackError, match="no loader recognises it"):
        app.library.load_path(tmp_path / "pipe.zip")


def test_an_unreadable_link_target_is_a_problem_not_a_crash(
    app: App, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = write_pack(tmp_path / "p", {"spells/spark.md": SPELL})
    os.symlink("/proc/1/cwd", root / "spells" / "cwd")

    real = os.path.realpath

    def denied(path: str, **options: Any) -> str:
        if str(path).endswith("cwd"):  # as for /proc/1/cwd, where even root may be refused
            raise PermissionError(13, "Permission denied", path)
        return real(path, **options)

    monkeypatch.setattr(packfiles.os.path, "realpath", denied)
    assert refused(app, root) == [
        f"{root}/spells/cwd: links are not allowed in packs (this one points outside the pack)"
    ]


def test_a_folder_without_pack_toml_is_not_walked(tmp_path: Path) -> None:
    """`d5e packs validate /` read the whole file system (and died on /proc) before saying
    that / is no pack."""
    started = time.monotonic()
    loaded = load_folder(Path("/"))
    assert loaded is not None and time.monotonic() - started < 2
    assert [p.message for p in loaded.problems] == [
        "a pack needs pack.toml at its top (id, title, version); none found"
    ]


def test_uploads_cannot_write_outside_the_pack(app: App, tmp_path: Path) -> None:
    # the pack three folders down: what escapes it lands in this test's own folder (pytest's
    # parent folder holds other tests' files, some named evil too)
    deep = tmp_path / "a" / "b"
    deep.mkdir(parents=True)
    created = run(pack_features.create(app, protocol.CreateParams(id="up", directory=str(deep))))
    root = Path(created.path)
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    cases: list[tuple[str, list[dict[str, Any]], str]] = [
        ("spells", [{"name": "X", "slug": "../../../evil"}], "slug"),
        ("spells", [{"name": "X", "index": "../../evil"}], "index"),
        ("../../evil", [{"name": "X"}], "collection"),
        ("spells", [{"name": "X", "slug": "a/b"}], "slug"),
    ]
    for collection, entries, field in cases:
        with pytest.raises(PackError) as caught:
            run(
                pack_features.upload(
                    app, protocol.UploadParams(pack="up", collection=collection, entries=entries)
                )
            )
        problems = caught.value.data["problems"]
        assert [p["field"] for p in problems if p["severity"] == "error"] == [field], problems
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before
    assert not list(tmp_path.rglob("evil*"))
    # a name with slashes is made a slug, and lands inside
    result = run(
        pack_features.upload(
            app,
            protocol.UploadParams(pack="up", collection="spells", entries=[{"name": "../../Evil"}]),
        )
    )
    assert result.written == [str(root / "spells" / "evil.json")]


# -- zip bombs and damaged zips ---------------------------------------------------------------


def test_a_zip_that_inflates_past_the_pack_limit(
    app: App, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Members each at the size where the ratio check starts (1 MiB of zeros, 1000:1), many
    of them: the sum of what they declare is bounded too (the limit made small here)."""
    monkeypatch.setattr(packfiles, "MAX_PACK_BYTES", 4 * 2**20)
    zeros = '{"name": "Z", "desc": "' + "0" * (2**20 - 30) + '"}'
    members = {f"spells/z{i}.json": zeros.encode() for i in range(6)}
    target = brew_zip(tmp_path, members)
    assert target.stat().st_size < 64 * 1024
    assert refused(app, target) == [f"{target}: the pack inflates past 4 MiB: refused"]


def test_a_zip_member_that_lies_about_its_size_is_not_read_past_it(
    app: App, tmp_path: Path
) -> None:
    body = ('{"name": "Big", "desc": "' + "y" * (9 * 2**20) + '"}').encode()
    target = brew_zip(tmp_path, {"spells/big.json": body})
    data = bytearray(target.read_bytes())
    for signature, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):  # uncompressed size
        at = data.find(signature)
        while at >= 0:
            if struct.unpack_from("<I", data, at + offset)[0] == len(body):
                struct.pack_into("<I", data, at + offset, 100)
            at = data.find(signature, at + 4)
    target.write_bytes(data)
    assert refused(app, target) == [
        f"{target}!/spells/big.json: cannot read from the zip: BadZipFile: Bad CRC-32 for file "
        "'spells/big.json'"
    ]


def good_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("pack.toml", MANIFEST)
        z.writestr("spells/cafe.json", '[{"name": "Cafe", "level": 1, "desc": "hot drink"}]')
        z.writestr("spells/tea.md", "---\nname: Tea\nlevel: 2\n---\nA cup of tea.\n")
    return buffer.getvalue()


GOOD_ZIP = good_zip()


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@example(damage=[(416, 0)])  # a member's name cut to nothing: ZipInfo.is_dir() failed on it
@given(
    damage=st.lists(
        st.tuples(st.integers(0, len(GOOD_ZIP) - 1), st.integers(0, 255)), min_size=1, max_size=8
    )
)
def test_a_damaged_zip_gives_problems_never_an_exception(
    tmp_path: Path, damage: list[tuple[int, int]]
) -> None:
    """zlib errors, cut-off members, unknown format versions, names flagged UTF-8 that are not:
    each used to escape the reader as an exception ("loader zip failed" with a traceback)."""
    data = bytearray(GOOD_ZIP)
    for at, value in damage:
        data[at] = value
    target = tmp_path / "damaged.zip"
    target.write_bytes(data)
    loaded = load_zip(target)
    assert loaded is not None


def test_a_zip_member_name_flagged_utf8_that_is_not(app: App, tmp_path: Path) -> None:
    target = brew_zip(tmp_path, {"spells/cafe.json": b'{"name": "Cafe"}'})
    data = bytearray(target.read_bytes())
    at = data.find(b"spells/cafe.json")
    while at >= 0:
        data[at + 11] = 0xE9  # the "e" of "cafe"
        at = data.find(b"spells/cafe.json", at + 1)
    for signature, flags in ((b"PK\x03\x04", 7), (b"PK\x01\x02", 9)):
        at = data.find(signature)
        while at >= 0:
            data[at + flags] |= 0x08  # bit 11: the name is UTF-8
            at = data.find(signature, at + 4)
    target.write_bytes(data)
    problems = refused(app, target)
    assert len(problems) == 1 and problems[0].startswith(
        f"{target}: not a readable zip file: UnicodeDecodeError"
    )


# -- 100 MB files ---------------------------------------------------------------------------

HUNDRED_MB = 100 * 2**20


def test_100_mb_files_are_refused_before_a_byte_is_read(app: App, tmp_path: Path) -> None:
    root = write_pack(tmp_path / "p", {"spells/spark.md": SPELL})
    for name in ("spells/huge.json", "monsters/huge.md"):
        (root / name).parent.mkdir(exist_ok=True)
        with open(root / name, "wb") as f:
            f.truncate(HUNDRED_MB)  # sparse: 100 MB to the reader, nothing on disk
    started = time.monotonic()
    assert refused(app, root) == [
        f"{root}/monsters/huge.md: file too large (104,857,600 bytes; the limit is 8,388,608)",
        f"{root}/spells/huge.json: file too large (104,857,600 bytes; the limit is 8,388,608)",
    ]
    assert time.monotonic() - started < 5


def test_a_100_mb_manifest_and_a_100_mb_zip_member(app: App, tmp_path: Path) -> None:
    root = write_pack(tmp_path / "p", {"spells/spark.md": SPELL}, manifest=None)
    with open(root / "pack.toml", "wb") as f:
        f.truncate(HUNDRED_MB)
    assert refused(app, root) == [
        f"{root}: a pack needs pack.toml at its top (id, title, version); none found",
        f"{root}/pack.toml: file too large (104,857,600 bytes; the limit is 8,388,608)",
    ]
    target = tmp_path / "huge.zip"
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("pack.toml", MANIFEST)
        with z.open("spells/huge.json", "w", force_zip64=True) as member:
            chunk = b" " * 2**20
            for _ in range(100):
                member.write(chunk)
    problems = refused(app, target)
    assert problems == [
        f"{target}!/spells/huge.json: file too large (104,857,600 bytes; the limit is 8,388,608)"
    ]


# -- text that is not UTF-8 --------------------------------------------------------------------


def test_a_file_name_that_is_not_utf8(app: App, tmp_path: Path) -> None:
    """It made the loader fail with UnicodeEncodeError (and a traceback in the log)."""
    root = write_pack(tmp_path / "p", {"spells/spark.md": SPELL})
    with open(os.path.join(os.fsencode(root), b"spells", b"caf\xe9.json"), "wb") as f:
        f.write(b'{"name": "Cafe"}')
    message = "the name is not UTF-8 text; rename it (nothing in it was read)"
    assert refused(app, root) == [f"{root}/spells/caf\\xe9.json: {message}"]


def test_a_pack_path_that_is_not_utf8(app: App, tmp_path: Path) -> None:
    folder = os.path.join(os.fsencode(tmp_path), b"caf\xe9")
    os.mkdir(folder)
    with pytest.raises(PackError, match=r"caf\\xe9: the path is not UTF-8 text"):
        app.library.load_path(Path(os.fsdecode(folder)))


@pytest.mark.parametrize("name", ["pack.toml", "spells/a.json", "spells/a.md"])
def test_file_contents_that_are_not_utf8(app: App, tmp_path: Path, name: str) -> None:
    files: dict[str, str | bytes] = {"spells/spark.md": SPELL}
    files[name] = 'title = "Caf\xe9"\n'.encode("latin-1")
    manifest = None if name == "pack.toml" else MANIFEST
    root = write_pack(tmp_path / "p", files, manifest=manifest)
    problems = refused(app, root)
    assert len(problems) == 1 and problems[0].startswith(
        f"{root}/{name}: not UTF-8 text (byte 0xe9)"
    )


def test_params_with_a_lone_surrogate_are_invalid_params_naming_the_field() -> None:
    with pytest.raises(InvalidParams) as caught:
        protocol.decode(
            {"pack": "x", "collection": "spells", "entries": [{"name": "a\ud800"}]},
            protocol.UploadParams,
        )
    assert caught.value.data == {"path": "$.entries[0].name"}


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_mutated_pack_files_give_problems_never_an_exception(data: st.DataObject) -> None:
    """Bytes inserted, replaced and deleted in pack.toml, JSON and Markdown files."""
    sources = {
        "pack.toml": b'id = "brew"\ntitle = "B"\nversion = "1"\npriority = 5\n',
        "spells/cafe.json": b'[{"name": "Cafe", "level": 1, "desc": "hot", "classes": ["wizard"]}]',
        "spells/tea.md": b"---\nname: Tea\nlevel: 2\nschool: evocation\n---\nA cup of tea.\n",
        "monsters/ogre.json": b'{"name": "Ogre", "challenge_rating": 2, "actions": '
        b'[{"name": "Club", "desc": "Hit."}]}',
    }
    alphabet = st.sampled_from(
        list(b"{}[]:,\"'\\-\n\t #&*!|>%@`\x00\xff\xe9 09.eE+-truefalsn---=<>")
    )
    files = []
    for rel, text in sources.items():
        changed = bytearray(text)
        for _ in range(data.draw(st.integers(0, 4))):
            at = data.draw(st.integers(0, len(changed)))
            how = data.draw(st.sampled_from(["replace", "insert", "delete"]))
            if how == "replace" and at < len(changed):
                changed[at] = data.draw(alphabet)
            elif how == "insert":
                changed.insert(at, data.draw(alphabet))
            else:
                del changed[at : at + data.draw(st.integers(1, 5))]
        files.append(
            packformat.PackFile(
                rel=rel,
                shown=f"/x/{rel}",
                source=f"/mutated/{len(files)}/{bytes(changed)!r}",
                read=packformat.constant(bytes(changed)),
            )
        )
    loaded = packformat.load(files, [], "brew", "/x")
    for problem in loaded.problems:
        assert problem.file.startswith("/x"), problem


# -- database files --------------------------------------------------------------------------


def foreign(tmp_path: Path, srd_template: Path) -> Path:
    path = tmp_path / "shop.sqlite3"
    conn = apsw.Connection(str(path))
    conn.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)")
    conn.close()
    return path


def not_sqlite(tmp_path: Path, srd_template: Path) -> Path:
    path = tmp_path / "notes.sqlite3"
    path.write_bytes(b"These are my campaign notes, not a database.\n" * 200)
    return path


def newer(tmp_path: Path, srd_template: Path) -> Path:
    path = tmp_path / "future.sqlite3"
    db.connect(path).close()
    conn = apsw.Connection(str(path))
    conn.pragma("user_version", db.latest_version() + 1)
    conn.close()
    return path


def other_application(tmp_path: Path, srd_template: Path) -> Path:
    path = tmp_path / "app.sqlite3"
    conn = apsw.Connection(str(path))
    conn.pragma("application_id", 0x12345678)
    conn.close()
    return path


def damage(path: Path) -> None:
    """Noise over the middle third of the file, in place (its size stays: a file cut shorter
    under a running daemon's memory-mapped reads is another matter, see docs/reliability.md)."""
    size = path.stat().st_size
    with open(path, "r+b") as f:
        f.seek(size // 3)
        f.write(bytes((i * 7919) % 251 for i in range(size // 3)))


def damaged(tmp_path: Path, srd_template: Path) -> Path:
    """A d5e database whose header and schema are fine and whose middle third is noise."""
    path = tmp_path / "damaged.sqlite3"
    shutil.copy(srd_template, path)
    damage(path)
    return path


DATABASES = {
    "not SQLite": (not_sqlite, "is not a SQLite database"),
    "another application's": (foreign, "is a SQLite database of another application"),
    "another application id": (other_application, "application_id 0x12345678"),
    "from a newer d5e": (newer, "was written by a newer d5e"),
    "damaged": (damaged, "the database file is damaged"),
}


def make_database(kind: str, tmp_path: Path, srd_template: Path) -> Path:
    return DATABASES[kind][0](tmp_path, srd_template)


def digest(path: Path) -> bytes:
    return path.read_bytes()


@pytest.mark.slow
@pytest.mark.parametrize("kind", list(DATABASES))
def test_a_database_d5e_must_not_use_is_refused_on_the_wire_and_the_shell(
    kind: str, tmp_path: Path, srd_template: Path
) -> None:
    """initialize gets -32004 naming the file and what is wrong (the daemon stays up for the
    client to try another database); the CLI exits 1 with the same words; the file is
    untouched."""
    path = make_database(kind, tmp_path, srd_template)
    words = DATABASES[kind][1]
    before = digest(path)
    with Daemon(path) as d:
        with pytest.raises(RpcError) as caught:
            d.initialize()
        assert caught.value.code == -32004
        assert str(path) in caught.value.message and words in caught.value.message
        assert d.proc.poll() is None
    done = subprocess.run(
        [sys.executable, "-m", "d5e_daemon", "lookup", "fireball", "--db", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1 and words in done.stderr and "Traceback" not in done.stderr
    assert digest(path) == before


@pytest.mark.slow
def test_damage_met_while_running_is_a_database_error_not_an_internal_one(
    srd_template: Path, tmp_path: Path
) -> None:
    path = tmp_path / "d5e.sqlite3"
    shutil.copy(srd_template, path)
    with Daemon(path) as d:
        d.initialize()
        assert d.request("d5e/lookup", {"ref": "spells/fireball"}, timeout=TIMEOUT)
        damage(path)  # the disk rots under the daemon
        codes = set()
        for params in (
            {"query": "fire", "mode": "keyword", "limit": 500},
            {"query": "", "collections": ["monsters"], "limit": 500, "offset": 300},
        ):
            try:
                d.request("d5e/search", params, timeout=TIMEOUT)
            except RpcError as exc:
                codes.add(exc.code)
                assert "the database file is damaged" in exc.message
        assert codes == {-32004}
        try:  # still answering: whatever it can read, or the same error
            d.request("d5e/status", {}, timeout=TIMEOUT)
        except RpcError as exc:
            assert exc.code == -32004
        assert d.proc.poll() is None


def test_a_database_cut_short_under_the_daemon_is_an_error_not_a_crash(
    srd_template: Path, tmp_path: Path
) -> None:
    """Another program truncates the file in place (`cp other.sqlite3 d5e.sqlite3`): reads
    fail with a database error and the daemon lives on (memory-mapped reads died of SIGBUS)."""
    path = tmp_path / "d5e.sqlite3"
    shutil.copy(srd_template, path)
    with Daemon(path) as d:
        d.initialize()
        assert d.request("d5e/lookup", {"ref": "spells/fireball"}, timeout=TIMEOUT)
        with path.open("r+b") as f:
            f.truncate(path.stat().st_size // 3)
        for params in (
            {"query": "fire", "mode": "keyword", "limit": 500},
            {"query": "", "collections": ["monsters"], "limit": 500, "offset": 300},
        ):
            with pytest.raises(RpcError) as caught:
                d.request("d5e/search", params, timeout=TIMEOUT)
            assert caught.value.code == -32004, caught.value.message
        assert d.proc.poll() is None


# -- odd but valid params ------------------------------------------------------------------------


def test_a_page_deeper_than_the_vectors_reach_is_short_not_an_error(indexed: App) -> None:
    """offset + limit up to 10,500 are valid, but sqlite-vec ranks at most 4096 passages: such a
    page of a semantic or hybrid search was an internal error (found by the wire fuzzer)."""
    for mode in ("semantic", "hybrid"):
        page = search(
            indexed, protocol.SearchParams(query="fire", offset=9999, limit=500, mode=mode)
        )
        assert page.hits == []
    deep = search(
        indexed, protocol.SearchParams(query="fire", offset=1800, limit=500, mode="semantic")
    )
    assert 0 < len(deep.hits) < 500


@pytest.mark.parametrize("directory", ["/dev/null", "/proc/self/nothing"])
def test_a_pack_folder_that_cannot_be_made_is_a_pack_error(app: App, directory: str) -> None:
    """It was an internal error (NotADirectoryError, FileNotFoundError)."""
    with pytest.raises(PackError, match=f"cannot create the pack in {directory}/mine"):
        run(pack_features.create(app, protocol.CreateParams(id="mine", directory=directory)))


def test_a_top_level_folder_whose_name_is_not_utf8_is_only_a_warning(
    app: App, tmp_path: Path
) -> None:
    """Like any top-level folder that is no collection: not read, said so, the rest installs."""
    root = write_pack(tmp_path / "p", {"spells/spark.md": SPELL})
    os.mkdir(os.path.join(os.fsencode(root), b"Entw\xfcrfe"))
    result = app.db.write(partial(app.library.install_path, path=root))
    assert result.entries == 1
    assert [str(w) for w in result.warnings] == [
        f"{root}/Entw\\xfcrfe: warning: folder not read: its name is not UTF-8 text"
    ]
