// What the extension decides without VS Code: settings → daemon options, how search hits and
// errors read, the d5e:// URI of an entry, which campaign's daemon serves a document. Tested
// with node (test/logic.test.ts, test/campaigns.test.ts).
import { statSync } from "node:fs";
import { basename, dirname, isAbsolute, join, relative, sep } from "node:path";

export const METHOD_NOT_FOUND = -32601;

/** The `d5e.*` settings as VS Code hands them over. */
export interface D5eConfig {
  path?: string;
  edition?: string;
  packs?: Record<string, number>;
  disabled?: string[];
  party?: number[];
  statBlocks?: string;
  searchLimit?: number;
}

/** The settings the daemon reads (initializationOptions and workspace/didChangeConfiguration). */
export interface DaemonSettings {
  edition?: string;
  packs: Record<string, number>;
  disabled: string[];
  party?: number[];
  statBlocks?: string;
}

/** Only what the user set: a value sent here wins over the workspace's d5e.toml, so an unset
 * edition is left out (packs and disabled packs add to d5e.toml's). */
export function daemonSettings(config: D5eConfig): DaemonSettings {
  return {
    ...(config.edition ? { edition: config.edition } : {}),
    packs: { ...(config.packs ?? {}) },
    disabled: [...(config.disabled ?? [])],
    ...(config.party && config.party.length ? { party: [...config.party] } : {}),
    ...(config.statBlocks ? { statBlocks: config.statBlocks } : {}),
  };
}

/** Who set `d5e.path` to what (`WorkspaceConfiguration.inspect("path")`). */
export interface PathInspection {
  globalValue?: string;
  workspaceValue?: string;
  workspaceFolderValue?: string;
}

/** The `d5e.path` d5e runs as its daemon: the user's (user or remote settings), else the
 * default. A workspace's or a folder's value (a `.vscode/settings.json` or `.code-workspace` in a
 * campaign someone else wrote) is never used, whatever VS Code hands over: a campaign folder
 * cannot choose the program d5e runs. `ignored` is the value left aside, to tell the writer. */
export function daemonPath(inspected: PathInspection | undefined): { path?: string; ignored?: string } {
  const chosen: { path?: string; ignored?: string } = {};
  if (inspected?.globalValue !== undefined) {
    chosen.path = inspected.globalValue;
  }
  const ignored = inspected?.workspaceFolderValue ?? inspected?.workspaceValue;
  if (ignored !== undefined && ignored !== chosen.path) {
    chosen.ignored = ignored;
  }
  return chosen;
}

/** What the writer is told, once, of a workspace's `d5e.path` left aside. */
export function ignoredPathMessage(ignored: string, used: string | undefined): string {
  const command = serverCommand({ path: used }).command;
  return (
    `d5e: the workspace's "d5e.path" (${JSON.stringify(ignored)}) is ignored: a campaign folder ` +
    `cannot choose the program d5e runs; set "d5e.path" in your user settings if it is yours. ` +
    `Running ${JSON.stringify(command)}.`
  );
}

/** How to start the daemon: `<path> serve`. */
export function serverCommand(config: D5eConfig): { command: string; args: string[] } {
  const path = (config.path ?? "").trim();
  return { command: path === "" ? "d5e" : path, args: ["serve"] };
}

/** One result of `d5e/search` (the contract of the search method). */
export interface SearchHit {
  ref: string;
  pack: string;
  name: string;
  collection: string;
  score: number;
  snippet: string;
}

export interface SearchResult {
  hits: SearchHit[];
  semantic: boolean;
}

/** A quick pick line for a hit: the name, where it comes from, and the matching text. */
export function hitItem(hit: SearchHit): { label: string; description: string; detail: string } {
  return {
    label: hit.name,
    description: `${hit.collection} · ${hit.pack}`,
    detail: hit.snippet.replace(/\s+/g, " ").trim(),
  };
}

/** The qualified ref `d5e/tagFor` takes for a hit. */
export function qualifiedRef(hit: Pick<SearchHit, "pack" | "ref">): string {
  return `${hit.pack}:${hit.ref}`;
}

/** What an error from the daemon means to the user. */
export function errorMessage(method: string, error: { code?: number; message?: string }): string {
  if (error.code === METHOD_NOT_FOUND) {
    return `d5e: this d5e daemon does not offer ${method} yet; update d5e`;
  }
  return `d5e: ${method} failed: ${error.message ?? String(error)}`;
}

