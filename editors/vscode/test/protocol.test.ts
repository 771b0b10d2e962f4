// The daemon driven as VS Code's language client drives it: vscode-languageserver-protocol over
// the daemon's stdio, VS Code's capabilities and settings, UTF-16 positions, edits applied to a
// TextDocument. Started by tests/test_editors.py with D5E_TEST_CMD (a JSON list: the daemon).
import { strict as assert } from "node:assert";
import { ChildProcess, spawn } from "node:child_process";
import { after, before, test } from "node:test";

import { TextDocument } from "vscode-languageserver-textdocument";
import {
  CodeAction,
  CompletionList,
  DidChangeConfigurationNotification,
  DidChangeTextDocumentNotification,
  DidOpenTextDocumentNotification,
  ExitNotification,
  InitializeRequest,
  InitializedNotification,
  Location,
  MarkupContent,
  ProtocolConnection,
  PublishDiagnosticsNotification,
  PublishDiagnosticsParams,
  ShutdownRequest,
  StreamMessageReader,
  StreamMessageWriter,
  createProtocolConnection,
} from "vscode-languageserver-protocol/node";

import { SearchResult, daemonSettings, qualifiedRef } from "../src/logic";

const command: string[] | undefined = process.env.D5E_TEST_CMD ? JSON.parse(process.env.D5E_TEST_CMD) : undefined;
const skip = command ? false : "set D5E_TEST_CMD to the daemon command (tests/test_editors.py does)";
const URI = "file:///campaign/ambush.md";
const TEXT = "🐉 {@creature goblinn} waits.\nCast {@spell fir\nHover {@spell fireball} here.\n";

let daemon: ChildProcess;
let connection: ProtocolConnection;
let doc = TextDocument.create(URI, "markdown", 1, TEXT);
const published: PublishDiagnosticsParams[] = [];

function nextDiagnostics(): Promise<PublishDiagnosticsParams> {
  const seen = published.length;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("no diagnostics within 30 s")), 30000);
    const poll = setInterval(() => {
      if (published.length > seen) {
        clearInterval(poll);
        clearTimeout(timer);
        resolve(published[published.length - 1]);
      }
    }, 10);
  });
}

before(async () => {
  if (!command) {
    return;
  }
  daemon = spawn(command[0], command.slice(1), { stdio: ["pipe", "pipe", "inherit"] });
  connection = createProtocolConnection(
    new StreamMessageReader(daemon.stdout!),
    new StreamMessageWriter(daemon.stdin!),
  );
  connection.onNotification(PublishDiagnosticsNotification.type, (params) => {
    published.push(params);
  });
  connection.listen();
  const settings = daemonSettings({ edition: "2014" });
  const init = await connection.sendRequest(InitializeRequest.type, {
    processId: process.pid,
    rootUri: null,
    workspaceFolders: null,
    initializationOptions: settings,
    capabilities: {
      general: { positionEncodings: ["utf-16"] },
      textDocument: {
        synchronization: { didSave: true, dynamicRegistration: true },
        completion: {
          completionItem: {
            snippetSupport: true,
            labelDetailsSupport: true,
            resolveSupport: { properties: ["documentation", "detail"] },
            documentationFormat: ["markdown", "plaintext"],
          },
          contextSupport: true,
        },
        hover: { contentFormat: ["markdown", "plaintext"] },
        definition: { linkSupport: true },
        codeAction: {
          isPreferredSupport: true,
          dataSupport: true,
          codeActionLiteralSupport: {
            codeActionKind: { valueSet: ["", "quickfix", "refactor", "refactor.rewrite"] },
          },
        },
        publishDiagnostics: { relatedInformation: true, versionSupport: true, dataSupport: true },
        documentLink: { tooltipSupport: true },
      },
      workspace: { configuration: true, didChangeConfiguration: { dynamicRegistration: true }, symbol: {} },
    },
  });
  const completion = init.capabilities.completionProvider;
  assert.deepEqual(completion?.triggerCharacters, ["@", " "]);
  assert.equal(completion?.resolveProvider, true);
  await connection.sendNotification(InitializedNotification.type, {});
  // vscode-languageclient with `synchronize.configurationSection: "d5e"` sends the section.
  await connection.sendNotification(DidChangeConfigurationNotification.type, { settings: { d5e: settings } });
});

after(async () => {
  if (!command) {
    return;
  }
  await connection.sendRequest(ShutdownRequest.type);
  await connection.sendNotification(ExitNotification.type);
  const code = await new Promise<number | null>((resolve) => daemon.once("exit", resolve));
  connection.dispose();
  assert.equal(code, 0);
});

