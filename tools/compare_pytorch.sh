#!/usr/bin/env bash
# dkd's C++ tools against the same networks in PyTorch (Python), measured side by side in
# one run on this machine, on the same random inputs and the same LibTorch (Debian's 1.13):
#   1. inference: the per-frame large network of configs/penn.yaml (ResNet-50 + 3x256
#      deconvolutions + 1x1 head, 256x256, batch 1): `dkd_eval --bench` (as configured:
#      packed oneDNN inference; and with infer.packed_inference=false, plain tensors) vs
#      tools/compare_pytorch.py infer (plain PyTorch, and with the trunk through
#      torch.utils.mkldnn, the same kind of packing opted into in Python); and both in
#      bfloat16 (C++ infer.precision=bfloat16; Python with the trunk in bfloat16);
#   2. training: the quickstart's initializer stage (configs/synthetic.yaml) with its real
#      data loader (`dkd_train`, frames/s from metrics.jsonl; as configured, with sub-pixel
#      deconvolutions, and with transposed ones) vs a bare PyTorch loop of the same network
#      on in-memory tensors (tools/compare_pytorch.py train; nn.ConvTranspose2d, and the
#      sub-pixel form); and both with the forward in bfloat16 (C++
#      train.initializer.precision=bfloat16 with data.cache, 2 epochs; Python under
#      torch.autocast).
# Prints the ratios and writes $OUT/compare.md and $OUT/compare.json. A benchmark, not a
# test: run it on an idle machine. Needs Debian's python3-torch (apt-get install
# python3-torch; not part of tools/setup.sh) and the quickstart's data (data/synthetic).
# Each measurement is the best of ROUNDS interleaved rounds (see below).
#   3. the DKD tracker's streaming step, crop and decode included (dkd_infer --bench), against the
#      same step in PyTorch eager (tools/compare_dkd_step.py; needs python3-opencv too), at batch 1
#      and with STREAMS people stepped together; $OUT/step.md and $OUT/step.json.
#   tools/compare_pytorch.sh            # FRAMES=30 TRAIN_ITERS=60 ROUNDS=3 STEP_FRAMES=300 STREAMS=8 BUILD_DIR=build OUT=work_dirs/compare
#   tools/compare_pytorch.sh --step-only   # part 3 alone
set -euo pipefail
cd "$(dirname "$0")/.."
B="${BUILD_DIR:-build}"
PY="${PYTHON:-/usr/bin/python3}"
OUT="${OUT:-work_dirs/compare}"
FRAMES="${FRAMES:-30}"
TRAIN_ITERS="${TRAIN_ITERS:-60}"
ROUNDS="${ROUNDS:-3}"
STEP_FRAMES="${STEP_FRAMES:-300}"
STREAMS="${STREAMS:-8}"
step_only=0
[ "${1:-}" = "--step-only" ] && step_only=1
mkdir -p "$OUT"

die() { echo "compare_pytorch: $*" >&2; exit 1; }
[ -x "$B/dkd_eval" ] && [ -x "$B/dkd_train" ] || die "$B/dkd_eval or $B/dkd_train is missing; build first (README)"
"$PY" -c "import torch" 2>/dev/null || die "$PY cannot import torch; apt-get install python3-torch (Debian's PyTorch 1.13)"
[ -d data/synthetic ] || die "data/synthetic is missing; run tools/quickstart.sh or: $B/dkd_data synth --format penn --out data/synthetic --videos 300 --seed 1"

json_get() {  # FILE PYTHON-EXPRESSION-ON-j
  "$PY" -c "import json,sys; j=json.load(open(sys.argv[1])); print($2)" "$1"
}
large_ms() { json_get "$1" "[r['ms_per_frame'] for r in j['rows'] if r['name'] == 'initializer'][0]"; }

