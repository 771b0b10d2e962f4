// d5e for VS Code: starts `d5e serve` as the language server of Markdown and plain text, one
// daemon per campaign (a window may hold several: a multi-root workspace), and adds "d5e: Search
// rules", "d5e: Show entry", the read-only d5e:// documents and the d5e Packs view (src/packs.ts).
import { ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import * as vscode from "vscode";
import type { LanguageClient, LanguageClientOptions, ServerOptions } from "vscode-languageclient/node";

import {
  D5eConfig,
  DEFAULT,
  SearchResult,
  campaignLabel,
  campaignOf,
  campaignsToStop,
  cardCampaign,
  cardQuery,
  daemonPath,
  daemonSettings,
  entryUri,
  errorMessage,
  firstCompletionTimings,
  folderCampaigns,
  foldersAbove,
  hasCampaignConfig,
  hitItem,
  ignoredPathMessage,
  inUnfinishedTag,
  isWithin,
  qualifiedRef,
  serverCommand,
  startTimings,
  suggestInTag,
} from "./logic";
import { claimOrStandBy } from "./hosts";
import { PacksView, registerPacksView } from "./packs";

type Client = typeof import("vscode-languageclient/node");
let lc: Client | undefined;
let isResponseError: (error: unknown) => error is { code: number; message: string } = (_e): _e is never => false;
const SERVED = new Set(["markdown", "plaintext"]);

/** The `d5e.*` settings; those a folder may set (its `.vscode/settings.json`) as `scope`'s.
 * `d5e.path` is the user's only (`daemonPath`): a workspace's value is left aside, said once. */
function config(scope?: vscode.Uri, tell = true): D5eConfig {
  const c = vscode.workspace.getConfiguration("d5e", scope);
  const { path, ignored } = daemonPath(c.inspect<string>("path"));
  if (tell && ignored !== undefined && !toldIgnoredPath) {
    toldIgnoredPath = true;
    const message = ignoredPathMessage(ignored, path);
    output?.warn(message);
    void vscode.window.showWarningMessage(message);
  }
  return {
    path,
    edition: c.get<string | null>("edition") ?? undefined,
    packs: c.get<Record<string, number>>("packs"),
    disabled: c.get<string[]>("disabled"),
    party: c.get<number[]>("party"),
    statBlocks: c.get<string | null>("statBlocks") ?? undefined,
    searchLimit: c.get<number>("searchLimit"),
  };
}

// -- one daemon per campaign ------------------------------------------------------------------

/** A campaign's language client: its daemon, and the documents the daemon was told of. */
interface Campaign {
  /** The campaign's folder (DEFAULT: documents outside every workspace folder). */
  key: string;
  client: LanguageClient;
  opened: Set<string>;
  /** The client's start (its daemon's `initialize` answered, its providers registered). */
  started?: Promise<void>;
}

const campaigns = new Map<string, Campaign>();
/** Which campaign each open document is (decided when first asked, again when folders change). */
const owners = new Map<string, string>();
/** The campaign of the last editor that was not a card: the Packs view's, and that of a card
 * whose URI names none. */
let current: string | undefined;
let output: vscode.LogOutputChannel | undefined;
let packsView: PacksView | undefined;
let activated = 0;
let firstCompletionTold = false;
let toldIgnoredPath = false;

function folderPaths(): string[] {
  return (vscode.workspace.workspaceFolders ?? []).filter((f) => f.uri.scheme === "file").map((f) => f.uri.fsPath);
}

/** The campaign whose daemon serves `uri`: a file's by its folder, an untitled document's as
 * campaignOf says, a card's as its URI says, anything else the default daemon's. */
function campaignOfUri(uri: vscode.Uri): string {
  if (uri.scheme === "d5e") {
    return cardCampaign(uri.query) ?? current ?? DEFAULT;
  }
  const key = uri.toString();
  let campaign = owners.get(key);
  if (campaign === undefined) {
    const path = uri.scheme === "file" ? uri.fsPath : undefined;
    campaign = path !== undefined || uri.scheme === "untitled" ? campaignOf(path, folderPaths(), hasCampaignConfig) : DEFAULT;
    owners.set(key, campaign);
  }
  return campaign;
}

/** The campaigns the user may mean when no editor says which: the folders', and any other
 * whose daemon runs. */
function knownCampaigns(): string[] {
  return [...new Set([...folderCampaigns(folderPaths(), hasCampaignConfig), ...campaigns.keys()])];
}

/** The campaign a command acts on: the active editor's; with none, the one campaign there is,
 * else the user picks one. */
async function commandCampaign(): Promise<string | undefined> {
  const editor = vscode.window.activeTextEditor;
  if (editor) {
    return campaignOfUri(editor.document.uri);
  }
  return pickCampaign(current);
}

async function pickCampaign(preferred?: string): Promise<string | undefined> {
  const known = knownCampaigns();
  if (known.length <= 1) {
    return known[0] ?? DEFAULT;
  }
  const picked = await vscode.window.showQuickPick(
    known.map((key) => ({
      label: campaignLabel(key),
      description: key === DEFAULT ? "untitled documents and files outside the workspace's folders" : key,
      picked: key === preferred,
      key,
    })),
    { title: "d5e: which campaign?", placeHolder: "The campaign whose daemon to ask" },
  );
  return picked?.key;
}

/** A `d5e serve` process, spawned at once: `ready` is it running, or why it could not start. */
interface Daemon {
  process: ChildProcess;
  spawned: number;
  ready: Promise<ChildProcess>;
}

let daemons: Daemon[] = [];

function startDaemon(settings: D5eConfig): Daemon {
  const { command, args } = serverCommand(settings);
  const child = spawn(command, args, { stdio: "pipe" });
  const ready = new Promise<ChildProcess>((resolve, reject) => {
    child.once("spawn", () => resolve(child));
    child.once("error", (error) =>
      reject(new Error(`cannot start the d5e daemon (${[command, ...args].join(" ")}): ${error.message}; set "d5e.path" to the d5e command`)),
    );
  });
  ready.catch(() => undefined); // told by the language client when it asks for the process
  const daemon = { process: child, spawned: Date.now(), ready };
  daemons.push(daemon);
  child.once("exit", () => (daemons = daemons.filter((d) => d !== daemon)));
  return daemon;
}

/** The daemon spawned as VS Code loads the extension's module, before any campaign is known:
 * the first client takes it (a daemon learns its campaign from `initialize`). Spawned here, not
 * in activate(): VS Code makes the extension's context (its storage) and loads the other
 * extensions it activates meanwhile (0.4 s on a quiet machine, seconds on a loaded one), and the
 * daemon's start (Python, the database) is most of the wait for the first completion
 * (docs/benchmarks.md, the twenty-first session). activate() reads the settings again (and
 * tells of a workspace's `d5e.path` left aside); a module loaded but never activated leaves a
 * daemon whose stdin closes with the extension host. */
let spare: Daemon | undefined = startDaemon(config(undefined, false));

/** Daemons that did not leave 2 s after `shutdown` and `exit` are ended (as the language
 * client ends the processes it spawns itself). */
function endStragglers(left: Daemon[]): void {
  if (left.length) {
    setTimeout(() => left.forEach((d) => d.process.exitCode === null && d.process.kill()), 2000).unref();
  }
}

/** Once the daemon is ready: a writer who typed `{@spell fir` while it started sees the
 * suggestions now, not after the next keystroke. Only in a document being written (unsaved
 * changes): a window that reopens a saved document with the cursor in a tag leaves it alone
 * (the writer may be in the quick open already, which the suggestions would close). */
function suggestWhereTyping(campaign: string): void {
  const editor = vscode.window.activeTextEditor;
  if (!editor || !SERVED.has(editor.document.languageId) || !editor.selection.isEmpty || !editor.document.isDirty) {
    return;
  }
  if (campaignOfUri(editor.document.uri) !== campaign) {
    return;
  }
  const cursor = editor.selection.active;
  if (inUnfinishedTag(editor.document.lineAt(cursor.line).text.slice(0, cursor.character))) {
    void vscode.commands.executeCommand("editor.action.triggerSuggest");
  }
}

/** Where the suggestions were opened in activate(), before any daemon was ready: the early
 * provider's session, still waiting for its campaign's client while the writer has not typed
 * nor moved since (then opening them again when the daemon is ready would cancel it). */
let earlySession: { uri: string; version: number; offset: number } | undefined;

function earlySessionPending(): boolean {
  const editor = vscode.window.activeTextEditor;
  const pending =
    earlySession !== undefined &&
    editor?.document.uri.toString() === earlySession.uri &&
    editor.document.version === earlySession.version &&
    editor.document.offsetAt(editor.selection.active) === earlySession.offset;
  earlySession = undefined;
  return pending;
}

/** d5e's completion while a campaign's client starts (experiment, vsact22-early): registered in
 * activate(), so that VS Code asks it when the suggestions open there, where the writer already
 * is in a tag, and not only once the client has registered its own provider (VS Code took up
 * that trigger after Markdown's language server and engine had begun: docs/benchmarks.md, the
 * twenty-second session). It waits for the client's start and answers with the client's own
 * provider (its middleware too); once the client runs, its own provider answers and this one
 * gives nothing, but for VS Code asking again for a list of its own that was incomplete. */
function earlyCompletion(): vscode.CompletionItemProvider {
  const madeBy = new WeakMap<vscode.CompletionItem, vscode.CompletionItemProvider>();
  let answered: string | undefined;
  return {
    async provideCompletionItems(document, position, token, context) {
      const c = campaigns.get(campaignOfUri(document.uri));
      const again = context.triggerKind === vscode.CompletionTriggerKind.TriggerForIncompleteCompletions && answered === document.uri.toString();
      if (!c?.started || (c.client.isRunning() && !again)) {
        return undefined;
      }
      await c.started.catch(() => undefined);
      const feature = c.client.getFeature(lc!.CompletionRequest.method);
      const provider = feature?.getProvider(document);
      if (!provider || token.isCancellationRequested) {
        return undefined;
      }
      const result = await provider.provideCompletionItems(document, position, token, context);
      answered = document.uri.toString();
      const items = Array.isArray(result) ? result : (result?.items ?? []);
      items.forEach((item) => madeBy.set(item, provider));
      return result;
    },
    resolveCompletionItem(item, token) {
      return madeBy.get(item)?.resolveCompletionItem?.(item, token) ?? item;
    },
  };
}

/** A d5e:// card made by `campaign`'s daemon names that campaign, so that it opens as that
 * daemon shows it (another campaign's packs may hold another entry of the same name). */
function tagCard(uri: vscode.Uri, campaign: string): vscode.Uri {
  return uri.scheme === "d5e" ? uri.with({ query: cardQuery(campaign) }) : uri;
}

type Found = vscode.Definition | vscode.LocationLink[] | null | undefined;

function tagLocations(found: Found, campaign: string): Found {
  const list: (vscode.Location | vscode.LocationLink)[] = found ? (Array.isArray(found) ? found : [found]) : [];
  for (const location of list) {
    if ("targetUri" in location) {
      location.targetUri = tagCard(location.targetUri, campaign);
    } else {
      location.uri = tagCard(location.uri, campaign);
    }
  }
  return found;
}

/** The language client of `key`'s campaign: its documents are those under its folder
 * (`documentSelector`), and of those, the ones no nested campaign nor the default daemon takes
 * (the middleware: a daemon hears of and answers for its own documents only). */
function createCampaign(key: string): Campaign {
  const { LanguageClient } = lc!;
  const root = key === DEFAULT ? undefined : vscode.Uri.file(key);
  // the workspace folder itself when the campaign is one; else (a d5e.toml above the folders)
  // the campaign's folder, which is what the daemon reads
  const folder = root && vscode.workspace.workspaceFolders?.find((f) => f.uri.scheme === "file" && f.uri.fsPath === key);
  const opened = new Set<string>();
  const mine = (document: vscode.TextDocument) => opened.has(document.uri.toString());
  const serverOptions: ServerOptions = () => {
    const daemon = spare ?? startDaemon(config()); // a restart: a new daemon with today's settings
    spare = undefined;
    daemonOf.set(key, daemon);
    return daemon.ready;
  };
  const languages = ["markdown", "plaintext"];
  const clientOptions: LanguageClientOptions = {
    // untitled documents too: they are the window's campaign's when it has one (campaignOf)
    documentSelector: languages.flatMap((language) => [
      root ? { scheme: "file", language, pattern: { baseUri: root.toString(), pattern: "**" } } : { scheme: "file", language },
      { scheme: "untitled", language },
    ]),
    ...(root ? { workspaceFolder: folder ?? { uri: root, name: campaignLabel(key), index: 0 } } : {}),
    outputChannel: output,
    initializationOptions: () => daemonSettings(config(root)), // today's, at a restart too
    middleware: {
      didOpen: (document, next) => {
        if (campaignOfUri(document.uri) !== key) {
          return Promise.resolve();
        }
        opened.add(document.uri.toString());
        return next(document);
      },
      didChange: (event, next) => (mine(event.document) ? next(event) : Promise.resolve()),
      willSave: (event, next) => (mine(event.document) ? next(event) : Promise.resolve()),
      willSaveWaitUntil: (event, next) => (mine(event.document) ? next(event) : Promise.resolve([])),
      didSave: (document, next) => (mine(document) ? next(document) : Promise.resolve()),
      didClose: (document, next) => (opened.delete(document.uri.toString()) ? next(document) : Promise.resolve()),
      // The output tells when the first completion of a start that offered something (not
      // one after a space, nor one VS Code cancelled for the next keystroke) was asked and
      // answered.
      provideCompletionItem: async (document, position, completion, token, next) => {
        if (!mine(document)) {
          return undefined;
        }
        const asked = Date.now();
        const result = await next(document, position, completion, token);
        const items = Array.isArray(result) ? result.length : (result?.items.length ?? 0);
        if (!firstCompletionTold && items > 0) {
          firstCompletionTold = true;
          client.info(firstCompletionTimings(activated, asked, Date.now(), items));
        }
        return result;
      },
      provideHover: (document, position, token, next) => (mine(document) ? next(document, position, token) : undefined),
      provideDefinition: async (document, position, token, next) =>
        mine(document) ? tagLocations(await next(document, position, token), key) : undefined,
      provideReferences: (document, position, options, token, next) =>
        mine(document) ? next(document, position, options, token) : undefined,
      provideCodeActions: (document, range, context, token, next) =>
        mine(document) ? next(document, range, context, token) : undefined,
      provideCodeLenses: (document, token, next) => (mine(document) ? next(document, token) : undefined),
      provideInlayHints: (document, range, token, next) => (mine(document) ? next(document, range, token) : undefined),
      provideDocumentSymbols: (document, token, next) => (mine(document) ? next(document, token) : undefined),
      provideDocumentLinks: async (document, token, next) => {
        if (!mine(document)) {
          return undefined;
        }
        const links = await next(document, token);
        links?.forEach((link) => link.target && (link.target = tagCard(link.target, key)));
        return links;
      },
      // Every campaign's daemon knows the SRD: the symbol search asks the active campaign's.
      provideWorkspaceSymbols: async (query, token, next) => {
        const active = vscode.window.activeTextEditor;
        const asked = active ? campaignOfUri(active.document.uri) : current;
        if (campaigns.size > 1 && asked !== key) {
          return [];
        }
        const symbols = await next(query, token);
        symbols?.forEach((s) => (s.location.uri = tagCard(s.location.uri, key)));
        return symbols;
      },
    },
  };
  const name = key === DEFAULT ? "d5e" : `d5e (${campaignLabel(key)})`;
  const client = new LanguageClient("d5e", name, serverOptions, clientOptions);
  client.onNotification("d5e/packsChanged", () => {
    if (packsView && key === packsView.campaign) {
      packsView.refresh();
    }
  });
  return { key, client, opened };
}

/** Each campaign's daemon: the one its client last started (a restart starts another). */
const daemonOf = new Map<string, Daemon>();

/** `key`'s campaign, its daemon started with the first document (or command) that needs it.
 * Not awaited: requests sent meanwhile wait for it; a failed start is told by the language
 * client (the d5e output and a notification). */
function campaign(key: string): Campaign {
  let found = campaigns.get(key);
  if (!found) {
    found = createCampaign(key);
    campaigns.set(key, found);
    const { client } = found;
    found.started = client.start();
    void found.started.then(
      () => {
        client.info(`${startTimings(activated, daemonOf.get(key)?.spawned ?? activated, Date.now())}${key === DEFAULT ? "" : ` (campaign ${key})`}`);
        if (!earlySessionPending()) {
          suggestWhereTyping(key);
        }
      },
      () => undefined,
    );
  }
  return found;
}

/** Stop the daemon of a campaign no folder holds any more, or whose d5e.toml is gone. */
async function stopCampaign(key: string): Promise<void> {
  const found = campaigns.get(key);
  if (!found) {
    return;
  }
  campaigns.delete(key);
  // its own daemon only: every daemon alive (another campaign's, the default one just started
  // for a document this change moved) was ended 2 s later, its client left waiting
  const left = [daemonOf.get(key)].filter((d): d is Daemon => d !== undefined);
  daemonOf.delete(key);
  await found.client.stop().catch(() => undefined);
  const why = folderPaths().some((f) => isWithin(f, key) || isWithin(key, f)) ? "its d5e.toml is gone" : "its folder left the workspace";
  found.client.outputChannel.info(`d5e: stopped the daemon of ${key} (${why})`);
  endStragglers(left);
}

let rerouting: Promise<void> = Promise.resolve();

/** Folders came or went, or a d5e.toml was created or deleted (a campaign appeared in a folder
 * or went: the document stays open): `campaignsChanged`, one change after the other. */
function rerouteDocuments(): Promise<void> {
  rerouting = rerouting.then(campaignsChanged, campaignsChanged);
  return rerouting;
}

/** Each open document goes to its campaign's daemon now (a file of a removed folder to the
 * default daemon, a chapter to the campaign whose d5e.toml was just written above it), and the
 * daemons of campaigns no folder holds, or whose d5e.toml is gone, stop. */
async function campaignsChanged(): Promise<void> {
  owners.clear();
  const open = new Map(vscode.workspace.textDocuments.map((d) => [d.uri.toString(), d]));
  for (const c of campaigns.values()) {
    for (const uri of [...c.opened]) {
      const document = open.get(uri);
      if (!document || campaignOfUri(document.uri) !== c.key) {
        c.opened.delete(uri);
        if (document && c.client.isRunning()) {
          await c.client.sendNotification(lc!.DidCloseTextDocumentNotification.type, c.client.code2ProtocolConverter.asCloseTextDocumentParams(document));
        }
      }
    }
  }
  await Promise.all(campaignsToStop([...campaigns.keys()], folderPaths(), hasCampaignConfig).map(stopCampaign));
  const served = new Set([...campaigns.values()].flatMap((c) => [...c.opened]));
  for (const document of open.values()) {
    if (served.has(document.uri.toString()) || !servedDocument(document)) {
      continue;
    }
    const c = campaign(campaignOfUri(document.uri));
    if (c.client.isRunning()) {
      // Its client saw it open (it matched the selector then): only the daemon is told now.
      c.opened.add(document.uri.toString());
      await c.client.sendNotification(lc!.DidOpenTextDocumentNotification.type, c.client.code2ProtocolConverter.asOpenTextDocumentParams(document));
    } // else its start opens it
  }
  followActiveEditor();
}

function servedDocument(document: vscode.TextDocument): boolean {
  return SERVED.has(document.languageId) && (document.uri.scheme === "file" || document.uri.scheme === "untitled");
}

/** The Packs view shows the campaign of the active editor (any file of it: a chapter, its
 * d5e.toml; a card: the campaign that made it). */
function followActiveEditor(): void {
  const editor = vscode.window.activeTextEditor;
  if (editor && ["file", "untitled", "d5e"].includes(editor.document.uri.scheme)) {
    const key = campaignOfUri(editor.document.uri);
    if (editor.document.uri.scheme !== "d5e") {
      current = key;
    }
    packsView?.showCampaign(key, describeCampaign(key));
  }
}

/** The Packs view's description: which campaign, once the window holds several (or the
 * default daemon's, which has none). */
function describeCampaign(key: string): string | undefined {
  return key === DEFAULT || folderPaths().length > 1 ? campaignLabel(key) : undefined;
}

/** Call `key`'s daemon (the active campaign's by default); errors are shown to the user and
 * give `undefined`. */
async function request<T>(method: string, params: object, key?: string): Promise<T | undefined> {
  const asked = key ?? (await commandCampaign());
  if (asked === undefined || !lc) {
    if (!lc) {
      void vscode.window.showErrorMessage("d5e: the d5e language server is not running");
    }
    return undefined;
  }
  try {
    return await campaign(asked).client.sendRequest<T>(method, params);
  } catch (error) {
    const e = isResponseError(error) ? { code: error.code, message: error.message } : { message: String(error) };
    void vscode.window.showErrorMessage(errorMessage(method, e));
    return undefined;
  }
}

async function searchRules(): Promise<void> {
  const editor = vscode.window.activeTextEditor;
  const key = await commandCampaign();
  if (key === undefined) {
    return;
  }
  const query = await vscode.window.showInputBox({ prompt: "Search the rules", placeHolder: "a fire spell that hits an area" });
  if (!query) {
    return;
  }
  const result = await request<SearchResult>("d5e/search", { query, limit: config().searchLimit ?? 20 }, key);
  if (!result) {
    return;
  }
  if (result.hits.length === 0) {
    void vscode.window.showInformationMessage(`d5e: nothing found for "${query}"`);
    return;
  }
  const picked = await vscode.window.showQuickPick(
    result.hits.map((hit) => ({ ...hitItem(hit), hit })),
    { title: `d5e: ${query}`, matchOnDescription: true, matchOnDetail: true },
  );
  if (!picked || !editor) {
    return;
  }
  const tag = await request<{ text: string }>("d5e/tagFor", { ref: qualifiedRef(picked.hit) }, key);
  if (tag) {
    await editor.edit((edit) => edit.replace(editor.selection, tag.text));
  }
}

async function showEntry(): Promise<void> {
  const editor = vscode.window.activeTextEditor;
  const key = await commandCampaign();
  if (key === undefined) {
    return;
  }
  const selected = editor && !editor.selection.isEmpty ? editor.document.getText(editor.selection) : "";
  const name = await vscode.window.showInputBox({ prompt: "Show the entry named", value: selected });
  if (!name) {
    return;
  }
  const result = await request<{ entry: { pack: string; collection: string; slug: string } }>("d5e/lookup", { name }, key);
  if (result) {
    const doc = await vscode.workspace.openTextDocument(vscode.Uri.parse(entryUri(result.entry, key)));
    await vscode.window.showTextDocument(doc, { preview: true, viewColumn: vscode.ViewColumn.Beside });
  }
}

/** The d5e:// documents that go to definition and document links open: read-only cards, each
 * shown by the daemon of the campaign its URI names. */
class D5eDocuments implements vscode.TextDocumentContentProvider {
  async provideTextDocumentContent(uri: vscode.Uri): Promise<string> {
    const result = await request<{ text: string }>("d5e/document", { uri: uri.with({ query: "" }).toString(true) }, campaignOfUri(uri));
    return result?.text ?? `Cannot show ${uri.toString(true)}: see the d5e output.`;
  }
}

/** A d5e.toml created or deleted in the workspace's folders, or above them (`foldersAbove`: the
 * campaign a folder is in when it holds none of its own; no glob of the workspace sees those),
 * makes or unmakes a campaign: the open documents under it go to their campaign's daemon at
 * once (they had to be reopened). One saved again is the daemon's to read (it watches its own). */
function campaignConfigWatcher(): vscode.Disposable {
  const watch = (pattern: vscode.GlobPattern): vscode.Disposable => {
    const watcher = vscode.workspace.createFileSystemWatcher(pattern, false, true, false);
    return vscode.Disposable.from(watcher, watcher.onDidCreate(() => rerouteDocuments()), watcher.onDidDelete(() => rerouteDocuments()));
  };
  let above: vscode.Disposable[] = [];
  const watchAbove = () => {
    above.forEach((d) => d.dispose());
    above = foldersAbove(folderPaths()).map((dir) => watch(new vscode.RelativePattern(vscode.Uri.file(dir), "d5e.toml")));
  };
  watchAbove();
  return vscode.Disposable.from(
    watch("**/d5e.toml"),
    vscode.workspace.onDidChangeWorkspaceFolders(watchAbove),
    new vscode.Disposable(() => above.forEach((d) => d.dispose())),
  );
}

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  activated = Date.now();
  output = vscode.window.createOutputChannel("d5e", { log: true });
  context.subscriptions.push(output);
  // One extension host of a window serves d5e (src/hosts.ts): another one of the same window
  // (VS Code may run two) starts nothing, and serves only once the first has exited.
  if (context.logUri.scheme !== "file") {
    return serve(context);
  }
  let serving: Promise<void> | undefined;
  const file = join(context.logUri.fsPath, "host.json");
  let claim: { holder?: number; dispose(): void };
  try {
    claim = claimOrStandBy(file, () => {
      serving = serve(context);
      serving.catch((error) => output?.error(`d5e: ${String(error)}`)); // taken over later: told here
    });
  } catch (error) {
    output.warn(`d5e: cannot claim this window for this extension host (${file}): ${String(error)}`);
    return serve(context);
  }
  context.subscriptions.push(claim);
  if (claim.holder !== undefined) {
    output.info(`d5e: another extension host of this window (pid ${claim.holder}) serves d5e; this one (pid ${process.pid}) stands by`);
    spare?.process.stdin?.end(); // its daemon leaves
    spare = undefined;
  }
  await serving;
}

