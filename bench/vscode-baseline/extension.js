// A throwaway extension for bench/vscode.py --baseline: activated as d5e is (a d5e.toml in the
// workspace), it offers one suggestion, `d5e-baseline`, at once wherever a word starting with `f`
// follows a tag (`{@spell fir`), with nothing to start or wait for. When its row shows in the
// suggest widget is what VS Code itself takes from an extension's activation to a suggestion;
// d5e's Fireball cannot show before it. Its log (D5E_E2E_BASELINE_LOG) says when it was
// activated and first asked, in ms since the epoch.
const vscode = require("vscode");
const fs = require("fs");

/** A tag's name being written: `{@spell fir`. */
const TAG_NAME = /\{@[A-Za-z]+ [^{}|\r\n]+$/;

function log(what) {
  if (process.env.D5E_E2E_BASELINE_LOG) {
    fs.appendFileSync(process.env.D5E_E2E_BASELINE_LOG, `${what} ${Date.now()}\n`);
  }
}

exports.activate = function activate(context) {
  log("activated");
  let asked = false;
  if (!vscode.extensions.getExtension("d5e.d5e")) {
    // Alone (bench/vscode.py --baseline-only), it opens the suggestions as d5e's extension does:
    // at once where the writer typed a tag's name before it was activated (d5e's, once its
    // daemon is ready: without this a writer quicker than the activation never saw the row),
    // then at each letter of a tag's name (in Markdown nothing else opens them as one types).
    const editor = vscode.window.activeTextEditor;
    if (editor && editor.document.isDirty && editor.selection.isEmpty) {
      const cursor = editor.selection.active;
      if (TAG_NAME.test(editor.document.lineAt(cursor.line).text.slice(0, cursor.character))) {
        void vscode.commands.executeCommand("editor.action.triggerSuggest");
      }
    }
    context.subscriptions.push(
      vscode.workspace.onDidChangeTextDocument((event) => {
        const editor = vscode.window.activeTextEditor;
        if (event.contentChanges.length !== 1 || editor?.document !== event.document) {
          return;
        }
        const change = event.contentChanges[0];
        const end = change.range.start.translate(0, change.text.length);
        const before = event.document.lineAt(end.line).text.slice(0, end.character);
        if (change.text.length === 1 && /\S/.test(change.text) && TAG_NAME.test(before)) {
          void vscode.commands.executeCommand("editor.action.triggerSuggest");
        }
      }),
    );
  }
  context.subscriptions.push(
    vscode.languages.registerCompletionItemProvider(["markdown", "plaintext"], {
      provideCompletionItems(document, position) {
        const before = document.lineAt(position.line).text.slice(0, position.character);
        if (!/\{@\w+ f\w*$/.test(before)) {
          return [];
        }
        if (!asked) {
          asked = true;
          log("asked");
        }
        const item = new vscode.CompletionItem("d5e-baseline", vscode.CompletionItemKind.Text);
        // Matched with gaps: it ranks below d5e's Fireball, which the test expects first.
        item.filterText = "f_i_r_baseline";
        item.sortText = "~";
        return [item];
      },
    }),
  );
};

exports.deactivate = function deactivate() {};