/** The d5e:// URI of an entry (a lookup result's `entry`): its read-only rendered card; with
 * `campaign`, the card as that campaign's daemon shows it (`cardQuery`). */
export function entryUri(entry: { pack: string; collection: string; slug: string }, campaign?: string): string {
  const query = campaign === undefined ? "" : `?${cardQuery(campaign)}`;
  return `d5e://${entry.pack}/${entry.collection}/${entry.slug}.md${query}`;
}

// -- several campaigns in one window ---------------------------------------------------------
//
// Each campaign has its own daemon (its d5e.toml: edition, packs, packPaths). A campaign is
// named by its folder's path; DEFAULT is the daemon of documents outside every workspace folder
// (untitled ones, loose files), which has no campaign.

export const DEFAULT = "";

/** Whether `path` is `folder` or inside it (paths as `Uri.fsPath` gives them). */
export function isWithin(path: string, folder: string): boolean {
  const rel = relative(folder, path);
  return rel === "" || (rel !== ".." && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
}

/** The campaign of a file (`path`, undefined for an untitled document): the folder of the
 * nearest `d5e.toml` at or above it, as the daemon, Neovim and Emacs find it, else the outermost
 * workspace folder holding it; DEFAULT outside every workspace folder. A workspace folder nested
 * in another's campaign is that campaign. An untitled document is the window's campaign when
 * its folders are one campaign, else DEFAULT's. */
export function campaignOf(path: string | undefined, folders: readonly string[], hasConfig: (folder: string) => boolean): string {
  if (path === undefined) {
    const all = folderCampaigns(folders, hasConfig);
    return all.length === 1 ? all[0] : DEFAULT;
  }
  const holding = folders.filter((folder) => isWithin(path, folder));
  if (holding.length === 0) {
    return DEFAULT;
  }
  for (let dir = dirname(path); ; dir = dirname(dir)) {
    if (hasConfig(dir)) {
      return dir;
    }
    if (dirname(dir) === dir) {
      break;
    }
  }
  return holding.reduce((outer, folder) => (folder.length < outer.length ? folder : outer));
}

/** The campaigns of the workspace folders, each once, in the folders' order. */
export function folderCampaigns(folders: readonly string[], hasConfig: (folder: string) => boolean): string[] {
  return [...new Set(folders.map((folder) => campaignOf(`${folder}${sep}_`, folders, hasConfig)))];
}

/** The folders above the workspace folders where a campaign's `d5e.toml` may be (`campaignOf`
 * walks up to them: a campaign's `chapters/` opened alone is the campaign's): each folder's
 * parents up to the root, but none inside a workspace folder (its own watcher sees those), each
 * once. A d5e.toml created or deleted there moves the folder's documents too. */
export function foldersAbove(folders: readonly string[]): string[] {
  const found = new Set<string>();
  for (const folder of folders) {
    for (let dir = dirname(folder); !folders.some((f) => isWithin(dir, f)); dir = dirname(dir)) {
      found.add(dir);
      if (dirname(dir) === dir) {
        break;
      }
    }
  }
  return [...found];
}

/** The campaigns (among `running`) whose daemons to stop once the workspace holds `folders`:
 * those no folder is in, nor inside, and (with `hasConfig`: a d5e.toml was deleted) those that
 * are no campaign any more: no workspace folder, and no d5e.toml of their own. */
export function campaignsToStop(
  running: readonly string[],
  folders: readonly string[],
  hasConfig?: (folder: string) => boolean,
): string[] {
  return running.filter(
    (campaign) =>
      campaign !== DEFAULT &&
      (!folders.some((f) => isWithin(f, campaign) || isWithin(campaign, f)) ||
        (hasConfig !== undefined && !folders.includes(campaign) && !hasConfig(campaign))),
  );
}

/** The query of a d5e:// card made by `campaign`'s daemon (a card is that daemon's to show). */
export function cardQuery(campaign: string): string {
  return `campaign=${encodeURIComponent(campaign)}`;
}

/** The campaign a d5e:// card's query names (DEFAULT: no campaign); undefined when it names
 * none (a card typed or pasted by hand). */
export function cardCampaign(query: string): string | undefined {
  const campaign = new URLSearchParams(query).get("campaign");
  return campaign === null ? undefined : campaign;
}

/** Whether `folder` holds a campaign's `d5e.toml`. */
export function hasCampaignConfig(folder: string): boolean {
  try {
    return statSync(join(folder, "d5e.toml")).isFile();
  } catch {
    return false;
  }
}

/** What a campaign is called where the user picks or sees one: its folder's name. */
export function campaignLabel(campaign: string): string {
  return campaign === DEFAULT ? "no campaign" : basename(campaign) || campaign;
}

// -- the d5e Packs view ------------------------------------------------------------------------

/** A pack's description (`d5e/packs/list` → `packs[].pack`). */
export interface PackMeta {
  id: string;
  title: string;
  version?: string;
  edition?: string | null;
  license?: string;
  attribution?: string;
  description?: string;
  homepage?: string;
  defaultPriority?: number;
}

/** One entry a pack overrides (`d5e/packs/list` with `overrides: PACK`). */
export interface OverrideInfo {
  ref: string;
  name: string;
  collection: string;
  over: string;
  /** It `extends` that entry or a priority rule puts its pack first; else maybe an accident. */
  intended: boolean;
}

/** One pack of the campaign's profile, as `d5e/packs/list` describes it. */
export interface PackInfo {
  pack: PackMeta;
  installed: boolean;
  kind: string;
  origin: string;
  entries?: number;
  collections?: Record<string, number>;
  enabled?: boolean;
  priority?: number | null;
  collectionPriorities?: Record<string, number>;
  reason?: string | null;
  /** Why an installed pack is off, in the daemon's words ("disabled in …/d5e.toml"). */
  off?: string | null;
  /** Entries of other enabled packs it hides: pack → collection → count. */
  overrides?: Record<string, Record<string, number>>;
  problems?: unknown;
}

export interface PacksList {
  profile: string;
  packs: PackInfo[];
  warnings?: string[];
}

const REASONS: Record<string, string> = {
  edition: "the edition turns it on",
  default: "its default priority",
  rule: "a plugin's priority rule",
  command: "chosen in d5e (this view or `d5e packs`)",
  settings: "the workspace's d5e.toml or the editor's settings",
};

/** The short line beside a pack's title. */
export function packDescription(info: PackInfo): string {
  if (!info.installed) {
    return `${info.pack.id} · not installed`;
  }
  const entries = `${info.entries ?? 0} ${info.entries === 1 ? "entry" : "entries"}`;
  const state = info.enabled ? `priority ${info.priority ?? 0}` : "off";
  const why = !info.enabled && info.off ? ` · ${info.off}` : "";
  return `${info.pack.id} · ${state} · ${entries}${why}`;
}

/** The lines under a pack: per collection its entries and its own priority. */
export function collectionLines(info: PackInfo): { collection: string; label: string; description: string }[] {
  const own = info.collectionPriorities ?? {};
  return Object.entries(info.collections ?? {})
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([collection, count]) => ({
      collection,
      label: collection,
      description:
        `${count} ${count === 1 ? "entry" : "entries"}` +
        (collection in own ? ` · priority ${own[collection]}` : ""),
    }));
}

