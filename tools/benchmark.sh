#!/usr/bin/env bash
# The synthetic benchmark behind docs/results.md: the paper's claim (a small
# frame encoder plus distilled pose kernels matches a large per-frame network at
# a fraction of its cost) checked on the built-in data set, end to end, with
# every row trained with several seeds:
#
#   1. generate the synthetic set (Penn Action layout, standard difficulty);
#   2. for each seed (runtime.seed), train the per-frame large and small networks
#      (3 epochs: DKD's initializer and encoder; and for longer), the final DKD
#      design (dkd_lean_lr5) and one ablation of each of its components (DKD as the
#      paper builds it, row dkd, and earlier design steps on request); best.pt of every run is chosen on the validation split
#      (held-out training videos, data.val_fraction), never on the test split;
#   3. evaluate every run on the test split (dkd_eval --json) with the DARK and
#      the argmax decoders, and with the tracker's own boxes (eval.boxes=tracked);
#      the rows large, small and dkd_lean_lr5 also with infer.precision=bfloat16;
#   4. reduce the seeds to mean ± standard deviation (dkd_eval --seeds), time DKD
#      against both baselines in one run (dkd_eval --bench) and count GMACs
#      (dkd_eval --flops);
#   5. write docs/results.md from those outputs (every number in it comes from here).
#
#   tools/benchmark.sh                  # the report's rows; finished runs and evaluations are reused
#   tools/benchmark.sh large small      # only these rows (every seed), e.g. to run it in pieces
#   BENCH_JOBS=2 tools/benchmark.sh     # train and evaluate 2 runs at a time, each on
#                                       # nproc/2 intra-op threads (runtime.threads)
#   BENCH_SEEDS="1 2 3" ...             # the seeds (default 1 2 3)
#   BENCH_FRESH=1 tools/benchmark.sh    # retrain from scratch (the stored evaluations too)
#   BENCH_OUT=docs/results.md ...       # where the report goes
#
# Every finished run's evaluations are kept in docs/benchmark/ROW_sSEED/ (the three
# dkd_eval --json reports, the run's resolved config and its training seconds), next
# to the report, in version control: the report is written from there, so it can be
# rebuilt, and a benchmark finished in pieces, on a machine where the work dirs (the
# checkpoints) are gone. A stored run is reused only while `dkd_train --print-config`
# of its row still resolves to the config it was trained with (runtime.threads
# aside); otherwise it is retrained. A DKD row that has to be trained needs the
# checkpoints of the large and small runs of its seed: those are retrained (and
# re-evaluated, and re-stored) when their work dir is gone.
#
# Run tools/setup.sh first. Each training run resumes when interrupted; the
# report is written once every row has every seed.
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD="${BUILD_DIR:-build}"
DATA="data/synthetic"
VIDEOS=300
WORK="work_dirs/benchmark"
STORE="${BENCH_STORE:-docs/benchmark}"
REPORT="${BENCH_OUT:-docs/results.md}"
CFG="configs/synthetic"
SEEDS=(${BENCH_SEEDS:-1 2 3})
JOBS="${BENCH_JOBS:-1}"
# The rows of the report: the per-frame networks, the final design and one
# ablation per component of it (each the paper's choice of that component).
FRAME_ROWS=(large small small_long large_long)
DKD_ROWS=(dkd_lean_lr5 lr5_from_long lr5_no_static lr5_no_prior lr5_no_corrupt lr5_joint_centred lr5_adv)
# DKD as the paper builds it, the rows of earlier design steps, of the 3x3-stem
# speed experiment and of the large network trained in bfloat16: trained on request (tools/benchmark.sh ROW...), reported when
# every seed of theirs is stored.
EXTRA_ROWS=(dkd dkd_noadv dkd_warm dkd_prior dkd_lean small_stem3 lr5_stem3 large_bf16_train)
REQUIRED_ROWS=("${FRAME_ROWS[@]}" "${DKD_ROWS[@]}")
ALL_ROWS=("${REQUIRED_ROWS[@]}" "${EXTRA_ROWS[@]}")
# The order of the report's tables.
TABLE_ORDER=(large large_long large_bf16_train small small_long small_stem3 dkd_noadv dkd dkd_warm dkd_prior dkd_lean
             dkd_lean_lr5 lr5_from_long lr5_no_static lr5_no_prior lr5_no_corrupt lr5_joint_centred lr5_adv lr5_stem3)
