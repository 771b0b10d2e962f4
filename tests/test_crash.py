"""Crash safety: `kill -9` during the first start (migration + SRD install), a migration of an
existing database (with its backup), homebrew pack installs, upgrades and removals, and
indexing. Each kill is a real SIGKILL of a subprocess (tests/killpoint.py), at the N-th step of
SQLite's virtual machine inside a transaction or at a moment after the operation began (which
also lands in COMMITs, checkpoints and backups, where no SQL step runs). A calibration run to the
end finds the operation's phases (the steps run inside each d5e function) and its length: the
step kills fall in the middle of phases spread over all of them, the moments over the run and
its end (`Operation.plans`).

After each kill the file passes `PRAGMA integrity_check` and the FTS5 integrity checks, every
pack is wholly present or wholly absent (as one version, never a mix), winners equal a full
re-resolution, no vector or attribute outlives its entry, and the next run finishes the job;
an interrupted index resumes where it stopped without embedding again what was finished.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import signal
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import apsw
import pytest

from d5e_daemon import db, queries
from d5e_daemon.app import App
from d5e_daemon.cli import main as cli_main
from d5e_daemon.errors import DatabaseError
from d5e_daemon.settings import build

from . import oldschema
from .fixtures import built_once
from .forks import FORKS, _forks_end  # noqa: F401 (_forks_end: the servers end with each test)
from .packtools import write_pack

EXPECTED = {"srd-2014": 2317, "srd-2024": 1336}
PARALLEL = 2


def check_consistent(path: Path) -> dict[str, int]:
    """Integrity, and for each pack all of its entries or none; returns entries per pack."""
    conn = apsw.Connection(str(path))  # a plain connection: what any SQLite tool would see
    try:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        version = conn.execute("PRAGMA user_version").fetchone()[0]  # type: ignore[index]
        if version == 0:
            assert conn.execute("SELECT count(*) FROM sqlite_schema").fetchone() == (0,)
            return {}
        assert version == db.latest_version()
        counts = dict(conn.execute("SELECT pack_id, count(*) FROM entry GROUP BY pack_id"))
        packs = {r[0] for r in conn.execute("SELECT id FROM pack")}
        assert set(counts) == packs, "entries without their pack, or a pack without entries"
        for pack, n in counts.items():
            assert n == EXPECTED[pack], f"{pack} is half-installed: {n} entries"
        for table in ("entry_text", "name_words"):
            conn.execute(f"INSERT INTO {table} ({table}) VALUES ('integrity-check')")
        return counts
    finally:
        conn.close()


# -- killing at a chosen point -------------------------------------------------------------------


@dataclass
class KillPlan:
    """Kill `number`: at SQL step `steps` (in function `phase`), or `delay` seconds after
    the operation's function (or `on_call`, if given) began."""

    number: int
    steps: int | None = None
    delay: float | None = None
    on_call: str | None = None
    phase: str | None = None

    def describe(self) -> str:
        if self.steps is not None:
            return f"kill {self.number}: step {self.steps} (in {self.phase})"
        return f"kill {self.number}: {self.delay:.3f} s into {self.on_call or 'the operation'}"


