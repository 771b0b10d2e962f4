"""The CLI: the same functions as the daemon, readable in a terminal, JSON with --json."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import apsw
import pytest

from d5e_daemon.cli import main


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_lookup_renders_markdown(db_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "lookup", "fireball", "--db", str(db_path))
    assert code == 0
    assert "Fireball" in out and "8d6" in out
    assert "Creative Commons" in out
    # into a pipe or file (as here), lines are not padded to the console's width
    assert out.startswith("Fireball\n\n3rd-level evocation\n")
    assert not [line for line in out.splitlines() if line != line.rstrip()]


def test_a_pipe_gets_whole_lines_unless_columns_is_set(
    db_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Into a file or a pipe (no terminal) a line was cut at 80 columns mid-phrase ("(on,
    \npriority 10)", an attribution's second half at column 0): now a paragraph, a pack's line
    and a hit are one line each, a card's rule stays 80 wide, and `$COLUMNS` still wraps."""
    monkeypatch.delenv("COLUMNS", raising=False)
    _, out, _ = run(capsys, "lookup", "fireball", "--db", str(db_path))
    lines = out.splitlines()
    assert any(
        line.startswith("A bright streak") and line.endswith("successful one.") for line in lines
    )
    assert "-" * 80 in lines and not [line for line in lines if len(line) > 80 and "--" in line]
    _, out, _ = run(capsys, "status", "--db", str(db_path))
    assert any(
        line.endswith("(on, priority 10)") and "srd-2014" in line for line in out.splitlines()
    )
    from d5e_daemon.cli import _print_markdown

    _print_markdown("# A Homebrew Heading\n\nIts text.\n")  # rich centres a `#` heading
    heading = capsys.readouterr().out.splitlines()[0]
    assert heading.strip() == "A Homebrew Heading" and len(heading) <= 80  # not at 5,000
    monkeypatch.setenv("COLUMNS", "60")
    _, out, _ = run(capsys, "lookup", "fireball", "--db", str(db_path))
    assert max(len(line) for line in out.splitlines()) <= 60 and "-" * 60 in out


def test_a_database_folder_that_cannot_be_made_is_said_without_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A read-only home (or a full disk, or a file where the folder goes) made every command a
    traceback ending in "OSError: [Errno 30] Read-only file system: '~/.local'". Now it says
    what it could not do and what to give; and a user cache that cannot be written leaves
    indexing without its vector cache (this run only), not failing."""
    from d5e_daemon.search.builder import VectorCache

    blocker = tmp_path / "home"
    blocker.write_text("")  # a file where the folders would go
    code, out, err = run(capsys, "lookup", "fireball", "--db", str(blocker / "d5e" / "d.sqlite3"))
    assert (code, out) == (1, "") and "Traceback" not in err
    assert err.startswith(f"d5e: cannot create the folder of the database {blocker}/d5e/")
    assert "give a database where you can write (--db FILE, D5E_HOME or XDG_DATA_HOME)" in err
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    cache = VectorCache()
    try:
        cache.put("m", {"h": b"v"})
        assert cache.get("m", ["h"]) == {"h": b"v"}
    finally:
        cache.close()


def test_a_start_whose_writes_meet_a_full_disk_says_so_before_the_answer(
    db_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A first command on a nearly full disk: the SRD could not be installed and `d5e lookup
    fireball` said only "no entry named 'fireball'" (`d5e status` knew why). The start's
    refusal is now said first. (Faked here at the start's writes, with the error SQLite gives;
    found on a 3 MB tmpfs, where the real disk said the same.)"""
    from d5e_daemon import db
    from d5e_daemon.library import Library

    def full(*_: object, **__: object) -> None:
        raise db.storage_error(apsw.FullError("database or disk is full"), None, "; nothing")

    monkeypatch.setattr(Library, "start", full)
    code, out, err = run(capsys, "lookup", "fireball", "--db", str(db_path))
    assert code == 0 and out.startswith("Fireball")  # what the database holds
    assert err.startswith("d5e: warning: cannot use the database: the disk is full")
    assert err.rstrip().endswith("serving it read-only")


