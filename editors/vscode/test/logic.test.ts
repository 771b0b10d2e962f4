// The extension's logic that does not need VS Code.
import { strict as assert } from "node:assert";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";

import {
  collectionLines,
  daemonPath,
  daemonSettings,
  entryUri,
  errorMessage,
  firstCompletionTimings,
  hitItem,
  ignoredPathMessage,
  inUnfinishedTag,
  overrideLines,
  packDescription,
  packProblems,
  packTooltip,
  parseEntries,
  parsePriority,
  qualifiedRef,
  serverCommand,
  startTimings,
  suggestInTag,
} from "../src/logic";

test("settings become the daemon's settings; an unset edition is left to d5e.toml", () => {
  assert.deepEqual(daemonSettings({}), { packs: {}, disabled: [] });
  assert.equal("edition" in daemonSettings({ edition: undefined }), false);
  assert.deepEqual(
    daemonSettings({ edition: "2024", packs: { "my-brew": 50 }, disabled: ["srd-2014"], path: "/x/d5e" }),
    { edition: "2024", packs: { "my-brew": 50 }, disabled: ["srd-2014"] },
  );
  assert.equal("party" in daemonSettings({ party: [] }), false); // unset: d5e.toml's party
  assert.deepEqual(daemonSettings({ party: [3, 3, 3, 3] }).party, [3, 3, 3, 3]);
  assert.equal("statBlocks" in daemonSettings({ statBlocks: undefined }), false); // d5e.toml's
  assert.equal(daemonSettings({ statBlocks: "homebrewery" }).statBlocks, "homebrewery");
});

test("d5e.path is the user's: a campaign folder's value is ignored, and the writer told", () => {
  // a campaign's .vscode/settings.json: {"d5e.path": "./tools/evil.sh"}
  const folder = daemonPath({ workspaceFolderValue: "./tools/evil.sh" });
  assert.deepEqual(serverCommand({ path: folder.path }), { command: "d5e", args: ["serve"] });
  assert.deepEqual(folder, { ignored: "./tools/evil.sh" });
  assert.deepEqual(daemonPath({ workspaceValue: "/tmp/evil" }), { ignored: "/tmp/evil" });
  // the user's own value is used, over a workspace's
  assert.deepEqual(daemonPath({ globalValue: "/opt/d5e/bin/d5e" }), { path: "/opt/d5e/bin/d5e" });
  assert.deepEqual(daemonPath({ globalValue: "/opt/d5e/bin/d5e", workspaceFolderValue: "./evil.sh" }), {
    path: "/opt/d5e/bin/d5e",
    ignored: "./evil.sh",
  });
  // the same value in both: nothing to tell
  assert.deepEqual(daemonPath({ globalValue: "/opt/d5e", workspaceValue: "/opt/d5e" }), { path: "/opt/d5e" });
  assert.deepEqual(daemonPath(undefined), {});
  assert.equal(
    ignoredPathMessage("./tools/evil.sh", undefined),
    'd5e: the workspace\'s "d5e.path" ("./tools/evil.sh") is ignored: a campaign folder cannot choose the program d5e runs; ' +
      'set "d5e.path" in your user settings if it is yours. Running "d5e".',
  );
});

