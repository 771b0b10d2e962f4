"""Attacks by someone who controls a campaign folder and the packs in it (issue 12, session
twenty-one): each test failed before its fix. What was tried and held is listed in
docs/reliability.md ("An untrusted campaign folder")."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import threading
import time
from functools import partial
from pathlib import Path

import pytest

from d5e_daemon import (
    locate,
    packfiles,
    packformat,
    packwriter,
    prose,
    queries,
    tagsyntax,
    watch,
    workspace,
)
from d5e_daemon.app import App
from d5e_daemon.cli import main as cli_main
from d5e_daemon.cli import safe_text
from d5e_daemon.errors import PackError
from d5e_daemon.features import encounter_lens
from d5e_daemon.features import packs as features
from d5e_daemon.protocol import UploadParams
from d5e_daemon.settings import build

from .packtools import write_pack

MANIFEST = 'id = "evil-brew"\ntitle = "Evil"\nversion = "1"\n'
SPELL = "---\nname: Harmless Spell\nlevel: 1\n---\nA spell.\n"


def victim(tmp_path: Path) -> Path:
    """The user's own files, outside every campaign."""
    folder = tmp_path / "home" / "documents"
    (folder / "notes").mkdir(parents=True)
    (folder / "important.txt").write_text("precious")
    (folder / "notes" / "session-1.md").write_text("kept")
    return folder


def files_under(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not p.is_symlink()
    }


def hostile_change(pack: Path, journal: object, staged: dict[str, str] | None = None) -> None:
    """A `.d5e-change/` the campaign's author wrote: staged files and a journal."""
    work = pack / packwriter.WORK
    work.mkdir()
    for name, text in (staged or {"0.new": "echo pwned\n"}).items():
        (work / name).write_text(text)
    (work / packwriter.JOURNAL).write_text(json.dumps(journal))


def journals(mine: Path) -> list[object]:
    """Journals naming paths out of the pack: `..`, absolute, through a linked folder, a
    staged name out of `.d5e-change/`, and a deep one."""
    return [
        {"writes": {"../../home/documents/bashrc": "0.new"}, "deletes": []},
        {"writes": {}, "deletes": [str(mine / "important.txt")]},
        {"writes": {"spells/../../home/documents/x": "0.new"}, "deletes": []},
        {"writes": {"linked/bashrc": "0.new"}, "deletes": ["linked/important.txt"]},
        {"writes": {"spells/moved.json": "../../../home/documents/important.txt"}, "deletes": []},
        {"writes": {"spells/x.json": "0.new"}, "deletes": "important.txt"},
        [[[[[[]]]]]] * 3,
    ]


@pytest.mark.parametrize("case", range(7))
def test_a_journal_naming_files_outside_the_pack_is_never_applied(
    tmp_path: Path, case: int
) -> None:
    """`packwriter.recover` (run at every start for every installed folder pack, and before
    every upload) applied any journal found in a pack's `.d5e-change/`: a campaign's pack could
    write any file the user may write (a `~/.bashrc`) and delete any (the database, notes) as
    soon as any d5e process started anywhere. Now a journal naming a path that is not a file of
    the pack, or a staged name d5e never writes, is thrown away, nothing of it applied."""
    mine = victim(tmp_path)
    before = files_under(mine)
    pack = write_pack(tmp_path / "campaign" / "brew", {"spells/harmless.md": SPELL}, MANIFEST)
    (pack / "linked").symlink_to(mine)
    hostile_change(pack, journals(mine)[case])
    with pytest.raises(PackError, match=r"journal\.json: not a change d5e made \(.*nothing of it"):
        packwriter.recover(pack)
    assert files_under(mine) == before
    assert sorted(p.name for p in (pack / packwriter.WORK).iterdir()) == ["lock"]
    assert not packwriter.recover(pack)  # thrown away: the next start has nothing to say


