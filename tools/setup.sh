#!/usr/bin/env bash
# Installs the Debian packages dkd needs (only the missing ones, non-interactively),
# then configures and builds everything into build/ (Release, Ninja).
#
#   tools/setup.sh                 # install + configure + build (tools and tests)
#   tools/setup.sh --no-build      # install only
#   BUILD_DIR=out tools/setup.sh -DCMAKE_PREFIX_PATH=/opt/libtorch   # extra CMake flags pass through
#
# Nothing is downloaded from anywhere but Debian's package archive.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  build-essential cmake ninja-build pkg-config git
  libtorch-dev libgloo-dev          # LibTorch 1.13 (CPU) and the Gloo headers for c10d
  libopencv-dev                     # images, video, drawing
  libyaml-cpp-dev libspdlog-dev libcli11-dev nlohmann-json3-dev
  libmatio-dev                      # MATLAB .mat files (Penn Action, JHMDB)
  libgtest-dev
  opencv-doc                        # sample photographs (synthetic backgrounds) and vtest.avi
)

build=1
cmake_args=()
for arg in "$@"; do
  case "$arg" in
    --no-build) build=0 ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) cmake_args+=("$arg") ;;
  esac
done

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if ((${#missing[@]})); then
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  echo "setup: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "setup: all Debian packages present"
fi

((build)) || exit 0
BUILD_DIR="${BUILD_DIR:-build}"
JOBS="${JOBS:-$(nproc)}"
start=$(date +%s)
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release "${cmake_args[@]}" > "$BUILD_DIR.cmake.log" 2>&1 \
  || { cat "$BUILD_DIR.cmake.log"; exit 1; }
cmake --build "$BUILD_DIR" -j "$JOBS"
echo "setup: build finished in $(( $(date +%s) - start )) s ($BUILD_DIR/)"
