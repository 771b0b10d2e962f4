// The TypeScript MCP SDK's own client (`Client` over `StdioClientTransport`) driving `d5e mcp`,
// as an agent framework on that SDK does: tests/test_mcp_ts.py runs it and checks what it prints
// (one JSON object). The SDK's client checks each tool's structured result against the tool's
// output schema, and throws when it does not match.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { ResourceListChangedNotificationSchema } from "@modelcontextprotocol/sdk/types.js";

const [command, ...args] = JSON.parse(process.argv[2]);
const keep = ["D5E_DB", "D5E_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME", "D5E_EMBEDDER", "HOME", "PATH"];
const env = Object.fromEntries(keep.filter((k) => k in process.env).map((k) => [k, process.env[k]]));
const transport = new StdioClientTransport({ command, args, env, stderr: "inherit" });
const client = new Client({ name: "d5e-ts-test", version: "0.0.0" });
let changed = 0;
client.setNotificationHandler(ResourceListChangedNotificationSchema, () => {
  changed += 1;
});
await client.connect(transport);

const out = { capabilities: client.getServerCapabilities(), server: client.getServerVersion() };
const tools = (await client.listTools()).tools;
out.tools = tools.map((t) => t.name);
out.described = Object.fromEntries(
  tools.map((t) => [t.name, { title: t.title, annotations: t.annotations, output: !!t.outputSchema }]),
);
// Every tool, its empty answers and its errors: the client throws where a structured result
// does not match the tool's output schema (an error carries none, and is not checked).
const asked = {
  filters: { collections: ["spells"] },
  filtersAll: {},
  complete: { prefix: "fireb" },
  completeNone: { prefix: "qqqqzz" },
  resolve: { text: "{@spell fireball} and {@creature nosuch}" },
  resolveNone: { text: "" },
  packs: {},
  searchNone: { query: "zzqqxx", mode: "keyword" },
  searchUnknownPack: { query: "fire", packs: ["nope"] },
  listing: { query: "", filters: { cr: "1/2", type: "beast", speed: "swim" }, limit: 50 },
  long: { query: "fire", limit: 500 },
  encounter2024: { party: "four level 3 characters", monsters: ["4 wolves", { name: "Flame", cr: "1/2" }], rules: "2024" },
  encounterNone: { party: [3, 3, 3, 3], monsters: [] },
  lookupRef: { ref: "d5e://srd-2014/monsters/mimic.md" },
  badArgument: { query: "fire", mode: "fuzzy" },
};
const tool = { filtersAll: "filters", completeNone: "complete", resolve: "resolve_tags", resolveNone: "resolve_tags", searchNone: "search", searchUnknownPack: "search", listing: "search", long: "search", encounter2024: "encounter", encounterNone: "encounter", lookupRef: "lookup", badArgument: "search" };
out.calls = {};
for (const [key, args] of Object.entries(asked)) {
  out.calls[key] = await client.callTool({ name: tool[key] ?? key, arguments: args });
}
out.lookup = await client.callTool({ name: "lookup", arguments: { name: "Mordenkainen's Sword" } });
out.search = await client.callTool({ name: "search", arguments: { query: "breathe under water", limit: 3 } });
out.encounter = await client.callTool({ name: "encounter", arguments: { party: "5,5,5,5", monsters: "3 trolls" } });
out.misspelt = await client.callTool({ name: "lookup", arguments: { name: "firebal" } });
let cursor;
out.resources = { count: 0, pages: 0, first: null };
do {
  const page = await client.listResources(cursor ? { cursor } : {});
  out.resources.first ??= page.resources[0].uri;
  out.resources.count += page.resources.length;
  out.resources.pages += 1;
  cursor = page.nextCursor;
} while (cursor);
out.card = await client.readResource({ uri: "d5e://srd-2014/spells/fireball.md" });
out.templates = (await client.listResourceTemplates()).resourceTemplates.map((t) => t.uriTemplate);
out.completion = await client.complete({
  ref: { type: "ref/resource", uri: "d5e://{pack}/{collection}/{slug}.md" },
  argument: { name: "slug", value: "firebal" },
  context: { arguments: { pack: "srd-2014", collection: "spells" } },
});
out.packsResource = await client.readResource({ uri: "d5e://packs" });
out.difficulties = await client.complete({
  ref: { type: "ref/prompt", name: "prepare_encounter" },
  argument: { name: "difficulty", value: "d" },
});
out.prompts = (await client.listPrompts()).prompts;
out.prompt = await client.getPrompt({ name: "explain_rule", arguments: { question: "How does grappling work?" } });
out.changed = changed;
console.log(JSON.stringify(out));
await client.close();
