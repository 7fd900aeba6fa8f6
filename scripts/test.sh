#!/usr/bin/env bash
# mediaplane's test command: installs whatever is missing on a Debian machine, then runs every
# test. Safe to re-run; with nothing missing it goes straight to the tests.
#
#   apt:  cmake pkg-config gcc ffmpeg sox espeak-ng libspandsp-dev sip-tester baresip-core
#         rabbitmq-server redis-server python3-venv python3-dev nodejs npm
#   pip:  numpy pesq asyncari (into $MEDIAPLANE_TEST_TOOLS/venv)
#   npm:  ari-client (into $MEDIAPLANE_TEST_TOOLS/node)
#
# Environment: CARGO_TARGET_DIR (default ~/.cache/mediaplane-target),
#              MEDIAPLANE_TEST_TOOLS (default ~/.cache/mediaplane-tools).
# Extra arguments go to `cargo test`, e.g. `scripts/test.sh -p codec-transcoder`.
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/mediaplane-target}"
export MEDIAPLANE_TEST_TOOLS="${MEDIAPLANE_TEST_TOOLS:-$HOME/.cache/mediaplane-tools}"
export DEBIAN_FRONTEND=noninteractive

say() { printf '== %s\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null 2>&1; then sudo -n "$@"; else
    say "need root to run: $*"; return 1; fi
}

# --- 1. Debian packages ---------------------------------------------------------------------
missing=()
need() { # need <command-or-path> <package>
  case "$1" in
    /*) [ -e "$1" ] || missing+=("$2") ;;
    *) command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] || missing+=("$2") ;;
  esac
}
need cmake cmake
need pkg-config pkg-config
need gcc gcc
need ffmpeg ffmpeg
need sox sox
need espeak-ng espeak-ng
need sipp sip-tester
need baresip baresip-core
need rabbitmq-server rabbitmq-server
need redis-server redis-server
need node nodejs
need npm npm
spandsp_header=no
for h in /usr/include/spandsp.h /usr/include/*/spandsp.h; do [ -e "$h" ] && spandsp_header=yes; done
[ "$spandsp_header" = yes ] || missing+=(libspandsp-dev)
if ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then missing+=(python3-venv); fi
if ! python3 -c 'import sysconfig, os, sys; sys.exit(0 if os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")) else 1)' 2>/dev/null; then
  missing+=(python3-dev)
fi
if [ "${#missing[@]}" -gt 0 ]; then
  say "installing Debian packages: ${missing[*]}"
  as_root apt-get update -qq
  as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" </dev/null
fi

# --- 2. Python and Node test clients (PESQ, asyncari, ari-client) -----------------------------
venv="$MEDIAPLANE_TEST_TOOLS/venv"
if ! "$venv/bin/python3" -c 'import pesq, numpy, asyncari' >/dev/null 2>&1; then
  say "creating the Python test environment in $venv"
  mkdir -p "$MEDIAPLANE_TEST_TOOLS"
  [ -x "$venv/bin/python3" ] || python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check numpy
  "$venv/bin/pip" install -q --disable-pip-version-check pesq asyncari
fi
node_dir="$MEDIAPLANE_TEST_TOOLS/node"
if [ ! -d "$node_dir/node_modules/ari-client" ]; then
  say "installing the npm ARI client into $node_dir"
  mkdir -p "$node_dir"
  [ -f "$node_dir/package.json" ] || printf '{"name":"mediaplane-test-clients","private":true}\n' > "$node_dir/package.json"
  (cd "$node_dir" && npm install --no-audit --no-fund --silent ari-client@2.2.0 </dev/null)
fi

# --- 3. Rust toolchain -----------------------------------------------------------------------
if ! command -v cargo >/dev/null 2>&1; then
  say "cargo is not installed: install Rust with rustup (https://rustup.rs) and re-run"
  exit 1
fi

# --- 4. every test ----------------------------------------------------------------------------
say "cargo test --workspace (target dir $CARGO_TARGET_DIR)"
cargo test --workspace --all-targets "$@"
cargo test --workspace --doc "$@"
