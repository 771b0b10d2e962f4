// What the extension decides without VS Code: settings → daemon options, how search hits and
// errors read, the d5e:// URI of an entry. Tested with node (test/logic.test.ts).

export const METHOD_NOT_FOUND = -32601;

/** The `d5e.*` settings as VS Code hands them over. */
export interface D5eConfig {
  path?: string;
  edition?: string;
  packs?: Record<string, number>;
  disabled?: string[];
  searchLimit?: number;
}

/** The settings the daemon reads (initializationOptions and workspace/didChangeConfiguration). */
export interface DaemonSettings {
  edition?: string;
  packs: Record<string, number>;
  disabled: string[];
}

/** Only what the user set: a value sent here wins over the workspace's d5e.toml, so an unset
 * edition is left out (packs and disabled packs add to d5e.toml's). */
export function daemonSettings(config: D5eConfig): DaemonSettings {
  return {
    ...(config.edition ? { edition: config.edition } : {}),
    packs: { ...(config.packs ?? {}) },
    disabled: [...(config.disabled ?? [])],
  };
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

/** The d5e:// URI of an entry (a lookup result's `entry`): its read-only rendered card. */
export function entryUri(entry: { pack: string; collection: string; slug: string }): string {
  return `d5e://${entry.pack}/${entry.collection}/${entry.slug}.md`;
}