def test_a_linked_work_folder_is_never_followed(tmp_path: Path) -> None:
    """`.d5e-change` shipped as a link to the user's folder: `recover` emptied that folder
    (every file and subfolder but a `lock` it created there), and an upload staged its files
    in it. Now a `.d5e-change` that is no folder of the pack is refused, and nothing is
    changed; a linked `lock` is never opened."""
    mine = victim(tmp_path)
    before = files_under(mine)
    pack = write_pack(tmp_path / "campaign" / "brew", {"spells/harmless.md": SPELL}, MANIFEST)
    (pack / packwriter.WORK).symlink_to(mine)
    with pytest.raises(PackError, match=r"\.d5e-change is a link: d5e .* never follows it"):
        packwriter.recover(pack)
    with pytest.raises(PackError, match="is a link"):
        packwriter.change(pack, {"spells/new.json": b'{"name": "New"}'}, [])
    assert files_under(mine) == before
    assert not (mine / "lock").exists()
    assert not (pack / "spells" / "new.json").exists()
    (pack / packwriter.WORK).unlink()
    (pack / packwriter.WORK).mkdir()
    (pack / packwriter.WORK / "lock").symlink_to(mine / "made-by-d5e")
    with pytest.raises(PackError, match=r"lock: cannot be opened"):
        packwriter.recover(pack)
    assert files_under(mine) == before


def test_a_campaign_pack_cannot_touch_the_users_files_at_the_next_start(
    db_path: Path, tmp_path: Path
) -> None:
    """End to end: a campaign's `packPaths` pack ships a journal. Opening the campaign installs
    the pack; the next d5e start anywhere (the user's CLI in their home folder) ran `recover` on
    every installed folder pack and wrote `bashrc` into the user's folder and deleted a file
    there. Now the start says what it refused (`d5e status`) and the files stay."""
    mine = victim(tmp_path)
    before = files_under(mine)
    root = tmp_path / "campaign"
    pack = write_pack(root / "brew", {"spells/harmless.md": SPELL}, MANIFEST)
    (root / "d5e.toml").write_text('packPaths = ["brew"]\n')
    hostile_change(
        pack,
        {
            "writes": {os.path.relpath(mine / "bashrc", pack): "0.new"},
            "deletes": [str(mine / "important.txt")],
        },
    )
    campaign = App(build({"db": str(db_path)}, workspace.layer(root)))
    campaign.start()
    campaign.close()
    user = App(build({"db": str(db_path)}))
    user.start()
    try:
        assert files_under(mine) == before
        refused = [w for w in user.library.warnings if "not a change d5e made" in w]
        assert refused and refused[0].startswith("pack evil-brew: ")
    finally:
        user.close()


