// Which campaign's daemon serves a document when a window holds several campaigns (a multi-root
// workspace): folders with their own d5e.toml on disk, as a user lays them out.
import { strict as assert } from "node:assert";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, parse } from "node:path";
import { after, test } from "node:test";

import {
  DEFAULT,
  campaignLabel,
  campaignOf,
  campaignsToStop,
  cardCampaign,
  cardQuery,
  entryUri,
  folderCampaigns,
  foldersAbove,
  hasCampaignConfig,
  isWithin,
} from "../src/logic";

const root = mkdtempSync(join(tmpdir(), "d5e-campaigns-"));
after(() => rmSync(root, { recursive: true, force: true }));

/** A folder, with a d5e.toml when `campaign` says so. */
function folder(path: string, campaign = false): string {
  const full = join(root, path);
  mkdirSync(full, { recursive: true });
  if (campaign) {
    writeFileSync(join(full, "d5e.toml"), 'edition = "2024"\n');
  }
  return full;
}

const strahd = folder("strahd", true); // a campaign: d5e.toml at its top
const chapters = folder("strahd/chapters"); // opened as a folder of its own too
const side = folder("strahd/side-quest", true); // a campaign of its own inside strahd's folder
const phandelver = folder("phandelver", true);
const notes = folder("notes"); // no d5e.toml anywhere above it
const drafts = folder("notes/drafts");
const folders = [strahd, phandelver, chapters, side, notes, drafts];
const of = (path: string | undefined, within = folders) => campaignOf(path, within, hasCampaignConfig);

test("a document is its campaign's: the folder of the nearest d5e.toml above it", () => {
  assert.equal(of(join(strahd, "intro.md")), strahd);
  assert.equal(of(join(phandelver, "act1", "goblins.md")), phandelver);
  assert.equal(of(join(side, "hook.md")), side);
});

test("a folder nested in another folder's campaign shares that campaign's daemon", () => {
  assert.equal(of(join(chapters, "1-death-house.md")), strahd);
  assert.deepEqual(folderCampaigns(folders, hasCampaignConfig), [strahd, phandelver, side, notes]);
});

test("without a d5e.toml the outermost workspace folder holding the document is the campaign", () => {
  assert.equal(of(join(drafts, "idea.md")), notes);
  assert.equal(of(join(drafts, "idea.md"), [drafts]), drafts);
});

test("untitled documents and files outside every folder go to the default daemon", () => {
  assert.equal(of(undefined), DEFAULT);
  // a window of one campaign: an untitled document is that campaign's, as it always was
  assert.equal(of(undefined, [strahd, chapters]), strahd);
  assert.equal(of(undefined, []), DEFAULT);
  assert.equal(of(join(root, "loose.md")), DEFAULT);
  // a folder's name that begins like another's is not inside it
  assert.equal(of(join(root, "strahd-old", "x.md")), DEFAULT);
  assert.equal(campaignLabel(DEFAULT), "no campaign");
  assert.equal(campaignLabel(strahd), "strahd");
});

test("removing a folder stops the daemons of the campaigns no folder is in any more", () => {
  const running = [strahd, phandelver, side, DEFAULT];
  assert.deepEqual(campaignsToStop(running, folders), []);
  // phandelver removed: its daemon stops; the default daemon never does here
  assert.deepEqual(campaignsToStop(running, [strahd, chapters, side, notes]), [phandelver]);
  // strahd's folder removed, its chapters still open: the chapters are strahd's campaign
  assert.deepEqual(campaignsToStop(running, [chapters, phandelver]), [side]);
  assert.deepEqual(campaignsToStop(running, []), [strahd, phandelver, side]);
});

test("a d5e.toml written or deleted while documents are open: they are their new campaign's", () => {
  // what the extension's watcher of **/d5e.toml acts on (the documents had to be reopened)
  const lmop = folder("lmop"); // a workspace folder without a d5e.toml: the campaign is the folder
  const act2 = folder("lmop/act2");
  const within = [lmop];
  const chapter = join(act2, "cragmaw.md");
  assert.equal(of(chapter, within), lmop);
  writeFileSync(join(act2, "d5e.toml"), 'edition = "2024"\n'); // act2 is a campaign of its own now
  assert.equal(of(chapter, within), act2);
  assert.equal(of(join(lmop, "intro.md"), within), lmop);
  assert.deepEqual(campaignsToStop([lmop, act2, DEFAULT], within, hasCampaignConfig), []);
  rmSync(join(act2, "d5e.toml")); // and is no more: its chapter is lmop's, its daemon stops
  assert.equal(of(chapter, within), lmop);
  assert.deepEqual(campaignsToStop([lmop, act2, DEFAULT], within, hasCampaignConfig), [act2]);
  // a workspace folder is a campaign with or without one
  rmSync(join(strahd, "d5e.toml"));
  try {
    assert.deepEqual(campaignsToStop([strahd, side], folders, hasCampaignConfig), []);
  } finally {
    writeFileSync(join(strahd, "d5e.toml"), 'edition = "2024"\n');
  }
});

test("a d5e:// card names the campaign whose daemon made it", () => {
  const uri = new URL(entryUri({ pack: "brew", collection: "spells", slug: "cinder-step" }, join(root, "a b+c")));
  assert.equal(uri.pathname, "/spells/cinder-step.md");
  assert.equal(cardCampaign(uri.search.slice(1)), join(root, "a b+c"));
  assert.equal(cardCampaign(cardQuery(DEFAULT)), DEFAULT);
  assert.equal(cardCampaign(""), undefined); // a card typed by hand: the active campaign's
});

test("the d5e.toml files above the workspace folders are watched too: every folder a campaign's may be in", () => {
  // a campaign's chapters/ opened alone, beside a folder of its own; the campaign's d5e.toml
  // above the chapters is found by walking up, so its creation and deletion must be seen there
  const chapters = folder("above/strahd/chapters");
  const notes = folder("above/notes");
  const nested = folder("above/notes/session-1");
  const watched = foldersAbove([chapters, notes, nested]);
  assert.ok(watched.includes(join(root, "above", "strahd")));
  assert.ok(watched.includes(join(root, "above")) && watched.includes(root));
  assert.ok(watched.includes(dirname(root)) && watched.includes(parse(root).root));
  // none inside a workspace folder (its own glob sees those), each once
  assert.ok(![chapters, notes, nested].some((f) => watched.some((w) => isWithin(w, f))));
  assert.equal(new Set(watched).size, watched.length);
  writeFileSync(join(root, "above", "strahd", "d5e.toml"), 'edition = "2014"\n');
  assert.equal(campaignOf(join(chapters, "one.md"), [chapters, notes], hasCampaignConfig), join(root, "above", "strahd"));
});
