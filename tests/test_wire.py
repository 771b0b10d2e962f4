"""Fuzzing the wire: whatever bytes a client sends, the daemon answers in JSON-RPC (never with a
traceback on stdout) and goes on answering lookups correctly."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from d5e_daemon.client import Daemon, RpcError

TIMEOUT = 20
METHODS = [
    "d5e/lookup",
    "d5e/complete",
    "d5e/status",
    "initialize",
    "textDocument/hover",
    "d5e/nope",
]


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory, srd_template: Path) -> Iterator[Daemon]:
    db = tmp_path_factory.mktemp("wire") / "d5e.sqlite3"
    db.write_bytes(srd_template.read_bytes())
    d = Daemon(db)
    d.initialize()
    yield d
    d.close()


def frame(body: bytes, declared: int | None = None) -> bytes:
    return b"Content-Length: %d\r\n\r\n%s" % (len(body) if declared is None else declared, body)


def still_answers(d: Daemon) -> list[dict[str, Any]]:
    """Resynchronise the stream, then a lookup must come back right; returns what came before."""
    d.write(b"\r\n")
    d.received.clear()
    result = d.request("d5e/lookup", {"ref": "spells/fireball"}, timeout=TIMEOUT)
    assert result["entry"]["name"] == "Fireball"
    for message in d.received:
        assert message.get("jsonrpc") == "2.0"
        assert "traceback" not in json.dumps(message)
    return list(d.received)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=50),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children, max_size=5)
    ),
    max_leaves=20,
)

FUZZ = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@FUZZ
@given(body=st.binary(max_size=300))
def test_random_bytes_as_a_body(daemon: Daemon, body: bytes) -> None:
    daemon.write(frame(body))
    still_answers(daemon)


@FUZZ
@given(value=json_values)
def test_any_json_value_as_a_message(daemon: Daemon, value: Any) -> None:
    daemon.write(frame(json.dumps(value).encode()))
    still_answers(daemon)


@FUZZ
@given(
    method=st.sampled_from(METHODS) | st.text(max_size=20),
    params=json_values,
    msg_id=st.integers(min_value=10**6) | st.text(min_size=1, max_size=8),
)
def test_requests_with_wrong_params_get_errors_not_crashes(
    daemon: Daemon, method: str, params: Any, msg_id: int | str
) -> None:
    if method == "exit" or method == "shutdown":
        return
    message = {"jsonrpc": "2.0", "id": msg_id, "method": method, "params": params}
    daemon.write(frame(json.dumps(message).encode()))
    before = still_answers(daemon)
    answers = [m for m in before if m.get("id") == msg_id]
    assert len(answers) <= 1
    if method.startswith("d5e/") and answers:
        assert "result" in answers[0] or answers[0]["error"]["code"] in (-32602, -32601, -32001)


@FUZZ
@given(junk=st.lists(st.binary(max_size=40).filter(lambda b: b"\n" not in b), max_size=4))
def test_header_garbage_is_skipped(daemon: Daemon, junk: list[bytes]) -> None:
    daemon.write(b"".join(j + b"\r\n" for j in junk))
    still_answers(daemon)


def test_content_length_shorter_than_the_body(daemon: Daemon) -> None:
    body = json.dumps(
        {"jsonrpc": "2.0", "id": 5, "method": "d5e/lookup", "params": {"ref": "spells/wish"}}
    ).encode()
    daemon.write(frame(body, declared=len(body) // 2))
    messages = still_answers(daemon)
    assert any(m.get("error", {}).get("code") == -32700 for m in messages)


def test_content_length_longer_than_the_body(daemon: Daemon) -> None:
    body = json.dumps({"jsonrpc": "2.0", "id": 6, "method": "d5e/status"}).encode()
    daemon.write(frame(body, declared=len(body) + 40) + b" " * 40)  # the rest arrives later
    messages = still_answers(daemon)
    assert any(m.get("id") == 6 and "result" in m for m in messages)


def test_deep_nesting_and_huge_strings(daemon: Daemon) -> None:
    daemon.write(frame(b"[" * 200_000 + b"]" * 200_000))
    assert any(m.get("error", {}).get("code") == -32700 for m in still_answers(daemon))
    huge = {
        "jsonrpc": "2.0",
        "id": 8,
        "method": "d5e/complete",
        "params": {"prefix": "x" * 5_000_000},
    }
    daemon.write(frame(json.dumps(huge).encode()))
    answer = [m for m in still_answers(daemon) if m.get("id") == 8]
    assert answer and answer[0]["error"]["code"] == -32602


def test_unknown_method_and_wrong_types(daemon: Daemon) -> None:
    with pytest.raises(RpcError) as caught:
        daemon.request("d5e/teleport", {}, timeout=TIMEOUT)
    assert caught.value.code == -32601
    with pytest.raises(RpcError) as caught:
        daemon.request("d5e/lookup", {"ref": ["spells/fireball"]}, timeout=TIMEOUT)
    assert caught.value.code == -32602 and "$.ref" in caught.value.message
    daemon.write(frame(b'{"jsonrpc": "2.0", "id": 77, "method": 5}'))
    answer = [m for m in still_answers(daemon) if m.get("id") == 77]
    assert answer[0]["error"]["code"] == -32600


def test_requests_after_shutdown_are_refused_and_exit_still_works(
    srd_template: Path, tmp_path: Path
) -> None:
    db = tmp_path / "d5e.sqlite3"
    db.write_bytes(srd_template.read_bytes())
    d = Daemon(db)
    d.initialize()
    d.request("shutdown", timeout=TIMEOUT)
    with pytest.raises(RpcError) as caught:
        d.request("d5e/lookup", {"ref": "spells/fireball"}, timeout=TIMEOUT)
    assert caught.value.code == -32600
    d.send("exit", notify=True)
    assert d.proc.wait(timeout=TIMEOUT) == 0
    d.close()


def test_stdout_carries_only_framed_messages(srd_template: Path, tmp_path: Path) -> None:
    """Everything the daemon wrote, start to exit, parses as a sequence of framed JSON messages."""
    db = tmp_path / "d5e.sqlite3"
    db.write_bytes(srd_template.read_bytes())
    d = Daemon(db)
    d.initialize()
    d.write(frame(b"{broken"))
    d.request("d5e/lookup", {"name": "goblin"}, timeout=TIMEOUT)
    d.request("shutdown", timeout=TIMEOUT)
    d.send("exit", notify=True)
    d.proc.wait(timeout=TIMEOUT)
    while True:
        try:
            message = d.receive(timeout=1)
        except (EOFError, TimeoutError):
            break
        assert message["jsonrpc"] == "2.0"
    assert d._buffer == b"", "stray bytes on stdout"
    d.close()