def test_a_d5e_toml_that_is_huge_or_no_file_is_never_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`d5e.toml` as a link to a huge (sparse) file was read whole: the CLI in the campaign took
    18 s and 2.1 GB for a 2 GB one before a MemoryError, and a daemon would die of it. `d5e.toml`
    as a named pipe in the editor's workspace folder blocked `initialize` forever (its bytes are
    read to notice changes). Now a d5e.toml over 1 MiB or no regular file is refused unread:
    the settings stay at their defaults and the writer is told."""
    root = tmp_path / "campaign"
    root.mkdir()
    huge = tmp_path / "huge"
    with huge.open("wb") as f:
        f.truncate(64 * 1024 * 1024)
    (root / "d5e.toml").symlink_to(huge)
    config, problem = workspace.applicable(root)
    assert config == {"workspace": str(root), "profile": workspace.profile_name(root)}
    assert problem == (
        f"{root / 'd5e.toml'}: 67,108,864 bytes: a d5e.toml is at most 1,048,576; none of it "
        "was read (none of it applied: defaults for every setting)"
    )
    assert workspace.config_text(root) is None
    monkeypatch.chdir(root)  # the CLI in the campaign
    assert cli_main(["lookup", "fireball", "--db", str(tmp_path / "none.sqlite3")]) == 1
    assert "a d5e.toml is at most 1,048,576; none of it was read" in capsys.readouterr().err
    (root / "d5e.toml").unlink()
    os.mkfifo(root / "d5e.toml")
    done: list[object] = []
    reader = threading.Thread(target=lambda: done.append(workspace.config_text(root)))
    reader.start()
    reader.join(5)
    if reader.is_alive():  # blocked on the pipe: let it go, then fail
        os.close(os.open(root / "d5e.toml", os.O_WRONLY | os.O_NONBLOCK))
        reader.join()
    assert done == [None]
    assert workspace.applicable(root) == (config, None)


def test_the_shell_never_sends_a_packs_escape_sequences_or_markup_to_the_terminal(
    db_path: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A homebrew entry named `Evil\\x1b]52;c;…\\x07 Bolt` reached the terminal as it is from
    `d5e search` (OSC 52 sets the clipboard; others set the title, clear the screen), and so
    did a pack file's name from `d5e packs validate`; a name holding Rich markup made a link
    (`[link=https://…]`) or stopped the command with a MarkupError traceback (`[/bold]`). Now
    every control character from a pack, a document or a file name is printed as `\\x1b`, and
    names are printed as text."""
    pack = write_pack(
        tmp_path / "brew",
        {
            "spells/evil.json": json.dumps(
                {"name": "Evil\x1b]52;c;cHduZWQ=\x07 Bolt\u202e", "level": 1, "desc": ["A."]}
            ),
            "spells/markup.json": json.dumps(
                {"name": "Bolt [/bold] of [link=https://evil.example/]Doom[/link]", "level": 1}
            ),
        },
        MANIFEST,
    )
    monkeypatch.setenv("COLUMNS", "200")  # no line wrapped
    db = ["--db", str(db_path)]
    assert cli_main(["packs", "install", str(pack), *db]) == 0
    assert cli_main(["search", "evil bolt", *db]) == 0
    assert cli_main(["search", "bolt doom", *db]) == 0
    assert cli_main(["complete", "bolt", *db]) == 0
    out, err = capsys.readouterr()
    # the install took the controls out of the name (test_control_characters.py), the shell
    # escapes any it meets (a database written before that)
    assert "Evil]52;c;cHduZWQ= Bolt" in out
    older = "Evil\x1b]52;c;cHduZWQ=\x07 Bolt\u202e"  # what an older database may hold
    assert safe_text(older) == "Evil\\x1b]52;c;cHduZWQ=\\x07 Bolt\\u202e"
    assert "Bolt [/bold] of [link=https://evil.example/]Doom[/link]" in out
    assert "\x1b" not in out + err and "\u202e" not in out + err
    (pack / "spells" / "bad\x1b[31mred.json").write_text('{"name": 5}')
    assert cli_main(["packs", "validate", str(pack)]) == 1
    out, err = capsys.readouterr()
    assert "spells/bad\\x1b[31mred.json:1:10: name: Expected `str`" in out
    assert "\x1b" not in out + err


@pytest.mark.parametrize("opening", ["{@b ", "{@spell "])
def test_a_line_of_unclosed_tags_holds_a_bounded_part_of_itself(opening: str) -> None:
    """Each unclosed tag held the rest of its line (what its fix rewrites): a 1 MB line of
    `{@b ` × 200,000 (nested deeper than the closing braces are matched) made `d5e check` use
    22 GB and more than 120 s, `{@spell ` × 50,000 9.9 GB, and the daemon dies of the same
    (diagnostics, hints). Now at most 20 unclosed tags a line are told, each holding at most
    64 KiB of it."""
    line = opening * 4000 + "x" + "}" * (4000 if opening == "{@b " else 0)
    tags = tagsyntax.unclosed_tags(0, line)
    assert len(tags) == tagsyntax.UNCLOSED_PER_LINE
    held = sum(len(t.name) + sum(map(len, t.parts)) for t in tags)
    assert held <= 2 * tagsyntax.UNCLOSED_PER_LINE * tagsyntax.UNCLOSED_REST
    first = tags[0]  # as before: to the end of the line, what its fix rewrites
    assert (first.start, first.end, first.parts) == (0, len(line), (line[len(opening) - 1 :],))
    longer = tagsyntax.unclosed_tags(0, opening + "x" * 100_000)[0]
    assert longer.end == len(opening) - 1 + tagsyntax.UNCLOSED_REST


