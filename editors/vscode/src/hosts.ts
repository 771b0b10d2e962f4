// One extension host of a window serves d5e. VS Code may run two at once in one window: when it
// restarts its extension hosts while the first is still connecting (code-server 4.139 / VS Code
// 1.139 with "chat.disableAIFeatures": its built-in chat extension disabled as the window
// starts, the hosts restarted for it), the first host's connection is made after its manager was
// disposed ("Trying to add a disposable to a DisposableStore that has already been disposed of")
// and both hosts serve the window: each activated d5e, two daemons started, every completion row
// showed twice and both opened the suggestions (docs/benchmarks.md, the twenty-third session).
//
// What a window's hosts share and two windows do not is the extension's log folder
// (`ExtensionContext.logUri`: `<logs>/exthost<N>/d5e.d5e` in code-server, N per window, the same
// for every host it starts; `<logs>/window<N>/exthost/d5e.d5e` in VS Code desktop), not
// `vscode.env.sessionId` (a constant in code-server: every window would share it). The first
// host to activate d5e claims the window in a file there and serves it; another host of the
// window, finding that claim held by a live process, starts nothing (no daemon, no provider, no
// view: what the user sees is the first host's, even a suggestion list already open) and stands
// by, taking the window over once that process has exited (a host restarted while the old one
// was still exiting). Tested with node (test/hosts.test.ts), real processes included.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";

/** The claim a host writes: its process and when. */
export interface Claim {
  pid: number;
  at: number;
}

/** Host `pid` claims the window: `{pid, at}` written to `file` (its folder made), whole or not
 * at all (written aside, then renamed: a reader never sees half of it). */
export function claimWindow(file: string, pid = process.pid, now = Date.now()): void {
  mkdirSync(dirname(file), { recursive: true });
  const aside = `${file}.${pid}`;
  writeFileSync(aside, JSON.stringify({ pid, at: now } satisfies Claim));
  renameSync(aside, file);
}

/** The claim in `file`, if it holds one. */
export function readClaim(file: string): Claim | undefined {
  try {
    const claim = JSON.parse(readFileSync(file, "utf-8")) as Partial<Claim>;
    return typeof claim.pid === "number" && typeof claim.at === "number" ? { pid: claim.pid, at: claim.at } : undefined;
  } catch {
    return undefined;
  }
}

/** Whether process `pid` is alive (signal 0: nothing sent, only asked). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM"; // alive, another user's
  }
}

/** The other host that holds the window: another process's claim in `file`, that process alive
 * (a claim left by a host that has exited holds nothing). */
export function holderOf(file: string, pid = process.pid, alive: (pid: number) => boolean = isAlive): number | undefined {
  const claim = readClaim(file);
  return claim && claim.pid !== pid && alive(claim.pid) ? claim.pid : undefined;
}

/** Host `pid` serves the window (`serve()` called) if no other live host holds it, now, or
 * else once that host has exited (asked every `every` ms, a signal 0: no CPU to speak of);
 * `holder` is the host it waits for, if any. */
export function claimOrStandBy(
  file: string,
  serve: () => void,
  pid = process.pid,
  every = 1000,
  alive: (pid: number) => boolean = isAlive,
): { holder?: number; dispose(): void } {
  const holder = holderOf(file, pid, alive);
  if (holder === undefined) {
    claimWindow(file, pid);
    serve();
    return { dispose: () => undefined };
  }
  const timer = setInterval(() => {
    if (holderOf(file, pid, alive) === undefined) {
      clearInterval(timer);
      claimWindow(file, pid);
      serve();
    }
  }, every);
  return { holder, dispose: () => clearInterval(timer) };
}