ROWS=("$@")
((${#ROWS[@]})) || ROWS=("${REQUIRED_ROWS[@]}")
for tool in dkd_data dkd_train dkd_eval; do
  [ -x "$BUILD/$tool" ] || { echo "benchmark: $BUILD/$tool is missing; run tools/setup.sh first" >&2; exit 1; }
done
for r in "${ROWS[@]}"; do
  [[ " ${ALL_ROWS[*]} " == *" $r "* ]] || { echo "benchmark: unknown row '$r' (rows: ${ALL_ROWS[*]})" >&2; exit 2; }
done
[[ "$JOBS" =~ ^[1-9][0-9]*$ ]] || { echo "benchmark: BENCH_JOBS must be a positive integer, got '$JOBS'" >&2; exit 2; }
THREADS=()
if ((JOBS > 1)); then
  t=$(( $(nproc) / JOBS )); ((t >= 1)) || t=1
  THREADS=(--set runtime.threads=$t)
fi
if [ "${BENCH_FRESH:-0}" = 1 ]; then rm -rf "$WORK" "$STORE"; fi
mkdir -p "$WORK" "$STORE"
now() { date +%s; }

echo "== data: $VIDEOS synthetic videos in the Penn Action layout ($DATA)"
DATA_CMD="$BUILD/dkd_data synth --format penn --out $DATA --videos $VIDEOS --seed 1 --difficulty standard --force"
if [ -f "$DATA/.dkd_quickstart_$VIDEOS" ] && "$BUILD/dkd_data" check --dataset penn --root "$DATA" > /dev/null 2>&1; then
  echo "reusing $DATA (the quickstart's set: same command)"
else
  $DATA_CMD
  "$BUILD/dkd_data" check --dataset penn --root "$DATA"
  touch "$DATA/.dkd_quickstart_$VIDEOS"
fi

config_of() { echo "$CFG/$1.yaml"; }
model_of() {
  case $1 in large*) echo initializer ;; small*) echo baseline ;; *) echo dkd ;; esac
}
# The rows whose checkpoints a row starts from (its initializer, its encoder).
deps_of() {
  case $1 in
    large*|small*) ;;
    dkd|dkd_noadv) echo large ;;
    lr5_stem3) echo large small_stem3 ;;
    lr5_from_long) echo large small_long ;;
    *) echo large small ;;
  esac
}
# The rows other rows start from, in order of first use.
DEP_ROWS=()
for row in "${ALL_ROWS[@]}"; do
  for dep in $(deps_of "$row"); do
    [[ " ${DEP_ROWS[*]} " == *" $dep "* ]] || DEP_ROWS+=("$dep")
  done
