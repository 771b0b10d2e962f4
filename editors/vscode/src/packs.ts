// The "d5e Packs" view: the campaign profile's packs (on/off, priority, entries per collection,
// licence, overrides, problems) and the actions on them, all through `d5e/packs/*`. It refreshes
// on `d5e/packsChanged`, which the daemon sends after any change, from here or elsewhere. In a
// window of several campaigns it shows the active editor's (src/extension.ts says which).
import * as vscode from "vscode";

import {
  PackInfo,
  PacksList,
  OverrideInfo,
  collectionLines,
  entryUri,
  overrideLines,
  packDescription,
  packProblems,
  packTooltip,
  parseEntries,
  parsePriority,
  problemText,
} from "./logic";

type Request = <T>(method: string, params: object) => Promise<T | undefined>;

/** A line of the view: a pack, or one of the lines under it. */
export class PackNode extends vscode.TreeItem {
  constructor(
    readonly info: PackInfo,
    readonly warnings: string[],
  ) {
    super(info.pack.title, vscode.TreeItemCollapsibleState.Collapsed);
    this.id = `pack:${info.pack.id}`;
    this.description = packDescription(info);
    this.tooltip = new vscode.MarkdownString(packTooltip(info));
    const problems = packProblems(info, warnings);
    if (info.installed) {
      this.checkboxState = info.enabled
        ? { state: vscode.TreeItemCheckboxState.Checked, tooltip: `Turn ${info.pack.id} off in this campaign` }
        : { state: vscode.TreeItemCheckboxState.Unchecked, tooltip: `Turn ${info.pack.id} on in this campaign` };
      this.contextValue = `pack.installed.${info.kind}.${info.enabled ? "on" : "off"}`;
      this.iconPath = new vscode.ThemeIcon(problems.length ? "warning" : info.kind === "plugin" ? "extensions" : "package");
    } else {
      this.contextValue = "pack.available";
      this.iconPath = new vscode.ThemeIcon("cloud-download");
    }
    this.accessibilityInformation = { label: `${info.pack.title}, ${this.description}` };
  }
}

class DetailNode extends vscode.TreeItem {
  constructor(
    readonly pack: PackInfo,
    label: string,
    description: string,
    icon: string,
    readonly collection?: string,
    readonly children: DetailNode[] = [],
    /** The pack whose entries this line's children are (an override line, listed on demand). */
    readonly over?: string,
  ) {
    super(label, children.length || over ? vscode.TreeItemCollapsibleState.Collapsed : vscode.TreeItemCollapsibleState.None);
    this.description = description;
    this.tooltip = description ? `${label}: ${description}` : label;
    this.iconPath = new vscode.ThemeIcon(icon);
    this.contextValue = collection ? "pack.collection" : "pack.detail";
  }
}

/** An entry that hides another pack's: opens its card (as `campaign`'s daemon shows it). */
function overrideEntry(info: PackInfo, o: OverrideInfo, campaign: string | undefined): DetailNode {
  const [collection, slug] = o.ref.split("/");
  const node = new DetailNode(info, o.name, o.intended ? o.ref : `${o.ref} · not declared`, o.intended ? "arrow-up" : "warning");
  node.tooltip = o.intended
    ? `${o.name} (${info.pack.id}) hides ${o.over}'s: it extends it, or a priority rule puts ${info.pack.id} first`
    : `${o.name} (${info.pack.id}) hides ${o.over}'s without extending it or a priority rule saying so: on purpose?`;
  node.command = {
    command: "vscode.open",
    title: "Open the card",
    arguments: [vscode.Uri.parse(entryUri({ pack: info.pack.id, collection, slug }, campaign))],
  };
  return node;
}

type Node = PackNode | DetailNode;