test("diagnostics in UTF-16 positions, with did you mean", { skip }, async () => {
  const diagnostics = nextDiagnostics();
  await connection.sendNotification(DidOpenTextDocumentNotification.type, {
    textDocument: { uri: URI, languageId: "markdown", version: 1, text: TEXT },
  });
  const { diagnostics: found } = await diagnostics;
  assert.deepEqual(
    found.map((d) => [d.range, d.code, d.message]),
    [
      [
        { start: { line: 0, character: 14 }, end: { line: 0, character: 21 } },
        "unknown-ref",
        "unknown creature 'goblinn'; did you mean \"goblin\" or \"hobgoblin\"?",
      ],
      [
        { start: { line: 1, character: 5 }, end: { line: 1, character: 16 } },
        "unclosed-tag",
        'tag "{@spell fir" is not closed: a tag ends with "}" on its line',
      ],
    ],
  );
});

test("completion inside {@spell fir, then resolve", { skip }, async () => {
  const list = (await connection.sendRequest("textDocument/completion", {
    textDocument: { uri: URI },
    position: { line: 1, character: 16 },
  })) as CompletionList;
  assert.equal(list.isIncomplete, true);
  const [first, second] = list.items;
  assert.deepEqual([first.label, first.detail, first.textEdit], [
    "Fireball",
    "3rd-level evocation",
    { range: { start: { line: 1, character: 13 }, end: { line: 1, character: 16 } }, newText: "fireball}" },
  ]);
  assert.equal(second.label, "Fire Bolt");
  const resolved = await connection.sendRequest("completionItem/resolve", first);
  const docs = (resolved as { documentation: MarkupContent }).documentation;
  assert.equal(docs.kind, "markdown");
  assert.ok(docs.value.startsWith("## Fireball\n\n*3rd-level evocation*"));
});

test("hover shows the card with its attribution", { skip }, async () => {
  const hover = (await connection.sendRequest("textDocument/hover", {
    textDocument: { uri: URI },
    position: { line: 2, character: 10 },
  })) as { contents: MarkupContent; range: unknown };
  assert.deepEqual(hover.range, { start: { line: 2, character: 6 }, end: { line: 2, character: 23 } });
  assert.ok(hover.contents.value.startsWith("## Fireball"));
  assert.ok(hover.contents.value.includes("System Reference Document 5.1"));
});

test("the quick fix, applied and sent back as an incremental change", { skip }, async () => {
  const actions = (await connection.sendRequest("textDocument/codeAction", {
    textDocument: { uri: URI },
    range: { start: { line: 0, character: 16 }, end: { line: 0, character: 16 } },
    context: { diagnostics: published[published.length - 1].diagnostics, only: ["quickfix"] },
  })) as CodeAction[];
  const preferred = actions.find((a) => a.isPreferred);
  assert.ok(preferred, "a preferred quick fix");
  assert.equal(preferred.title, 'Replace with "goblin"');
  const edits = preferred.edit!.changes![URI];
  const text = TextDocument.applyEdits(doc, edits);
  assert.equal(text.split("\n")[0], "🐉 {@creature goblin} waits.");
  const diagnostics = nextDiagnostics();
  doc = TextDocument.update(doc, edits.map((e) => ({ range: e.range, text: e.newText })), 2);
  await connection.sendNotification(DidChangeTextDocumentNotification.type, {
    textDocument: { uri: URI, version: 2 },
    contentChanges: edits.map((e) => ({ range: e.range, text: e.newText })),
  });
  // the tag being typed on the next line is left (completion closes it)
  assert.deepEqual((await diagnostics).diagnostics.map((d) => d.code), ["unclosed-tag"]);
});

test("go to definition opens a d5e:// document", { skip }, async () => {
  const location = (await connection.sendRequest("textDocument/definition", {
    textDocument: { uri: URI },
    position: { line: 2, character: 10 },
  })) as Location;
  assert.equal(location.uri, "d5e://srd-2014/spells/fireball.md");
  const document = (await connection.sendRequest("d5e/document", { uri: location.uri })) as { text: string };
  assert.ok(document.text.startsWith("## Fireball"));
});

test("search rules: the tag of the first hit", { skip }, async () => {
  const result = (await connection.sendRequest("d5e/search", { query: "fireball explosion", limit: 5 })) as SearchResult;
  assert.equal(qualifiedRef(result.hits[0]), "srd-2014:spells/fireball");
  const tag = (await connection.sendRequest("d5e/tagFor", { ref: qualifiedRef(result.hits[0]) })) as { text: string };
  assert.equal(tag.text, "{@spell fireball}");
});