done
# Extra settings of a row for seed $2: where its initializer and encoder come from.
sets_of() {
  local dep out=()
  for dep in $(deps_of "$1"); do
    case $dep in
      large) out+=(--set "train.initializer_checkpoint=$WORK/large_s$2/best.pt") ;;
      small*) out+=(--set "train.baseline_checkpoint=$WORK/${dep}_s$2/best.pt") ;;
    esac
  done
  echo "${out[*]}"
}
# The resolved config of a run, comparable across machines, job counts and
# versions: no comments, no blank lines, and none of the settings that change
# neither training nor the evaluation's numbers (runtime.threads; infer.fold_bn,
# infer.packed_inference and infer.precision, how the CPU runs inference: the main
# tables are float, the bfloat16 evaluations are their own variant; and a stage's
# precision while it is float32, the default of runs stored before the key existed), so adding such a
# setting does not make every stored run stale.
comparable_config() {
  sed -e 's/[[:space:]]*#.*$//' -e '/^[[:space:]]*$/d' "$1" |
    awk '/^[^ ]/ {section=$1}
         !((section == "runtime:" && $1 == "threads:") ||
           (section == "infer:" && ($1 == "fold_bn:" || $1 == "packed_inference:" || $1 == "precision:")) ||
           (section == "train:" && $1 == "precision:" && $2 == "float32"))'
}
# stored ROW SEED: true when the store holds all three evaluations of the run and
# the row still resolves to the config it was trained with.
stored() {
  local row=$1 seed=$2 dir="$STORE/$1_s$2" v
  for v in dark argmax tracked; do [ -f "$dir/eval_$v.json" ] || return 1; done
  [ -f "$dir/config.yaml" ] && [ -f "$dir/train_seconds" ] || return 1
  local now_cfg
  now_cfg=$(mktemp)
  # shellcheck disable=SC2046
  "$BUILD/dkd_train" --config "$(config_of "$row")" --work-dir "$WORK/${row}_s$seed" \
    --set runtime.seed="$seed" $(sets_of "$row" "$seed") --print-config > "$now_cfg" 2> /dev/null || { rm -f "$now_cfg"; return 1; }
  if ! diff -q <(comparable_config "$dir/config.yaml") <(comparable_config "$now_cfg") > /dev/null; then
    echo "== $row seed $seed: stored in $dir, but $(config_of "$row") now resolves to another config; retraining"
    diff <(comparable_config "$dir/config.yaml") <(comparable_config "$now_cfg") | sed -n '1,8p'
    rm -f "$now_cfg"
    return 1
  fi
  rm -f "$now_cfg"
}

# run ROW SEED: train into $WORK/ROW_sSEED (resumed when interrupted, skipped when it
# finished before: best.pt and a ".done" marker with its seconds), evaluate it on the
# test split (dkd_eval --json with the DARK and argmax decoders and with tracked
# boxes), then store the evaluations. Output goes to $WORK/ROW_sSEED.log.
run() {
  local row=$1 seed=$2 dir="$WORK/$1_s$2"
  if ! { [ -f "$dir/.done" ] && [ -f "$dir/best.pt" ]; }; then
    local resume=() t
    [ -f "$dir/last_checkpoint" ] && resume=(--resume)
    rm -f "$dir"/eval_*.json
    t=$(now)
    # Seconds of earlier, interrupted attempts count too (.partial).
    local before=0
    [ -f "$dir/.partial" ] && before=$(cat "$dir/.partial")
    # shellcheck disable=SC2046
    if ! "$BUILD/dkd_train" --config "$(config_of "$row")" --work-dir "$dir" "${resume[@]}" \
      --set runtime.seed="$seed" $(sets_of "$row" "$seed") "${THREADS[@]}"; then
      echo $(( before + $(now) - t )) > "$dir/.partial"
      return 1
    fi
    echo $(( before + $(now) - t )) > "$dir/.done"
    rm -f "$dir/.partial"
  fi
  local variant sets out
  for variant in dark argmax tracked; do
    out="$dir/eval_$variant.json"
    [ -f "$out" ] && continue
    case $variant in
      dark) sets=(--set eval.decode=dark) ;;
      argmax) sets=(--set eval.decode=argmax) ;;
      tracked) sets=(--set eval.decode=dark --set eval.boxes=tracked) ;;
    esac
    "$BUILD/dkd_eval" --config "$(config_of "$row")" --checkpoint "$dir/best.pt" --model "$(model_of "$row")" \
      --no-speed "${sets[@]}" "${THREADS[@]}" --json "$out.tmp" > "$dir/eval_$variant.txt" || return 1
    mv "$out.tmp" "$out"
  done
  local keep="$STORE/${row}_s$seed"
  rm -rf "$keep.tmp"
  mkdir -p "$keep.tmp"
  cp "$dir"/eval_{dark,argmax,tracked}.json "$dir/config.yaml" "$keep.tmp/"
  cp "$dir/.done" "$keep.tmp/train_seconds"
  rm -rf "$keep"
  mv "$keep.tmp" "$keep"
}

