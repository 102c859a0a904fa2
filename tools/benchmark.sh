#!/usr/bin/env bash
# The synthetic benchmark behind docs/results.md: the paper's claim (a small
# frame encoder plus distilled pose kernels matches a large per-frame network at
# a fraction of its cost) checked on the built-in data set, end to end:
#
#   1. generate the synthetic set (Penn Action layout, standard difficulty);
#   2. train the per-frame large network (the DKD initializer), the per-frame
#      small network (DKD's encoder + a 1x1 head), DKD without and with the
#      temporally adversarial training, DKD again with a second seed, and DKD
#      with its encoder warm-started from the per-frame small network;
#   3. evaluate them side by side on the test split (dkd_eval --compare), time
#      DKD against both baselines in one run (dkd_eval --bench) for the lean and
#      the paper-style configurations, count their GMACs (dkd_eval --flops);
#   4. write docs/results.md from those outputs (every number in it comes from here).
#
#   tools/benchmark.sh                 # everything (finished runs are reused)
#   BENCH_FRESH=1 tools/benchmark.sh   # retrain from scratch
#   BENCH_OUT=docs/results.md ...      # where the report goes
#
# Run tools/setup.sh first. Each training run resumes when interrupted.
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD="${BUILD_DIR:-build}"
DATA="data/synthetic"
VIDEOS=300
WORK="work_dirs/benchmark"
REPORT="${BENCH_OUT:-docs/results.md}"
CFG="configs/synthetic"
for tool in dkd_data dkd_train dkd_eval; do
  [ -x "$BUILD/$tool" ] || { echo "benchmark: $BUILD/$tool is missing; run tools/setup.sh first" >&2; exit 1; }
done
[ "${BENCH_FRESH:-0}" = 1 ] && rm -rf "$WORK"
mkdir -p "$WORK"
now() { date +%s; }
declare -A seconds

echo "== data: $VIDEOS synthetic videos in the Penn Action layout ($DATA)"
t0=$(now)
DATA_CMD="$BUILD/dkd_data synth --format penn --out $DATA --videos $VIDEOS --seed 1 --difficulty standard --force"
if [ -f "$DATA/.dkd_quickstart_$VIDEOS" ] && "$BUILD/dkd_data" check --dataset penn --root "$DATA" > /dev/null 2>&1; then
  echo "reusing $DATA (the quickstart's set: same command)"
else
  $DATA_CMD
  "$BUILD/dkd_data" check --dataset penn --root "$DATA"
  touch "$DATA/.dkd_quickstart_$VIDEOS"
fi
seconds[data]=$(( $(now) - t0 ))

# train NAME CONFIG [--set ...]: one run into $WORK/NAME, resumed when interrupted,
# skipped when it already finished (best.pt and a "done" marker).
TRAIN_CMDS=()
train() {
  local name=$1 config=$2
  shift 2
  local dir="$WORK/$name"
  TRAIN_CMDS+=("$BUILD/dkd_train --config $config --work-dir $dir $*")
  if [ -f "$dir/.done" ] && [ -f "$dir/best.pt" ]; then
    echo "== train $name: done before, reusing $dir"
    seconds[$name]=$(cat "$dir/.done")
    return
  fi
  echo "== train $name: $config -> $dir"
  local resume=()
  [ -f "$dir/last_checkpoint" ] && resume=(--resume)
  local t=$(now)
  "$BUILD/dkd_train" --config "$config" --work-dir "$dir" "${resume[@]}" "$@"
  seconds[$name]=$(( $(now) - t ))
  echo "${seconds[$name]}" > "$dir/.done"
}

train large "$CFG/large.yaml"
train small "$CFG/small.yaml"
train dkd_noadv "$CFG/dkd_noadv.yaml" --set train.initializer_checkpoint="$WORK/large/best.pt"
train dkd "$CFG/dkd.yaml" --set train.initializer_checkpoint="$WORK/large/best.pt"
train dkd_seed2 "$CFG/dkd.yaml" --set train.initializer_checkpoint="$WORK/large/best.pt" --set runtime.seed=2
# Tried to close the gap: the encoder starts from the per-frame small network's trunk.
train dkd_warm "$CFG/dkd_warm.yaml" --set train.initializer_checkpoint="$WORK/large/best.pt" \
  --set train.baseline_checkpoint="$WORK/small/best.pt"

