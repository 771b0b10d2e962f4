"""Several processes on one database: one daemon upgrades a pack again and again while another
daemon and CLI processes answer lookups. Nobody sees "database is locked", a half-installed pack
or a missing entry; the other daemon notices the change and tells its client."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from .conftest import start_client
from .packtools import write_pack
from .test_packs_e2e import collect, stop
from .test_server_e2e import call

SIZES = {"1": 1500, "2": 2000}


def version(root: Path, number: str) -> Path:
    """Pack `multi` at `number`: every entry says which version it belongs to."""
    count = SIZES[number]
    files = {
        f"spells/part-{b}.json": json.dumps(
            [
                {"name": f"M {i:04d}", "level": i % 10, "desc": f"version {number} " + "x" * 300}
                for i in range(b, count, 10)
            ]
        )
        for b in range(10)
    }
    manifest = f'id = "multi"\ntitle = "Multi"\nversion = "{number}"\n'
    return write_pack(root / f"v{number}", files, manifest=manifest)


async def cli(db_path: Path, *argv: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "d5e_daemon",
        *argv,
        "--db",
        str(db_path),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate()
    return proc.returncode or 0, out.decode(), err.decode()


@pytest.mark.slow
async def test_two_daemons_and_the_cli_share_one_database(db_path: Path, tmp_path: Path) -> None:
    folders = [version(tmp_path, "1"), version(tmp_path, "2")]
    writer = await start_client(db_path)
    reader = await start_client(db_path, {"edition": "2024"})
    heard = collect(reader)
    seen_counts: set[int] = set()
    problems: list[str] = []
    done = asyncio.Event()

    async def upgrade_again_and_again() -> None:
        try:
            for round_ in range(8):
                result = await call(writer, "d5e/packs/install", {"path": str(folders[round_ % 2])})
                assert result["action"] in ("installed", "upgraded"), result
        finally:
            done.set()

    def check_entry(entry: dict[str, Any]) -> None:
        marker = entry["data"]["desc"].split(" x")[0]
        if marker not in ("version 1", "version 2"):
            problems.append(f"odd entry: {marker}")

    async def read_in_the_other_daemon() -> None:
        while not done.is_set():
            status = await call(reader, "d5e/status", None)
            counts = {p["id"]: p["entries"] for p in status["packs"]}
            seen_counts.add(counts.get("multi", 0))
            if "multi" in counts:
                check_entry((await call(reader, "d5e/lookup", {"ref": "spells/m-0000"}))["entry"])
            await call(reader, "d5e/lookup", {"name": "fireball"})

    async def read_with_the_cli() -> None:
        while not done.is_set():
            code, out, err = await cli(db_path, "packs", "list", "--json")
            if code != 0:
                problems.append(f"cli packs list: {err.strip()}")
                continue
            for pack in json.loads(out)["packs"]:
                if pack["pack"]["id"] == "multi":
                    seen_counts.add(pack["entries"])
                    code, out, err = await cli(db_path, "lookup", "spells/m-0000", "--json")
                    if code != 0:
                        problems.append(f"cli lookup: {err.strip()}")
                    else:
                        check_entry(json.loads(out)["entry"])

    try:
        await asyncio.wait_for(
            asyncio.gather(
                upgrade_again_and_again(), read_in_the_other_daemon(), read_with_the_cli()
            ),
            timeout=120,
        )
        assert problems == []  # (an error in a daemon raises in `call` and fails the test)
        assert seen_counts <= {0, *SIZES.values()}, seen_counts  # never half a pack
        assert len(seen_counts & set(SIZES.values())) >= 1

        # the reading daemon noticed the other's installs by itself and told its client
        async def noticed() -> bool:
            await asyncio.sleep(0.1)
            return any("multi" in n["packs"] for n in heard)

        for _ in range(50):
            if await noticed():
                break
        assert any("multi" in n["packs"] for n in heard), heard
        final = (await call(reader, "d5e/lookup", {"ref": "spells/m-1999"}))["entry"]
        assert final["pack"] == "multi"  # the last round installed version 2
    finally:
        await stop(writer)
        await stop(reader)
