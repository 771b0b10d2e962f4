// The extension's logic that does not need VS Code.
import { strict as assert } from "node:assert";
import { test } from "node:test";

import { daemonSettings, entryUri, errorMessage, hitItem, qualifiedRef, serverCommand } from "../src/logic";

test("settings become the daemon's settings; an unset edition is left to d5e.toml", () => {
  assert.deepEqual(daemonSettings({}), { packs: {}, disabled: [] });
  assert.equal("edition" in daemonSettings({ edition: undefined }), false);
  assert.deepEqual(
    daemonSettings({ edition: "2024", packs: { "my-brew": 50 }, disabled: ["srd-2014"], path: "/x/d5e" }),
    { edition: "2024", packs: { "my-brew": 50 }, disabled: ["srd-2014"] },
  );
});

test("the daemon starts as `<path> serve`", () => {
  assert.deepEqual(serverCommand({}), { command: "d5e", args: ["serve"] });
  assert.deepEqual(serverCommand({ path: "  " }), { command: "d5e", args: ["serve"] });
  assert.deepEqual(serverCommand({ path: "/opt/d5e/bin/d5e" }), { command: "/opt/d5e/bin/d5e", args: ["serve"] });
});

test("a search hit reads as name, collection and pack, and the matching text", () => {
  const hit = { ref: "spells/fireball", pack: "srd-2014", name: "Fireball", collection: "spells", score: 0.9, snippet: "A bright\n  streak flashes" };
  assert.deepEqual(hitItem(hit), { label: "Fireball", description: "spells · srd-2014", detail: "A bright streak flashes" });
  assert.equal(qualifiedRef(hit), "srd-2014:spells/fireball");
});

test("a missing method is explained, other errors are passed on", () => {
  assert.equal(errorMessage("d5e/search", { code: -32601, message: "Method Not Found" }), "d5e: this d5e daemon does not offer d5e/search yet; update d5e");
  assert.equal(errorMessage("d5e/lookup", { code: -32001, message: "no entry named 'x'" }), "d5e: d5e/lookup failed: no entry named 'x'");
});

test("entries open as d5e:// documents", () => {
  assert.equal(entryUri({ pack: "srd-2014", collection: "monsters", slug: "goblin" }), "d5e://srd-2014/monsters/goblin.md");
});
