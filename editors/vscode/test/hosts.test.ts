// One extension host of a window serves d5e (src/hosts.ts), and a daemon whose extension host
// died exits: real processes (node as the hosts, the daemon of D5E_TEST_CMD).
import { strict as assert } from "node:assert";
import { ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";

import { claimWindow, holderOf, isAlive, readClaim } from "../src/hosts";

const command: string[] | undefined = process.env.D5E_TEST_CMD ? JSON.parse(process.env.D5E_TEST_CMD) : undefined;

function claimFile(): string {
  return join(mkdtempSync(join(tmpdir(), "d5e-hosts-")), "d5e.d5e", "host.json");
}

/** What `child` writes, from its start: `wait` for a line `pattern` matches, within `ms`. */
function output(child: ChildProcess): { wait(pattern: RegExp, ms?: number): Promise<RegExpExecArray>; text(): string } {
  let seen = "";
  child.stdout!.on("data", (data) => (seen += data));
  return {
    text: () => seen,
    async wait(pattern, ms = 20_000) {
      const deadline = Date.now() + ms;
      for (;;) {
        const m = pattern.exec(seen);
        if (m) {
          return m;
        }
        assert.ok(Date.now() < deadline, `no line matching ${pattern} within ${ms} ms; seen: ${seen}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
  };
}

/** Process `pid` has exited (a zombie too: its new parent, PID 1, may not reap it). */
function exited(pid: number): boolean {
  try {
    return / Z /.test(readFileSync(`/proc/${pid}/stat`, "utf-8").replace(/^.*\)/, ""));
  } catch {
    return !isAlive(pid); // no /proc: as signal 0 says
  }
}

async function gone(pid: number, ms = 20_000): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!exited(pid) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
  }
  return exited(pid);
}

test("the first live host's claim holds the window; an exited host's claim holds nothing", () => {
  const file = claimFile();
  assert.equal(readClaim(file), undefined); // nobody claimed it yet
  assert.equal(holderOf(file, 222, () => true), undefined);
  claimWindow(file, 111, 1000);
  assert.deepEqual(readClaim(file), { pid: 111, at: 1000 });
  assert.equal(holderOf(file, 111, () => true), undefined); // its own claim
  assert.equal(holderOf(file, 222, () => true), 111); // the window's second host waits
  assert.equal(holderOf(file, 222, (pid) => pid !== 111), undefined); // 111 has exited
  writeFileSync(file, "{not json");
  assert.equal(holderOf(file, 222, () => true), undefined);
  assert.equal(isAlive(process.pid), true);
});

test("two hosts of one window: the first serves, the second stands by and serves once the first has exited", async () => {
  const file = claimFile();
  const hosts = join(__dirname, "..", "src", "hosts.js");
  // what activate() does: serve, or stand by for the host that holds the window
  const host = () =>
    spawn(
      process.execPath,
      [
        "-e",
        `const h = require(${JSON.stringify(hosts)});
         const claim = h.claimOrStandBy(${JSON.stringify(file)}, () => console.log("serving " + process.pid), process.pid, 100);
         if (claim.holder !== undefined) console.log("standing by for " + claim.holder);
         setInterval(() => {}, 1000);`,
      ],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
  const first = host();
  const [, pid] = await output(first).wait(/serving (\d+)/);
  const second = host();
  const said = output(second);
  try {
    const [, holder] = await said.wait(/standing by for (\d+)/);
    assert.equal(holder, pid);
    await new Promise((r) => setTimeout(r, 500));
    assert.doesNotMatch(said.text(), /serving/, "the second host serves while the first does");
    first.kill("SIGKILL");
    await said.wait(/serving (\d+)/, 10_000);
    assert.equal(readClaim(file)?.pid, second.pid);
  } finally {
    first.kill("SIGKILL");
    second.kill();
  }
});

test("a daemon whose extension host died exits", { skip: command ? false : "set D5E_TEST_CMD (tests/test_editors.py does)" }, async () => {
  // The host as the extension starts the daemon (spawn, stdio piped); killed outright, as an
  // extension host that crashes or is killed, with no deactivate() to stop the daemon.
  const host = spawn(
    process.execPath,
    [
      "-e",
      `const [cmd, ...args] = ${JSON.stringify(command)};
       const d = require("node:child_process").spawn(cmd, args, { stdio: "pipe" });
       const body = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "initialize", params: { processId: process.pid, capabilities: {} } });
       d.stdin.write("Content-Length: " + Buffer.byteLength(body) + "\\r\\n\\r\\n" + body);
       d.stdout.once("data", () => console.log("daemon " + d.pid));
       setInterval(() => {}, 1000);`,
    ],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  let daemon = 0;
  try {
    daemon = Number((await output(host).wait(/daemon (\d+)/, 60_000))[1]); // it answered initialize
    host.kill("SIGKILL");
    assert.ok(await gone(daemon), `the daemon (pid ${daemon}) outlived its extension host by 20 s`);
  } finally {
    host.kill("SIGKILL");
    if (daemon && !exited(daemon)) {
      process.kill(daemon, "SIGKILL");
    }
  }
});