/** The extension at work in this window: its daemons, providers, commands and views. */
async function serve(context: vscode.ExtensionContext): Promise<void> {
  // A daemon first (spawned as the module loaded: `spare`; again if a later activation of the
  // same module finds it taken): its start (Python, the database) is most of the wait for the
  // first completion, so it runs while the language client loads and VS Code gets ready; the
  // first campaign to need a daemon takes it.
  const settings = config(); // a workspace's d5e.path left aside is told now
  spare ??= startDaemon(settings);
  lc = await import("vscode-languageclient/node");
  const { ResponseError } = lc;
  isResponseError = (error): error is InstanceType<typeof ResponseError> => error instanceof ResponseError;
  context.subscriptions.push(
    vscode.workspace.registerTextDocumentContentProvider("d5e", new D5eDocuments()),
    vscode.commands.registerCommand("d5e.search", searchRules),
    vscode.commands.registerCommand("d5e.showEntry", showEntry),
    vscode.workspace.onDidOpenTextDocument((document) => {
      if (servedDocument(document)) {
        campaign(campaignOfUri(document.uri));
      }
    }),
    vscode.workspace.onDidCloseTextDocument((document) => owners.delete(document.uri.toString())),
    vscode.workspace.onDidChangeWorkspaceFolders(() => rerouteDocuments()),
    campaignConfigWatcher(),
    vscode.window.onDidChangeActiveTextEditor(() => followActiveEditor()),
    vscode.workspace.onDidChangeTextDocument((event) => {
      const editor = vscode.window.activeTextEditor;
      if (event.contentChanges.length !== 1 || editor?.document !== event.document || !SERVED.has(event.document.languageId)) {
        return;
      }
      const change = event.contentChanges[0];
      const end = change.range.start.translate(0, change.text.length);
      const before = event.document.lineAt(end.line).text.slice(0, end.character);
      // While the daemon starts too: VS Code opens the suggestions with its other providers
      // (the text's words), and asks d5e as well in the session still open once d5e's provider
      // is registered (docs/benchmarks.md, "the twelfth session").
      if (suggestInTag(before, change.text)) {
        void vscode.commands.executeCommand("editor.action.triggerSuggest");
      }
    }),
    vscode.workspace.onDidChangeConfiguration(async (event) => {
      if (!event.affectsConfiguration("d5e")) {
        return;
      }
      if (event.affectsConfiguration("d5e.path")) {
        const old = daemons;
        await Promise.all([...campaigns.values()].map((c) => c.client.restart())); // a different daemon: start it anew
        endStragglers(old);
        return;
      }
      for (const c of campaigns.values()) {
        const scope = c.key === DEFAULT ? undefined : vscode.Uri.file(c.key);
        if (c.client.isRunning() && event.affectsConfiguration("d5e", scope)) {
          // What the daemon reads, as at start (d5e.path and d5e.searchLimit are the extension's)
          await c.client.sendNotification("workspace/didChangeConfiguration", { settings: { d5e: daemonSettings(config(scope)) } });
        }
      }
    }),
  );
  packsView = registerPacksView(context, <T>(method: string, params: object) => request<T>(method, params, packsView?.campaign ?? current));
  context.subscriptions.push(
    vscode.commands.registerCommand("d5e.packs.chooseCampaign", async () => {
      const key = await pickCampaign(packsView?.campaign);
      if (key !== undefined) {
        packsView?.showCampaign(key, describeCampaign(key));
      }
    }),
  );
  // The daemons of the campaigns whose documents are open; with none open, a window of one
  // folder starts its campaign's at once, as the first document will want it. Activation
  // returns without waiting for them: VS Code holds back the extensions that start once the
  // window has (its `onStartupFinished`) until every extension activated at start has returned.
  for (const document of vscode.workspace.textDocuments) {
    if (servedDocument(document)) {
      campaign(campaignOfUri(document.uri));
    }
  }
  const folders = folderPaths();
  if (campaigns.size === 0 && folders.length === 1) {
    campaign(folderCampaigns(folders, hasCampaignConfig)[0]);
  }
  followActiveEditor();
  context.subscriptions.push(
    vscode.languages.registerCompletionItemProvider(
      ["markdown", "plaintext"].flatMap((language) => [{ scheme: "file", language }, { scheme: "untitled", language }]),
      earlyCompletion(),
    ),
  );
  const editor = vscode.window.activeTextEditor;
  if (editor && [...campaigns.values()].every((c) => !c.client.isRunning())) {
    const key = servedDocument(editor.document) ? campaignOfUri(editor.document.uri) : undefined;
    if (key !== undefined && campaigns.has(key)) {
      earlySession = { uri: editor.document.uri.toString(), version: editor.document.version, offset: editor.document.offsetAt(editor.selection.active) };
      suggestWhereTyping(key);
    }
  }
  if (packsView.campaign === undefined) {
    const first = folderCampaigns(folders, hasCampaignConfig)[0] ?? DEFAULT;
    packsView.showCampaign(first, describeCampaign(first));
  }
}

export async function deactivate(): Promise<void> {
  const left = daemons;
  const stopping = [...campaigns.values()].map((c) => c.client.stop().catch(() => undefined));
  campaigns.clear();
  await Promise.all(stopping);
  endStragglers(left);
}