# This machine's timings drift between runs (other load on the host), so every measurement
# is taken in $ROUNDS interleaved rounds (C++, Python, C++, Python, ...) and the best of each
# is kept: the lowest ms per frame, the highest frames/s (noise only ever slows a run down).
rm -rf "$OUT/values"
mkdir -p "$OUT/values"
record() { echo "$2" >> "$OUT/values/$1"; }
py_infer() {  # NAME [--mkldnn|--bf16]
  "$PY" tools/compare_pytorch.py infer --depth 50 --deconv-layers 3 --deconv-filters 256 --joints 13 \
    --input 256 256 --frames "$FRAMES" "${@:2}" > "$OUT/$1.json" || die "compare_pytorch.py infer $* failed"
  record "$1" "$(json_get "$OUT/$1.json" "j['ms_per_frame']")"
}
cpp_infer() {  # NAME [--set ...]
  "$B/dkd_eval" --bench --config configs/penn.yaml --set eval.speed_frames="$FRAMES" "${@:2}" \
    --json "$OUT/$1.json" > "$OUT/$1.log" 2>&1 || die "dkd_eval --bench $* failed, see $OUT/$1.log"
  record "$1" "$(large_ms "$OUT/$1.json")"
}
# 3. The DKD tracker's streaming step (crop, encoder, distilled kernels, location prior, decode)
# on the quickstart's checkpoint (random weights without one: the speed does not depend on
# them): dkd_infer --bench (PoseTracker::track at batch 1, and STREAMS people stepped as one
# batch) against tools/compare_dkd_step.py, the same model, frame and crop in PyTorch eager,
# which first checks that its keypoints are the C++ tracker's.
compare_step() {
  local ckpt=() cfg=configs/synthetic.yaml
  [ -f work_dirs/quickstart/best.pt ] && ckpt=(--checkpoint work_dirs/quickstart/best.pt)
  rm -rf "$OUT/step" "$OUT/step_values"
  mkdir -p "$OUT/step_values"
  for round in $(seq 1 "$ROUNDS"); do
    echo "== round $round of $ROUNDS: the DKD tracker's step ($cfg), median of $STEP_FRAMES steps"
    # The peer implements the pose step, not the box network (infer.box_rule network): both use steady.
    "$B/dkd_infer" --config "$cfg" "${ckpt[@]}" --set infer.box_rule=steady --bench --bench-frames "$STEP_FRAMES" \
      --bench-streams "$STREAMS" \
      --export-step "$OUT/step" > "$OUT/step_cpp.log" 2>&1 || die "dkd_infer --bench failed, see $OUT/step_cpp.log"
    grep '^{.*"infer_bench"' "$OUT/step_cpp.log" > "$OUT/step_cpp.json"
    "$PY" tools/compare_dkd_step.py "$OUT/step" --streams "$STREAMS" --frames "$STEP_FRAMES" > "$OUT/step_py.json" \
      || die "compare_dkd_step.py failed (or its keypoints are not the C++ tracker's): $(cat "$OUT/step_py.json")"
    "$PY" - "$OUT" <<'PYEOF'
import json, sys
out = sys.argv[1]
cpp = json.loads(open(f"{out}/step_cpp.json").read())
py = json.loads(open(f"{out}/step_py.json").read())
rows = {(r["name"], r["bn_folded"]): r["median_ms"] for r in cpp["infer_bench"]}
with open(f"{out}/step_values/rounds.jsonl", "a") as f:
    f.write(json.dumps({"cpp_track": rows[("dkd_track", True)], "cpp_initializer": rows[("initializer", True)],
                        "cpp_streams": rows[("dkd_track_streams", True)], "py_track": py["ms_per_step_batch1"],
                        "py_streams": py["ms_per_step_streams"], "diff_px": py["max_keypoint_diff_px"]}) + "\n")
PYEOF
  done
  "$PY" - "$OUT" "$STREAMS" "$(nproc)" "${#ckpt[@]}" <<'PYEOF'
import json, sys
out, streams, cores, ckpt = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4] != "0"
rounds = [json.loads(l) for l in open(f"{out}/step_values/rounds.jsonl")]
best = {k: min(r[k] for r in rounds) for k in rounds[0] if k != "diff_px"}
diff = max(r["diff_px"] for r in rounds)
md = f"""The DKD tracker's step, C++ (dkd_infer --bench, BN folded) against the same step in PyTorch eager
(tools/compare_dkd_step.py), {cores} cores, {"the quickstart's checkpoint" if ckpt else "random weights"}, crop and decode included.
Best of {len(rounds)} interleaved rounds, each the median of its steps; the Python keypoints differ from the
C++ tracker's by at most {diff:.4f} px on the exported frames.

| measurement (ms per step) | C++ (dkd) | PyTorch eager | C++ / PyTorch |
|:---|---:|---:|---:|
| one person (batch 1) | {best["cpp_track"]:.2f} | {best["py_track"]:.2f} | {best["cpp_track"] / best["py_track"]:.2f} |
| {streams} people stepped as one batch | {best["cpp_streams"]:.2f} | {best["py_streams"]:.2f} | {best["cpp_streams"] / best["py_streams"]:.2f} |
| C++: the initializer (per-frame large network) on every frame, for scale | {best["cpp_initializer"]:.2f} | | |

Target (issue 35): the C++ step at most 0.50x PyTorch eager's at batch 1.
"""
print(md)
open(f"{out}/step.md", "w").write(md)
json.dump({"best_ms": best, "max_keypoint_diff_px": diff, "rounds": rounds}, open(f"{out}/step.json", "w"), indent=2)
PYEOF
}
if [ "$step_only" = 1 ]; then
  "$PY" -c "import cv2" 2>/dev/null || die "$PY cannot import cv2; apt-get install python3-opencv"
  compare_step
  exit 0