echo "== compare on the test split"
COMPARE_CMD="$BUILD/dkd_eval --compare large=$CFG/large.yaml:$WORK/large/best.pt:initializer \
small=$CFG/small.yaml:$WORK/small/best.pt:baseline \
dkd_noadv=$CFG/dkd_noadv.yaml:$WORK/dkd_noadv/best.pt \
dkd=$CFG/dkd.yaml:$WORK/dkd/best.pt \
dkd_seed2=$CFG/dkd.yaml:$WORK/dkd_seed2/best.pt \
dkd_warm=$CFG/dkd_warm.yaml:$WORK/dkd_warm/best.pt \
--json $WORK/compare.json --md $WORK/compare.md --plots $WORK/plots"
t=$(now)
$COMPARE_CMD
seconds[compare]=$(( $(now) - t ))

echo "== speed in one run: the lean DKD against both baselines, and the paper-style configuration"
BENCH_CMD="$BUILD/dkd_eval --bench --config $CFG/dkd.yaml --md $WORK/bench_lean.md --json $WORK/bench_lean.json"
$BENCH_CMD
BENCH_PAPER_CMD="$BUILD/dkd_eval --bench --config configs/penn.yaml --set eval.speed_frames=30 --md $WORK/bench_paper.md --json $WORK/bench_paper.json"
$BENCH_PAPER_CMD
FLOPS_CMD="$BUILD/dkd_eval --flops --config $CFG/dkd.yaml"
FLOPS_PAPER_CMD="$BUILD/dkd_eval --flops --config configs/penn.yaml"
$FLOPS_CMD > "$WORK/flops_lean.txt"
$FLOPS_PAPER_CMD > "$WORK/flops_paper.txt"

# cell TABLE ROW COLUMN: one cell of compare.md's TABLE-th table (1 = PCK and cost,
# 2 = relative to large), found by its row name and column header; "x" suffixes dropped.
cell() {
  awk -F'|' -v table="$1" -v row="$2" -v col="$3" '
    function trim(s) { gsub(/^ +| +$/, "", s); sub(/x$/, "", s); return s }
    /^\| model \|/ { t++; if (t == table) for (i = 2; i < NF; i++) idx[trim($i)] = i; next }
    t == table && trim($2) == row { print trim($(idx[col])); exit }
  ' "$WORK/compare.md"
}
# calc EXPR: floating-point arithmetic for the summary (awk is on every Debian machine).
calc() { awk "BEGIN { printf \"%.1f\", $1 }"; }
verdict() { awk "BEGIN { print ($1) ? \"met\" : \"missed\" }"; }

L=$(cell 1 large mean_joints); S=$(cell 1 small mean_joints)
summary_row() {  # summary_row NAME: how DKD variant NAME compares with large and small
  local p d g m
  p=$(cell 1 "$1" mean_joints); d=$(cell 2 "$1" "d mean_joints"); g=$(cell 2 "$1" GMACs); m=$(cell 2 "$1" ms/frame)
  echo "| $1 | $p | $d | $(verdict "$d >= -1") | ${g}x | $(verdict "$g >= 10") |" \
       "${m}x | $(verdict "$m >= 5") | $(calc "$p - $S") |"
}

