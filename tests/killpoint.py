"""Run the d5e CLI in this process and SIGKILL it at a chosen point (see tests/test_crash.py).

    python tests/killpoint.py REPORT [--steps N | --on-call MODULE:FUNCTION --delay S] -- ARGS…

- `--steps N`: SIGKILL at the N-th SQLite progress callback (one per `STEP_OPS` virtual machine
  instructions) run inside an explicit transaction, on any connection of the process: a point
  inside the writes, named by a number (test_crash.py puts one in the middle of each phase).
- `--on-call MODULE:FUNCTION --delay S` (or `MODULE:Class.method`): SIGKILL S seconds after the
  first call of that function began, from a timer thread: a point anywhere in time, also inside
  C code that runs no SQL (a backup copying pages, a COMMIT writing the WAL, a checkpoint).
- neither: run to the end (to count the steps, time the operation and find its phases).
- `--builtin-packs ID,…`: the built-in packs a start installs (the `builtinPacks` setting, which
  the CLI takes from no flag): a smaller library to kill in (test_crash.py's indexing).

`python tests/killpoint.py --serve` imports d5e's modules once, then runs each request (a JSON
line on stdin: these arguments, the environment, the folder, files for stdout and stderr) in a
process forked from it, as `python tests/killpoint.py ARGS` would (or, with `"d5e": true`, as
`d5e ARGS`), and answers its exit code (a signal's negated) in a JSON line: each run is still a
process of its own, killed for real, without an interpreter's start and d5e's imports (~0.2 s of
CPU each; `FORKS` in tests/forks.py).

Nothing is cleaned up: SIGKILL cannot be caught. REPORT (JSON, written just before the kill or
at the end) holds `steps` (callbacks counted inside transactions), `seconds` (from the first
call of FUNCTION to the end), `texts_embedded` (by the fake embedder), `killed_in` (the d5e
functions on the killed thread's stack), `exit` (the CLI's exit code when not killed) and, for a
run to the end, `phases`: each run of consecutive steps inside one d5e function, as [function,
first step, last step, seconds from the first call of FUNCTION], so that kills can be spread
over every phase, however few steps it takes.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable, Sequence
from types import FrameType
from typing import Any

import apsw

STEP_OPS = 200

state: dict[str, Any] = {
    "steps": 0,
    "seconds": None,
    "texts_embedded": 0,
    "killed_in": None,
    "exit": None,
    "phases": [],
}
lock = threading.Lock()
saving = threading.Lock()
"""Held while REPORT is written, and by a kill until the process is gone: a kill that falls as
the command ends (in its last transaction) and the end's own report never write at once."""


def save(report: str) -> None:
    tmp = f"{report}.tmp"
    with open(tmp, "w") as f:
        json.dump(state, f)
    os.replace(tmp, report)


def d5e_stack(frame: FrameType | None) -> list[str]:
    """`module.function` of each d5e frame on the stack, outermost first."""
    stack = traceback.extract_stack(frame) if frame is not None else []
    return [
        f"{os.path.basename(f.filename).removesuffix('.py')}.{f.name}"
        for f in stack
        if f"{os.sep}d5e_daemon{os.sep}" in f.filename
    ]


def kill(report: str, frames: dict[int, FrameType]) -> None:
    """Record where the work was, then SIGKILL: the d5e stack of the database's writer thread
    if it was busy, else the longest among these threads'."""
    names = {t.ident: t.name for t in threading.enumerate()}
    stacks = {ident: d5e_stack(frame) for ident, frame in frames.items()}
    writer = [s for ident, s in stacks.items() if names.get(ident, "").startswith("d5e-db-writer")]
    busy = [s for s in writer if s]
    saving.acquire()  # never released: the process ends here
    state["killed_in"] = busy[0] if busy else max(stacks.values(), key=len, default=[])
    save(report)
    os.kill(os.getpid(), signal.SIGKILL)


def innermost(frame: FrameType | None) -> str:
    """`module.function` of the innermost d5e function on the stack ('' outside d5e code); a
    comprehension or lambda counts as the function it is written in."""
    while frame is not None:
        code = frame.f_code
        if f"{os.sep}d5e_daemon{os.sep}" in code.co_filename and not code.co_name.startswith("<"):
            return f"{os.path.basename(code.co_filename).removesuffix('.py')}.{code.co_name}"
        frame = frame.f_back
    return ""