fi

for round in $(seq 1 "$ROUNDS"); do
  echo "== round $round of $ROUNDS: inference, per-frame large network of configs/penn.yaml, 256x256, batch 1, median of $FRAMES frames"
  cpp_infer cpp_infer
  py_infer py_infer
  cpp_infer cpp_infer_plain --set infer.packed_inference=false
  py_infer py_infer_mkldnn --mkldnn
  py_infer py_infer_frozen --freeze
  cpp_infer cpp_infer_bf16 --set infer.precision=bfloat16
  py_infer py_infer_bf16 --bf16

  echo "== round $round of $ROUNDS: training, the quickstart's initializer stage (configs/synthetic.yaml), $TRAIN_ITERS steps"
  for variant in train_cpp train_cpp_transposed; do
    flags=()
    [ "$variant" = train_cpp_transposed ] && flags=(--set model.initializer.deconv_impl=transposed)
    rm -rf "$OUT/$variant" "$OUT/$variant".old-*  # scratch runs: no --force backups piling up
    "$B/dkd_train" --config configs/synthetic.yaml --work-dir "$OUT/$variant" \
      --set train.stages=[initializer] --set train.initializer.max_iters="$TRAIN_ITERS" --set train.val_every=0 \
      "${flags[@]}" > "$OUT/$variant.log" 2>&1 || die "dkd_train ${flags[*]} failed, see $OUT/$variant.log"
    # Median of the logged windows, the first (warm-up) left out.
    record "$variant" "$("$PY" -c "
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
fps = [r['frames_per_s'] for r in rows if r.get('type') == 'train' and r.get('stage') == 'initializer']
print(statistics.median(fps[1:] if len(fps) > 1 else fps))" "$OUT/$variant/metrics.jsonl")"
  done
  batch=$(grep -A40 '^train:' "$OUT/train_cpp/config.yaml" | grep -m1 -E '^  initializer:' -A3 | grep -m1 batch_size | sed 's/.*batch_size: *\([0-9]*\).*/\1/')
  size=$(grep -m1 'input_size:' "$OUT/train_cpp/config.yaml" | sed 's/.*\[\([0-9]*\), *\([0-9]*\)\].*/\1 \2/')
  [ -n "$batch" ] && [ -n "$size" ] || die "could not read batch size and input size from $OUT/train_cpp/config.yaml"
  for variant in train_py train_py_subpixel train_py_bf16 train_py_bf16_subpixel; do
    flags=()
    case $variant in *bf16*) flags+=(--bf16) ;; esac
    case $variant in *subpixel) flags+=(--subpixel) ;; esac
    # shellcheck disable=SC2086
    "$PY" tools/compare_pytorch.py train --depth 18 --width 0.5 --deconv-layers 3 --deconv-filters 64 --joints 13 \
      --input $size --batch "$batch" --frames 20 --warmup 3 "${flags[@]}" > "$OUT/$variant.json" \
      || die "compare_pytorch.py train ${flags[*]} failed"
    record "$variant" "$(json_get "$OUT/$variant.json" "j['frames_per_s']")"
  done
  # The same stage with its forward in bfloat16 (train.initializer.precision) and the decoded-frame
  # cache on (data.cache), for the configured 2 epochs: epoch 1 fills the cache, epoch 2 reads from it.
  echo "== round $round of $ROUNDS: training in bfloat16 with the frame cache, the quickstart's initializer stage, 2 epochs"
  rm -rf "$OUT/train_cpp_bf16" "$OUT"/train_cpp_bf16.old-*
  "$B/dkd_train" --config configs/synthetic.yaml --work-dir "$OUT/train_cpp_bf16" \
    --set train.stages=[initializer] --set train.initializer.epochs=2 --set train.val_every=0 \
    --set train.initializer.precision=bfloat16 --set data.cache=true \
    > "$OUT/cpp_train_bf16.log" 2>&1 || die "dkd_train (bfloat16) failed, see $OUT/cpp_train_bf16.log"
  # Median of each epoch's logged windows, the first left out.
  read -r e1 e2 <<< "$("$PY" -c "
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
rows = [r for r in rows if r.get('type') == 'train' and r.get('stage') == 'initializer']
out = []
for epoch in (1, 2):
    fps = [r['frames_per_s'] for r in rows if r.get('epoch') == epoch]
    out.append(statistics.median(fps[1:] if len(fps) > 1 else fps))