def test_a_server_typed_in_a_terminal_says_it_waits_for_its_client(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`d5e serve` or `d5e mcp` typed in a terminal printed nothing and seemed to hang; started
    by a client (stdin a pipe, as here first) it says nothing."""
    from d5e_daemon import cli

    cli._told_it_waits("d5e serve", "an editor's language client (docs/editors.md)")
    assert capsys.readouterr().err == ""
    monkeypatch.setattr(sys.stdin, "isatty", lambda: True)
    cli._told_it_waits("d5e serve", "an editor's language client (docs/editors.md)")
    err = capsys.readouterr().err
    assert err.startswith("d5e serve: waiting for an editor's language client") and "Ctrl-C" in err


def test_search_without_words_names_them_as_the_command_line_does(
    db_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`d5e search` alone said "--query: empty query …": no such option exists."""
    code, out, err = run(capsys, "search", "--db", str(db_path))
    assert (code, out) == (1, "")
    assert (
        err == "d5e: WORDS: empty query: give words to search for, or filters to list entries by\n"
    )


@pytest.mark.parametrize(
    ("pasted", "ref"),
    [
        ("{@spell fireball}", "srd-2014:spells/fireball"),
        ("{@item potion of healing|dmg|Healing potion}", "srd-2014:magic-items/potion-of-healing"),
        ("{@condition grappled|srd-2014}", "srd-2014:conditions/grappled"),
        ("d5e://srd-2024/monsters/aboleth.md", "srd-2024:monsters/aboleth"),
    ],
)
def test_lookup_takes_a_tag_or_a_card_link_as_pasted(
    db_path: Path, capsys: pytest.CaptureFixture[str], pasted: str, ref: str
) -> None:
    """A tag copied from a document, a link from a card or an assistant's answer: it said "no
    entry named '{@spell fireball}'"."""
    code, out, err = run(capsys, "lookup", pasted, "--json", "--db", str(db_path))
    assert code == 0, err
    assert json.loads(out)["entry"]["qualifiedRef"] == ref


def test_statblock_and_references_take_a_pasted_tag(
    db_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "statblock", "{@creature goblin}", "--db", str(db_path))
    assert code == 0, err
    assert out.startswith("## Goblin")
    (tmp_path / "a.md").write_text("Four {@creature goblin||goblins}.\n")
    code, out, err = run(
        capsys, "references", "{@creature goblin}", "--in", str(tmp_path), "--db", str(db_path)
    )
    assert code == 0, err
    assert out.startswith("Goblin (srd-2014:monsters/goblin): 1 mention(s)")


def test_lookup_of_a_tag_naming_nothing_says_what_the_editor_says(
    db_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "lookup", "{@spell firebal}", "--db", str(db_path))
    assert (code, err) == (
        1,
        'd5e: unknown spell \'firebal\'; did you mean "fireball", "delayed blast fireball" '
        'or "fire bolt"?\n',
    )


def test_the_common_options_may_come_before_the_command(
    db_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`d5e --db FILE lookup goblin` said "invalid choice: 'FILE'"; after the command they
    still work, and one given after the command wins over one before it."""
    code, out, err = run(capsys, "--db", str(db_path), "--edition", "2024", "lookup", "wolf")
    assert (code, err) == (0, "") and "srd-2024" in out
    db = ("--db", str(db_path))
    code, out, err = run(capsys, "--edition", "2024", "lookup", "wolf", "--edition", "2014", *db)
    assert (code, err) == (0, "") and "srd-2014" in out


def test_lookup_json_is_the_wire_result(db_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys, "lookup", "srd-2024:monsters/aboleth", "--json", "--db", str(db_path)
    )
    assert code == 0
    result = json.loads(out)
    assert result["entry"]["qualifiedRef"] == "srd-2024:monsters/aboleth"
    assert set(result) >= {"entry", "markdown", "packInfo", "shadowed"}


def test_lookup_by_multi_word_name(db_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "lookup", "bag", "of", "holding", "--json", "--db", str(db_path))
    assert code == 0 and json.loads(out)["entry"]["ref"] == "magic-items/bag-of-holding"


def test_not_found_exits_1_with_suggestions(
    db_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "lookup", "goblinn", "--db", str(db_path))
    assert code == 1
    assert "did you mean" in err and "monsters/goblin" in err
    code, out, _ = run(capsys, "lookup", "goblinn", "--json", "--db", str(db_path))
    assert code == 1
    assert json.loads(out)["error"]["code"] == -32001


def test_words_that_are_not_a_ref_are_looked_up_as_a_name(
    db_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "lookup", "../../etc/passwd", "--db", str(db_path))
    assert code == 1
    assert "no entry" in err.lower() and "../../etc/passwd" in err
    assert "`name`" not in err  # the CLI has no `name` parameter to point to
    code, out, _ = run(capsys, "lookup", "spells/fireball", "--json", "--db", str(db_path))
    assert code == 0 and json.loads(out)["entry"]["ref"] == "spells/fireball"


def test_complete_table_and_json(db_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "complete", "gelatinous", "cub", "--db", str(db_path))
    assert code == 0 and "Gelatinous Cube" in out.splitlines()[1]
    code, out, _ = run(
        capsys, "complete", "sword", "--collection", "spells", "--json", "--db", str(db_path)
    )
    assert json.loads(out)["items"][0]["ref"] == "spells/arcane-sword"


def test_status_shows_packs_counts_and_attribution(
    db_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "status", "--db", str(db_path))
    assert code == 0
    assert "srd-2014" in out and "2317 entries" in out and "CC-BY-4.0" in out
    assert "Creative Commons" in out
    code, out, _ = run(capsys, "status", "--json", "--db", str(db_path))
    assert json.loads(out)["entries"] == 2317


def test_edition_flag_and_env(
    db_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, _ = run(
        capsys, "lookup", "conditions/grappled", "--json", "--edition", "2024", "--db", str(db_path)
    )
    assert code == 0
    assert json.loads(out)["entry"]["pack"] == "srd-2024"
    monkeypatch.setenv("D5E_DB", str(db_path))
    monkeypatch.setenv("D5E_EDITION", "2024")
    _, out, _ = run(capsys, "lookup", "conditions/grappled", "--json")
    assert json.loads(out)["entry"]["pack"] == "srd-2024"


def test_data_location_defaults_to_d5e_home(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("D5E_HOME", str(tmp_path / "home"))
    code, out, _ = run(capsys, "status", "--json")
    assert code == 0
    assert json.loads(out)["database"] == str(tmp_path / "home" / "d5e.sqlite3")
    monkeypatch.delenv("D5E_HOME")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    code, out, _ = run(capsys, "status", "--json")
    assert json.loads(out)["database"] == str(tmp_path / "xdg" / "d5e" / "d5e.sqlite3")


def test_foreign_database_is_refused_with_a_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "notes.db"
    path.write_text("not sqlite at all " * 100)
    code, _, err = run(capsys, "status", "--db", str(path))
    assert code == 1 and "not a SQLite database" in err
    assert path.read_text() == "not sqlite at all " * 100


def test_console_script_runs(db_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "d5e_daemon", "complete", "fireb", "--json", "--db", str(db_path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["items"][0]["name"] == "Fireball"


def test_demo_shows_a_lookup_a_completion_and_a_search(
    attributed_db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "demo", "--db", str(attributed_db))
    assert code == 0
    assert "srd-2014: 2317 entries" in out
    assert "3rd-level evocation" in out  # the Fireball card
    assert "Magic Missile" in out and "srd-2014:spells/magic-missile" in out
    assert "  1. " in out.split("$ d5e search")[1]  # at least one search hit
    assert "d5e serve" in out


def test_index_of_a_ready_index_shows_no_bar(
    indexed_db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """It drew "indexing ━━━━ 0/0 entries 0:00:00 ETA" (and `d5e demo` promised half a minute
    of indexing) where there was nothing to index."""
    code, out, err = run(capsys, "index", "--db", str(indexed_db))
    assert (code, err) == (0, "")
    assert out.startswith("search index: 1871 of 1871 entries of profile default indexed (ready)")


def test_mcp_with_a_workspace_that_is_no_folder_says_so(
    tmp_path: Path, db_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A mistyped `--workspace` in an MCP client's config would otherwise serve the default
    profile without a word."""
    missing = tmp_path / "no-such-campaign"
    code, out, err = run(capsys, "mcp", "--workspace", str(missing), "--db", str(db_path))
    assert (code, out, err) == (1, "", f"d5e: --workspace {missing}: not a folder\n")


def test_complete_checks_its_limit_as_the_request_does(
    db_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--limit 0` and `--limit 100000` were passed on unchecked (the request caps it at 500)."""
    for limit, words in (("0", ">= 1"), ("100000", "<= 500")):
        code, out, err = run(capsys, "complete", "fire", "--limit", limit, "--db", str(db_path))
        assert (code, out, err) == (1, "", f"d5e: --limit: Expected `int` {words}\n")


def test_search_says_a_bad_option_as_the_option_not_as_json(
    db_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A new user's `--limit 0` read "- at `$.limit`", and `-f level=x` was told to give
    `{"min": …, "max": …}`, the JSON the shell never takes: each is said as typed."""
    db = ("--db", str(db_path))
    code, out, err = run(capsys, "search", "fire", "--limit", "0", *db)
    assert (code, out, err) == (1, "", "d5e: --limit: Expected `int` >= 1\n")
    code, out, err = run(capsys, "search", "fire", "--offset", "-1", *db)
    assert (code, out, err) == (1, "", "d5e: --offset: Expected `int` >= 0\n")
    code, out, err = run(capsys, "search", "-f", "level=x", *db)
    message = "filter 'level' takes a number or a range (5..8, 5.., ..1/2), not 'x'"
    assert (code, out, err) == (1, "", f"d5e: {message}\n")
    code, out, _ = run(capsys, "search", "-f", "level=x", "--json", *db)  # the data keeps the path
    assert (code, json.loads(out)["error"]["data"]) == (1, {"path": "$.filters.level"})
    code, out, err = run(
        capsys, "search", "fire", "--collection", "spell", "--mode", "keyword", *db
    )
    hint = "--collection: no installed pack has a collection 'spell'; did you mean 'spells'?"
    assert (code, err) == (0, f"d5e: {hint}\nno matches\n")  # was "collections: …"


def test_a_commands_log_on_stderr_reads_as_its_other_messages(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A one-shot command's warnings (two packs tied) came as `2026-12-07 23:00:20,994 WARNING
    d5e_daemon.library: …` amid its output; a daemon's log and a log file keep the long form."""
    import logging

    from d5e_daemon.cli import setup_logging

    root = logging.getLogger()
    before = root.handlers[:], root.level
    try:
        setup_logging("warning", None, terse=True)
        logging.getLogger("d5e_daemon.library").warning("packs a and b have the same priority")
        assert capsys.readouterr().err == "d5e: warning: packs a and b have the same priority\n"
        setup_logging("warning", str(tmp_path / "log"), terse=True)
        logging.getLogger("d5e_daemon.library").warning("tied")
        root.handlers[0].close()
    finally:
        root.handlers[:], root.level = before[0], before[1]
    assert (tmp_path / "log").read_text().endswith(" WARNING d5e_daemon.library: tied\n")
