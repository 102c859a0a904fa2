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

# Debian's LibTorch does matrix products (and so transposed convolutions and linear
# layers) through libblas.so.3, which Debian points at whichever BLAS is installed
# (alternatives). With only the reference BLAS that is ~1-5 GFLOP/s on a 2-core machine;
# OpenBLAS runs the same product ~50x faster, no rebuild needed. The pthreads build was
# chosen by measurement (docs/results.md, "BLAS"); BLAS_PACKAGE overrides it.
BLAS_PACKAGE="${BLAS_PACKAGE:-libopenblas0-pthread}"

PACKAGES=(
  build-essential cmake ninja-build pkg-config git
  libtorch-dev libgloo-dev          # LibTorch 1.13 (CPU) and the Gloo headers for c10d
  libopencv-dev                     # images, video, drawing
  libyaml-cpp-dev libspdlog-dev libcli11-dev nlohmann-json3-dev
  libmatio-dev                      # MATLAB .mat files (Penn Action, JHMDB)
  libgtest-dev
  opencv-doc                        # sample photographs (synthetic backgrounds) and vtest.avi
  "$BLAS_PACKAGE"                   # optimised BLAS behind libblas.so.3 (see below)
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

# Make libblas.so.3 point at the optimised library even where an earlier choice
# pinned the reference one (alternatives in manual mode).
blas_alt="libblas.so.3-$(gcc -dumpmachine 2>/dev/null || echo x86_64-linux-gnu)"
blas_dir="${BLAS_PACKAGE#lib}"; blas_dir="${blas_dir%%[0-9]*}-${BLAS_PACKAGE##*-}"   # openblas-pthread
current=$(update-alternatives --query "$blas_alt" 2>/dev/null | awk '/^Value:/ {print $2}')
wanted=$(update-alternatives --list "$blas_alt" 2>/dev/null | grep "/$blas_dir/" | head -n 1 || true)
if [ -n "$wanted" ] && [ "$current" != "$wanted" ] && [[ "$current" == */blas/libblas.so.3 ]]; then
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  echo "setup: libblas.so.3 -> $wanted (was the reference BLAS)"
  $SUDO update-alternatives --set "$blas_alt" "$wanted"
fi

((build)) || exit 0
BUILD_DIR="${BUILD_DIR:-build}"
JOBS="${JOBS:-$(nproc)}"
start=$(date +%s)
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release "${cmake_args[@]}" > "$BUILD_DIR.cmake.log" 2>&1 \
  || { cat "$BUILD_DIR.cmake.log"; exit 1; }
cmake --build "$BUILD_DIR" -j "$JOBS"
echo "setup: build finished in $(( $(date +%s) - start )) s ($BUILD_DIR/)"