/** The problems that concern a pack: its own (`problems`, when the daemon lists them) and the
 * list's warnings that name it. */
export function packProblems(info: PackInfo, warnings: string[]): string[] {
  const own = Array.isArray(info.problems) ? info.problems.map(problemText) : [];
  const id = info.pack.id;
  const named = warnings.filter((w) => new RegExp(`(^|[^\\w-])${escapeRegExp(id)}($|[^\\w-])`).test(w));
  return [...own, ...named];
}

/** The packs whose entries a pack hides, one line each: "srd-2014", "2 monsters, 1 spell". */
export function overrideLines(info: PackInfo): { over: string; description: string; count: number }[] {
  return Object.entries(info.overrides ?? {})
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([over, byCollection]) => {
      const parts = Object.entries(byCollection).sort(([a], [b]) => a.localeCompare(b));
      return {
        over,
        count: parts.reduce((n, [, c]) => n + c, 0),
        description: parts.map(([collection, c]) => `${c} ${collection}`).join(", "),
      };
    });
}

/** One problem (a string, or a located `PackProblem`) as a line. */
export function problemText(problem: unknown): string {
  if (typeof problem === "string") {
    return problem;
  }
  const p = problem as { file?: string; line?: number; column?: number; field?: string; message?: string };
  const where = [p.file, p.line || undefined, p.column || undefined].filter((x) => x !== undefined).join(":");
  return `${where ? where + ": " : ""}${p.field ? p.field + ": " : ""}${p.message ?? JSON.stringify(problem)}`;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** The hover text of a pack: what it is, its licence and why it has its priority. */
export function packTooltip(info: PackInfo): string {
  const p = info.pack;
  const lines = [`**${p.title}** (${p.id}${p.version ? " " + p.version : ""})`];
  if (p.description) {
    lines.push(p.description);
  }
  lines.push(`Licence: ${p.license || "not given"}`);
  if (p.attribution) {
    lines.push(p.attribution);
  }
  const overrides = overrideLines(info);
  if (overrides.length) {
    lines.push(`Overrides: ${overrides.map((o) => `${o.description} of ${o.over}`).join("; ")}`);
  }
  lines.push(`From: ${info.origin || info.kind} (${info.kind})`);
  if (info.installed && info.enabled && info.reason) {
    lines.push(`Priority ${info.priority ?? 0}: ${REASONS[info.reason] ?? info.reason}`);
  }
  if (info.installed && !info.enabled && info.off) {
    lines.push(`Off: ${info.off}`);
  }
  return lines.join("\n\n");
}

/** A priority typed by the user: an integer, or empty for "the default again" (null). */
export function parsePriority(text: string): number | null | { error: string } {
  const t = text.trim();
  if (t === "" || t === "default") {
    return null;
  }
  if (!/^[+-]?\d+$/.test(t) || Math.abs(Number(t)) > 1_000_000) {
    return { error: "a whole number between -1000000 and 1000000 (higher wins), or empty for the default" };
  }
  return Number(t);
}

/** Entries to upload, from a JSON file or the selection: a list of entry objects, one entry
 * object, or `{"entries": [...]}`. Errors name what is wrong. */
export function parseEntries(text: string, source: string): { entries: Record<string, unknown>[] } | { error: string } {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    return { error: `${source} is not JSON: ${(e as Error).message}` };
  }
  if (data && typeof data === "object" && !Array.isArray(data) && Array.isArray((data as { entries?: unknown }).entries)) {
    data = (data as { entries: unknown[] }).entries;
  }
  const list = Array.isArray(data) ? data : [data];
  const bad = list.findIndex((e) => !e || typeof e !== "object" || Array.isArray(e));
  if (bad >= 0) {
    return { error: `${source}: item ${bad} is not an entry object ({"name": …})` };
  }
  if (list.length === 0) {
    return { error: `${source} holds no entries` };
  }
  return { entries: list as Record<string, unknown>[] };
}