def count_steps(report: str, kill_at: int | None) -> None:
    """Count the steps; kill at `kill_at`, or (a run to the end) record its phases."""

    def hook(conn: apsw.Connection) -> None:
        def progress() -> bool:
            if conn.in_transaction:
                with lock:
                    state["steps"] += 1
                    if state["steps"] == kill_at:
                        kill(report, {threading.get_ident(): sys._getframe(1)})
                    if kill_at is None:
                        phase(innermost(sys._getframe(1)), state["steps"])
            return False

        conn.set_progress_handler(progress, STEP_OPS)

    apsw.connection_hooks.append(hook)


def phase(name: str, step: int) -> None:
    """Step `step` ran in function `name`: extend the last phase or begin one. A phase is a run of
    consecutive steps inside one d5e function, [function, first step, last step, seconds from the
    operation's start]."""
    phases = state["phases"]
    if phases and phases[-1][0] == name:
        phases[-1][2] = step
    else:
        began = state["seconds"]
        phases.append([name, step, step, time.perf_counter() - began if began else 0.0])


def time_call(report: str, target: str, delay: float | None) -> None:
    """Time `target` from its first call; with `delay`, SIGKILL that long after it began."""
    module_name, attribute = target.split(":")
    *parents, name = attribute.split(".")
    owner: Any = importlib.import_module(module_name)
    for parent in parents:
        owner = getattr(owner, parent)
    original: Callable[..., Any] = getattr(owner, name)

    def timed(*args: Any, **kwargs: Any) -> Any:
        with lock:
            first = state["seconds"] is None
            if first:
                state["seconds"] = time.perf_counter()
        if first and delay is not None:

            def fire() -> None:
                timer = threading.get_ident()
                kill(report, {i: f for i, f in sys._current_frames().items() if i != timer})

            threading.Timer(delay, fire).start()
        return original(*args, **kwargs)

    setattr(owner, name, timed)


def count_embeddings() -> None:
    from d5e_daemon.search.embed import FakeEmbedder

    original = FakeEmbedder.embed_many

    def embed_many(
        self: FakeEmbedder, texts: Sequence[str], pause: Callable[[], None] | None = None
    ) -> list[bytes]:
        with lock:
            state["texts_embedded"] += len(texts)
        return original(self, texts, pause)

    FakeEmbedder.embed_many = embed_many  # type: ignore[method-assign]


def main() -> None:
    split = sys.argv.index("--")
    parser = argparse.ArgumentParser()
    parser.add_argument("report")
    parser.add_argument("--steps", type=int)
    parser.add_argument("--on-call")
    parser.add_argument("--delay", type=float)
    parser.add_argument("--builtin-packs")
    opts = parser.parse_args(sys.argv[1:split])
    count_steps(opts.report, opts.steps)
    if opts.on_call:
        time_call(opts.report, opts.on_call, opts.delay)
    count_embeddings()
    if opts.builtin_packs is not None:
        from d5e_daemon import settings

        settings.BUILTIN_SRD = tuple(p for p in opts.builtin_packs.split(",") if p)
    from d5e_daemon.cli import main as cli

    code = cli(sys.argv[split + 1 :])
    if state["seconds"] is not None:
        state["seconds"] = time.perf_counter() - state["seconds"]
    with saving:
        state["exit"] = code
        save(opts.report)
    sys.exit(code)


def serve() -> None:
    """`--serve` (see the top): requests one at a time, each in a forked child."""
    import d5e_daemon.app
    import d5e_daemon.cli
    import d5e_daemon.features.packs
    import d5e_daemon.search.builder  # noqa: F401

    assert threading.active_count() == 1, "a thread before fork()"
    for line in sys.stdin:
        request = json.loads(line)
        pid = os.fork()
        if pid == 0:
            os._exit(child(request))
        _, status = os.waitpid(pid, 0)
        print(json.dumps({"returncode": os.waitstatus_to_exitcode(status)}), flush=True)


def child(request: dict[str, Any]) -> int:
    """Run one request in this (forked) process: killpoint's `main` with its arguments."""
    code = 1
    try:
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
        for fd, name in ((1, "stdout"), (2, "stderr")):
            os.dup2(os.open(request[name], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644), fd)
        if request.get("d5e"):  # `d5e ARGS`, as `python -m d5e_daemon ARGS` runs it
            from d5e_daemon.__main__ import main as d5e

            sys.argv = ["d5e", *request["args"]]
            code = d5e()
        else:
            sys.argv = [__file__, *request["args"]]
            main()
            code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else int(exc.code is not None)
    except BaseException:
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
    return code


if __name__ == "__main__":
    if sys.argv[1:] == ["--serve"]:
        serve()
    else:
        main()
