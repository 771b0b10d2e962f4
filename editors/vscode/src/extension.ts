// d5e for VS Code: starts `d5e serve` as the language server of Markdown and plain text, and
// adds "d5e: Search rules", "d5e: Show entry", the read-only d5e:// documents and the d5e Packs
// view (src/packs.ts).
import { ChildProcess, spawn } from "node:child_process";
import * as vscode from "vscode";
import type { LanguageClient, LanguageClientOptions, ServerOptions } from "vscode-languageclient/node";

import {
  D5eConfig,
  SearchResult,
  daemonSettings,
  entryUri,
  errorMessage,
  firstCompletionTimings,
  hitItem,
  inUnfinishedTag,
  qualifiedRef,
  serverCommand,
  startTimings,
  suggestInTag,
} from "./logic";
import { registerPacksView } from "./packs";

let client: LanguageClient | undefined;
let isResponseError: (error: unknown) => error is { code: number; message: string } = (_e): _e is never => false;
const SERVED = new Set(["markdown", "plaintext"]);

function config(): D5eConfig {
  const c = vscode.workspace.getConfiguration("d5e");
  return {
    path: c.get<string>("path"),
    edition: c.get<string | null>("edition") ?? undefined,
    packs: c.get<Record<string, number>>("packs"),
    disabled: c.get<string[]>("disabled"),
    party: c.get<number[]>("party"),
    statBlocks: c.get<string | null>("statBlocks") ?? undefined,
    searchLimit: c.get<number>("searchLimit"),
  };
}

/** Call the daemon; errors are shown to the user and give `undefined`. */
async function request<T>(method: string, params: object): Promise<T | undefined> {
  if (!client) {
    void vscode.window.showErrorMessage("d5e: the d5e language server is not running");
    return undefined;
  }
  try {
    return await client.sendRequest<T>(method, params);
  } catch (error) {
    const e = isResponseError(error) ? { code: error.code, message: error.message } : { message: String(error) };
    void vscode.window.showErrorMessage(errorMessage(method, e));
    return undefined;
  }
}

async function searchRules(): Promise<void> {
  const editor = vscode.window.activeTextEditor;
  const query = await vscode.window.showInputBox({ prompt: "Search the rules", placeHolder: "a fire spell that hits an area" });
  if (!query) {
    return;
  }
  const result = await request<SearchResult>("d5e/search", { query, limit: config().searchLimit ?? 20 });
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
  const tag = await request<{ text: string }>("d5e/tagFor", { ref: qualifiedRef(picked.hit) });
  if (tag) {
    await editor.edit((edit) => edit.replace(editor.selection, tag.text));
  }
}

async function showEntry(): Promise<void> {
  const editor = vscode.window.activeTextEditor;
  const selected = editor && !editor.selection.isEmpty ? editor.document.getText(editor.selection) : "";
  const name = await vscode.window.showInputBox({ prompt: "Show the entry named", value: selected });
  if (!name) {
    return;
  }
  const result = await request<{ entry: { pack: string; collection: string; slug: string } }>("d5e/lookup", { name });
  if (result) {
    const doc = await vscode.workspace.openTextDocument(vscode.Uri.parse(entryUri(result.entry)));
    await vscode.window.showTextDocument(doc, { preview: true, viewColumn: vscode.ViewColumn.Beside });
  }
}

/** The d5e:// documents that go to definition and document links open: read-only cards. */
class D5eDocuments implements vscode.TextDocumentContentProvider {
  async provideTextDocumentContent(uri: vscode.Uri): Promise<string> {
    const result = await request<{ text: string }>("d5e/document", { uri: uri.toString(true) });
    return result?.text ?? `Cannot show ${uri.toString(true)}: see the d5e output.`;
  }
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
function suggestWhereTyping(): void {
  const editor = vscode.window.activeTextEditor;
  if (!editor || !SERVED.has(editor.document.languageId) || !editor.selection.isEmpty || !editor.document.isDirty) {
    return;
  }
  const cursor = editor.selection.active;
  if (inUnfinishedTag(editor.document.lineAt(cursor.line).text.slice(0, cursor.character))) {
    void vscode.commands.executeCommand("editor.action.triggerSuggest");
  }
}

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const activated = Date.now();
  // The daemon first: its start (Python, the database) is most of the wait for the first
  // completion, so it runs while the language client loads and VS Code gets ready.
  let first: Daemon | undefined = startDaemon(config());
  let firstCompletionTold = false;
  const { LanguageClient, ResponseError } = await import("vscode-languageclient/node");
  isResponseError = (error): error is InstanceType<typeof ResponseError> => error instanceof ResponseError;
  let current = first;
  const serverOptions: ServerOptions = () => {
    current = first ?? startDaemon(config()); // a restart: a new daemon with today's settings
    first = undefined;
    return current.ready;
  };
  const clientOptions: LanguageClientOptions = {
    documentSelector: [
      { scheme: "file", language: "markdown" },
      { scheme: "untitled", language: "markdown" },
      { scheme: "file", language: "plaintext" },
      { scheme: "untitled", language: "plaintext" },
    ],
    initializationOptions: () => daemonSettings(config()), // today's, at a restart too
    middleware: {
      // The output tells when the first completion of a start that offered something (not
      // one after a space, nor one VS Code cancelled for the next keystroke) was asked and
      // answered.
      provideCompletionItem: async (document, position, completion, token, next) => {
        const asked = Date.now();
        const result = await next(document, position, completion, token);
        const items = Array.isArray(result) ? result.length : (result?.items.length ?? 0);
        if (!firstCompletionTold && items > 0) {
          firstCompletionTold = true;
          client?.info(firstCompletionTimings(activated, asked, Date.now(), items));
        }
        return result;
      },
    },
  };
  client = new LanguageClient("d5e", "d5e", serverOptions, clientOptions);
  context.subscriptions.push(
    vscode.workspace.registerTextDocumentContentProvider("d5e", new D5eDocuments()),
    vscode.commands.registerCommand("d5e.search", searchRules),
    vscode.commands.registerCommand("d5e.showEntry", showEntry),
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
      if (!client || !event.affectsConfiguration("d5e")) {
        return;
      }
      if (event.affectsConfiguration("d5e.path")) {
        const old = daemons;
        await client.restart(); // a different daemon: start it anew
        endStragglers(old);
        return;
      }
      if (!client.isRunning()) {
        return;
      }
      // What the daemon reads, as at start (d5e.path and d5e.searchLimit are the extension's)
      await client.sendNotification("workspace/didChangeConfiguration", { settings: { d5e: daemonSettings(config()) } });
    }),
  );
  const packs = registerPacksView(context, request);
  client.onNotification("d5e/packsChanged", () => packs.refresh());
  // Not awaited: VS Code holds back the extensions that start once the window has (its
  // `onStartupFinished`) until every extension activated at start has returned, and the
  // daemon's start is none of their business. Requests sent meanwhile wait for it; a failed
  // start is told by the language client (the d5e output and a notification).
  const started = client;
  void started.start().then(
    () => {
      started.info(startTimings(activated, current.spawned, Date.now()));
      suggestWhereTyping();
    },
    () => undefined,
  );
}

export async function deactivate(): Promise<void> {
  const left = daemons;
  await client?.stop();
  client = undefined;
  endStragglers(left);
}
