// The extension's settings beside a campaign's d5e.toml, against the real daemon: what the user
// left unset is the workspace's to decide, what the user set wins. Started by
// tests/test_editors.py with D5E_TEST_CMD (a JSON list: the daemon) and D5E_TEST_DIR.
import { strict as assert } from "node:assert";
import { spawn } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { pathToFileURL } from "node:url";

import {
  ExitNotification,
  InitializeRequest,
  InitializedNotification,
  ShutdownRequest,
  StreamMessageReader,
  StreamMessageWriter,
  createProtocolConnection,
} from "vscode-languageserver-protocol/node";

import { D5eConfig, daemonSettings } from "../src/logic";

const command: string[] | undefined = process.env.D5E_TEST_CMD ? JSON.parse(process.env.D5E_TEST_CMD) : undefined;
const skip = command && process.env.D5E_TEST_DIR ? false : "set D5E_TEST_CMD and D5E_TEST_DIR (tests/test_editors.py does)";

/** The edition the daemon settles on for a campaign whose d5e.toml asks for 2024. */
async function editionIn2024Campaign(config: D5eConfig): Promise<string> {
  const folder = join(process.env.D5E_TEST_DIR!, "campaign-2024");
  mkdirSync(folder, { recursive: true });
  writeFileSync(join(folder, "d5e.toml"), 'edition = "2024"\n');
  const daemon = spawn(command![0], command!.slice(1), { stdio: ["pipe", "pipe", "inherit"] });
  const connection = createProtocolConnection(
    new StreamMessageReader(daemon.stdout!),
    new StreamMessageWriter(daemon.stdin!),
  );
  connection.listen();
  const root = pathToFileURL(folder).href;
  await connection.sendRequest(InitializeRequest.type, {
    processId: process.pid,
    rootUri: root,
    workspaceFolders: [{ uri: root, name: "campaign-2024" }],
    initializationOptions: daemonSettings(config),
    capabilities: {},
  });
  await connection.sendNotification(InitializedNotification.type, {});
  const status = await connection.sendRequest<{ edition: string }>("d5e/status", {});
  await connection.sendRequest(ShutdownRequest.type);
  await connection.sendNotification(ExitNotification.type);
  await new Promise((resolve) => daemon.once("exit", resolve));
  connection.dispose();
  return status.edition;
}

test("an edition left unset in the editor is the campaign's d5e.toml's", { skip }, async () => {
  assert.equal(await editionIn2024Campaign({}), "2024");
});

test("an edition set in the editor wins over d5e.toml", { skip }, async () => {
  assert.equal(await editionIn2024Campaign({ edition: "2014" }), "2014");
});
