#!/usr/bin/env bash
# The test suite under other CPU kernels, one setting at a time: OpenBLAS core
# types (OPENBLAS_CORETYPE: matrix products, linear layers, transposed
# convolutions) and oneDNN instruction sets (DNNL_MAX_CPU_ISA: convolutions).
# Each picks other kernels, which round differently in the last bits; a test
# that only passes with one machine's rounding fails here, on one machine.
#
#   tools/cpu_variation.sh              # the whole suite (ctest) under each setting
#   tools/cpu_variation.sh --quick      # only the numerically sensitive tests (dkd_tests --gtest_filter)
#   BUILD_DIR=out JOBS=4 tools/cpu_variation.sh
#
# A core type this CPU cannot run (SkylakeX without AVX-512: OpenBLAS would stop
# with an illegal instruction) is reported as skipped; DNNL_MAX_CPU_ISA is a
# ceiling, so AVX512_CORE on a CPU without AVX-512 runs its best ISA below it.
# Exit 0 when every setting that ran passed.
set -uo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR="${BUILD_DIR:-build}"
JOBS="${JOBS:-2}"
QUICK_FILTER='Heatmap.*:KernelDistillator*:OpProfile*:BatchedEval.*:Stream.*:DkdModel*:ModelEval*:PoseTracker*:PackedInference*:BnFold*:SubpixelDeconv*:KernelMatching*:LocationPrior*:EvalCommand*:TrainerTest*'

quick=0
case "${1:-}" in
  --quick) quick=1 ;;
  "") ;;
  -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
  *) echo "cpu_variation.sh: unknown argument '$1' (--quick or nothing)" >&2; exit 2 ;;
esac
if [ ! -x "$BUILD_DIR/dkd_tests" ]; then
  echo "cpu_variation.sh: $BUILD_DIR/dkd_tests not found; build first (tools/setup.sh)" >&2
  exit 2
fi

has_avx512=0
grep -qw avx512f /proc/cpuinfo 2>/dev/null && has_avx512=1

settings=(
  "OPENBLAS_CORETYPE=Haswell" "OPENBLAS_CORETYPE=SkylakeX" "OPENBLAS_CORETYPE=Sandybridge"
  "OPENBLAS_CORETYPE=Prescott"
  "DNNL_MAX_CPU_ISA=AVX2" "DNNL_MAX_CPU_ISA=AVX512_CORE" "DNNL_MAX_CPU_ISA=SSE41"
)
log_dir="$BUILD_DIR/cpu_variation"
mkdir -p "$log_dir"
failed=0
summary=()
for setting in "${settings[@]}"; do
  note=""
  if [ "$has_avx512" = 0 ] && [ "$setting" = "OPENBLAS_CORETYPE=SkylakeX" ]; then
    summary+=("$setting: skipped (this CPU has no AVX-512)")
    continue
  fi
  if [ "$has_avx512" = 0 ] && [ "$setting" = "DNNL_MAX_CPU_ISA=AVX512_CORE" ]; then
    note=" (no AVX-512 on this CPU: oneDNN runs its best ISA below, as with AVX2)"
  fi
  log="$log_dir/${setting//=/_}.log"
  start=$(date +%s)
  if [ "$quick" = 1 ]; then
    env "$setting" "$BUILD_DIR/dkd_tests" --gtest_filter="$QUICK_FILTER" >"$log" 2>&1
  else
    env "$setting" ctest --test-dir "$BUILD_DIR" -j "$JOBS" --output-on-failure >"$log" 2>&1
  fi
  rc=$?
  secs=$(( $(date +%s) - start ))
  if [ "$rc" = 0 ]; then
    result=$(grep -E "tests passed|PASSED" "$log" | tail -n 1)
    summary+=("$setting: ok, ${result:-passed} (${secs} s)$note")
  else
    failed=1
    summary+=("$setting: FAILED (exit $rc, ${secs} s; $log)$note")
    grep -E "^\s*[0-9]+ - |\[  FAILED  \]" "$log" | sort -u | head -n 20 | sed 's/^/    /' >&2
  fi
  echo "${summary[-1]}"
done
echo
echo "cpu_variation.sh ($([ "$quick" = 1 ] && echo quick || echo whole suite), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')):"
printf '  %s\n' "${summary[@]}"
exit "$failed"