{
  echo "# Results: DKD on the synthetic benchmark"
  echo
  echo "Written by \`tools/benchmark.sh\` on $(date -u +%Y-%m-%d) ($(nproc) cores, $(uname -m)); every number below"
  echo "comes from the commands listed at the end. Data: \`dkd_data synth --format penn\`, $VIDEOS videos"
  echo "(standard difficulty), the test split of that set. PCK@0.2 with bbox normalisation, visible"
  echo "joints only, as on Penn Action (docs/datasets.md); \`accel/GT\` is the mean keypoint"
  echo "acceleration of the predictions over that of the ground truth (1 = as smooth as the ground"
  echo "truth). GMACs are per frame (later frames for DKD), 1 multiply-add = 1 FLOP. ms/frame is the"
  echo "median over \`eval.speed_frames\` (100) frames after warm-up, batch 1, on this machine's CPU with all its cores."
  echo
  echo "Rows: \`large\` = per-frame large network (the DKD initializer), \`small\` = per-frame small"
  echo "network (the DKD frame encoder + 1x1 head), \`dkd_noadv\` = DKD without the temporal"
  echo "discriminator, \`dkd\` = DKD with temporally adversarial training, \`dkd_seed2\` = the same"
  echo "with seed 2, \`dkd_warm\` = DKD whose encoder starts from \`small\`'s trained trunk instead of"
  echo "random weights (\`train.encoder_from_baseline\`). Configs: \`$CFG/\`."
  echo
  cat "$WORK/compare.md"
  echo
  echo "## What the table says"
  echo
  echo "Targets (the paper's claim made concrete): mean PCK within 1 point of \`large\` ($L), at least"
  echo "10x fewer GMACs per later frame and at least 5x fewer ms per frame."
  echo
  echo "| DKD run | mean PCK | vs large (points) | within 1 point | GMACs: times fewer | <= 1/10 | ms: times fewer | <= 1/5 | vs small ($S), points |"
  echo "|:---|---:|---:|:---|---:|:---|---:|:---|---:|"
  for r in dkd_warm dkd dkd_noadv dkd_seed2; do summary_row "$r"; done
  echo
  echo "- Temporally adversarial training (\`dkd\` - \`dkd_noadv\`): $(calc "$(cell 1 dkd mean_joints) - $(cell 1 dkd_noadv mean_joints)")"
  echo "  points of mean PCK, $(calc "$(cell 1 dkd "torso mean_joints") - $(cell 1 dkd_noadv "torso mean_joints")") of torso PCK, accel/GT"
  echo "  $(cell 1 dkd_noadv accel/GT) -> $(cell 1 dkd accel/GT) (lower is smoother)."
  echo "- Seed spread (\`dkd\` vs \`dkd_seed2\`, same config): $(calc "$(cell 1 dkd mean_joints) - $(cell 1 dkd_seed2 mean_joints)") points of mean PCK;"
  echo "  differences smaller than that between single runs are not evidence."
  echo "- Warm-starting the encoder (\`dkd_warm\` - \`dkd\`): $(calc "$(cell 1 dkd_warm mean_joints) - $(cell 1 dkd mean_joints)") points."
  echo
  echo "## Speed, measured in one run (random frames, batch 1)"
  echo
  echo "Lean configuration (\`$CFG/dkd.yaml\`):"
  echo
  cat "$WORK/bench_lean.md"
  echo
  echo "Paper-style configuration (\`configs/penn.yaml\`: 256x256, ResNet-50 initializer, ResNet-18"
  echo "encoder with a 3x256 deconvolution head, 7x7x256 per-joint kernels; untrained weights, 30 frames):"
  echo
  cat "$WORK/bench_paper.md"
  echo
  echo "## Complexity"
  echo
  echo '```'
  cat "$WORK/flops_lean.txt"
  echo '```'
  echo
  echo '```'
  cat "$WORK/flops_paper.txt"
  echo '```'
  echo
  echo "## Time on this machine"
  echo
  echo "| step | seconds |"
  echo "|---|---:|"
  for k in data large small dkd_noadv dkd dkd_seed2 dkd_warm compare; do echo "| $k | ${seconds[$k]:-?} |"; done
  echo
  echo "## Commands"
  echo
  echo '```bash'
  echo "$DATA_CMD"
  for c in "${TRAIN_CMDS[@]}"; do echo "$c"; done
  echo "$COMPARE_CMD"
  echo "$BENCH_CMD"
  echo "$BENCH_PAPER_CMD"
  echo "$FLOPS_CMD"
  echo "$FLOPS_PAPER_CMD"
  echo '```'
} > "$REPORT"
echo "wrote $REPORT"