/** Whether the cursor (the line up to it) is in a tag's name being written (`{@spell fir`):
 * where the suggest widget is opened once the daemon is ready. */
export function inUnfinishedTag(lineBefore: string): boolean {
  return /\{@[A-Za-z]+ [^{}|\r\n]*$/.test(lineBefore);
}

/** The output's line about the daemon's start, in ms since the extension was activated
 * (negative: spawned as VS Code loaded the extension, before its activate() ran). */
export function startTimings(activated: number, spawned: number, ready: number): string {
  return `d5e: the daemon was started ${spawned - activated} ms after activation and answered initialize ${ready - activated} ms after it`;
}

/** The output's line about the first completion of a start that offered something: when it
 * was asked and answered. */
export function firstCompletionTimings(activated: number, asked: number, answered: number, items: number): string {
  return `d5e: the first completion was asked ${asked - activated} ms after activation and answered ${answered - activated} ms after it (${items} items)`;
}

/** Whether to open the suggest widget after the user typed a character, given the line up to
 * the cursor: inside a tag's name (`{@spell fir`), where VS Code's Markdown (quick suggestions
 * off) would otherwise show nothing until Ctrl+Space. */
export function suggestInTag(lineBefore: string, typed: string): boolean {
  return typed.length === 1 && /\S/.test(typed) && inUnfinishedTag(lineBefore) && !/\{@[A-Za-z]+ $/.test(lineBefore);
}