def test_a_line_of_brackets_is_read_in_linear_time() -> None:
    """`[` × 100,000, a name, `](` × 100,000 (400 KB): the link pattern scanned from each `[[`
    to the first `]` (a wiki link's target took any `[`), 17 s of a daemon's facts pass with
    every request waiting (20,000 of each: 1.6 s). Links are still found as before."""
    line = "[" * 50_000 + "goblin" + "](" * 50_000
    started = time.process_time()
    assert len(list(prose._LINK.finditer(line))) == 1
    assert time.process_time() - started < 1.0  # 3 s before (idle); ~10 ms now
    native = prose._native_module()
    if native is not None:  # the daemon's reader of ASCII lines: the same pattern, in C
        started = time.process_time()
        assert native.blank(line) == prose._blank_spans(line)
        assert time.process_time() - started < 1.0
    text = "See [[Goblin Lair|the lair]], [the goblin][goblin] and [x](a (b) c)."
    assert [m[0] for m in prose._LINK.finditer(text)] == [
        "[[Goblin Lair|the lair]]",
        "[the goblin][goblin]",
        "[x](a (b) c)",
    ]


def test_a_tree_of_too_many_folders_is_watched_at_its_top_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """inotify takes a watch per folder, from a limit every program of the user shares (this
    machine's: 192,540): a campaign of 20,000 empty folders took 20,201 of them, and one of
    200,000 would leave none to the editor's own watcher. Now a tree of more than
    `MAX_WATCHED_FOLDERS` (10,000; 3 here) is watched at its top only, said in the log."""
    monkeypatch.setattr(watch, "MAX_WATCHED_FOLDERS", 3)
    small, large = tmp_path / "small", tmp_path / "large"
    for root, count in ((small, 3), (large, 4)):
        for n in range(count):
            (root / f"chapter-{n}").mkdir(parents=True)
    watcher = watch.PackWatcher(lambda changes: None)
    try:
        watcher.watch({"small": small, "large": large})
        recursive = {pack: w.is_recursive for pack, (_, w) in watcher._watches.items()}
        assert recursive == {"small": True, "large": False}
    finally:
        watcher.stop()


def test_a_file_swapped_for_a_pipe_after_it_was_listed_is_never_opened(tmp_path: Path) -> None:
    """A pack's file listed as a regular file, then replaced by a named pipe before it is read
    (a folder another program syncs): opening it blocked the daemon's writer thread forever.
    Now it is opened non-blocking, never through a link, and refused unless it is a regular
    file (a campaign's document too: `campaign.read_file`)."""
    pack = write_pack(tmp_path / "brew", {"spells/a.md": SPELL}, MANIFEST)
    files, problems = packfiles.read_folder(pack, str(pack))
    assert not problems
    (pack / "spells" / "a.md").unlink()
    os.mkfifo(pack / "spells" / "a.md")
    read = next(f for f in files if f.rel == "spells/a.md").read
    outcome: list[object] = []

    def attempt() -> None:
        try:
            read()
        except OSError as exc:
            outcome.append(exc.strerror)

    reader = threading.Thread(target=attempt)
    reader.start()
    reader.join(5)
    if reader.is_alive():  # blocked on the pipe: let it go, then fail
        os.close(os.open(pack / "spells" / "a.md", os.O_WRONLY | os.O_NONBLOCK))
        reader.join()
    assert outcome == ["not a regular file (a pipe, a socket or a device): not read"]


def test_a_new_pack_is_never_staged_through_a_planted_link(tmp_path: Path) -> None:
    """`d5e/packs/create` (MCP's `create_pack` writes in the campaign folder) stages the new
    pack beside its place as `.ID.PID.new`: a link planted under that name made it write the
    scaffold's files into the link's target and leave the pack a link to it."""
    mine = victim(tmp_path)
    before = files_under(mine)
    campaign = tmp_path / "campaign"
    campaign.mkdir()
    (campaign / f".brew.{os.getpid()}.new").symlink_to(mine)
    packwriter.scaffold(campaign / "brew", "brew", "Brew")
    assert files_under(mine) == before
    assert not (campaign / "brew").is_symlink()
    assert (campaign / "brew" / "pack.toml").is_file()