# Up to $JOBS runs at a time; each one's output in its log.
failed=0
launch() {
  local row=$1 seed=$2 log="$WORK/$1_s$2.log"
  while (( $(jobs -rp | wc -l) >= JOBS )); do wait -n || failed=1; done
  echo "== $(date +%H:%M:%S) train + evaluate $row seed $seed ($(config_of "$row"); log $log)"
  ( run "$row" "$seed" > "$log" 2>&1 && echo "== $(date +%H:%M:%S) $row seed $seed done: $(cat "$WORK/${row}_s$seed/.done") s of training" \
      || { echo "benchmark: $row seed $seed failed; see $log" >&2; exit 1; } ) &
}
drain() { while (( $(jobs -rp | wc -l) > 0 )); do wait -n || failed=1; done; }

# What has to run: requested runs not in the store, and the per-frame runs of every
# seed whose DKD runs have to be trained but whose checkpoints are gone.
declare -A todo=()
for row in "${ROWS[@]}"; do
  for seed in "${SEEDS[@]}"; do
    if stored "$row" "$seed"; then
      echo "== $row seed $seed: stored in $STORE/${row}_s$seed ($(cat "$STORE/${row}_s$seed/train_seconds") s of training), reused"
      continue
    fi
    todo["$row $seed"]=1
    for dep in $(deps_of "$row"); do
      [ -f "$WORK/${dep}_s$seed/best.pt" ] && [ -f "$WORK/${dep}_s$seed/.done" ] || todo["$dep $seed"]=1
    done
  done
done
# Runs in order (the checkpoints other rows start from first, then the requested rows in
# the order given), each launched as soon as a slot is free and the runs it starts
# from have finished training.
queue=()
for row in "${DEP_ROWS[@]}" "${ROWS[@]}"; do
  for seed in "${SEEDS[@]}"; do
    [ -n "${todo["$row $seed"]:-}" ] || continue
    [[ " ${queue[*]} " == *" $row:$seed "* ]] || queue+=("$row:$seed")
  done