function details(info: PackInfo, warnings: string[]): DetailNode[] {
  const nodes = collectionLines(info).map(
    (c) => new DetailNode(info, c.label, c.description, "symbol-folder", c.collection),
  );
  nodes.push(new DetailNode(info, "Licence", info.pack.license || "not given", "law"));
  for (const o of overrideLines(info)) {
    nodes.push(new DetailNode(info, `Overrides ${o.over}`, o.description, "layers", undefined, [], o.over));
  }
  const problems = packProblems(info, warnings);
  if (problems.length) {
    nodes.push(
      new DetailNode(info, "Problems", `${problems.length}`, "warning", undefined,
        problems.map((p) => new DetailNode(info, p, "", "warning"))),
    );
  }
  nodes.push(new DetailNode(info, "From", info.origin || info.kind, info.kind === "plugin" ? "extensions" : "folder"));
  return nodes;
}

export class PacksView implements vscode.TreeDataProvider<Node> {
  private readonly changed = new vscode.EventEmitter<Node | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private list: PacksList | undefined;
  /** The campaign whose packs are shown (its folder; DEFAULT: the daemon of files outside the
   * workspace's folders); undefined until the extension says. */
  campaign: string | undefined;
  tree: vscode.TreeView<Node> | undefined;

  constructor(private readonly request: Request) {}

  refresh(): void {
    this.list = undefined;
    this.changed.fire(undefined);
  }

  /** Show `campaign`'s packs, the view's description saying which (`description`). */
  showCampaign(campaign: string, description: string | undefined): void {
    if (this.tree && this.tree.description !== description) {
      this.tree.description = description;
    }
    if (campaign !== this.campaign) {
      this.campaign = campaign;
      this.refresh();
    }
  }

  getTreeItem(node: Node): vscode.TreeItem {
    return node;
  }

  async getChildren(node?: Node): Promise<Node[]> {
    if (node instanceof PackNode) {
      return details(node.info, node.warnings);
    }
    if (node?.over) {
      const listed = await this.request<{ overrides: OverrideInfo[] }>("d5e/packs/list", { overrides: node.pack.pack.id });
      return (listed?.overrides ?? []).filter((o) => o.over === node.over).map((o) => overrideEntry(node.pack, o, this.campaign));
    }
    if (node) {
      return node.children;
    }
    this.list = (await this.request<PacksList>("d5e/packs/list", {})) ?? this.list;
    if (!this.list) {
      return [];
    }
    const warnings = this.list.warnings ?? [];
    const packs = [...this.list.packs].sort(
      (a, b) =>
        Number(b.installed) - Number(a.installed) ||
        Number(b.enabled ?? false) - Number(a.enabled ?? false) ||
        (b.priority ?? 0) - (a.priority ?? 0) ||
        a.pack.id.localeCompare(b.pack.id),
    );
    return packs.map((info) => new PackNode(info, warnings));
  }

  /** The pack ids to offer when a command runs from the palette. */
  packs(filter: (info: PackInfo) => boolean = () => true): PackInfo[] {
    return (this.list?.packs ?? []).filter(filter);
  }
}

/** The pack a command is about: the line it was run on, else the user picks one. */
async function choosePack(view: PacksView, node: Node | undefined, filter: (i: PackInfo) => boolean, title: string): Promise<PackInfo | undefined> {
  if (node instanceof PackNode || node instanceof DetailNode) {
    return node instanceof PackNode ? node.info : node.pack;
  }
  const candidates = view.packs(filter);
  const picked = await vscode.window.showQuickPick(
    candidates.map((info) => ({ label: info.pack.title, description: packDescription(info), info })),
    { title, placeHolder: candidates.length ? "Pack" : "No pack fits; open the d5e Packs view to refresh" },
  );
  return picked?.info;
}

function showWarnings(warnings: unknown[] | undefined): void {
  for (const w of warnings ?? []) {
    void vscode.window.showWarningMessage(`d5e: ${problemText(w)}`);
  }
}

interface InstallResult {
  pack: string;
  action: string;
  entries: number;
  warnings?: unknown[];
}