print(*out)" "$OUT/train_cpp_bf16/metrics.jsonl")"
  record train_cpp_bf16_epoch1 "$e1"
  record train_cpp_bf16_epoch2 "$e2"
done
py_params=$(json_get "$OUT/py_infer.json" "j['params']")
cpp_params=$(json_get "$OUT/cpp_infer.json" "int([r['params'] for r in j['rows'] if r['name'] == 'initializer'][0])")
[ "$py_params" = "$cpp_params" ] || die "the Python network has $py_params parameters, the C++ one $cpp_params: not the same network"

"$PY" - "$OUT" "$batch" "$size" "$(nproc)" <<'EOF'
import json, os, sys
out, batch, size, cores = sys.argv[1:5]
values = {f: [float(l) for l in open(f"{out}/values/{f}") if l.strip()] for f in os.listdir(f"{out}/values")}
rounds = max(len(v) for v in values.values())
# Noise only ever slows a run down: the lowest ms per frame, the highest frames/s.
best = {f: (min(v) if "_infer" in f else max(v)) for f, v in values.items()}
cpp, cpp_plain, cpp_bf16 = best["cpp_infer"], best["cpp_infer_plain"], best["cpp_infer_bf16"]
py, py_mkldnn, py_bf16 = best["py_infer"], best["py_infer_mkldnn"], best["py_infer_bf16"]
py_frozen = best["py_infer_frozen"]
tc, tct = best["train_cpp"], best["train_cpp_transposed"]
tcb1, tcb2 = best["train_cpp_bf16_epoch1"], best["train_cpp_bf16_epoch2"]
tp, tps, tpb, tpbs = best["train_py"], best["train_py_subpixel"], best["train_py_bf16"], best["train_py_bf16_subpixel"]
bench = json.load(open(f"{out}/cpp_infer.json"))
blas = bench["blas"]["name"]
large = [r for r in bench["rows"] if r["name"] == "initializer"][0]
conv_rate = bench["machine_gflops"]["conv3x3"]
floor = large["gmacs_per_frame"] * 2.0 / conv_rate * 1000.0  # ms at the machine's measured 3x3 conv rate
md = f"""C++ tools vs the same networks in PyTorch (Python), one run, {cores} cores, BLAS {blas}, Debian's LibTorch 1.13 on both sides.
Each number is the best of {rounds} interleaved rounds (lowest ms, highest frames/s; all values in compare.json).

| measurement | C++ (dkd) | PyTorch (Python) | C++ / PyTorch |
|:---|---:|---:|---:|
| inference, per-frame large of configs/penn.yaml (ms/frame, 256x256, batch 1; C++ packed oneDNN inference, the default) | {cpp:.1f} | {py:.1f} | {cpp / py:.2f} |
| the same, C++ with `infer.packed_inference=false` (plain NCHW tensors) | {cpp_plain:.1f} | {py:.1f} | {cpp_plain / py:.2f} |
| the same, Python with the trunk through `torch.utils.mkldnn` (opt-in packing) | {cpp:.1f} | {py_mkldnn:.1f} | {cpp / py_mkldnn:.2f} |
| the same, Python's best float path: `torch.jit.freeze` + `optimize_for_inference` | {cpp:.1f} | {py_frozen:.1f} | {cpp / py_frozen:.2f} |
| the same in bfloat16 (C++ `infer.precision=bfloat16`) against PyTorch in float, the target's comparison | {cpp_bf16:.1f} | {py:.1f} | {cpp_bf16 / py:.2f} |
| bfloat16 on both sides (PyTorch: the trunk in bfloat16, the head in float: its bfloat16 transposed convolution fails) | {cpp_bf16:.1f} | {py_bf16:.1f} | {cpp_bf16 / py_bf16:.2f} |
| the network's multiply-adds at this machine's measured rate of a plain NCHW 3x3 convolution ({conv_rate:.0f} GFLOP/s) | {floor:.1f} | | {floor / py:.2f} |
| training, the quickstart's initializer stage as configured (frames/s, {size.replace(' ', 'x')}, batch {batch}; C++ with its data loader and sub-pixel deconvolutions, Python on in-memory tensors with `nn.ConvTranspose2d`): the target's comparison | {tc:.1f} | {tp:.1f} | {tc / tp:.2f} |
| the same, Python with the same sub-pixel deconvolutions (`--subpixel`) | {tc:.1f} | {tps:.1f} | {tc / tps:.2f} |
| the same, both with transposed convolutions (C++ `model.initializer.deconv_impl=transposed`) | {tct:.1f} | {tp:.1f} | {tct / tp:.2f} |
| C++ with `train.initializer.precision=bfloat16` and `data.cache=true`, epoch 1 (cache filling), against Python in float | {tcb1:.1f} | {tp:.1f} | {tcb1 / tp:.2f} |
| the same, epoch 2 (frames from the cache), against Python in float: the target's comparison with the precision named | {tcb2:.1f} | {tp:.1f} | {tcb2 / tp:.2f} |
| the same, epoch 2, against Python under bfloat16 autocast (transposed convolutions) | {tcb2:.1f} | {tpb:.1f} | {tcb2 / tpb:.2f} |
| the same, epoch 2, against Python under bfloat16 autocast with sub-pixel deconvolutions (the same precision and arithmetic) | {tcb2:.1f} | {tpbs:.1f} | {tcb2 / tpbs:.2f} |

Targets (issue 18): inference time ratio at most 0.50; training frames/s ratio at least 1.25.
PyTorch runs this network at {large["gmacs_per_frame"] * 2000.0 / py:.0f} GFLOP/s, {large["gmacs_per_frame"] * 2000.0 / py / conv_rate * 100.0:.0f}% of the measured plain
convolution rate, the C++ tools at {large["gmacs_per_frame"] * 2000.0 / cpp:.0f} GFLOP/s. A plain convolution call reorders its input, weights and
output between NCHW and oneDNN's blocked layout; packed inference reorders the weights once and keeps the
activations blocked through the trunk, so it can beat the plain rate. bfloat16 halves the arithmetic's cost
on CPUs with AVX512-BF16 (measured 3x3 convolution in bfloat16: {bench["machine_gflops"].get("conv3x3_bf16", 0):.0f} GFLOP/s); its heatmaps differ by
bfloat16 rounding (the PCK change is measured in the bfloat16 section of docs/results.md). The sub-pixel form
computes what the transposed convolution computes, with the same parameters (tests/test_subpixel_deconv.cpp;
`compare_pytorch.py --check-subpixel`), through oneDNN's convolutions instead of the BLAS: a config choice in
the C++ tools, a few lines of user code in Python.
"""
print(md)
open(f"{out}/compare.md", "w").write(md)
json.dump({"infer_ms": {"cpp": cpp, "cpp_plain": cpp_plain, "pytorch": py, "pytorch_mkldnn": py_mkldnn, "pytorch_frozen": py_frozen,
                         "cpp_bf16": cpp_bf16, "pytorch_bf16": py_bf16, "plain_conv_rate_ms": floor},
           "train_frames_per_s": {"cpp": tc, "cpp_transposed": tct, "pytorch": tp, "pytorch_subpixel": tps,
                                  "cpp_bf16_cache_epoch1": tcb1, "cpp_bf16_cache_epoch2": tcb2,
                                  "pytorch_bf16": tpb, "pytorch_bf16_subpixel": tpbs},
           "blas": blas, "cores": int(cores), "rounds": values},
          open(f"{out}/compare.json", "w"), indent=2)
EOF

if "$PY" -c "import cv2" 2>/dev/null; then
  compare_step
else
  echo "compare_pytorch: the DKD step comparison needs python3-opencv (apt-get install python3-opencv); skipped" >&2
fi
