#!/usr/bin/env bash
# Proxy runs of DKD design options (docs/experiments.md): only the DKD stage is retrained
# (one epoch of configs/synthetic.yaml) from the quickstart checkpoint, then dkd_eval on
# the test split. Run the quickstart first. Each argument is NAME:OPTIONS, e.g.
#   tools/proxy.sh "prior:--set model.distillator.prior=warped --set model.distillator.static_head=true"
# A run whose eval.json exists is skipped; logs go to work_dirs/proxy/NAME.log.
cd "$(dirname "$0")/.."
B="${BUILD_DIR:-build}"
mkdir -p work_dirs/proxy
[ -f work_dirs/quickstart/best.pt ] || { echo "proxy: work_dirs/quickstart/best.pt is missing; run tools/quickstart.sh first" >&2; exit 1; }
run() {
  local name=$1; shift
  [ -f work_dirs/proxy/$name/eval.json ] && return
  $B/dkd_train --config configs/synthetic.yaml --work-dir work_dirs/proxy/$name --force \
    --set train.stages=[dkd] --set runtime.threads=1 \
    --set train.initializer_checkpoint=work_dirs/quickstart/best.pt \
    --set train.baseline_checkpoint=work_dirs/quickstart/best.pt \
    --set train.adversarial.mask_invisible=false "$@" > work_dirs/proxy/$name.log 2>&1 || { echo "proxy: $name failed, see work_dirs/proxy/$name.log" >&2; return 1; }
  $B/dkd_eval --config work_dirs/proxy/$name/config.yaml --checkpoint work_dirs/proxy/$name/best.pt --model dkd \
    --no-speed --set runtime.threads=1 --json work_dirs/proxy/$name/eval.json > work_dirs/proxy/$name.eval.log 2>&1
}
for spec in "$@"; do
  name=${spec%%:*}; opts=${spec#*:}
  # shellcheck disable=SC2086
  run "$name" $opts
done
