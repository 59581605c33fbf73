// The client: start `plugcheck lsp` (the command is the setting plugcheck.command) for *.plug files.
// Diagnostics, hover, definitions, references, completion, the outline and the check lenses all
// come from the server; the `plugcheck.check` lens runs on the server and shows its verdict there.
const vscode = require("vscode");
const { LanguageClient } = require("vscode-languageclient/node");

let client;

function activate(context) {
  const [command, ...args] = vscode.workspace.getConfiguration("plugcheck").get("command");
  const server = { command, args, options: { cwd: vscode.workspace.workspaceFolders?.[0]?.uri.fsPath } };
  client = new LanguageClient(
    "plugcheck",
    "plugcheck",
    { run: server, debug: server },
    { documentSelector: [{ scheme: "file", language: "plug" }, { scheme: "untitled", language: "plug" }] }
  );
  context.subscriptions.push(client);
  return client.start();
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate };
