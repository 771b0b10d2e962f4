"""The last gaps found against real files, each in a small file of our own in the real format:
an alias that is the SRD's name of another entry, copies of packs that are not installed, the
heading of a spell's higher-level text, feats granting a spell of the reader's choice, a file's
own currencies and distance units, and the keys of the homebrew schema that are not content."""

from __future__ import annotations

import asyncio
import json
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from d5e_daemon import queries
from d5e_daemon.app import App
from d5e_daemon.errors import PackError
from d5e_daemon.features.lookup import lookup
from d5e_daemon.features.packs import validate
from d5e_daemon.packs import InstallResult
from d5e_daemon.protocol import LookupParams, ValidateParams


def write(tmp_path: Path, source: str, doc: dict[str, Any], **meta: Any) -> Path:
    path = tmp_path / f"Someone; {source}.json"
    sources = [{"json": source, "full": f"The {source}", "version": "1"}]
    path.write_text(json.dumps({"_meta": {"sources": sources, **meta}, **doc}, indent="\t"))
    return path


def install(app: App, path: Path) -> InstallResult:
    return app.db.write(partial(app.library.install_path, path=path))


def card(app: App, ref: str) -> str:
    return lookup(app, LookupParams(ref=ref)).markdown


def data(app: App, ref: str) -> dict[str, Any]:
    return lookup(app, LookupParams(ref=ref)).entry.data


def test_an_alias_that_is_the_srds_name_of_another_entry_is_not_registered(
    app: App, tmp_path: Path
) -> None:
    # 5etools' alias is its search's: a race renamed in a later book keeps its old name as an
    # alias, which the SRD uses for its own race; the name keeps meaning the SRD's race
    race = {
        "name": "Lanternkin", "source": "Kin", "alias": ["Half-Elf", "Lantern Folk"],
        "size": ["M"], "speed": 30, "entries": ["Born of lamplight."],
    }  # fmt: skip
    result = install(app, write(tmp_path, "Kin", {"race": [race]}))
    assert result.entries == 1, result.warnings
    got = data(app, "kin:races/lanternkin")
    assert got["aliases"] == ["Lantern Folk"]
    assert got["5etools"]["alias"] == ["Half-Elf", "Lantern Folk"]  # nothing lost
    assert lookup(app, LookupParams(name="Half-Elf")).entry.pack == "srd-2014"
    assert lookup(app, LookupParams(name="Lantern Folk")).entry.ref == "races/lanternkin"


def test_a_copy_of_a_dependency_not_installed_is_an_error_and_nothing_installs(
    app: App, tmp_path: Path
) -> None:
    # a homebrew source someone could install: the file says it needs it; the copy fails
    doc = {
        "spell": [
            {"name": "Echo", "source": "Needy", "_copy": {"name": "Call", "source": "Lender"}},
            {"name": "Fine", "source": "Needy", "level": 1, "school": "V", "entries": ["ok"]},
        ],
        "monster": [  # beside it, a Monster Manual creature the SRD lacks: only a warning
            {"name": "Gamma", "source": "Needy", "_copy": {"name": "Nobody", "source": "MM"}}
        ],
    }
    path = write(tmp_path, "Needy", doc, dependencies={"spell": ["Lender"]})
    report = asyncio.run(validate(app, ValidateParams(path=str(path))))
    assert not report.ok
    errors = [p for p in report.problems if p.severity == "error"]
    (error,) = errors
    assert error.field == "spell[0]._copy"  # the JSON path of the copy, with its line/column
    assert "unknown entry lender:spells/call ('Call' of source 'Lender')" in error.message
    assert "pack 'lender' is not installed" in error.message
    line = path.read_text("utf-8").splitlines()[error.line - 1]
    assert line[error.column - 1 :].startswith('"Call"')
    warned = [p for p in report.problems if p.severity == "warning"]
    assert any("depends on lender, which is not installed" in p.message for p in warned)
    (book,) = [p for p in warned if "nobody" in p.message]
    assert book.field == "monster[0]._copy"
    assert "monsters/gamma left out" in book.message
    assert "('Nobody' of source 'MM'): srd-2014 has no monsters/nobody" in book.message
    # an invalid file imports nothing, not even its entries that stand alone
    with pytest.raises(PackError, match="nothing was installed"):
        install(app, path)
    assert queries.get_pack(app.conn, "needy") is None
    # once the dependency is installed, the copy resolves against it
    lender = {"name": "Call", "source": "Lender", "level": 2, "school": "D", "entries": ["Hi."]}
    install(app, write(tmp_path, "Lender", {"spell": [lender]}))
    result = install(app, path)
    assert result.entries == 2
    assert data(app, "needy:spells/echo")["level"] == 2