def users_brew(tmp_path: Path) -> Path:
    """A pack of the user's, outside every campaign, that they never installed."""
    return write_pack(
        tmp_path / "home" / "secret-brew",
        {"spells/secret.md": "---\nname: Secret Spell\nlevel: 1\n---\nMine.\n"},
        'id = "secret-brew"\ntitle = "Mine"\nversion = "1"\n',
    )


def swap_for_link(folder: Path, target: Path) -> None:
    shutil.rmtree(folder)
    folder.symlink_to(target)


def test_a_pack_path_swapped_for_a_link_after_its_check_is_never_read(
    db_path: Path, tmp_path: Path
) -> None:
    """A campaign's `packPaths` folder is checked (links followed: inside the campaign) when its
    d5e.toml is read, then read by its path at the install and at every later reload (the
    watcher, the stamps every 5 s, the next start), and an upload writes there. Swapped for a
    link to the user's own folder after the check, the campaign installed the user's
    `secret-brew` (theirs, never installed) as its own; swapped after the install, the next
    start read the user's folder in place of the campaign's pack and installed it as the
    user's, on in every profile, and an upload to the campaign's pack wrote into the user's
    folder. Now a pack read again where it was checked or installed must be there still, with
    no link on its path, before and after it is read: otherwise nothing is read nor written."""
    mine = users_brew(tmp_path)
    before = files_under(mine)
    root = tmp_path / "campaign"
    write_pack(root / "brew", {"spells/harmless.md": SPELL}, MANIFEST)
    (root / "d5e.toml").write_text('packPaths = ["brew"]\n')
    settings = build({"db": str(db_path)}, workspace.layer(root))
    swap_for_link(root / "brew", mine)  # between the check and the install
    campaign = App(settings)
    campaign.start()
    try:
        installed = [r.pack.id for r in queries.installed_packs(campaign.db.conn)]
        assert "secret-brew" not in installed
        said = [w for w in campaign.library.warnings if "is now a link" in w]
        assert said and str(root / "brew") in said[0]
    finally:
        campaign.close()
    (root / "brew").unlink()  # the campaign's own pack, installed
    write_pack(root / "brew", {"spells/harmless.md": SPELL}, MANIFEST)
    campaign = App(settings)
    campaign.start()
    campaign.close()
    swap_for_link(root / "brew", mine)  # after the install: the next start reads it again
    for who in (build({"db": str(db_path)}), settings):
        again = App(who)
        again.start()
        try:
            rows = {r.pack.id: r.origin for r in queries.installed_packs(again.db.conn)}
            assert "secret-brew" not in rows
            assert rows["evil-brew"] == str(root / "brew")
            assert any("is now a link" in w for w in again.library.warnings)
            params = UploadParams(pack="evil-brew", collection="spells", entries=[{"name": "Z"}])
            with pytest.raises(PackError, match="is now a link"):
                asyncio.run(features.upload(again, params))
        finally:
            again.close()
    assert files_under(mine) == before