test("package.json: d5e runs in Restricted Mode, d5e.path from the user's settings only", () => {
  const manifest = JSON.parse(readFileSync(join(__dirname, "..", "..", "package.json"), "utf8"));
  const trust = manifest.capabilities.untrustedWorkspaces;
  assert.equal(trust.supported, "limited");
  assert.deepEqual(trust.restrictedConfigurations, ["d5e.path"]);
  assert.match(trust.description, /d5e\.path/);
  const settings: Record<string, { scope?: string }> = manifest.contributes.configuration.properties;
  assert.equal(settings["d5e.path"].scope, "application"); // the user's settings only
  // what a campaign may set: the settings the daemon treats as the campaign's
  for (const name of ["edition", "packs", "disabled", "party", "statBlocks"]) {
    assert.equal(settings[`d5e.${name}`].scope, "resource", name);
  }
  assert.deepEqual(Object.keys(settings).sort(), [
    "d5e.disabled",
    "d5e.edition",
    "d5e.packs",
    "d5e.party",
    "d5e.path",
    "d5e.searchLimit",
    "d5e.statBlocks",
  ]);
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

const brew = {
  pack: { id: "ashen-hills", title: "The Ashen Hills", version: "1.0.0", license: "CC-BY-4.0", attribution: "The Ashen Hills, CC-BY-4.0." },
  installed: true,
  kind: "folder",
  origin: "/campaign/ashen-hills",
  entries: 6,
  collections: { spells: 1, monsters: 2 },
  enabled: true,
  priority: 50,
  collectionPriorities: { spells: 5 },
  reason: "default",
};

test("a pack reads as its id, its state and its size; collections with their own priority", () => {
  assert.equal(packDescription(brew), "ashen-hills · priority 50 · 6 entries");
  assert.equal(packDescription({ ...brew, enabled: false }), "ashen-hills · off · 6 entries");
  assert.equal(packDescription({ ...brew, installed: false }), "ashen-hills · not installed");
  const off = { ...brew, enabled: false, priority: null, reason: null, off: "disabled in /campaign/d5e.toml" };
  assert.equal(packDescription(off), "ashen-hills · off · 6 entries · disabled in /campaign/d5e.toml");
  assert.ok(packTooltip(off).includes("Off: disabled in /campaign/d5e.toml"), packTooltip(off));
  assert.deepEqual(collectionLines(brew), [
    { collection: "monsters", label: "monsters", description: "2 entries" },
    { collection: "spells", label: "spells", description: "1 entry · priority 5" },
  ]);
  const tooltip = packTooltip(brew);
  assert.ok(tooltip.includes("Licence: CC-BY-4.0"), tooltip);
  assert.ok(tooltip.includes("Priority 50: its default priority"), tooltip);
});

test("a pack's problems: its own, located, and the list's warnings that name it", () => {
  const warnings = ["ashen-hills and my-brew have the same priority 50 for 2 refs", "ashen-hills-2 is broken"];
  const info = { ...brew, problems: [{ file: "spells/x.md", line: 3, column: 1, field: "level", message: "expected an integer" }] };
  assert.deepEqual(packProblems(info, warnings), [
    "spells/x.md:3:1: level: expected an integer",
    "ashen-hills and my-brew have the same priority 50 for 2 refs",
  ]);
  assert.deepEqual(packProblems(brew, []), []);
});

test("priorities typed by the user", () => {
  assert.equal(parsePriority(" 60 "), 60);
  assert.equal(parsePriority("-5"), -5);
  assert.equal(parsePriority(""), null);
  assert.ok(typeof parsePriority("high") === "object");
  assert.ok(typeof parsePriority("99999999") === "object");
});

test("entries to upload: a list, one entry, or {entries}; errors say what is wrong", () => {
  assert.deepEqual(parseEntries('[{"name": "Ash Bolt"}]', "x.json"), { entries: [{ name: "Ash Bolt" }] });
  assert.deepEqual(parseEntries('{"name": "Ash Bolt"}', "x.json"), { entries: [{ name: "Ash Bolt" }] });
  assert.deepEqual(parseEntries('{"entries": [{"name": "A"}, {"name": "B"}]}', "x.json"), { entries: [{ name: "A" }, { name: "B" }] });
  assert.match((parseEntries("{name", "the selection") as { error: string }).error, /^the selection is not JSON/);
  assert.equal((parseEntries("[1]", "x.json") as { error: string }).error, 'x.json: item 0 is not an entry object ({"name": …})');
  assert.equal((parseEntries("[]", "x.json") as { error: string }).error, "x.json holds no entries");
});

test("typing inside a tag's name opens the suggestions; elsewhere it does not", () => {
  assert.equal(suggestInTag("Cast {@spell f", "f"), true);
  assert.equal(suggestInTag("Cast {@spell fire b", "b"), true);
  assert.equal(suggestInTag("Cast {@spell fir", " "), false); // the space is a trigger character already
  assert.equal(suggestInTag("Cast {@spell fireball}", "}"), false);
  assert.equal(suggestInTag("Cast {@spell fireball|srd-2014", "4"), false);
  assert.equal(suggestInTag("Cast fire", "e"), false);
  assert.equal(suggestInTag("Cast {@spell fir", "ir"), false); // a paste, not typing
});

test("the daemon ready: the suggestions open where a tag's name is being written", () => {
  assert.equal(inUnfinishedTag("Cast {@spell fir"), true);
  assert.equal(inUnfinishedTag("Cast {@spell "), true);
  assert.equal(inUnfinishedTag("Cast {@spell fireball}"), false);
  assert.equal(inUnfinishedTag("Cast {@spell fireball|srd-2014"), false);
  assert.equal(inUnfinishedTag("Cast {@spell"), false);
  assert.equal(inUnfinishedTag("Cast fire"), false);
});

test("the output says when the daemon started and answered, from the activation", () => {
  assert.equal(
    startTimings(1000, 1004, 1850),
    "d5e: the daemon was started 4 ms after activation and answered initialize 850 ms after it",
  );
  // spawned as VS Code loaded the extension's module, before activate() ran
  assert.equal(
    startTimings(1000, 700, 1850),
    "d5e: the daemon was started -300 ms after activation and answered initialize 850 ms after it",
  );
});

test("the output says when the first completion was asked and answered, from the activation", () => {
  assert.equal(
    firstCompletionTimings(1000, 1900, 1960, 12),
    "d5e: the first completion was asked 900 ms after activation and answered 960 ms after it (12 items)",
  );
});

test("what a pack overrides, per pack it hides entries of", () => {
  const info = { ...brew, overrides: { "srd-2014": { spells: 1, monsters: 2 }, "my-brew": { monsters: 1 } } };
  assert.deepEqual(overrideLines(info), [
    { over: "my-brew", count: 1, description: "1 monsters" },
    { over: "srd-2014", count: 3, description: "2 monsters, 1 spells" },
  ]);
  assert.ok(packTooltip(info).includes("Overrides: 1 monsters of my-brew; 2 monsters, 1 spells of srd-2014"));
  assert.deepEqual(overrideLines(brew), []);
});
