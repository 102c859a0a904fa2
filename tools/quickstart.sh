#!/usr/bin/env bash
# The quickstart: generate the built-in synthetic data set, train a compact DKD
# (pose initializer; per-frame small network, which starts the DKD encoder; then
# the DKD stage with the location prior, trained on its own rollouts; then the
# tracker's box network),
# evaluate it, print the PCK and FLOPs tables, and render an overlay video of a
# test clip. Run tools/setup.sh first (README's first command does both).
#
#   tools/quickstart.sh [--set key=value ...]     extra overrides go to dkd_train and dkd_eval
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD="${BUILD_DIR:-build}"
CONFIG="configs/synthetic.yaml"
DATA="data/synthetic"
WORK="work_dirs/quickstart"
VIDEOS="${DKD_QUICKSTART_VIDEOS:-300}"
BOX_DATA="data/synthetic_boxes"  # train.box_data in configs/synthetic.yaml
BOX_VIDEOS=4800  # of 4-6 frames each: many people, few frames of each
for tool in dkd_data dkd_train dkd_eval dkd_infer; do
  [ -x "$BUILD/$tool" ] || { echo "quickstart: $BUILD/$tool is missing; run tools/setup.sh first" >&2; exit 1; }
done

now() { date +%s; }
t_start=$(now)

echo "== 1/5 data: $VIDEOS synthetic videos in the Penn Action layout ($DATA)"
if [ -f "$DATA/.dkd_quickstart_$VIDEOS" ] && "$BUILD/dkd_data" check --dataset penn --root "$DATA" > /dev/null 2>&1; then
  echo "reusing $DATA"
else
  "$BUILD/dkd_data" synth --format penn --out "$DATA" --videos "$VIDEOS" --seed 1 --force
  "$BUILD/dkd_data" check --dataset penn --root "$DATA"
  touch "$DATA/.dkd_quickstart_$VIDEOS"
fi
# The tracker's box network (stage box, train.box_data) also learns from a second set of
# synthetic people: it generalises to new videos with more of them (docs/method.md, "Tracked boxes").
if [ -f "$BOX_DATA/.dkd_quickstart_$BOX_VIDEOS" ] && "$BUILD/dkd_data" check --dataset penn --root "$BOX_DATA" > /dev/null 2>&1; then
  echo "reusing $BOX_DATA"
else
  echo "   and $BOX_VIDEOS more for the tracker's box network ($BOX_DATA)"
  "$BUILD/dkd_data" synth --format penn --out "$BOX_DATA" --videos "$BOX_VIDEOS" --min-frames 4 --max-frames 6 \
    --seed 11 --force
  touch "$BOX_DATA/.dkd_quickstart_$BOX_VIDEOS"
fi
t_data=$(now)

echo "== 2/5 train: $CONFIG -> $WORK"
resume=()
# An earlier run continues with this config (a stage added since, as the box stage, is trained).
[ -f "$WORK/last_checkpoint" ] && resume=(--resume --resume-with-changes)
"$BUILD/dkd_train" --config "$CONFIG" --work-dir "$WORK" "${resume[@]}" "$@"
t_train=$(now)

echo "== 3/5 evaluate: PCK on the synthetic test split"
"$BUILD/dkd_eval" --config "$CONFIG" --checkpoint "$WORK/best.pt" "$@" \
  --json "$WORK/eval.json" --md "$WORK/eval.md" --plots "$WORK/plots" --save-predictions "$WORK/predictions.json"
t_eval=$(now)

echo "== 4/5 complexity: params and GMACs per component"
"$BUILD/dkd_eval" --flops --config "$CONFIG" "$@" --json "$WORK/flops.json"

echo "== 5/5 overlay: the model tracking one test clip"
clip=$(ls -d "$DATA"/frames/* | tail -n 1)
"$BUILD/dkd_infer" --config "$CONFIG" --checkpoint "$WORK/best.pt" "$@" --input "$clip" --out "$WORK/overlay"
t_end=$(now)

cat <<SUMMARY

Quickstart done in $((t_end - t_start)) s (data $((t_data - t_start)) s, training $((t_train - t_data)) s, evaluation $((t_eval - t_train)) s).
  work dir        $WORK/  (config.yaml, log.txt, checkpoints/, best.pt)
  metrics         $WORK/metrics.jsonl
  evaluation      $WORK/eval.md, $WORK/eval.json, $WORK/predictions.json
  plots           $WORK/plots/pck_curve.png, $WORK/plots/smoothness.png
  complexity      $WORK/flops.json
  overlay video   $(ls "$WORK"/overlay/overlay.* 2>/dev/null | head -n 1)  (keypoints: $WORK/overlay/keypoints.json)
SUMMARY