done
ready() {
  local dep
  for dep in $(deps_of "$1"); do
    [ -f "$WORK/${dep}_s$2/.done" ] && [ -f "$WORK/${dep}_s$2/best.pt" ] || return 1
  done
}
while ((${#queue[@]})); do
  launched=0
  for i in "${!queue[@]}"; do
    row=${queue[$i]%:*} seed=${queue[$i]#*:}
    if ready "$row" "$seed"; then
      launch "$row" "$seed"
      unset "queue[$i]"
      launched=1
      break
    fi
  done
  queue=("${queue[@]}")
  if ((launched == 0)); then
    if (( $(jobs -rp | wc -l) == 0 )); then
      echo "benchmark: ${queue[*]} wait for runs that did not finish (see above)" >&2
      failed=1
      break
    fi
    wait -n || failed=1
  fi
done
drain
((failed == 0)) || { echo "benchmark: a run failed (see above); fix it and run tools/benchmark.sh again: finished runs are kept" >&2; exit 1; }

# complete ROW: every seed's three evaluations are in the store.
complete() {
  local seed variant
  for seed in "${SEEDS[@]}"; do
    for variant in dark argmax tracked; do
      [ -f "$STORE/$1_s$seed/eval_$variant.json" ] || return 1
    done
  done
}
missing=()
for row in "${REQUIRED_ROWS[@]}"; do complete "$row" || missing+=("$row"); done
if ((${#missing[@]})); then
  echo "benchmark: rows ${missing[*]} are missing seeds in $STORE; the report is written once every"
  echo "row of it has every seed: run tools/benchmark.sh (or those rows) again to go on"
  exit 0
fi
# The rows in the report: the required ones and every complete extra one.
REPORT_ROWS=()
for row in "${TABLE_ORDER[@]}"; do complete "$row" && REPORT_ROWS+=("$row"); done

# seeds VARIANT ROW...: dkd_eval --seeds over the rows' reports of one evaluation variant.
seeds() {
  local variant=$1 specs=() files
  shift
  for row in "$@"; do
    files=$(printf "$STORE/${row}_s%s/eval_$variant.json," "${SEEDS[@]}")
    specs+=("$row=${files%,}")
  done
  "$BUILD/dkd_eval" --seeds "${specs[@]}" --md "$WORK/seeds_${variant}_$1.md" > /dev/null
  cat "$WORK/seeds_${variant}_$1.md"
}
# section TITLE ROW...: a titled DARK table of these rows, left out when one of them is
# not in the report (an extra row not trained).
section() {
  local title=$1 row
  shift
  for row in "$@"; do [[ " ${REPORT_ROWS[*]} " == *" $row "* ]] || return 0; done
  echo "$title"
  echo
  seeds dark "$@"
  echo
}

# bfloat16 inference (infer.precision=bfloat16): the same checkpoints evaluated again
# with the packed backbones in bfloat16 (DARK, ground-truth boxes), stored next to
# their float evaluations; needs the work dirs' checkpoints and oneDNN bfloat16
# convolutions (a CPU with AVX-512).
PRECISION_ROWS=(large small dkd_lean_lr5)
bf16_note=""
for row in "${PRECISION_ROWS[@]}"; do
  for seed in "${SEEDS[@]}"; do
    out="$STORE/${row}_s$seed/eval_bf16.json"
    [ -f "$out" ] && continue
    ckpt="$WORK/${row}_s$seed/best.pt"
    if [ ! -f "$ckpt" ]; then
      bf16_note="Not measured: $ckpt is gone (tools/benchmark.sh $row retrains it)."
      continue
    fi
    echo "== $row seed $seed: evaluating in bfloat16"
    if ! "$BUILD/dkd_eval" --config "$(config_of "$row")" --checkpoint "$ckpt" --model "$(model_of "$row")" \
      --no-speed --set eval.decode=dark --set infer.precision=bfloat16 "${THREADS[@]}" --json "$out.tmp" \
      > "$WORK/${row}_s${seed}_bf16.log" 2>&1; then
      rm -f "$out.tmp"
      bf16_note="Not measured: dkd_eval with infer.precision=bfloat16 failed: $(tail -n 1 "$WORK/${row}_s${seed}_bf16.log")"
      break 2
    fi
    mv "$out.tmp" "$out"
  done
done
# precision_table: each precision row in float and in bfloat16, from the store.
precision_table() {
  local specs=() row files
  for row in "${PRECISION_ROWS[@]}"; do
    files=$(printf "$STORE/${row}_s%s/eval_dark.json," "${SEEDS[@]}")
    specs+=("$row=${files%,}")
    files=$(printf "$STORE/${row}_s%s/eval_bf16.json," "${SEEDS[@]}")
    specs+=("${row}_bf16=${files%,}")
  done
  "$BUILD/dkd_eval" --seeds "${specs[@]}" --md "$WORK/seeds_precision.md" > /dev/null
  cat "$WORK/seeds_precision.md"
}

echo "== speed in one run: the lean DKD against both baselines, configs/penn.yaml and the paper's design"
BENCH_CMD="$BUILD/dkd_eval --bench --config $CFG/dkd_lean_lr5.yaml --md $WORK/bench_lean.md --json $WORK/bench_lean.json"
$BENCH_CMD > /dev/null
BENCH_PENN_CMD="$BUILD/dkd_eval --bench --config configs/penn.yaml --set eval.speed_frames=30 --md $WORK/bench_penn.md --json $WORK/bench_penn.json"
$BENCH_PENN_CMD > /dev/null
BENCH_PAPER_CMD="$BUILD/dkd_eval --bench --config configs/ablations/penn_paper.yaml --set eval.speed_frames=30 --md $WORK/bench_paper.md --json $WORK/bench_paper.json"
$BENCH_PAPER_CMD > /dev/null
FLOPS_CMD="$BUILD/dkd_eval --flops --config $CFG/dkd_lean_lr5.yaml"
$FLOPS_CMD > "$WORK/flops_lean.txt"

# The BLAS behind libblas.so.3, each installed Debian build in turn (LD_LIBRARY_PATH
# puts its folder first): the machine's rates and the lean networks' speed.
arch="$(gcc -dumpmachine 2>/dev/null || echo x86_64-linux-gnu)"
BLAS_CMD="$BUILD/dkd_eval --bench --config $CFG/dkd_lean_lr5.yaml --set eval.speed_frames=50"
: > "$WORK/blas.md"
for dir in blas openblas-pthread openblas-openmp blis-pthread blis-openmp; do
  [ -e "/usr/lib/$arch/$dir/libblas.so.3" ] || continue
  LD_LIBRARY_PATH="/usr/lib/$arch/$dir" $BLAS_CMD --md "$WORK/bench_$dir.md" > /dev/null 2>&1
  out=$(cat "$WORK/bench_$dir.md")
  machine=$(grep -m1 '^Machine:' <<< "$out")
  large=$(awk -F'|' '$2 ~ /^ initializer / {gsub(/ /, "", $3); print $3; exit}' <<< "$out")
  dkd=$(awk -F'|' '/DKD \(later/ {gsub(/ /, "", $3); print $3; exit}' <<< "$out")
  echo "| $dir | ${machine#Machine: } | $large | $dkd |" >> "$WORK/blas.md"
done

# dkd's C++ tools against the same networks in PyTorch (Python), when Debian's
# python3-torch is installed (not part of tools/setup.sh).
COMPARE_CMD="OUT=$WORK/compare BUILD_DIR=$BUILD tools/compare_pytorch.sh"
compare_note="Not measured: /usr/bin/python3 cannot import torch (apt-get install python3-torch, then rerun)."
if /usr/bin/python3 -c "import torch" 2>/dev/null; then
  if OUT="$WORK/compare" BUILD_DIR="$BUILD" tools/compare_pytorch.sh > "$WORK/compare.log" 2>&1; then
    compare_note=""
  else
    compare_note="tools/compare_pytorch.sh failed; see $WORK/compare.log."
  fi
fi

{
  echo "# Results: DKD on the synthetic benchmark"
  echo
  echo "Written by \`tools/benchmark.sh\` on $(date -u +%Y-%m-%d) ($(nproc) cores, $(uname -m)); every number below"
  echo "comes from the commands listed at the end. Data: \`dkd_data synth --format penn\`, $VIDEOS videos"
  echo "(standard difficulty). Every row was trained with seeds ${SEEDS[*]} (\`runtime.seed\`), its \`best.pt\`"
  echo "chosen on the validation split (10% of the training videos held out, \`data.val_fraction\`), and"
  echo "evaluated on the test split. Numbers are mean ± sample standard deviation over the seeds. PCK with"
  echo "bbox normalisation, visible joints only, as on Penn Action (docs/datasets.md), mean over the 13"
  echo "table joints; \`accel/GT\` is the mean keypoint acceleration of the predictions over that of the"
  echo "ground truth (1 = as smooth as the ground truth). GMACs are per frame (later frames for DKD),"
  echo "1 multiply-add = 1 FLOP. A difference is called \"no difference\" when it is within the sum of the"
  echo "two rows' standard deviations."
  echo
  echo "Rows: \`large\` = per-frame large network (the DKD initializer, 3 epochs), \`large_long\` = the same for"
  echo "10 epochs; \`small\` = per-frame small network (the DKD frame encoder + 1x1 head, 3 epochs), \`small_long\` ="
  echo "the same for 45 epochs (about as many frames as the small network and the DKD stage see together);"
  echo "\`dkd_lean_lr5\` = the final design: encoder"
  echo "warm-started from \`small\`, a location prior (H(t-1) warped into frame t's crop), a static head, self-fed"
  echo "rollouts with corrupted priors, 3x3 kernels, a 12-channel prior head, no discriminator, 6 DKD epochs at"
  echo "lr 0.005 (the quickstart's model, 10x fewer GMACs than its initializer); \`lr5_from_long\` = the final"
  echo "design with its encoder from \`small_long\`. Ablations of the final design, one change each:"
  echo "\`lr5_no_static\` (no static head), \`lr5_no_prior\` (no location prior), \`lr5_no_corrupt\` (rollouts"
  echo "without injected failures), \`lr5_joint_centred\` (joint-centred kernels instead of the pooled"
  echo "distillator), \`lr5_adv\` (the temporal discriminator on)."
  echo "Rows that appear when all their runs are stored: \`dkd\` (DKD as the paper builds it: pooled kernels"
  echo "from F(t-1) and H(t-1), temporally adversarial training, encoder trained from scratch, 2 DKD epochs),"
  echo "and earlier design steps: \`dkd_noadv\` (\`dkd\` without the"
  echo "discriminator), \`dkd_warm\` (\`dkd\`, encoder from \`small\`), \`dkd_prior\` (\`dkd_warm\` with the location"
  echo "prior, static head and corrupted rollouts), \`dkd_lean\` (\`dkd_prior\` at the 10x budget, 6 epochs, lr"
  echo "0.002), \`small_stem3\` / \`lr5_stem3\` (a 3x3 encoder stem), \`large_bf16_train\` (\`large\` trained with its"
  echo "forward pass in bfloat16 and the decoded-frame cache on). Earlier results of the design steps are in the"
  echo "experiment log below."
  echo "Configs: \`$CFG/\`."
  echo
  echo "## Test split, ground-truth boxes, DARK decoding (the main table)"
  echo
  seeds dark "${REPORT_ROWS[@]}"
  echo
  echo "## Ablations (same seeds)"
  echo
  section "The final design (\`dkd_lean_lr5\`), one component at a time:" \
    dkd_lean_lr5 lr5_no_static lr5_no_prior lr5_no_corrupt lr5_joint_centred lr5_adv
  section "Training budget: the per-frame networks trained longer, and DKD starting from the longer-trained small network:" \
    small small_long large large_long dkd_lean_lr5 lr5_from_long
  section "DKD as the paper builds it against the final design and both per-frame networks:" \
    large small dkd dkd_lean_lr5
  section "Earlier design steps: temporally adversarial training (the paper's DKD with and without it):" \
    dkd_noadv dkd
  section "Earlier design steps: encoder warm start, location prior, the 10x budget, the DKD learning rate:" \
    dkd dkd_warm dkd_prior dkd_lean dkd_lean_lr5
  section "Training in bfloat16 (\`train.initializer.precision=bfloat16\`, with \`data.cache\`), against the same network trained in float:" \
    large large_bf16_train
  section "A 3x3 encoder stem (fewer multiply-adds per later frame), the small network with it and the final design with it:" \
    small small_stem3 dkd_lean_lr5 lr5_stem3
  echo "## bfloat16 inference (\`infer.precision=bfloat16\`; the same checkpoints, DARK, ground-truth boxes)"
  echo
  echo "Each row evaluated with its packed backbones in float (the main table's numbers) and in bfloat16"
  echo "(rows \`ROW_bf16\`); the speed of both is in the C++ against PyTorch section."
  echo
  if [ -z "$bf16_note" ]; then precision_table; else echo "$bf16_note"; fi
  echo
  echo "## Decoding: argmax with a quarter-pixel shift (the same checkpoints)"
  echo
  seeds argmax "${REPORT_ROWS[@]}"
  echo
  echo "## Tracked boxes (eval.boxes=tracked: the first frame's ground-truth box, then the box from the previous prediction, as dkd_infer crops)"
  echo
  seeds tracked "${REPORT_ROWS[@]}"
  echo
  echo "## Speed, measured in one run (random frames; batch 1, and eval.batch_videos videos stepping together)"
  echo
  echo "The benchmark's final DKD design (\`$CFG/dkd_lean_lr5.yaml\`) against both per-frame networks:"
  echo
  cat "$WORK/bench_lean.md"
  echo
  echo "Penn Action default (\`configs/penn.yaml\`, 256x256; untrained weights, 30 frames):"
  echo
  cat "$WORK/bench_penn.md"
  echo
  echo "The paper's design (\`configs/ablations/penn_paper.yaml\`, 256x256; untrained weights, 30 frames):"
  echo
  cat "$WORK/bench_paper.md"
  echo
  echo "## BLAS"
  echo
  echo "Each Debian BLAS installed on this machine behind libblas.so.3 in turn (\`$BLAS_CMD\`"
  echo "with LD_LIBRARY_PATH=/usr/lib/$arch/DIR); \`tools/setup.sh\` installs and selects the OpenMP build of OpenBLAS."
  echo
  echo "| DIR | library and measured rates | per-frame large ms/frame | DKD ms/frame |"
  echo "|:---|:---|---:|---:|"
  cat "$WORK/blas.md"
  echo
  echo "## C++ against PyTorch (Python), the same networks (\`tools/compare_pytorch.sh\`)"
  echo
  if [ -z "$compare_note" ]; then cat "$WORK/compare/compare.md"; else echo "$compare_note"; fi
  echo
  if [ -z "$compare_note" ] && [ -f "$WORK/compare/step.md" ]; then
    echo "### The DKD tracker's step against PyTorch eager"
    echo
    cat "$WORK/compare/step.md"
    echo
  fi
  echo "## Complexity"
  echo
  echo '```'
  cat "$WORK/flops_lean.txt"
  echo '```'
  echo
  if [ -f docs/experiments.md ]; then
    echo "## What was tried (docs/experiments.md, kept by hand)"
    echo
    sed '1{/^# /d}' docs/experiments.md
    echo
  fi
  echo "## Training time on this machine (seconds per run)"
  echo
  echo "| row | $(printf "seed %s | " "${SEEDS[@]}")"
  echo "|:---|$(printf -- "---:|%.0s" "${SEEDS[@]}")"
  for row in "${REPORT_ROWS[@]}"; do
    echo "| $row | $(for s in "${SEEDS[@]}"; do printf "%s | " "$(cat "$STORE/${row}_s$s/train_seconds")"; done)"
  done
  echo
  echo "## Commands"
  echo
  echo '```bash'
  echo "$DATA_CMD"
  echo "# for SEED in ${SEEDS[*]}; rows and their settings:"
  for row in "${REPORT_ROWS[@]}"; do
    echo "$BUILD/dkd_train --config $(config_of "$row") --work-dir $WORK/${row}_sSEED --set runtime.seed=SEED $(sets_of "$row" SEED)"
  done
  echo "$BUILD/dkd_eval --config CONFIG --checkpoint $WORK/ROW_sSEED/best.pt --model MODEL --no-speed --set eval.decode=dark|argmax [--set eval.boxes=tracked] --json ..."
  echo "$BUILD/dkd_eval --config CONFIG --checkpoint $WORK/ROW_sSEED/best.pt --model MODEL --no-speed --set eval.decode=dark --set infer.precision=bfloat16 --json .../eval_bf16.json  # rows ${PRECISION_ROWS[*]}"
  echo "$BUILD/dkd_eval --seeds ROW=$WORK/ROW_s1/eval_dark.json,... --md ..."
  echo "$BENCH_CMD"
  echo "$COMPARE_CMD"
  echo "$BENCH_PENN_CMD"
  echo "$BENCH_PAPER_CMD"
  echo "$FLOPS_CMD"
  echo '```'
} > "$REPORT.tmp"
mv "$REPORT.tmp" "$REPORT"
echo "wrote $REPORT"
