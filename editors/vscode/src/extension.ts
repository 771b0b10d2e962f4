// d5e for VS Code: starts `d5e serve` as the language server of Markdown and plain text, and
// adds "d5e: Search rules", "d5e: Show entry", the read-only d5e:// documents and the d5e Packs
// view (src/packs.ts).
import * as vscode from "vscode";
import {
  LanguageClient,
  LanguageClientOptions,
  ResponseError,
  ServerOptions,
} from "vscode-languageclient/node";

import {
  D5eConfig,
  SearchResult,
  daemonSettings,
  entryUri,
  errorMessage,
  hitItem,
  qualifiedRef,
  serverCommand,
  suggestInTag,
} from "./logic";
import { registerPacksView } from "./packs";

let client: LanguageClient | undefined;
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
    const e = error instanceof ResponseError ? { code: error.code, message: error.message } : { message: String(error) };
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

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const settings = config();
  const { command, args } = serverCommand(settings);
  const serverOptions: ServerOptions = { command, args };
  const clientOptions: LanguageClientOptions = {
    documentSelector: [
      { scheme: "file", language: "markdown" },
      { scheme: "untitled", language: "markdown" },
      { scheme: "file", language: "plaintext" },
      { scheme: "untitled", language: "plaintext" },
    ],
    initializationOptions: daemonSettings(settings),
    synchronize: { configurationSection: "d5e" },
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
      if (suggestInTag(before, change.text)) {
        void vscode.commands.executeCommand("editor.action.triggerSuggest");
      }
    }),
    vscode.workspace.onDidChangeConfiguration(async (event) => {
      if (event.affectsConfiguration("d5e.path") && client) {
        await client.restart(); // a different daemon: start it anew
      }
    }),
  );
  const packs = registerPacksView(context, request);
  client.onNotification("d5e/packsChanged", () => packs.refresh());
  await client.start();
}

export async function deactivate(): Promise<void> {
  await client?.stop();
  client = undefined;
}