export function registerPacksView(context: vscode.ExtensionContext, request: Request): PacksView {
  const view = new PacksView(request);
  const tree = vscode.window.createTreeView("d5e.packs", { treeDataProvider: view, showCollapseAll: true });
  view.tree = tree;

  const setEnabled = async (info: PackInfo, on: boolean): Promise<void> => {
    const result = await request<{ warnings?: string[] }>(on ? "d5e/packs/enable" : "d5e/packs/disable", { pack: info.pack.id });
    showWarnings(result?.warnings);
    view.refresh();
  };

  const command = (id: string, run: (node?: Node) => Promise<void>) =>
    vscode.commands.registerCommand(id, (node?: Node) => run(node));

  context.subscriptions.push(
    tree,
    tree.onDidChangeCheckboxState(async (event) => {
      for (const [node, state] of event.items) {
        if (node instanceof PackNode) {
          await setEnabled(node.info, state === vscode.TreeItemCheckboxState.Checked);
        }
      }
    }),
    command("d5e.packs.refresh", async () => view.refresh()),
    command("d5e.packs.enable", async (node) => {
      const info = await choosePack(view, node, (i) => i.installed && !i.enabled, "Turn a pack on");
      if (info) {
        await setEnabled(info, true);
      }
    }),
    command("d5e.packs.disable", async (node) => {
      const info = await choosePack(view, node, (i) => i.installed && !!i.enabled, "Turn a pack off");
      if (info) {
        await setEnabled(info, false);
      }
    }),
    command("d5e.packs.setPriority", async (node) => {
      const info = await choosePack(view, node, (i) => i.installed, "Set a pack's priority");
      if (!info) {
        return;
      }
      const collection = node instanceof DetailNode ? node.collection : undefined;
      const current = collection ? info.collectionPriorities?.[collection] : info.priority;
      const text = await vscode.window.showInputBox({
        title: `Priority of ${info.pack.id}${collection ? ` for ${collection}` : ""}`,
        prompt: "Higher wins where packs hold the same entry; empty: the default again",
        value: current === undefined || current === null ? "" : String(current),
        validateInput: (t) => {
          const p = parsePriority(t);
          return p !== null && typeof p === "object" ? p.error : undefined;
        },
      });
      if (text === undefined) {
        return;
      }
      const priority = parsePriority(text);
      const result = await request<{ warnings?: string[] }>("d5e/packs/setPriority", {
        pack: info.pack.id,
        priority,
        ...(collection ? { collection } : {}),
      });
      showWarnings(result?.warnings);
      view.refresh();
    }),
    command("d5e.packs.create", async () => {
      const id = await vscode.window.showInputBox({
        title: "Create a pack",
        prompt: "The pack's id: lower case letters, digits and dashes",
        placeHolder: "my-brew",
        validateInput: (t) => (/^[a-z0-9][a-z0-9-]*$/.test(t) ? undefined : "lower case letters, digits and dashes"),
      });
      if (!id) {
        return;
      }
      const title = await vscode.window.showInputBox({ title: `Create ${id}`, prompt: "Its title (optional)" });
      if (title === undefined) {
        return;
      }
      const result = await request<{ path: string; files: string[]; install: InstallResult }>("d5e/packs/create", {
        id,
        ...(title ? { title } : {}),
      });
      if (result) {
        view.refresh();
        const toml = result.files.find((f) => f.endsWith("pack.toml"));
        if (toml) {
          await vscode.window.showTextDocument(vscode.Uri.file(toml));
        }
        void vscode.window.showInformationMessage(`d5e: created ${id} in ${result.path}`);
      }
    }),
    command("d5e.packs.install", async (node) => {
      if (node instanceof PackNode && !node.info.installed) {
        // a pack a plugin offers
        const result = await request<InstallResult>("d5e/packs/install", { id: node.info.pack.id });
        return reportInstall(result, view);
      }
      const kind = await vscode.window.showQuickPick(
        [
          { label: "Folder…", description: "a folder pack (pack.toml)", folders: true },
          { label: "File…", description: ".zip pack, 5etools homebrew JSON or Open5e document", folders: false },
        ],
        { title: "Install a pack" },
      );
      if (!kind) {
        return;
      }
      const uris = await vscode.window.showOpenDialog({
        canSelectFiles: !kind.folders,
        canSelectFolders: kind.folders,
        canSelectMany: false,
        openLabel: "Install",
        filters: kind.folders ? undefined : { "Packs": ["zip", "json"], "All files": ["*"] },
        defaultUri: view.campaign ? vscode.Uri.file(view.campaign) : vscode.workspace.workspaceFolders?.[0]?.uri,
      });
      if (uris?.[0]) {
        const result = await request<InstallResult>("d5e/packs/install", { path: uris[0].fsPath });
        await reportInstall(result, view);
      }
    }),
    command("d5e.packs.upload", async (node) => {
      const info = await choosePack(view, node, (i) => i.installed && i.kind === "folder", "Upload entries to a folder pack");
      if (!info) {
        return;
      }
      const editor = vscode.window.activeTextEditor;
      const hasSelection = editor && !editor.selection.isEmpty;
      const from = await vscode.window.showQuickPick(
        [
          ...(hasSelection ? [{ label: "The current selection", file: false }] : []),
          { label: "A JSON file…", file: true },
        ],
        { title: `Upload entries to ${info.pack.id}` },
      );
      if (!from) {
        return;
      }
      let text: string;
      let source: string;
      if (from.file) {
        const uris = await vscode.window.showOpenDialog({ canSelectMany: false, filters: { JSON: ["json"] }, openLabel: "Upload" });
        if (!uris?.[0]) {
          return;
        }
        text = new TextDecoder().decode(await vscode.workspace.fs.readFile(uris[0]));
        source = uris[0].fsPath;
      } else {
        text = editor!.document.getText(editor!.selection);
        source = "the selection";
      }
      const parsed = parseEntries(text, source);
      if ("error" in parsed) {
        void vscode.window.showErrorMessage(`d5e: ${parsed.error}`);
        return;
      }
      const known = Object.keys(info.collections ?? {});
      const collection = await pickCollection(known, info.pack.id);
      if (!collection) {
        return;
      }
      const result = await request<{ written: string[]; removed: string[]; install: InstallResult }>("d5e/packs/upload", {
        pack: info.pack.id,
        collection,
        entries: parsed.entries,
      });
      if (result) {
        view.refresh();
        showWarnings(result.install.warnings);
        void vscode.window.showInformationMessage(
          `d5e: ${parsed.entries.length} ${parsed.entries.length === 1 ? "entry" : "entries"} written to ${info.pack.id} (${result.written.length} files)`,
        );
      }
    }),
    command("d5e.packs.remove", async (node) => {
      const info = await choosePack(view, node, (i) => i.installed, "Remove a pack");
      if (!info) {
        return;
      }
      const sure = await vscode.window.showWarningMessage(
        `Remove ${info.pack.title} (${info.pack.id}) and its ${info.entries ?? 0} entries from d5e's database? Its files stay where they are.`,
        { modal: true },
        "Remove",
      );
      if (sure === "Remove") {
        const result = await request<{ entries: number }>("d5e/packs/remove", { pack: info.pack.id });
        if (result) {
          view.refresh();
        }
      }
    }),
  );
  return view;
}

async function reportInstall(result: InstallResult | undefined, view: PacksView): Promise<void> {
  if (!result) {
    return;
  }
  view.refresh();
  showWarnings(result.warnings);
  void vscode.window.showInformationMessage(`d5e: ${result.pack}: ${result.action}, ${result.entries} entries`);
}

async function pickCollection(known: string[], pack: string): Promise<string | undefined> {
  const other = "Another collection…";
  const choices = [...new Set([...known, "spells", "monsters", "magic-items", "conditions"])];
  const picked = await vscode.window.showQuickPick([...choices, other], { title: `Collection of the entries (${pack})` });
  if (picked !== other) {
    return picked;
  }
  return vscode.window.showInputBox({
    title: "Collection",
    prompt: "Lower case letters, digits and dashes",
    validateInput: (t) => (/^[a-z0-9][a-z0-9-]*$/.test(t) ? undefined : "lower case letters, digits and dashes"),
  });
}