@dataclass
class Operation:
    """A d5e command to kill, the function it is timed from, the first function it calls once
    its change is committed (if any), and what its calibration run found: its steps, seconds
    and phases (see tests/killpoint.py)."""

    args: list[str]
    on_call: str
    after_commit: str | None = None
    steps: int = 0
    seconds: float = 0.0
    phases: list[list[Any]] = field(default_factory=list)

    def calibrate(self, report: dict[str, Any]) -> None:
        self.steps, self.seconds, self.phases = report["steps"], report["seconds"], report["phases"]

    def plans(self, steps: int, moments: int) -> list[KillPlan]:
        """Where to kill: at the middle step of `steps` phases evenly spread over the phases
        in the order they began, the first and the last among them (a phase is the steps run
        inside one d5e function, over all its runs: a function of 40 steps is killed in as
        surely as one of 40,000); at `moments` moments, half evenly spread over the run, half
        over its last fifth and just after its end (a moment also lands in COMMITs,
        checkpoints, backups and file writes, where no step runs); and right after the commit,
        if the operation has one."""
        numbers: dict[str, list[int]] = {}
        for name, first, last, _ in self.phases:
            numbers.setdefault(name, []).extend(range(first, last + 1))
        names = list(numbers)
        chosen = sorted({round(i * (len(names) - 1) / max(steps - 1, 1)) for i in range(steps)})
        points: list[dict[str, Any]] = [
            {"steps": numbers[names[i]][len(numbers[names[i]]) // 2], "phase": names[i]}
            for i in chosen
            if i < len(names)
        ]
        half = moments // 2
        fractions = [(i + 0.5) / half for i in range(half)]
        fractions += [0.8 + 0.3 * (i + 0.5) / (moments - half) for i in range(moments - half)]
        points += [{"delay": self.seconds * fraction} for fraction in fractions]
        if self.after_commit:
            points.append({"delay": 0.0, "on_call": self.after_commit})
        return [KillPlan(number, **point) for number, point in enumerate(points)]


def run_killpoint(
    db_path: Path,
    args: list[str],
    report: Path,
    on_call: str,
    plan: KillPlan | None = None,
    env: dict[str, str] | None = None,
    builtin_packs: str | None = None,
) -> dict[str, Any]:
    """Run `d5e ARGS --db DB` under tests/killpoint.py; its report, with `killed`."""
    options = ["--on-call", plan.on_call if plan is not None and plan.on_call else on_call]
    if builtin_packs is not None:
        options += ["--builtin-packs", builtin_packs]
    if plan is not None and plan.steps is not None:
        options += ["--steps", str(plan.steps)]
    if plan is not None and plan.delay is not None:
        options += ["--delay", str(plan.delay)]
    returncode = FORKS.run(
        [str(report), *options, "--", *args, "--db", str(db_path)],
        {**os.environ, **(env or {})},
        report.parent,
        report,
    )
    killed = returncode == -signal.SIGKILL
    assert killed or returncode == 0, Path(f"{report}.err").read_text()
    result: dict[str, Any] = json.loads(report.read_text())
    result["killed"] = killed
    return result


def d5e(db_path: Path, *args: str, env: dict[str, str] | None = None) -> str:
    """`d5e ARGS --db DB` in a process of its own (forked: tests/forks.py)."""
    done = FORKS.d5e(*args, "--db", str(db_path), env=env)
    assert done.returncode == 0, done.stderr
    return done.stdout


def d5e_here(db_path: Path, *args: str) -> None:
    """`d5e ARGS --db DB` in this process, for the start after a kill: what it does is the
    same in a process of its own (the killed one had to be), which cost an interpreter's start
    and d5e's imports (~0.3 s of CPU) every time."""
    assert cli_main([*args, "--db", str(db_path)]) == 0


def where(report: dict[str, Any]) -> str:
    """The innermost d5e function the kill interrupted, for the figures."""
    if not report["killed"]:
        return "not killed (ran to the end)"
    stack = report["killed_in"] or []
    return stack[-1] if stack else "outside d5e code"


def for_each_kill(plans: list[KillPlan], run: Callable[[KillPlan], str]) -> Counter[str]:
    """Run the kills two at a time (one per core); every kill's failure is reported."""
    failures: list[str] = []
    figures: Counter[str] = Counter()
    lock = threading.Lock()

    def one(plan: KillPlan) -> None:
        try:
            outcome = run(plan)
        except AssertionError as exc:
            failures.append(f"{plan.describe()}: {exc}")
            return
        with lock:
            figures[outcome] += 1

    with ThreadPoolExecutor(PARALLEL) as pool:
        list(pool.map(one, plans))
    assert not failures, "\n".join(failures)
    return figures


def report_figures(name: str, op: Operation, figures: Counter[str]) -> None:
    """Printed for docs/reliability.md (`pytest -s tests/test_crash.py`)."""
    whole = f"a whole run: {op.steps} steps in transactions, {op.seconds:.2f} s"
    phases = ", ".join(sorted({phase[0] or "outside d5e code" for phase in op.phases}))
    kills = sum(figures.values())
    print(f"\n{name}, {kills} kills ({whole}; phases: {phases}): ")
    print(", ".join(f"{k} ×{n}" for k, n in figures.most_common()))


# -- the first start: migrating an empty file, installing both SRD packs --------------------------


@pytest.mark.slow
def test_kill_during_first_start_leaves_all_or_nothing(tmp_path: Path) -> None:
    op = Operation(["status"], "d5e_daemon.db:connect")
    op.calibrate(
        run_killpoint(tmp_path / "calibrate.sqlite3", op.args, tmp_path / "c.json", op.on_call)
    )

    def run(plan: KillPlan) -> str:
        path = tmp_path / f"kill-{plan.number}" / "d5e.sqlite3"
        path.parent.mkdir()
        report = run_killpoint(path, op.args, path.with_suffix(".json"), op.on_call, plan)
        counts = check_consistent(path) if path.exists() else {}
        if counts:
            conn = open_plain(path)
            try:
                check_derived_rows(conn)
            finally:
                conn.close()
        d5e_here(path, "status")  # the next start finishes the job
        assert check_consistent(path) == EXPECTED
        return f"{where(report)} → {' + '.join(sorted(counts)) or 'no pack yet'}"

    figures = for_each_kill(op.plans(steps=6, moments=2), run)
    report_figures("kill during the first start", op, figures)


# -- the state of a database after a kill --------------------------------------------------------


def open_plain(path: Path) -> apsw.Connection:
    return db.connect(path, migrate_now=False)  # d5e's SQL functions, sqlite-vec; no migration


def check_integrity(conn: apsw.Connection) -> None:
    assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    for table in ("entry_text", "name_words"):
        conn.execute(f"INSERT INTO {table} ({table}) VALUES ('integrity-check')")


def check_derived_rows(conn: apsw.Connection) -> None:
    """Winners equal a full re-resolution; nothing hangs off an entry that is gone."""
    current = sorted(conn.execute("SELECT * FROM resolved"))
    conn.execute("BEGIN IMMEDIATE")
    try:
        queries.rebuild_resolved(conn)
        assert sorted(conn.execute("SELECT * FROM resolved")) == current, "winners are stale"
    finally:
        conn.execute("ROLLBACK")
    orphans = conn.execute(
        "SELECT (SELECT count(*) FROM passage WHERE entry_id NOT IN (SELECT id FROM entry)),"
        " (SELECT count(*) FROM entry_attr WHERE entry_id NOT IN (SELECT id FROM entry)),"
        " (SELECT count(*) FROM entry_index WHERE entry_id NOT IN (SELECT id FROM entry)),"
        " (SELECT count(*) FROM passage_vector WHERE id NOT IN (SELECT id FROM passage)),"
        " (SELECT count(*) FROM passage_code WHERE id NOT IN (SELECT id FROM passage)),"
        " (SELECT count(*) FROM passage WHERE id NOT IN (SELECT id FROM passage_vector)),"
        " (SELECT count(*) FROM passage WHERE id NOT IN (SELECT id FROM passage_code)),"
        " (SELECT count(*) FROM entry_text WHERE rowid NOT IN (SELECT id FROM entry))"
    ).fetchone()
    assert orphans == (0,) * 8, (
        f"orphan passages/attrs/index/vectors/codes/keyword texts: {orphans}"
    )


Signature = tuple[str, frozenset[tuple[str, str, str]]] | None


def pack_signature(conn: apsw.Connection, pack_id: str) -> Signature:
    """The pack as stored: its version and every entry's (collection, slug, content hash);
    None when it is not installed. Also checks the profile agrees."""
    row = conn.execute("SELECT version FROM pack WHERE id = ?", (pack_id,)).fetchone()
    entries = frozenset(
        conn.execute(
            "SELECT collection, slug, content_hash FROM entry WHERE pack_id = ?", (pack_id,)
        )
    )
    enabled = conn.execute(
        "SELECT 1 FROM profile_pack JOIN profile p ON p.id = profile_id "
        "WHERE p.name = 'default' AND pack_id = ?",
        (pack_id,),
    ).fetchone()
    if row is None:
        assert not entries, f"{len(entries)} entries of {pack_id} without their pack"
        assert enabled is None, f"{pack_id} enabled in the profile but not installed"
        return None
    assert enabled is not None, f"{pack_id} installed but the profile was not updated with it"
    return str(row[0]), entries


def signature_of(path: Path, pack_id: str) -> Signature:
    conn = open_plain(path)
    try:
        return pack_signature(conn, pack_id)
    finally:
        conn.close()


# -- pack install, upgrade, removal ---------------------------------------------------------------


def brew_version(root: Path, number: int) -> Path:
    """Pack `brew` at version 1 or 2: 2 changes a third of the entries, drops some, adds some;
    in both, its goblin overrides the SRD's and one spell extends the SRD's fireball."""
    count = 300 if number == 1 else 330
    first = 0 if number == 1 else 30
    spells = [
        {
            "name": f"Brew Spell {i:03d}",
            "level": i % 10,
            "school": "evocation",
            "desc": f"Spell {i} of version {number if i % 3 == 0 else 1}. " + "Words. " * 40,
        }
        for i in range(first, count)
    ]
    files: dict[str, str | bytes] = {
        f"spells/part-{p}.json": json.dumps(spells[p::10]) for p in range(10)
    }
    files["monsters/goblin.md"] = (
        f"---\nname: Goblin\nchallenge_rating: 1\nhit_points: {10 + number}\n---\n"
        f"A goblin of version {number}.\n"
    )
    files["spells/fireball.md"] = (
        f"---\nextends: srd-2014:spells/fireball\nname: Fireball\nlevel: {3 + number}\n---\n"
    )
    manifest = f'id = "brew"\ntitle = "Brew"\nversion = "{number}"\npriority = 60\n'
    return write_pack(root / f"brew-v{number}", files, manifest=manifest)


@dataclass
class PackScenario:
    """Databases before each operation and the pack's signature before and after it."""

    folder: Path
    start: dict[str, Path]  # operation → the database it starts from
    before: dict[str, Signature]
    after: dict[str, Signature]
    ops: dict[str, Operation]


def isolated(folder: Path) -> dict[str, str]:
    """The environment of a module-scoped fixture's subprocesses (made before the autouse
    `_isolated_home` of each test)."""
    return {
        "D5E_EMBEDDER": "fake",
        "D5E_HOME": str(folder / "home"),
        "XDG_DATA_HOME": str(folder / "data"),
        "XDG_CACHE_HOME": str(folder / "cache"),
    }


@pytest.fixture(scope="module")
def pack_scenario(
    srd_template: Path, indexed_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> PackScenario:
    """SRD only, and SRD + brew v1 indexed (so upgrades and removals also delete vectors): the
    latter from the indexed SRD copy, where `d5e index` embeds brew's entries only (indexing
    the SRD here again was ~4 s of CPU)."""
    folder = tmp_path_factory.mktemp("crash-packs")
    env = isolated(folder)
    v1, v2 = brew_version(folder, 1), brew_version(folder, 2)
    srd_only = folder / "srd.sqlite3"
    shutil.copy(srd_template, srd_only)
    with_brew = folder / "brew-v1.sqlite3"
    shutil.copy(indexed_template, with_brew)
    d5e(with_brew, "packs", "install", str(v1), env=env)
    d5e(with_brew, "index", env=env)
    signature_v1 = signature_of(with_brew, "brew")
    upgraded = folder / "brew-v2.sqlite3"
    shutil.copy(with_brew, upgraded)
    d5e(upgraded, "packs", "install", "--replace", str(v2), env=env)
    signature_v2 = signature_of(upgraded, "brew")
    assert signature_v1 is not None and signature_v2 is not None
    assert len(signature_v1[1]) == 302 and len(signature_v2[1]) == 302
    assert signature_v1[1] != signature_v2[1]
    committed = "d5e_daemon.library:Library.changed"
    ops = {
        "install": Operation(["packs", "install", str(v1)], "d5e_daemon.packs:install", committed),
        "upgrade": Operation(
            ["packs", "install", "--replace", str(v2)], "d5e_daemon.packs:install", committed
        ),
        "remove": Operation(["packs", "remove", "brew"], "d5e_daemon.packs:remove", committed),
    }
    start = {"install": srd_only, "upgrade": with_brew, "remove": with_brew}
    for name, op in ops.items():  # calibration: steps and time of a whole run
        path = folder / f"calibrate-{name}.sqlite3"
        shutil.copy(start[name], path)
        op.calibrate(
            run_killpoint(path, op.args, folder / f"calibrate-{name}.json", op.on_call, env=env)
        )
        assert op.steps > 50 and op.seconds > 0
    return PackScenario(
        folder=folder,
        start=start,
        before={"install": None, "upgrade": signature_v1, "remove": signature_v1},
        after={"install": signature_v1, "upgrade": signature_v2, "remove": None},
        ops=ops,
    )


@pytest.mark.slow
@pytest.mark.parametrize("operation", ["install", "upgrade", "remove"])
def test_kill_during_a_pack_operation_leaves_the_old_or_the_new_pack_whole(
    pack_scenario: PackScenario, tmp_path: Path, operation: str
) -> None:
    op = pack_scenario.ops[operation]
    before, after = pack_scenario.before[operation], pack_scenario.after[operation]

    def run(plan: KillPlan) -> str:
        path = tmp_path / f"kill-{plan.number}.sqlite3"
        shutil.copy(pack_scenario.start[operation], path)
        report = run_killpoint(path, op.args, path.with_suffix(".json"), op.on_call, plan)
        conn = open_plain(path)
        try:
            check_integrity(conn)
            check_derived_rows(conn)
            found = pack_signature(conn, "brew")
        finally:
            conn.close()
        assert found in (before, after), f"{plan.describe()}: brew is neither before nor after"
        state = "before" if found == before else "after"
        assert report["killed"] or state == "after", "ran to the end but did not finish"
        if found != after:  # the next run finishes the job
            d5e_here(path, *op.args)
            assert signature_of(path, "brew") == after
        return f"{where(report)} → {state}"

    figures = for_each_kill(op.plans(steps=3, moments=2), run)
    report_figures(f"kill during pack {operation}", op, figures)


# -- indexing -----------------------------------------------------------------------------------


def index_marks(conn: apsw.Connection) -> dict[int, str]:
    """Entries whose vectors are saved, with the key they were saved under."""
    return dict(conn.execute("SELECT entry_id, vectors FROM entry_index WHERE vectors NOT NULL"))


def passage_rows(conn: apsw.Connection) -> dict[int, list[tuple[int, int, str]]]:
    """(passage id, order, text hash) of every indexed entry."""
    rows: dict[int, list[tuple[int, int, str]]] = {}
    for pid, entry_id, order, text_hash in conn.execute(
        "SELECT id, entry_id, ord, text_hash FROM passage ORDER BY entry_id, ord"
    ):
        rows.setdefault(entry_id, []).append((pid, order, text_hash))
    return rows


def check_index_whole(conn: apsw.Connection) -> None:
    """An entry is marked indexed exactly when it has its passages 0..n-1 (each with a vector):
    a batch is saved whole or not at all."""
    marks, rows = index_marks(conn), passage_rows(conn)
    assert set(marks) == set(rows), "passages without the mark, or a mark without passages"
    for entry_id, passages in rows.items():
        assert [order for _, order, _ in passages] == list(range(len(passages))), entry_id


def cached_hashes(cache_home: Path) -> set[str]:
    path = cache_home / "d5e" / "vectors.sqlite3"
    if not path.exists():
        return set()
    conn = apsw.Connection(str(path))
    try:
        return {row[0] for row in conn.execute("SELECT text_hash FROM vector")}
    finally:
        conn.close()


def _build_srd_2024(path: Path) -> None:
    app = App(build({"db": str(path), "builtinPacks": ["srd-2024"], "edition": "2024"}))
    app.start()
    app.close()


@pytest.fixture(scope="session")
def srd_2024_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database holding the 2024 SRD alone, its profile for edition 2024; never written.
    The kills during indexing index it (1,336 entries, 945 with vectors; `d5e index` run
    with `D5E_EDITION=2024` and killpoint's `--builtin-packs srd-2024`, so that its start does
    not install the 2014 SRD): every phase of indexing both SRDs (3,653 entries, 1,871 with
    vectors) is there, over 1,000 keyword texts included (their term frequencies dropped and
    built once at the end), for 0.9 s of CPU a whole run instead of 2.3 s."""
    return built_once(tmp_path_factory, "srd-2024", _build_srd_2024)


@pytest.mark.slow
def test_kill_during_indexing_resumes_without_embedding_finished_entries_again(
    srd_2024_template: Path, tmp_path: Path
) -> None:
    """Kill `d5e index` (fake embedder); then the next run must embed exactly the passages of
    the entries that were not finished (those not in the vector cache; of the kills that leave
    the index partly done, every other one deletes the cache first, so that it cannot hide work
    done again) and must not rewrite the finished entries' passages."""
    op = Operation(["index"], "d5e_daemon.search.builder:SearchIndex.build")

    def index(path: Path, report: Path, cache: Path, plan: KillPlan | None = None) -> Any:
        env = {"D5E_EDITION": "2024", "XDG_CACHE_HOME": str(cache)}
        return run_killpoint(path, op.args, report, op.on_call, plan, env, "srd-2024")

    calibration = tmp_path / "calibrate.sqlite3"
    shutil.copy(srd_2024_template, calibration)
    report = index(calibration, tmp_path / "calibrate.json", tmp_path / "calibrate-cache")
    op.calibrate(report)
    conn = open_plain(calibration)
    total = len(index_marks(conn))
    assert conn.execute("SELECT DISTINCT pack_id FROM entry").fetchall() == [("srd-2024",)]
    conn.close()
    assert total > 900 and report["texts_embedded"] > 1300
    phases = {name for name, *_ in op.phases}
    assert {"postings.rebuild_postings", "index.save_passages"} <= phases, phases

    turns = itertools.count()  # the kills that leave the index partly done, in turn

    def run(plan: KillPlan) -> str:
        path = tmp_path / f"kill-{plan.number}.sqlite3"
        shutil.copy(srd_2024_template, path)
        cache_home = tmp_path / f"cache-{plan.number}"
        report = index(path, path.with_suffix(".json"), cache_home, plan)
        conn = open_plain(path)
        try:
            check_integrity(conn)
            check_derived_rows(conn)
            check_index_whole(conn)
            finished = passage_rows(conn)
        finally:
            conn.close()
        partly_done = 0 < len(finished) < total
        keep_cache = next(turns) % 2 == 0 if partly_done else True
        if not keep_cache:
            shutil.rmtree(cache_home, ignore_errors=True)
        cached = cached_hashes(cache_home)

        resumed = index(path, tmp_path / f"kill-{plan.number}-resume.json", cache_home)
        conn = open_plain(path)
        try:
            check_index_whole(conn)
            after = passage_rows(conn)
        finally:
            conn.close()
        assert len(after) == total, "the resumed run did not finish the index"
        for entry_id, passages in finished.items():
            assert after[entry_id] == passages, f"finished entry {entry_id} was indexed again"
        unfinished = {h for e, ps in after.items() if e not in finished for _, _, h in ps}
        expected = len(unfinished - cached)
        assert resumed["texts_embedded"] == expected, (
            f"{plan.describe()}: the resumed run embedded {resumed['texts_embedded']} texts, "
            f"{expected} were missing ({len(finished)} of {total} entries were finished)"
        )
        share = len(finished) * 10 // total * 10
        cache = "cache kept" if keep_cache else "cache deleted"
        return f"{where(report)}, {share}-{share + 10}% done, {cache}"

    figures = for_each_kill(op.plans(steps=4, moments=3), run)
    report_figures("kill during indexing", op, figures)


# -- migrating an existing database -----------------------------------------------------------


@pytest.fixture(scope="module")
def older_database(srd_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A database with both SRD packs at the schema version before the latest."""
    path = tmp_path_factory.mktemp("older") / "d5e.sqlite3"
    oldschema.older_database(srd_template, path, len(db.migrations()) - 1)
    yield path


def schema_and_counts(path: Path) -> tuple[int, dict[str, int]]:
    conn = apsw.Connection(str(path))
    try:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])  # type: ignore[index]
        return version, dict(conn.execute("SELECT pack_id, count(*) FROM entry GROUP BY 1"))
    finally:
        conn.close()


@pytest.mark.slow
def test_kill_during_a_migration_keeps_the_database_and_its_backups_whole(
    older_database: Path, tmp_path: Path
) -> None:
    """The database stays at the old version (data intact) or reaches the new one; a backup
    cut short by the kill is never taken for one: `d5e db rollback` restores a whole backup or
    says there is none (it once restored an empty file over the user's database)."""
    old_version = db.latest_version() - 1
    op = Operation(["status"], "d5e_daemon.db:migrate")
    calibration = tmp_path / "calibrate.sqlite3"
    shutil.copy(older_database, calibration)
    op.calibrate(run_killpoint(calibration, op.args, tmp_path / "calibrate.json", op.on_call))

    def run(plan: KillPlan) -> str:
        folder = tmp_path / f"kill-{plan.number}"
        folder.mkdir()
        path = folder / "d5e.sqlite3"
        shutil.copy(older_database, path)
        report = run_killpoint(path, op.args, folder / "report.json", op.on_call, plan)
        version, counts = schema_and_counts(path)
        assert version in (old_version, db.latest_version())
        assert counts == EXPECTED
        rollback = FORKS.d5e("db", "rollback", "--db", str(path))  # a process of its own
        if rollback.returncode == 0:
            restored = "backup restored"
            assert schema_and_counts(path) == (old_version, EXPECTED)
        else:
            restored = "no whole backup: refused"
            assert "no backup" in rollback.stderr, rollback.stderr
            assert version == old_version, "migrated without a backup"
        d5e_here(path, "status")  # and the next start migrates it
        assert schema_and_counts(path) == (db.latest_version(), EXPECTED)
        return f"{where(report)} → v{version}, {restored}"

    figures = for_each_kill(op.plans(steps=2, moments=4), run)
    report_figures("kill during a migration", op, figures)


def test_rollback_refuses_a_backup_cut_short(tmp_path: Path) -> None:
    """What a kill in the middle of the backup API's copy leaves: an empty file and its hot
    journal. Restoring it would wipe the database; it is refused, naming the file."""
    path = tmp_path / "d5e.sqlite3"
    conn = db.connect(path)
    conn.execute("INSERT INTO pack (id, title) VALUES ('mine', 'My pack')")
    conn.close()
    folder = db.backups_dir(path)
    folder.mkdir()
    (folder / "20990101T000000000000Z-before-v9.sqlite3").write_bytes(b"")
    (folder / "20990101T000000000000Z-before-v9.sqlite3-journal").write_bytes(b"\0" * 512)
    with pytest.raises(DatabaseError, match="not a complete d5e database") as caught:
        db.rollback(path)
    assert "20990101T000000000000Z-before-v9.sqlite3" in caught.value.message
    conn = apsw.Connection(str(path))
    assert conn.execute("SELECT id FROM pack").fetchall() == [("mine",)]
    conn.close()


def test_a_backup_is_named_as_one_only_when_complete(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "d5e.sqlite3"
    db.connect(path).close()
    folder = db.backups_dir(path)
    folder.mkdir()
    stale = folder / "20000101T000000000000Z-before-v2.partial"
    stale.write_bytes(b"left by a process killed while copying")
    seen: list[list[str]] = []
    real_replace = Path.replace

    def replace(self: Path, target: Any) -> Any:
        seen.append(sorted(p.name for p in folder.iterdir()))
        return real_replace(self, target)

    monkeypatch.setattr(Path, "replace", replace)
    saved = db.backup(path, "test")
    assert saved.suffix == ".sqlite3" and saved.exists()
    assert seen == [[saved.with_suffix(".partial").name]]  # copied under the partial name only
    assert not stale.exists(), "a partial file left by a killed process is cleaned up"
    assert sorted(p.name for p in folder.iterdir()) == [saved.name]