def test_a_pack_path_swapped_for_a_link_while_it_is_read_is_never_read_through_it(
    db_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`check_in_place` looks before and after a pack is read where it was installed; the
    readers then walked by path. A campaign's `packPaths` folder swapped for a link to the
    user's folder just as its read began, and back before it ended, was read through the link
    (the user's never-installed `secret-brew` installed as the campaign's); a folder inside the
    pack (`brew/spells`) swapped for a link to the user's `spells` while the files were parsed
    had the user's spell installed in the campaign's pack. Now a folder pack is opened once,
    every component of its path with `O_NOFOLLOW` (in place: no link anywhere on it), walked
    and read through that folder's descriptor, each file opened below it with `O_NOFOLLOW` on
    every folder: what was checked is what is read, and a link met is a problem."""
    mine = write_pack(
        tmp_path / "home" / "secret-brew",
        {"spells/harmless.md": "---\nname: Secret Spell\nlevel: 1\n---\nMine.\n"},
        'id = "secret-brew"\ntitle = "Mine"\nversion = "1"\n',
    )
    before = files_under(mine)
    root = tmp_path / "campaign"
    brew = write_pack(root / "brew", {"spells/harmless.md": SPELL}, MANIFEST)
    (root / "d5e.toml").write_text('packPaths = ["brew"]\n')
    campaign = App(build({"db": str(db_path)}, workspace.layer(root)))
    campaign.start()
    try:
        real_read, real_parse = packfiles.read_folder, packformat.parse_files
        aside = tmp_path / "aside"

        def swapped_root(path: Path, shown: str) -> object:
            brew.rename(aside)
            brew.symlink_to(mine)
            try:
                return real_read(path, shown)
            finally:
                brew.unlink()
                aside.rename(brew)

        def swapped_spells(files: list[packformat.PackFile]) -> object:
            (brew / "spells").rename(aside)
            (brew / "spells").symlink_to(mine / "spells")
            try:
                return real_parse(files)
            finally:
                (brew / "spells").unlink()
                aside.rename(brew / "spells")

        swaps = [(packfiles, "read_folder", swapped_root)]
        swaps.append((packformat, "parse_files", swapped_spells))
        for module, name, swap in swaps:
            real = getattr(module, name)
            monkeypatch.setattr(module, name, swap)
            (brew / "spells" / "harmless.md").write_text(SPELL + "\nEdited.\n")
            try:
                campaign.db.write(partial(campaign.library.install_path, path=brew, in_place=True))
            except PackError as exc:
                assert "link" in exc.message, exc.message
            monkeypatch.setattr(module, name, real)
            installed = {r.pack.id for r in queries.installed_packs(campaign.db.conn)}
            assert "secret-brew" not in installed
            names = {e.name for e in queries.stored_entries(campaign.db.conn, "evil-brew").values()}
            assert names == {"Harmless Spell"}, (name, names)
    finally:
        campaign.close()
    assert files_under(mine) == before


def test_reading_a_folder_pack_leaves_no_descriptor_open(tmp_path: Path) -> None:
    """A folder pack is read through a descriptor of its folder (above), kept open while its
    files may be read: once they are gone it is closed at once, not when the garbage
    collector next runs (the walk's two functions named each other, a cycle holding it: 1,000
    reads of a pack with the collector off left 1,000 descriptors open)."""
    import gc

    pack = write_pack(tmp_path / "brew", {"spells/harmless.md": SPELL}, MANIFEST)
    before = len(os.listdir("/proc/self/fd"))
    collecting = gc.isenabled()
    gc.disable()
    try:
        for _ in range(50):
            files, problems = packfiles.read_folder(pack, str(pack))
            assert [f.rel for f in files] == ["pack.toml", "spells/harmless.md"] and not problems
            assert files[1].read() == SPELL.encode()
            del files
        assert len(os.listdir("/proc/self/fd")) == before
    finally:
        if collecting:
            gc.enable()


def test_link_never_writes_through_a_link_planted_beside_a_document(
    db_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`d5e link` (run by the writer in a campaign they were given) wrote each document's new
    text to `.NAME.d5e-link` beside it, then renamed that over the document: a link planted
    under that name made it write the document's text, which the campaign's author wrote
    (shell commands, say), into the link's target (a `~/.bashrc`), and the document became a
    link to it. Now the new text goes to a new file made for it (never opened through a link,
    never one that was there), then is renamed over the document."""
    mine = victim(tmp_path)
    before = files_under(mine)
    notes = tmp_path / "campaign" / "notes"
    notes.mkdir(parents=True)
    document = notes / "session-1.md"
    document.write_text("echo pwned\n\nThe wizard casts *fireball*.\n")
    (notes / ".session-1.md.d5e-link").symlink_to(mine / "important.txt")
    assert cli_main(["link", str(notes), "--db", str(db_path)]) == 0
    capsys.readouterr()
    assert files_under(mine) == before
    assert not document.is_symlink()
    assert "{@spell fireball" in document.read_text()
    assert sorted(p.name for p in notes.iterdir()) == [".session-1.md.d5e-link", "session-1.md"]


@pytest.mark.parametrize(
    "nesting", ["x = " + "[" * 100_000 + "]" * 100_000, "x" + ".a" * 20_000 + " = 1"]
)
def test_toml_nested_deep_is_refused_before_it_is_parsed(
    app: App, tmp_path: Path, nesting: str
) -> None:
    """`tomllib` recurses on nested arrays and tables, and takes quadratic time on the parts of
    a dotted key (`a.a.a…`: 16,000 parts 3.3 s, 170,000, under the 1 MiB a d5e.toml may hold,
    some 6 minutes of the daemon's start). A d5e.toml's brackets were checked (session
    twenty-one), its dotted keys not; a pack.toml's neither: a RecursionError out of the loader
    ("loader folder failed", a traceback). Now both files are refused at the place they nest
    deeper than 64, before tomllib reads them."""
    root = tmp_path / "campaign"
    root.mkdir()
    (root / "d5e.toml").write_text(f'edition = "2024"\n{nesting}\n')
    pack = write_pack(root / "brew", {"spells/a.md": SPELL}, MANIFEST + nesting + "\n")
    start = time.process_time()
    found, problem = workspace.applicable(root)
    assert (
        problem is not None and "d5e.toml:2:" in problem and "nested more than 64 deep" in problem
    )
    assert "edition" not in found
    with pytest.raises(PackError) as caught:
        app.db.write(partial(app.library.install_path, path=pack))
    said = caught.value.data["problems"]
    assert [(Path(p["file"]).name, p["line"]) for p in said] == [("pack.toml", 4)]
    assert "nested more than 64 deep" in said[0]["message"]
    assert time.process_time() - start < 2


def test_an_error_of_a_million_problems_answers_a_bounded_part_of_them(
    app: App, tmp_path: Path
) -> None:
    """Every problem of a refused install went into the error's `data`: an Open5e file of
    1,000,000 nameless records (50 MB) made an answer of a million problems (some 150 MB of
    JSON to the editor or the assistant, and as much again in the daemon's memory); a folder
    pack's 8 MiB JSON file of 100,000 nameless entries 15 MB. Now the error holds the first
    `packs.MAX_PROBLEMS_SENT` (1,000) and says how many more (`data.more`); its message the
    first 20, as before."""
    entries = [{"level": 1} for _ in range(3_000)]
    pack = write_pack(tmp_path / "brew", {"spells/many.json": json.dumps(entries)}, MANIFEST)
    with pytest.raises(PackError) as caught:
        app.db.write(partial(app.library.install_path, path=pack))
    data = caught.value.data
    assert len(data["problems"]) == 1_000 and data["more"] == 2_000
    assert "3000 problems" in caught.value.message.replace(",", "")
    assert "… and 2980 more" in caught.value.message.replace(",", "")


def test_memory_for_a_file_is_a_bounded_multiple_of_its_size(
    app: App, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Within the size limits, memory was a large multiple of a file's bytes, each small value
    becoming a Python object (and an entry, a problem, a YAML node): an 8 MiB JSON entry file
    of 2.8 million `{}` took 1 GB and 20 s (a problem per nameless entry, 130×), 8 MiB of
    front matter `x: [0,0,…]` 2.5 GB and 41 s (PyYAML's nodes, 320×), a 64 MiB 5etools file
    of `[]` items over 2 GB; a 256 MiB folder pack or 512 MiB of 5etools or Open5e files
    several times that. Now a JSON file holding more than one array or object every 12 bytes
    (past 200,000 of them: real files hold one every 25-50), or front matter of more than
    100,000 values, is refused before it is parsed, and a file's problems stop at 10,000.
    (The limits are lowered here so that the files stay small.)"""
    monkeypatch.setattr(locate, "DENSE_CONTAINERS", 1_000)
    monkeypatch.setattr(locate, "YAML_VALUES", 1_000)
    monkeypatch.setattr(packformat, "MAX_FILE_PROBLEMS", 100)
    files = {
        "spells/dense.json": "[" + ",".join(["{}"] * 2_000) + "]",
        "spells/values.md": "---\nname: Many\nx: [" + ",".join(["0"] * 2_000) + "]\n---\nA.\n",
        "spells/nameless.json": json.dumps([{"level": 1, "text": "x" * 20}] * 300),
        "spells/fine.md": SPELL,
    }
    pack = write_pack(tmp_path / "brew", files, MANIFEST)
    with pytest.raises(PackError) as caught:
        app.db.write(partial(app.library.install_path, path=pack))
    said: dict[str, list[str]] = {}
    for p in caught.value.data["problems"]:
        said.setdefault(Path(p["file"]).name, []).append(p["message"])
    assert said["dense.json"] == [
        "2,001 arrays and objects in 6,001 characters: more than one every 12, which no real "
        "pack file holds (each takes some 70 bytes of memory); not read"
    ]
    assert said["values.md"] == ["front matter holds more than 1,000 values; not read"]
    assert len(said["nameless.json"]) == 101
    assert "more than 100 problems in this file: not read further" in said["nameless.json"]
    assert "fine.md" not in said


NESTED_YAML = [
    "[" * 100_000 + "]" * 100_000,
    "\n" + "- " * 100_000 + "x",
    "{a: " * 100_000 + "1" + "}" * 100_000,
]


def test_yaml_nested_deep_never_crashes_the_process(app: App, tmp_path: Path) -> None:
    """PyYAML's C loader composes nested YAML by recursing on the C stack: a pack's Markdown
    front matter of 100,000 nested `[`, `- ` or `{a: ` killed the process with a segmentation
    fault (the daemon gone, the editor told nothing); a JSON file of 100,000 nested `[` was a
    RecursionError out of the loader.
    Now YAML deeper than 64 is refused from libyaml's events (its parser keeps a stack of its
    own) before it is composed, and JSON too deep is a problem of its file. (A document's
    `encounter` block, at most 20,000 characters, goes through the same check: below.)"""
    files = {
        f"spells/deep-{n}.md": f"---\nname: Deep\nlevel: {nested}\n---\nA.\n"
        for n, nested in enumerate(NESTED_YAML)
    }
    files["spells/deep.json"] = '{"name": "Deep", "level": ' + "[" * 100_000 + "]" * 100_000 + "}"
    pack = write_pack(tmp_path / "brew", files, MANIFEST)
    with pytest.raises(PackError) as caught:
        app.db.write(partial(app.library.install_path, path=pack))
    said = {Path(p["file"]).name: p["message"] for p in caught.value.data["problems"]}
    assert set(said) == {"deep-0.md", "deep-1.md", "deep-2.md", "deep.json"}
    assert all("nested too deep" in message for message in said.values()), said


def test_an_encounter_block_of_yaml_aliases_is_refused_before_it_is_read() -> None:
    """An `encounter` block in a campaign's document (read for its lens and hints as soon as
    the document is open): ten `goblin`s, then nine levels of ten aliases of the level before
    (`a1: &a1 [*a0, *a0, …]`, 1 KB), then `creatures: *a9` — a billion creatures, whose repr
    in the block's message ("expected a name, not [[[…") never ended: the daemon's passes
    hung, growing. Now an encounter block holding an alias is refused before it is composed,
    as a pack's front matter is."""
    block = ["a0: &a0 [" + ", ".join(["goblin"] * 10) + "]"]
    block += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 10)]
    document = ["# Fight", "", "```encounter", *block, "creatures: *a9", "```", ""]
    start = time.process_time()
    found = list(encounter_lens._blocks(document))
    assert time.process_time() - start < 1
    assert [f.problem for f in found] == [
        "encounter block: YAML aliases (*name) are not allowed (line 5, column 10)"
    ]
